//! Strong-form assembly of the regression `A c = b` from a density; the
//! 2D case is in [`crate::assembly_2d`].
//!
//! At interior grid point `x_m` and used time `t_n` the residual of the
//! mean-field equation is
//!
//! ```text
//! (rho^{n+s} - rho^n)/dt_obs - D Lap rho^n - sum_k c_k div( rho^n (G_k conv rho^n) ),
//! ```
//!
//! with `G_k(x) = phi_k(|x|) x/|x|` and `s = observe_every`. The feature of
//! term `k` is the centred difference of the whole product
//! `rho (G_k conv rho)`: differencing `rho` alone and multiplying by the
//! convolution would drop the `rho (G_k' conv rho)` part of the divergence.
//! With a known D the target is `D_t rho - D Lap rho`; with D learned the
//! target is `D_t rho` and the Laplacian is one more column.
//!
//! Bandwidth correction: a Gaussian KDE is the density convolved with a heat
//! kernel of variance `h(t)^2`, so when the bandwidth changes between
//! snapshots the estimate gains `(1/2) d(h^2)/dt Lap rho` that the particles
//! never had. Per-snapshot bandwidth rules shrink `h` as particles
//! aggregate, which looks like extra diffusion. With the correction on, this
//! term, computed from the stored bandwidths, moves to the target.

use std::ops::Range;

use ips_core::artifact::{uniform_spacing, Density};
use ndarray::{Array1, Array2, Axis, Ix2};
#[cfg(test)]
use ndarray::ArrayView1;
use rayon::prelude::*;

use crate::assembly_2d::assemble_strong_2d;
use crate::convolution::GridConvolution;
use crate::{Dictionary, LearnError, Result};

/// The assembled linear system, with rows grouped by time step.
#[derive(Debug, Clone)]
pub struct System {
    /// Features, `[rows, columns]`.
    pub matrix: Array2<f64>,
    /// Targets, `[rows]`.
    pub target: Array1<f64>,
    /// Rows of each used time step, in time order.
    pub blocks: Vec<Range<usize>>,
    /// Time of each block.
    pub block_times: Vec<f64>,
    /// Column names: dictionary terms, then `D` when it is learned.
    pub column_names: Vec<String>,
    /// Index of the Laplacian column when D is learned.
    pub diffusion_column: Option<usize>,
    /// Observation step of the time differences.
    pub dt_obs: f64,
    /// Squared residual that the rows cannot show, for formulations that
    /// compress many rows into few (labelled increments); 0 otherwise.
    pub residual_offset: f64,
    /// Number of data rows the system stands for, which sets the degrees of
    /// freedom of the residual variance; `matrix.nrows()` unless compressed.
    pub represented_rows: usize,
}

impl System {
    /// Number of columns.
    pub fn columns(&self) -> usize {
        self.matrix.ncols()
    }
}

/// The stencil of term `k`: `G_k` averaged against the hat function of
/// width `2 dx` around each offset `o dx`, for `o = -(M-1) ..= M-1`.
///
/// With the density read as the piecewise-linear interpolant of its grid
/// values, `dx sum_l Gbar(x_m - x_l) rho_l` is its exact convolution with
/// `G_k`. Point samples `G_k(o dx)` would instead see an indicator of an
/// interval shorter than `dx` at one offset or none, and mis-weight the cut
/// near `eps` of `1/r[eps]`; for powers the two differ by `O(dx^2)`.
pub(crate) fn stencil(dictionary: &Dictionary, k: usize, m: usize, dx: f64) -> Vec<f64> {
    let breaks = dictionary.terms[k].breaks();
    (0..2 * m - 1)
        .map(|index| {
            let offset = index as f64 - (m - 1) as f64;
            if offset == 0.0 {
                // G is odd and the hat even.
                0.0
            } else {
                hat_average(|s| dictionary.phi(k, s.abs()) * s.signum(), offset * dx, dx, &breaks)
            }
        })
        .collect()
}

