//! The weak form on the density (as in WSINDy): no derivative of the data.
//!
//! For a test function `psi(x, t) = phi_l(x) theta_j(t)` with compact
//! support in space and time, integrating the mean-field equation by parts
//! gives
//!
//! ```text
//! int int rho d_t psi = sum_k c_k int int rho (G_k conv rho) . grad psi - D int int rho Lap psi,
//! ```
//!
//! so the data enter only through integrals of `rho` against smooth
//! functions. `phi_l` are bumps `(1 - s^2)^p` of `learn.weak.half_width`
//! (default 8 grid cells, and never under 3, which the grid cannot
//! resolve) with centres `learn.weak.spacing` apart; `theta_j` are bumps of
//! `learn.weak.window` used time steps, with centres half a window apart.
//! Quadrature is the sum over grid points and snapshots (the test functions
//! vanish at the ends of their supports, so it is the trapezoid rule). A
//! row is one pair `(l, j)`; Phase I samples the time centres `j`. The KDE
//! bandwidth correction of the strong form applies in the same way: the
//! apparent diffusion `(1/2) d(h^2)/dt` joins D in the `Lap psi` term.

use ips_core::artifact::{uniform_spacing, Density};
use ndarray::{Array1, Array2, Ix2};
use rayon::prelude::*;

use crate::assembly::{stencil, System};
use crate::config::WeakConfig;
use crate::convolution::GridConvolution;
use crate::{Dictionary, LearnError, Result};

/// Narrowest spatial half-width, in grid cells, that the grid resolves.
pub const MIN_CELLS: f64 = 3.0;

/// A bump `(1 - s^2)^p`, `s = (x - centre) / w`, and its first two derivatives.
fn bump(x: f64, centre: f64, w: f64, p: i32) -> (f64, f64, f64) {
    let s = (x - centre) / w;
    if s.abs() >= 1.0 {
        return (0.0, 0.0, 0.0);
    }
    let u = 1.0 - s * s;
    let value = u.powi(p);
    let first = -2.0 * p as f64 * s * u.powi(p - 1) / w;
    let second = (4.0 * (p * (p - 1)) as f64 * s * s * u.powi(p - 2) - 2.0 * p as f64 * u.powi(p - 1)) / (w * w);
    (value, first, second)
}

