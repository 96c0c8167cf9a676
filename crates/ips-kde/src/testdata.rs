//! Seeded test data shared by the unit tests.

use ndarray::{Array2, ArrayD};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use rand_pcg::Pcg64;

/// `n` positions in `dim` dimensions, half drawn around `-center` and half
/// around `+center` with standard deviation `sd` on every axis. In 2D the
/// centers are `(-center, -center / 2)` and `(center, center / 2)`.
pub(crate) fn normal_mixture(n: usize, dim: usize, center: f64, sd: f64, seed: u64) -> Array2<f64> {
    let mut rng = Pcg64::seed_from_u64(seed);
    let noise = Normal::new(0.0, sd).expect("sd is positive");
    Array2::from_shape_fn((n, dim), |(i, axis)| {
        let sign = if i % 2 == 0 { -1.0 } else { 1.0 };
        let offset = if axis == 0 { center } else { center / 2.0 };
        sign * offset + noise.sample(&mut rng)
    })
}

/// `max |found - expected| / max |expected|`.
pub(crate) fn max_relative_difference(found: &ArrayD<f64>, expected: &ArrayD<f64>) -> f64 {
    assert_eq!(found.shape(), expected.shape());
    let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let difference = found
        .iter()
        .zip(expected)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    difference / scale
}
