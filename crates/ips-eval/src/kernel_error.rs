//! Kernel errors on an `r` grid, plain and weighted by pair distances.

use ips_core::artifact::Density;
use ips_core::Kernel;
use ndarray::Axis;
use serde::{Deserialize, Serialize};

/// Snapshots used for the pair-distance distribution: evenly spaced, at most this many.
const MAX_SNAPSHOTS: usize = 50;

/// Errors of the learned kernel `phi` against the true one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KernelErrors {
    /// The errors are measured on `[0, r_max]`.
    pub r_max: f64,
    /// `max |phi_learned - phi_true|` on 1001 points of `[0, r_max]`.
    pub max_abs_error: f64,
    /// `sqrt( int_0^r_max |phi_learned - phi_true|^2 dr )`, trapezoid rule.
    pub l2_error: f64,
    /// `sqrt( int |d phi|^2 w / int |phi_true|^2 w )` with `w` the density of
    /// pair distances in the data; `None` without a density.
    pub weighted_relative_l2_error: Option<f64>,
}

/// The distribution of pair distances of a density, binned at the grid
/// spacing: `(r_k, w_k)` with `w_k` the mass of pairs whose distance falls in
/// bin `k`, averaged over up to 50 evenly spaced snapshots.
pub fn pair_distance_weights(density: &Density) -> (Vec<f64>, Vec<f64>) {
    let grid = &density.meta.grid;
    let points: Vec<Vec<f64>> = grid.axes.iter().map(|a| a.points()).collect();
    let shape = grid.shape();
    let spacing = grid.axes.iter().map(|a| a.dx()).fold(f64::INFINITY, f64::min);
    let extent: f64 = grid.axes.iter().map(|a| (a.hi - a.lo).powi(2)).sum::<f64>().sqrt();
    let bins = (extent / spacing).ceil() as usize + 1;
    let mut weights = vec![0.0; bins];

    let n_times = density.n_times();
    let stride = n_times.div_ceil(MAX_SNAPSHOTS).max(1);
    let cell = grid.cell_volume();
    for n in (0..n_times).step_by(stride) {
        let snapshot = density.values.index_axis(Axis(0), n);
        let values: Vec<f64> = snapshot.iter().copied().collect();
        let coordinates: Vec<Vec<f64>> = (0..values.len())
            .map(|flat| {
                if shape.len() == 1 {
                    vec![points[0][flat]]
                } else {
                    vec![points[0][flat / shape[1]], points[1][flat % shape[1]]]
                }
            })
            .collect();
        for (a, &rho_a) in values.iter().enumerate() {
            if rho_a == 0.0 {
                continue;
            }
            for (b, &rho_b) in values.iter().enumerate() {
                let r: f64 = coordinates[a]
                    .iter()
                    .zip(&coordinates[b])
                    .map(|(x, y)| (x - y).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let bin = (r / spacing).round() as usize;
                weights[bin] += rho_a * rho_b * cell * cell;
            }
        }
    }
    let total: f64 = weights.iter().sum();
    if total > 0.0 {
        weights.iter_mut().for_each(|w| *w /= total);
    }
    let radii = (0..bins).map(|k| k as f64 * spacing).collect();
    (radii, weights)
}

/// Measures the learned kernel against the truth on `[0, r_max]`.
pub fn kernel_errors(learned: &Kernel, truth: &Kernel, r_max: f64, density: Option<&Density>) -> KernelErrors {
    let samples = 1001;
    let h = r_max / (samples - 1) as f64;
    let differences: Vec<f64> = (0..samples)
        .map(|i| {
            let r = i as f64 * h;
            learned.phi(r) - truth.phi(r)
        })
        .collect();
    let max_abs_error = differences.iter().fold(0.0f64, |m, d| m.max(d.abs()));
    let squares: Vec<f64> = differences.iter().map(|d| d * d).collect();
    let l2_error = (h * (squares.iter().sum::<f64>() - 0.5 * (squares[0] + squares[samples - 1]))).sqrt();

    let weighted_relative_l2_error = density.map(|density| {
        let (radii, weights) = pair_distance_weights(density);
        let (mut error, mut norm) = (0.0, 0.0);
        for (&r, &w) in radii.iter().zip(&weights) {
            error += w * (learned.phi(r) - truth.phi(r)).powi(2);
            norm += w * truth.phi(r).powi(2);
        }
        (error / norm).sqrt()
    });
    KernelErrors {
        r_max,
        max_abs_error,
        l2_error,
        weighted_relative_l2_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ips_core::artifact::{DensityMeta, FORMAT_VERSION};
    use ips_core::{Axis as GridAxis, Grid, KernelTerm, Term};
    use ndarray::{Array1, Array2};

    fn power(k: u32, c: f64) -> Kernel {
        Kernel { convention: Default::default(), terms: vec![KernelTerm { term: Term::Power(k), coefficient: c }] }
    }

    /// A constant offset of 0.1 against phi = 1: max and L2 errors by hand.
    #[test]
    fn errors_of_constant_offset() {
        let e = kernel_errors(&power(0, 1.1), &power(0, 1.0), 4.0, None);
        assert!((e.max_abs_error - 0.1).abs() < 1e-12);
        assert!((e.l2_error - 0.1 * 2.0).abs() < 1e-12, "{}", e.l2_error);
    }

    /// Two point masses at distance 1: the pair distances are 0 and 1,
    /// half the pair mass each.
    #[test]
    fn pair_distances_of_two_points() {
        let grid = Grid::new(vec![GridAxis::new(0.0, 2.0, 4, "grid").unwrap()]).unwrap();
        let mut values = Array2::<f64>::zeros((1, 5));
        values[[0, 1]] = 1.0;
        values[[0, 3]] = 1.0;
        let density = Density {
            values: values.into_dyn(),
            times: Array1::from(vec![0.0]),
            bandwidth: Array2::zeros((1, 1)),
            mass_outside: Array1::zeros(1),
            meta: DensityMeta {
                format_version: FORMAT_VERSION,
                source: "test".into(),
                grid,
                n_particles: None,
                diffusion: None,
                kernel: None,
                config: serde_json::Value::Null,
                tool_version: "test".into(),
                provenance: None,
            },
        };
        let (radii, weights) = pair_distance_weights(&density);
        assert!((weights[0] - 0.5).abs() < 1e-15);
        assert!((radii[2] - 1.0).abs() < 1e-15);
        assert!((weights[2] - 0.5).abs() < 1e-15);
    }
}