/// Assembles the weak form on a 1D density.
///
/// # Errors
/// 2D densities, too few snapshots for one time window, unequal time steps,
/// test functions narrower than the grid resolves, or a zero column.
pub fn assemble_weak_density(
    density: &Density,
    dictionary: &Dictionary,
    observe_every: usize,
    diffusion: Option<f64>,
    bandwidth_correction: bool,
    config: &WeakConfig,
) -> Result<System> {
    let grid = &density.meta.grid;
    if grid.dim() != 1 {
        return Err(LearnError::Data(format!(
            "learn.formulation = \"weak-density\" supports 1D densities so far, and this one is {}D",
            grid.dim()
        )));
    }
    let rho = density
        .values
        .view()
        .into_dimensionality::<Ix2>()
        .map_err(|_| LearnError::Data("a 1D density must have shape [n_times, nx]".into()))?;
    let (n_times, m) = rho.dim();
    let axis = &grid.axes[0];
    let dx = axis.dx();
    let dt = uniform_spacing(&density.times, "the observation times of the density")?;
    let dt_obs = dt * observe_every as f64;
    let used: Vec<usize> = (0..n_times).step_by(observe_every).collect();

    let half_width = config.half_width.unwrap_or(8.0 * dx);
    if half_width < MIN_CELLS * dx {
        return Err(LearnError::config(
            "learn.weak.half_width",
            half_width,
            format!("is under {MIN_CELLS} grid cells ({:.4}), which the grid cannot resolve; widen it", MIN_CELLS * dx),
        ));
    }
    let spacing = config.spacing.unwrap_or(0.5 * half_width);
    let window = config.window;
    // Time bumps of half-width `window` steps, centres half a window apart,
    // wholly inside the used snapshots.
    let time_centres: Vec<usize> = (window..used.len().saturating_sub(window)).step_by((window / 2).max(1)).collect();
    if time_centres.is_empty() {
        return Err(LearnError::config(
            "learn.weak.window",
            window,
            format!("needs at least {} used snapshots for one time bump, and there are {}; lower it", 2 * window + 1, used.len()),
        ));
    }
    let space_centres: Vec<f64> = {
        let mut centres = Vec::new();
        let mut c = axis.lo + half_width;
        while c <= axis.hi - half_width + 1e-12 {
            centres.push(c);
            c += spacing;
        }
        centres
    };
    if space_centres.is_empty() {
        return Err(LearnError::config("learn.weak.half_width", half_width, "is wider than half the grid; narrow it"));
    }
    let p = config.exponent as i32;
    let x: Vec<f64> = (0..m).map(|i| axis.lo + i as f64 * dx).collect();
    // phi_l, phi_l' and phi_l'' at the grid points, [L][M].
    let tables: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = space_centres
        .iter()
        .map(|&c| {
            let values: Vec<(f64, f64, f64)> = x.iter().map(|&xi| bump(xi, c, half_width, p)).collect();
            (
                values.iter().map(|v| v.0).collect(),
                values.iter().map(|v| v.1).collect(),
                values.iter().map(|v| v.2).collect(),
            )
        })
        .collect();

    let n_terms = dictionary.len();
    let stencils: Vec<Vec<f64>> = (0..n_terms).map(|k| stencil(dictionary, k, m, dx)).collect();
    let convolution = GridConvolution::new(m, dx, &stencils);
    let n_space = space_centres.len();
    // Per used snapshot: int rho phi_l, int rho phi_l'', int rho (G_k conv rho) phi_l'.
    let spatial: Vec<(Vec<f64>, Vec<f64>, Array2<f64>)> = used
        .par_iter()
        .map_init(
            || (convolution.workspace(), vec![vec![0.0; m]; n_terms]),
            |(workspace, convolved), &n| {
                let now: Vec<f64> = rho.row(n).to_vec();
                convolution.apply(&now, workspace, convolved);
                let mut mass = vec![0.0; n_space];
                let mut curvature = vec![0.0; n_space];
                let mut features = Array2::<f64>::zeros((n_space, n_terms));
                for (l, (value, slope, second)) in tables.iter().enumerate() {
                    for i in 0..m {
                        if value[i] == 0.0 && slope[i] == 0.0 {
                            continue;
                        }
                        mass[l] += now[i] * value[i] * dx;
                        curvature[l] += now[i] * second[i] * dx;
                        for k in 0..n_terms {
                            features[[l, k]] += now[i] * convolved[k][i] * slope[i] * dx;
                        }
                    }
                }
                (mass, curvature, features)
            },
        )
        .collect();
    let smoothing: Vec<f64> = used
        .iter()
        .map(|&n| {
            if !bandwidth_correction || density.bandwidth.nrows() != n_times || n + observe_every >= n_times {
                return 0.0;
            }
            let (h_now, h_next) = (density.bandwidth[[n, 0]], density.bandwidth[[n + observe_every, 0]]);
            (h_next * h_next - h_now * h_now) / (2.0 * dt_obs)
        })
        .collect();

    let columns = n_terms + usize::from(diffusion.is_none());
    let rows = time_centres.len() * n_space;
    let mut matrix = Array2::<f64>::zeros((rows, columns));
    let mut target = Array1::<f64>::zeros(rows);
    let time_width = window as f64 * dt_obs;
    for (j, &centre) in time_centres.iter().enumerate() {
        for s in centre - window..=centre + window {
            let (theta, theta_slope, _) = bump(s as f64 * dt_obs, centre as f64 * dt_obs, time_width, p);
            if theta == 0.0 && theta_slope == 0.0 {
                continue;
            }
            let (mass, curvature, features) = &spatial[s];
            for l in 0..n_space {
                let row = j * n_space + l;
                target[row] += mass[l] * theta_slope * dt_obs;
                let laplacian = curvature[l] * theta * dt_obs;
                match diffusion {
                    Some(d) => target[row] += (d + smoothing[s]) * laplacian,
                    None => {
                        target[row] += smoothing[s] * laplacian;
                        matrix[[row, n_terms]] -= laplacian;
                    }
                }
                for k in 0..n_terms {
                    matrix[[row, k]] += features[[l, k]] * theta * dt_obs;
                }
            }
        }
    }

    let mut column_names: Vec<String> = dictionary.terms.iter().map(|t| t.name()).collect();
    if diffusion.is_none() {
        column_names.push("D".into());
    }
    for (k, column) in matrix.columns().into_iter().enumerate() {
        if column.iter().all(|&v| v == 0.0) {
            return Err(LearnError::Column {
                term: column_names[k].clone(),
                reason: "gives a zero column on this density (no pairs at distances where it is non-zero)".into(),
            });
        }
    }
    Ok(System {
        matrix,
        target,
        blocks: (0..time_centres.len()).map(|j| j * n_space..(j + 1) * n_space).collect(),
        block_times: time_centres.iter().map(|&c| density.times[used[c]]).collect(),
        column_names,
        diffusion_column: diffusion.is_none().then_some(n_terms),
        dt_obs,
        residual_offset: 0.0,
        represented_rows: rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_derivatives_match_finite_differences() {
        let (c, w, p) = (0.3, 0.5, 4);
        let h = 1e-5;
        for x in [0.0, 0.2, 0.31, 0.6, 0.79] {
            let (value, first, second) = bump(x, c, w, p);
            let (up, _, _) = bump(x + h, c, w, p);
            let (down, _, _) = bump(x - h, c, w, p);
            assert!(((up - down) / (2.0 * h) - first).abs() < 1e-6, "first derivative at {x}");
            assert!(((up - 2.0 * value + down) / (h * h) - second).abs() < 1e-3, "second derivative at {x}");
        }
        assert_eq!(bump(0.9, c, w, p), (0.0, 0.0, 0.0));
    }
}
