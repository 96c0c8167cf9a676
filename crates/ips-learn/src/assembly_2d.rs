//! Strong-form assembly from a 2D density `[n_times, nx, ny]`.
//!
//! The rows and the discretisation follow the 1D assembly in
//! [`crate::assembly`]: at interior grid point `(x_i, y_j)` and used time
//! `t_n`, the feature of term `k` is the centred-difference divergence of
//! the whole product `rho^n (G_k conv rho^n)`, with
//! `G_k(v) = psi_k(|v|) v/|v|`, both components convolved by zero-padded
//! FFT with the cell area `dx dy` as weight. The Laplacian is the 5-point
//! stencil. The KDE bandwidth correction is applied per axis: a Gaussian KDE
//! with bandwidths `(h_x, h_y)` adds
//! `(1/2) d(h_x^2)/dt d_xx rho + (1/2) d(h_y^2)/dt d_yy rho`, which moves to
//! the target.

use ips_core::artifact::{uniform_spacing, Density};
use ndarray::{Array1, Array2, Axis, Ix3};
use rayon::prelude::*;

use crate::assembly::{finish_system, System};
use crate::convolution_2d::{GridConvolution2d, VectorField};
use crate::{Dictionary, LearnError, Result};

/// Assembles the strong-form system from a 2D density artifact; see
/// [`crate::assembly::assemble_strong`] for the arguments.
///
/// # Errors
/// [`LearnError::Data`] for a density of the wrong shape, too few snapshots
/// or unequal time steps, [`LearnError::Column`] for a zero column.
pub(crate) fn assemble_strong_2d(
    density: &Density,
    dictionary: &Dictionary,
    observe_every: usize,
    diffusion: Option<f64>,
    bandwidth_correction: bool,
) -> Result<System> {
    let grid = &density.meta.grid;
    let rho = density
        .values
        .view()
        .into_dimensionality::<Ix3>()
        .map_err(|_| LearnError::Data("a 2D density must have shape [n_times, nx, ny]".into()))?;
    let (n_times, nx, ny) = rho.dim();
    if nx < 3 || ny < 3 {
        return Err(LearnError::Data(format!("a {nx} x {ny} grid has no interior points; at least 3 x 3 are needed")));
    }
    if n_times <= observe_every {
        return Err(LearnError::Data(format!(
            "{n_times} snapshots are too few for learn.observe_every = {observe_every}; at least {} are needed",
            observe_every + 1
        )));
    }
    let dt = uniform_spacing(&density.times, "the observation times of the density")?;
    let dt_obs = dt * observe_every as f64;
    let (dx, dy) = (grid.axes[0].dx(), grid.axes[1].dx());

    let n_terms = dictionary.len();
    let columns = n_terms + usize::from(diffusion.is_none());
    let used: Vec<usize> = (0..n_times - observe_every).step_by(observe_every).collect();
    // d(h^2)/dt / 2 per axis, from the stored bandwidths of each snapshot.
    let bandwidth_drift: Vec<[f64; 2]> = used
        .iter()
        .map(|&n| {
            if !bandwidth_correction || density.bandwidth.dim() != (n_times, 2) {
                return [0.0; 2];
            }
            let rate = |axis: usize| {
                let (now, next) = (density.bandwidth[[n, axis]], density.bandwidth[[n + observe_every, axis]]);
                (next * next - now * now) / (2.0 * dt_obs)
            };
            [rate(0), rate(1)]
        })
        .collect();
    let interior = (nx - 2) * (ny - 2);
    let rows = used.len() * interior;

    let profiles: Vec<Box<dyn Fn(f64) -> f64 + '_>> =
        (0..n_terms).map(|k| Box::new(move |r| dictionary.phi(k, r)) as Box<dyn Fn(f64) -> f64>).collect();
    let profile_refs: Vec<&dyn Fn(f64) -> f64> = profiles.iter().map(|p| p.as_ref()).collect();
    let convolution = GridConvolution2d::new(nx, ny, dx, dy, &profile_refs);

    let mut matrix = Array2::<f64>::zeros((rows, columns));
    let mut target = Array1::<f64>::zeros(rows);
    matrix
        .axis_chunks_iter_mut(Axis(0), interior)
        .into_par_iter()
        .zip(target.axis_chunks_iter_mut(Axis(0), interior).into_par_iter())
        .zip(used.par_iter().zip(&bandwidth_drift))
        .for_each_init(
            || (convolution.workspace(), vec![VectorField::default(); n_terms]),
            |(workspace, convolutions), ((mut block, mut block_target), (&n, smoothing))| {
                let now: Vec<f64> = rho.index_axis(Axis(0), n).iter().copied().collect();
                let next = rho.index_axis(Axis(0), n + observe_every);
                convolution.apply(&now, workspace, convolutions);
                let at = |i: usize, j: usize| i * ny + j;
                let mut flux_x = vec![0.0; nx * ny];
                let mut flux_y = vec![0.0; nx * ny];
                for (k, field) in convolutions.iter().enumerate() {
                    for index in 0..nx * ny {
                        flux_x[index] = now[index] * field.x[index];
                        flux_y[index] = now[index] * field.y[index];
                    }
                    let mut row = 0;
                    for i in 1..nx - 1 {
                        for j in 1..ny - 1 {
                            block[[row, k]] = (flux_x[at(i + 1, j)] - flux_x[at(i - 1, j)]) / (2.0 * dx)
                                + (flux_y[at(i, j + 1)] - flux_y[at(i, j - 1)]) / (2.0 * dy);
                            row += 1;
                        }
                    }
                }
                let mut row = 0;
                for i in 1..nx - 1 {
                    for j in 1..ny - 1 {
                        let time_derivative = (next[[i, j]] - now[at(i, j)]) / dt_obs;
                        let d_xx = (now[at(i + 1, j)] - 2.0 * now[at(i, j)] + now[at(i - 1, j)]) / (dx * dx);
                        let d_yy = (now[at(i, j + 1)] - 2.0 * now[at(i, j)] + now[at(i, j - 1)]) / (dy * dy);
                        let smoothed = smoothing[0] * d_xx + smoothing[1] * d_yy;
                        match diffusion {
                            Some(d) => block_target[row] = time_derivative - d * (d_xx + d_yy) - smoothed,
                            None => {
                                block_target[row] = time_derivative - smoothed;
                                block[[row, n_terms]] = d_xx + d_yy;
                            }
                        }
                        row += 1;
                    }
                }
            },
        );

    finish_system(matrix, target, &used, interior, density, dictionary, diffusion, dt_obs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ips_core::artifact::{DensityMeta, FORMAT_VERSION};
    use ips_core::grid::{Axis as GridAxis, Grid};
    use ips_core::{Convention, Term};
    use ndarray::{Array1, Array2, ArrayD, IxDyn};

    /// An isotropic Gaussian density of variance `s2` on a node grid of
    /// `[-l, l]^2`, at two times.
    fn gaussian_density(points: usize, l: f64, s2: [f64; 2], dt: f64) -> Density {
        let axis = GridAxis::new(-l, l, points - 1, "test").unwrap();
        let grid = Grid::new(vec![axis.clone(), axis.clone()]).unwrap();
        let xs = axis.points();
        let mut values = ArrayD::<f64>::zeros(IxDyn(&[2, points, points]));
        for (n, &v) in s2.iter().enumerate() {
            for i in 0..points {
                for j in 0..points {
                    let r2 = xs[i] * xs[i] + xs[j] * xs[j];
                    values[[n, i, j]] = (-r2 / (2.0 * v)).exp() / (2.0 * std::f64::consts::PI * v);
                }
            }
        }
        Density {
            values,
            times: Array1::from(vec![0.0, dt]),
            bandwidth: Array2::zeros((2, 2)),
            mass_outside: Array1::zeros(2),
            meta: DensityMeta {
                format_version: FORMAT_VERSION,
                source: "test".into(),
                grid,
                n_particles: None,
                diffusion: None,
                kernel: None,
                config: serde_json::Value::Null,
                tool_version: String::new(),
                provenance: None,
            },
        }
    }

    /// Largest error of the feature of `psi(r) = r` (so `G(v) = v`) on a
    /// Gaussian of variance `s2` against the closed form: `G conv rho = x`
    /// (mean zero, mass one), and the divergence of `rho x` is
    /// `rho (2 - r^2/s2)`.
    fn linear_feature_error(points: usize, l: f64, s2: f64) -> (f64, f64) {
        let density = gaussian_density(points, l, [s2, s2], 1e-3);
        let dictionary = Dictionary { convention: Convention::Force, terms: vec![Term::Power(1)] };
        let system = assemble_strong_2d(&density, &dictionary, 1, Some(0.0), false).unwrap();
        let xs = density.meta.grid.axes[0].points();
        let peak = 1.0 / (2.0 * std::f64::consts::PI * s2);
        let mut row = 0;
        let mut worst = 0.0f64;
        for i in 1..points - 1 {
            for j in 1..points - 1 {
                let r2 = xs[i] * xs[i] + xs[j] * xs[j];
                let rho = (-r2 / (2.0 * s2)).exp() * peak;
                let exact = rho * (2.0 - r2 / s2);
                worst = worst.max((system.matrix[[row, 0]] - exact).abs());
                row += 1;
            }
        }
        (worst, xs[1] - xs[0])
    }

    /// The grid sum of the convolution is exact to rounding for this smooth,
    /// well-contained density, so the remaining error is the centred
    /// difference: below `dx^2 / s2` of the peak and shrinking fourfold when
    /// the spacing halves.
    #[test]
    fn linear_field_feature_matches_closed_form() {
        let s2 = 0.25;
        let peak = 2.0 / (2.0 * std::f64::consts::PI * s2);
        let (coarse, dx) = linear_feature_error(81, 4.0, s2);
        let (fine, _) = linear_feature_error(161, 4.0, s2);
        assert!(coarse < peak * dx * dx / s2, "max error {coarse:e} at dx = {dx}");
        let ratio = coarse / fine;
        assert!((3.5..4.5).contains(&ratio), "error ratio {ratio} between dx and dx/2");
    }

    /// The feature of the term `psi(r) = r^2` against direct
    /// quadrature of the convolution at each grid point and a separate
    /// centred difference, on a shifted Gaussian so that no symmetry hides
    /// an index error.
    #[test]
    fn cubic_feature_matches_direct_quadrature() {
        let points = 25;
        let mut density = gaussian_density(points, 3.0, [0.4, 0.4], 1e-3);
        let xs = density.meta.grid.axes[0].points();
        for n in 0..2 {
            for i in 0..points {
                for j in 0..points {
                    let (x, y) = (xs[i] - 0.5, xs[j] + 0.3);
                    density.values[[n, i, j]] = (-(x * x) / 0.5 - (y * y) / 0.3).exp();
                }
            }
        }
        let dictionary = Dictionary { convention: Convention::Force, terms: vec![Term::Power(2)] };
        let system = assemble_strong_2d(&density, &dictionary, 1, Some(0.0), false).unwrap();
        let h = xs[1] - xs[0];
        let rho = |i: usize, j: usize| density.values[[0, i, j]];
        let flux = |i: usize, j: usize| {
            let (mut fx, mut fy) = (0.0, 0.0);
            for a in 0..points {
                for b in 0..points {
                    let (vx, vy) = (xs[i] - xs[a], xs[j] - xs[b]);
                    let r = vx.hypot(vy);
                    // psi(r)/r = r for the term r^2.
                    fx += r * vx * rho(a, b) * h * h;
                    fy += r * vy * rho(a, b) * h * h;
                }
            }
            (rho(i, j) * fx, rho(i, j) * fy)
        };
        let mut row = 0;
        let scale = system.matrix.column(0).iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for i in 1..points - 1 {
            for j in 1..points - 1 {
                let expected = (flux(i + 1, j).0 - flux(i - 1, j).0) / (2.0 * h) + (flux(i, j + 1).1 - flux(i, j - 1).1) / (2.0 * h);
                let found = system.matrix[[row, 0]];
                assert!((found - expected).abs() < 1e-11 * scale, "point ({i}, {j}): {found} vs {expected}");
                row += 1;
            }
        }
    }

    /// Target of pure diffusion: a Gaussian of variance `s2 + 2 D t` solves
    /// the heat equation, so with the kernel column absent the target
    /// `d_t rho - D Lap rho` is near zero while `d_t rho` alone is not.
    #[test]
    fn diffusion_target_vanishes_on_heat_solution() {
        let (d, dt, s2) = (0.1, 1e-4, 0.3);
        let density = gaussian_density(121, 4.0, [s2, s2 + 2.0 * d * dt], dt);
        let dictionary = Dictionary { convention: Convention::Force, terms: vec![Term::Power(1)] };
        let with_d = assemble_strong_2d(&density, &dictionary, 1, Some(d), false).unwrap();
        let without = assemble_strong_2d(&density, &dictionary, 1, Some(0.0), false).unwrap();
        let size = |v: &Array1<f64>| v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let residual = size(&with_d.target);
        let rate = size(&without.target);
        assert!(residual < 0.02 * rate, "residual {residual:e} against d_t rho {rate:e}");
    }

    /// The bandwidth correction of each axis moves `(1/2) d(h^2)/dt d_aa rho`
    /// to the target: a growing bandwidth along x alone acts as diffusion
    /// along x.
    #[test]
    fn bandwidth_correction_per_axis() {
        let mut density = gaussian_density(41, 4.0, [0.3, 0.3], 0.01);
        density.bandwidth = ndarray::array![[0.1, 0.2], [0.2, 0.2]];
        let dictionary = Dictionary { convention: Convention::Force, terms: vec![Term::Power(1)] };
        let plain = assemble_strong_2d(&density, &dictionary, 1, Some(0.0), false).unwrap();
        let corrected = assemble_strong_2d(&density, &dictionary, 1, Some(0.0), true).unwrap();
        let rate = (0.04 - 0.01) / (2.0 * 0.01);
        let xs = density.meta.grid.axes[0].points();
        let h = xs[1] - xs[0];
        let rho = |i: usize, j: usize| density.values[[0, i, j]];
        let (i, j) = (20, 17);
        let row = (i - 1) * 39 + (j - 1);
        let d_xx = (rho(i + 1, j) - 2.0 * rho(i, j) + rho(i - 1, j)) / (h * h);
        let shift = plain.target[row] - corrected.target[row];
        assert!((shift - rate * d_xx).abs() < 1e-12 * d_xx.abs(), "{shift} vs {}", rate * d_xx);
    }
}
