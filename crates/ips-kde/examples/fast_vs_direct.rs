//! Measures the difference between the binned FFT and the direct estimate.
//!
//! Prints, for each test case and refinement factor, the maximum absolute
//! difference between the two methods divided by the maximum of the direct
//! estimate (the largest over seeds 1 to 3), and the mean time of one FFT
//! estimate. Each case has 20000 particles on [-3, 3] (per axis in 2D).
//!
//! Usage: `cargo run --release -p ips-kde --example fast_vs_direct -- [REFINEMENT...]`,
//! by default the refinements 2, 4, 8, 16 and 32.

use std::time::Instant;

use ips_kde::{estimate_snapshot, BandwidthRule, KdeConfig, KdeMethod};
use ndarray::Array2;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use rand_pcg::Pcg64;

/// `n` positions, half around `-center` and half around `+center` (in 2D
/// `(∓center, ∓center / 2)`), with standard deviation `sd` on every axis.
fn normal_mixture(n: usize, dim: usize, center: f64, sd: f64, seed: u64) -> Array2<f64> {
    let mut rng = Pcg64::seed_from_u64(seed);
    let noise = Normal::new(0.0, sd).expect("sd is positive");
    Array2::from_shape_fn((n, dim), |(i, axis)| {
        let sign = if i % 2 == 0 { -1.0 } else { 1.0 };
        let offset = if axis == 0 { center } else { center / 2.0 };
        sign * offset + noise.sample(&mut rng)
    })
}

struct Case {
    name: &'static str,
    dim: usize,
    intervals: usize,
    center: f64,
    sd: f64,
    fixed: Option<f64>,
}

fn main() {
    let cases = [
        Case {
            name: "1D mixture sd 0.3, Silverman",
            dim: 1,
            intervals: 100,
            center: 1.0,
            sd: 0.3,
            fixed: None,
        },
        Case {
            name: "1D mixture sd 0.3, fixed 0.5",
            dim: 1,
            intervals: 100,
            center: 1.0,
            sd: 0.3,
            fixed: Some(0.5),
        },
        Case {
            name: "1D N(0, 0.25^2), Silverman",
            dim: 1,
            intervals: 100,
            center: 0.0,
            sd: 0.25,
            fixed: None,
        },
        Case {
            name: "1D mixture sd 0.05, fixed 0.03",
            dim: 1,
            intervals: 100,
            center: 1.0,
            sd: 0.05,
            fixed: Some(0.03),
        },
        Case {
            name: "1D N(0, 0.05^2), Silverman",
            dim: 1,
            intervals: 100,
            center: 0.0,
            sd: 0.05,
            fixed: None,
        },
        Case {
            name: "2D mixture sd 0.4, Silverman",
            dim: 2,
            intervals: 64,
            center: 1.0,
            sd: 0.4,
            fixed: None,
        },
        Case {
            name: "2D N(0, 0.25^2 I), Silverman",
            dim: 2,
            intervals: 64,
            center: 0.0,
            sd: 0.25,
            fixed: None,
        },
        Case {
            name: "2D mixture sd 0.05, fixed 0.04",
            dim: 2,
            intervals: 64,
            center: 1.0,
            sd: 0.05,
            fixed: Some(0.04),
        },
    ];
    let refinements: Vec<f64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("arguments are refinement factors"))
        .collect();
    let refinements = if refinements.is_empty() {
        vec![2.0, 4.0, 8.0, 16.0, 32.0]
    } else {
        refinements
    };

    let seeds = [1, 2, 3];
    for case in &cases {
        let samples: Vec<Array2<f64>> = seeds
            .iter()
            .map(|&seed| normal_mixture(20_000, case.dim, case.center, case.sd, seed))
            .collect();
        let mut config = KdeConfig {
            lo: vec![-3.0; case.dim],
            hi: vec![3.0; case.dim],
            intervals: vec![case.intervals; case.dim],
            bandwidth: if case.fixed.is_some() {
                BandwidthRule::Fixed
            } else {
                BandwidthRule::Silverman
            },
            bandwidth_value: case.fixed,
            method: KdeMethod::Direct,
            refinement: None,
        };
        let grid = config.validate(case.dim).expect("valid configuration");
        let direct: Vec<_> = samples
            .iter()
            .map(|points| {
                estimate_snapshot(points.view(), &grid, &config, 0).expect("direct estimate")
            })
            .collect();
        println!("{} (seed 1: h = {:.4?})", case.name, direct[0].bandwidth);

        config.method = KdeMethod::Fft;
        for &refinement in &refinements {
            config.refinement = Some(refinement);
            let mut worst = 0.0f64;
            let mut seconds = 0.0;
            for (points, exact) in samples.iter().zip(&direct) {
                let start = Instant::now();
                let fast =
                    estimate_snapshot(points.view(), &grid, &config, 0).expect("FFT estimate");
                seconds += start.elapsed().as_secs_f64();
                let scale = exact.values.iter().fold(0.0f64, |m, &v| m.max(v));
                let difference = fast
                    .values
                    .iter()
                    .zip(&exact.values)
                    .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
                worst = worst.max(difference / scale);
            }
            println!(
                "  refinement {refinement:>5}: difference {worst:.2e}, FFT time {:.2} ms",
                1e3 * seconds / seeds.len() as f64
            );
        }
    }
}