/// `(1/dx) int G(s) hat((s - centre)/dx) ds` over `|s - centre| < dx`, with
/// Gauss–Legendre rules on the pieces between `0`, `centre`, and `+-breaks`,
/// where `G` may jump or bend. Five points are exact for powers up to r^8
/// times the hat.
fn hat_average(g: impl Fn(f64) -> f64, centre: f64, dx: f64, breaks: &[f64]) -> f64 {
    const NODES: [f64; 5] = [-0.906_179_845_938_664, -0.538_469_310_105_683, 0.0, 0.538_469_310_105_683, 0.906_179_845_938_664];
    const WEIGHTS: [f64; 5] = [0.236_926_885_056_189, 0.478_628_670_499_366, 0.568_888_888_888_889, 0.478_628_670_499_366, 0.236_926_885_056_189];
    let (a, b) = (centre - dx, centre + dx);
    let mut cuts = vec![a, centre, b, 0.0];
    for &r in breaks {
        cuts.push(r);
        cuts.push(-r);
    }
    cuts.retain(|&c| a <= c && c <= b);
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let mut total = 0.0;
    for pair in cuts.windows(2) {
        let (lo, hi) = (pair[0], pair[1]);
        let (mid, half) = (0.5 * (lo + hi), 0.5 * (hi - lo));
        for (&t, &w) in NODES.iter().zip(&WEIGHTS) {
            let s = mid + half * t;
            total += w * half * g(s) * (1.0 - (s - centre).abs() / dx);
        }
    }
    total / dx
}

/// `(G conv rho)(x_m) = dx sum_l G(x_m - x_l) rho_l` by the direct sum: the
/// oracle of the FFT path in the tests.
#[cfg(test)]
fn convolve(stencil: &[f64], rho: ArrayView1<f64>, dx: f64, out: &mut [f64]) {
    let m = rho.len();
    for (i, value) in out.iter_mut().enumerate() {
        let mut sum = 0.0;
        for (l, &r) in rho.iter().enumerate() {
            sum += stencil[i + m - 1 - l] * r;
        }
        *value = dx * sum;
    }
}

/// |cos| between two columns above which they count as multiples of each
/// other. Exact multiples reach 1 up to rounding (about 1e-15), while the
/// most similar pair of the power dictionary r^0..r^7, r^6 and r^7, has
/// 1 - |cos| = 0.0145 on data/experiments/cubic.toml and cubic-small.toml.
/// So only terms equal on the data (such as `r^0` and an indicator covering
/// every distance) are caught.
const PARALLEL_COSINE: f64 = 1.0 - 1e-10;

