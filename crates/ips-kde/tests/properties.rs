//! Invariants of the density estimate on random inputs.

use ips_kde::{estimate_snapshot, BandwidthRule, KdeConfig, KdeMethod};
use ndarray::Array2;
use proptest::prelude::*;

fn config(method: KdeMethod, bandwidth: f64) -> KdeConfig {
    KdeConfig {
        lo: vec![-3.0],
        hi: vec![3.0],
        intervals: vec![100],
        bandwidth: BandwidthRule::Fixed,
        bandwidth_value: Some(bandwidth),
        method,
        refinement: None,
    }
}

proptest! {
    /// Particles well inside the grid give a density that integrates to one:
    /// a Gaussian at least one grid spacing wide is integrated by the
    /// trapezoid rule to far below 1e-6.
    #[test]
    fn kde_integrates_to_one(
        positions in prop::collection::vec(-1.5f64..1.5, 1..400),
        bandwidth in 0.06f64..0.25,
        direct in any::<bool>(),
    ) {
        let method = if direct { KdeMethod::Direct } else { KdeMethod::Fft };
        let cfg = config(method, bandwidth);
        let grid = cfg.validate(1).unwrap();
        let points = Array2::from_shape_vec((positions.len(), 1), positions).unwrap();
        let snapshot = estimate_snapshot(points.view(), &grid, &cfg, 0).unwrap();
        let values: Vec<f64> = snapshot.values.iter().copied().collect();
        let dx = 0.06;
        let integral = dx * (values.iter().sum::<f64>() - 0.5 * (values[0] + values[values.len() - 1]));
        prop_assert!((integral - 1.0).abs() < 1e-6, "integral {integral}");
        prop_assert!(values.iter().all(|&v| v >= 0.0));
    }
}
