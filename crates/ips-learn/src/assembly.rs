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
}

impl System {
    /// Number of columns.
    pub fn columns(&self) -> usize {
        self.matrix.ncols()
    }
}

/// Samples `G_k(o dx)` for offsets `o = -(M-1) ..= M-1`.
fn stencil(dictionary: &Dictionary, k: usize, m: usize, dx: f64) -> Vec<f64> {
    (0..2 * m - 1)
        .map(|index| {
            let offset = index as f64 - (m - 1) as f64;
            let r = offset.abs() * dx;
            if offset == 0.0 {
                0.0
            } else {
                dictionary.phi(k, r) * offset.signum()
            }
        })
        .collect()
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
    for (k, column) in matrix.columns().into_iter().enumerate() {
        if column.iter().all(|&v| v == 0.0) {
            return Err(LearnError::Column {
                term: column_names[k].clone(),
                reason: "gives a zero column on this density (no pairs at distances where it is non-zero)".into(),
            });
        }
    }

    let blocks = (0..used.len()).map(|j| j * interior..(j + 1) * interior).collect();
    let block_times = used.iter().map(|&n| density.times[n]).collect();
    Ok(System {
        matrix,
        target,
        blocks,
        block_times,
        column_names,
        diffusion_column: diffusion.is_none().then_some(n_terms),
        dt_obs,
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
        // At x_0: G(x_0 - x_2) = phi(1.0) * sign(-1) = -1, times rho_2 = 2, times dx.
        assert!((out[0] - (-1.0)).abs() < 1e-15, "{out:?}");
        // At x_1: G(-0.5) rho_2 + G(0.5) rho_0 = -1 + 0.5.
        assert!((out[1] - 0.5 * (-0.5 * 2.0 + 0.5)).abs() < 1e-15, "{out:?}");
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
