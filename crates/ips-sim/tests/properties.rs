//! Invariants of the drift on random inputs.

use ips_core::{Kernel, KernelTerm, Term};
use ips_sim::drift::{direct, PrefixSumDrift};
use proptest::prelude::*;

fn polynomial(coefficients: &[f64]) -> Kernel {
    Kernel {
        convention: Default::default(),
        terms: coefficients
            .iter()
            .enumerate()
            .map(|(k, &c)| KernelTerm { term: Term::Power(k as u32), coefficient: c })
            .collect(),
    }
}

/// Sum of absolute pair contributions: the scale of the rounding error.
fn drift_scale(drift: &[f64]) -> f64 {
    drift.iter().map(|v| v.abs()).sum::<f64>().max(1e-300)
}

proptest! {
    /// Pair forces cancel in pairs (Newton's third law), so the drifts sum to zero.
    #[test]
    fn total_drift_vanishes(
        positions in prop::collection::vec(-3.0f64..3.0, 2..200),
        coefficients in prop::collection::vec(-2.0f64..2.0, 1..6),
        dim in 1usize..=2,
    ) {
        let n = positions.len() / dim * dim;
        prop_assume!(n >= dim * 2);
        let x = &positions[..n];
        let kernel = polynomial(&coefficients);
        let mut drift = vec![0.0; n];
        direct(&kernel, x, dim, &mut drift);
        for axis in 0..dim {
            let total: f64 = drift.iter().skip(axis).step_by(dim).sum();
            prop_assert!(total.abs() <= 1e-12 * drift_scale(&drift), "axis {axis}: {total}");
        }
    }

    /// The prefix-sum method agrees with the direct sum on any 1D input.
    #[test]
    fn prefix_sum_matches_direct(
        positions in prop::collection::vec(-5.0f64..5.0, 1..300),
        coefficients in prop::collection::vec(-2.0f64..2.0, 1..8),
    ) {
        let kernel = polynomial(&coefficients);
        let mut expected = vec![0.0; positions.len()];
        direct(&kernel, &positions, 1, &mut expected);
        let mut fast = vec![0.0; positions.len()];
        PrefixSumDrift::new(coefficients.clone()).evaluate(&positions, &mut fast);
        let scale = expected.iter().fold(1e-12f64, |m, v| m.max(v.abs()));
        for (a, b) in fast.iter().zip(&expected) {
            prop_assert!((a - b).abs() <= 1e-9 * scale, "{a} vs {b}");
        }
    }
}