/// Rejects two dictionary columns that are multiples of each other on the
/// data, because their coefficients are then not identifiable.
fn check_no_parallel_columns(matrix: &Array2<f64>, column_names: &[String]) -> Result<()> {
    let norms: Vec<f64> = matrix.columns().into_iter().map(|c| c.dot(&c).sqrt()).collect();
    for k in 0..matrix.ncols() {
        for l in k + 1..matrix.ncols() {
            let cosine = matrix.column(k).dot(&matrix.column(l)) / (norms[k] * norms[l]);
            if cosine.abs() > PARALLEL_COSINE {
                return Err(LearnError::Column {
                    term: column_names[l].clone(),
                    reason: format!(
                        "gives a column that is a multiple of that of '{}' on this density (|cos| = {:.12}), so the two coefficients cannot be told apart",
                        column_names[k],
                        cosine.abs()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Assembles the strong-form system from a 1D or 2D density artifact.
///
/// `diffusion` is `Some(D)` when D is known and `None` to learn it.
///
/// # Errors
/// [`LearnError::Data`] for densities of other dimensions, too few snapshots or unequal time
/// steps, [`LearnError::Column`] for a dictionary column that is zero on the
/// data.
pub fn assemble_strong(
    density: &Density,
    dictionary: &Dictionary,
    observe_every: usize,
    diffusion: Option<f64>,
    bandwidth_correction: bool,
) -> Result<System> {
    let system = assemble_unchecked(density, dictionary, observe_every, diffusion, bandwidth_correction)?;
    for (k, column) in system.matrix.columns().into_iter().enumerate() {
        if column.iter().all(|&v| v == 0.0) {
            return Err(LearnError::Column {
                term: system.column_names[k].clone(),
                reason: "gives a zero column on this density (no pairs at distances where it is non-zero)".into(),
            });
        }
    }
    check_no_parallel_columns(&system.matrix, &system.column_names)?;
    Ok(system)
}

/// [`assemble_strong`] without the check for zero columns: the fine
/// dictionary of the breakpoint search has intervals that no pair visits.
///
/// # Errors
/// As [`assemble_strong`], except for zero columns.
pub(crate) fn assemble_unchecked(
    density: &Density,
    dictionary: &Dictionary,
    observe_every: usize,
    diffusion: Option<f64>,
    bandwidth_correction: bool,
) -> Result<System> {
    let grid = &density.meta.grid;
    match grid.dim() {
        1 => {}
        2 => return assemble_strong_2d(density, dictionary, observe_every, diffusion, bandwidth_correction),
        dim => return Err(LearnError::Data(format!("the density is {dim}D; learning supports 1D and 2D densities"))),
    }
    let rho = density
        .values
        .view()
        .into_dimensionality::<Ix2>()
        .map_err(|_| LearnError::Data("a 1D density must have shape [n_times, nx]".into()))?;
    let (n_times, m) = rho.dim();
    if n_times <= observe_every {
        return Err(LearnError::Data(format!(
            "{n_times} snapshots are too few for learn.observe_every = {observe_every}; at least {} are needed",
            observe_every + 1
        )));
    }
    let dt = uniform_spacing(&density.times, "the observation times of the density")?;
    let dt_obs = dt * observe_every as f64;
    let dx = grid.axes[0].dx();

    let n_terms = dictionary.len();
    let columns = n_terms + usize::from(diffusion.is_none());
    let stencils: Vec<Vec<f64>> = (0..n_terms).map(|k| stencil(dictionary, k, m, dx)).collect();
    let used: Vec<usize> = (0..n_times - observe_every).step_by(observe_every).collect();
    let bandwidth_drift: Vec<f64> = used
        .iter()
        .map(|&n| {
            if !bandwidth_correction || density.bandwidth.nrows() != n_times {
                return 0.0;
            }
            let h_now = density.bandwidth[[n, 0]];
            let h_next = density.bandwidth[[n + observe_every, 0]];
            (h_next * h_next - h_now * h_now) / (2.0 * dt_obs)
        })
        .collect();
    let interior = m - 2;
    let rows = used.len() * interior;

    let convolution = GridConvolution::new(m, dx, &stencils);
    let mut matrix = Array2::<f64>::zeros((rows, columns));
    let mut target = Array1::<f64>::zeros(rows);
    matrix
        .axis_chunks_iter_mut(Axis(0), interior)
        .into_par_iter()
        .zip(target.axis_chunks_iter_mut(Axis(0), interior).into_par_iter())
        .zip(used.par_iter().zip(&bandwidth_drift))
        .for_each_init(
            || (convolution.workspace(), vec![vec![0.0; m]; n_terms]),
            |(workspace, convolutions), ((mut block, mut block_target), (&n, &smoothing))| {
                let now = rho.row(n);
                let next = rho.row(n + observe_every);
                // Rows of a density read from disk are contiguous; copy only otherwise.
                let copied;
                let now_values = match now.as_slice() {
                    Some(values) => values,
                    None => {
                        copied = now.to_vec();
                        &copied
                    }
                };
                convolution.apply(now_values, workspace, convolutions);
                let mut product = vec![0.0; m];
                for (k, conv) in convolutions.iter().enumerate() {
                    for i in 0..m {
                        product[i] = now[i] * conv[i];
                    }
                    for i in 1..m - 1 {
                        block[[i - 1, k]] = (product[i + 1] - product[i - 1]) / (2.0 * dx);
                    }
                }
                for i in 1..m - 1 {
                    let time_derivative = (next[i] - now[i]) / dt_obs;
                    let laplacian = (now[i + 1] - 2.0 * now[i] + now[i - 1]) / (dx * dx);
                    match diffusion {
                        Some(d) => block_target[i - 1] = time_derivative - (d + smoothing) * laplacian,
                        None => {
                            block_target[i - 1] = time_derivative - smoothing * laplacian;
                            block[[i - 1, n_terms]] = laplacian;
                        }
                    }
                }
            },
        );

    finish_system(matrix, target, &used, interior, density, dictionary, diffusion, dt_obs)
}

/// Names the columns, rejects zero columns and groups the rows of each used
/// time step (`interior` rows each) into blocks.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish_system(
    matrix: Array2<f64>,
    target: Array1<f64>,
    used: &[usize],
    interior: usize,
    density: &Density,
    dictionary: &Dictionary,
    diffusion: Option<f64>,
    dt_obs: f64,
) -> Result<System> {
    let n_terms = dictionary.len();
    let mut column_names: Vec<String> = dictionary.terms.iter().map(|t| t.name()).collect();
    if diffusion.is_none() {
        column_names.push("D".into());
    }

    let blocks = (0..used.len()).map(|j| j * interior..(j + 1) * interior).collect();
    let block_times = used.iter().map(|&n| density.times[n]).collect();
    let represented_rows = matrix.nrows();
    Ok(System {
        matrix,
        target,
        blocks,
        block_times,
        column_names,
        diffusion_column: diffusion.is_none().then_some(n_terms),
        dt_obs,
        residual_offset: 0.0,
        represented_rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ips_core::{Convention, Term};

    /// The direct convolution against a hand-computed sum.
    #[test]
    fn convolution_of_two_points() {
        let dictionary = Dictionary { convention: Convention::Force, terms: vec![Term::Power(1)] };
        let dx = 0.5;
        let g = stencil(&dictionary, 0, 3, dx);
        let rho = ndarray::array![1.0, 0.0, 2.0];
        let mut out = vec![0.0; 3];
        convolve(&g, rho.view(), dx, &mut out);
        // phi(r) = r is linear, so its hat average is G itself.
        // At x_0: G(x_0 - x_2) = phi(1.0) * sign(-1) = -1, times rho_2 = 2, times dx.
        assert!((out[0] - (-1.0)).abs() < 1e-14, "{out:?}");
        // At x_1: G(-0.5) rho_2 + G(0.5) rho_0 = -1 + 0.5.
        assert!((out[1] - 0.5 * (-0.5 * 2.0 + 0.5)).abs() < 1e-14, "{out:?}");
    }

    /// The hat average of `r^2` is `r^2 + dx^2/6` away from zero, and of an
    /// indicator the hat-weighted length of the overlap.
    #[test]
    fn hat_average_in_closed_form() {
        let dx = 0.1;
        let square = hat_average(|s| s * s, 0.5, dx, &[]);
        assert!((square - (0.25 + dx * dx / 6.0)).abs() < 1e-14, "{square}");
        // 1[0.4, 0.8) around 0.4 covers the right half of the hat: 1/2.
        let half = hat_average(|s| f64::from(u8::from((0.4..0.8).contains(&s))), 0.4, dx, &[0.4, 0.8]);
        assert!((half - 0.5).abs() < 1e-14, "{half}");
        // Around 0.43 the hat spans [0.33, 0.53] and misses [0.33, 0.4],
        // whose hat weight is (0.07/0.1)^2 / 2.
        let most = hat_average(|s| f64::from(u8::from((0.4..0.8).contains(&s))), 0.43, dx, &[0.4, 0.8]);
        assert!((most - (1.0 - 0.245)).abs() < 1e-12, "{most}");
    }

    /// The FFT convolution of the assembly against the direct sum for every
    /// power of the case-A dictionary.
    #[test]
    fn fft_convolution_matches_direct_for_powers() {
        let dictionary = Dictionary { convention: Convention::Force, terms: (0..8).map(Term::Power).collect() };
        let (m, dx) = (101, 0.06);
        let stencils: Vec<Vec<f64>> = (0..8).map(|k| stencil(&dictionary, k, m, dx)).collect();
        let rho = ndarray::Array1::from_iter((0..m).map(|i| (-((i as f64 - 40.0) * dx).powi(2) / 0.2).exp()));
        let fast = crate::convolution::GridConvolution::new(m, dx, &stencils);
        let mut workspace = fast.workspace();
        let mut out = vec![vec![0.0; m]; 8];
        fast.apply(rho.as_slice().unwrap(), &mut workspace, &mut out);
        for (k, g) in stencils.iter().enumerate() {
            let mut direct = vec![0.0; m];
            convolve(g, rho.view(), dx, &mut direct);
            let scale = direct.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            for i in 0..m {
                assert!((out[k][i] - direct[i]).abs() < 1e-12 * scale, "r^{k} at point {i}");
            }
        }
    }
}
