//! The 2-Wasserstein distance W2 between two densities on the same grid.
//!
//! Both densities are read the way the mean-field solver reads them: every
//! grid point is the centre of a cell of width `dx` per axis, and the
//! density is constant on its cell. Each density is divided by its mass
//! `sum rho dV` before the distance is taken, and the two masses must agree
//! to a relative [`MASS_TOLERANCE`].
//!
//! - **1D, exact.** A piecewise-constant density has a piecewise-linear CDF,
//!   so its quantile function `Q` is piecewise linear in `s`, with a jump
//!   across every run of empty cells. `W2^2 = int_0^1 |Q_1(s) - Q_2(s)|^2 ds`
//!   is integrated exactly between the merged breakpoints of `Q_1` and
//!   `Q_2`. Treating the cells as point masses instead adds the spread within
//!   each cell to the transport and inflates small distances.
//! - **2D, debiased Sinkhorn.** The Sinkhorn divergence
//!   `S_eps(a, b) = OT_eps(a, b) - (OT_eps(a, a) + OT_eps(b, b)) / 2` between
//!   the cell masses at the cell centres, with the squared Euclidean cost,
//!   iterated in the log domain. The Gibbs kernel of a tensor grid is
//!   separable, so one iteration costs `O(nx ny (nx + ny))`. The result is
//!   `sqrt(max(S_eps, 0))`, which approaches the W2 of the discrete
//!   measures as `eps` goes to 0.

use ips_core::Grid;
use ndarray::ArrayViewD;
use rayon::prelude::*;

use crate::{EvalError, Result};

/// Largest relative difference `|m1 - m2| / max(m1, m2)` of the two masses
/// that W2 accepts. It lets through the mass that a kernel density estimate
/// loses past the grid edges (below 1e-6 for the bundled experiments) and
/// rejects densities that are not comparable.
pub const MASS_TOLERANCE: f64 = 1e-3;

/// Settings of the 2D Sinkhorn iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SinkhornConfig {
    /// Entropic regularisation `eps` in units of the squared largest grid
    /// spacing. The default 1 makes the blur `sqrt(eps)` one cell wide.
    pub epsilon_cells: f64,
    /// The iteration stops when the L1 error of the first marginal falls below this.
    pub tolerance: f64,
    /// The iteration stops after this many steps; a warning is logged.
    pub max_iterations: usize,
}

impl Default for SinkhornConfig {
    fn default() -> Self {
        SinkhornConfig {
            epsilon_cells: 1.0,
            tolerance: 1e-9,
            max_iterations: 5000,
        }
    }
}

/// Computes W2 between densities `a` and `b` on `grid`: exact in 1D, by
/// debiased Sinkhorn with the default [`SinkhornConfig`] in 2D.
///
/// # Errors
/// [`EvalError::Input`] when a shape differs from the grid, a value is
/// negative or not finite, a mass is zero, or the masses differ by more
/// than [`MASS_TOLERANCE`].
pub fn w2(grid: &Grid, a: ArrayViewD<f64>, b: ArrayViewD<f64>) -> Result<f64> {
    let (a, b) = probability_pair(grid, a, b)?;
    match grid.dim() {
        1 => Ok(w2_1d_probabilities(&grid.axes[0].points(), grid.axes[0].dx(), &a, &b)),
        2 => Ok(warn_unconverged(sinkhorn_w2(grid, &a, &b, &SinkhornConfig::default()))),
        d => Err(EvalError::Input(format!("W2 is implemented in 1D and 2D, not {d}D"))),
    }
}

/// Computes W2 in 2D by debiased Sinkhorn with the given settings.
///
/// # Errors
/// As [`w2`], and when `grid` is not 2D.
pub fn w2_sinkhorn(grid: &Grid, a: ArrayViewD<f64>, b: ArrayViewD<f64>, config: &SinkhornConfig) -> Result<f64> {
    Ok(warn_unconverged(w2_sinkhorn_checked(grid, a, b, config)?))
}

/// A 2D W2 by Sinkhorn, with whether the iteration reached its tolerance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SinkhornW2 {
    pub distance: f64,
    /// False when an entropic cost stopped at `max_iterations` before its
    /// tolerance, so `distance` is approximate.
    pub converged: bool,
}

/// Computes W2 in 2D by debiased Sinkhorn like [`w2_sinkhorn`], but
/// returns the convergence instead of logging it, so that a caller taking
/// many distances can report them once.
///
/// # Errors
/// As [`w2_sinkhorn`].
pub fn w2_sinkhorn_checked(grid: &Grid, a: ArrayViewD<f64>, b: ArrayViewD<f64>, config: &SinkhornConfig) -> Result<SinkhornW2> {
    if grid.dim() != 2 {
        return Err(EvalError::Input(format!("Sinkhorn W2 needs a 2D grid, got {}D", grid.dim())));
    }
    let (a, b) = probability_pair(grid, a, b)?;
    Ok(sinkhorn_w2(grid, &a, &b, config))
}

fn sinkhorn_w2(grid: &Grid, a: &[f64], b: &[f64], config: &SinkhornConfig) -> SinkhornW2 {
    let (divergence, converged) = sinkhorn_divergence(grid, a, b, config);
    SinkhornW2 { distance: divergence.max(0.0).sqrt(), converged }
}

/// Logs a warning when `w2` did not converge and returns its distance.
fn warn_unconverged(w2: SinkhornW2) -> f64 {
    if !w2.converged {
        tracing::warn!("Sinkhorn did not reach its tolerance; the 2D W2 is approximate");
    }
    w2.distance
}

/// Checks the pair and returns both densities as cell probabilities
/// (`rho dV / mass`), flattened in C order.
fn probability_pair(grid: &Grid, a: ArrayViewD<f64>, b: ArrayViewD<f64>) -> Result<(Vec<f64>, Vec<f64>)> {
    let shape = grid.shape();
    for (name, density) in [("first", &a), ("second", &b)] {
        if density.shape() != shape.as_slice() {
            return Err(EvalError::Input(format!(
                "W2: the {name} density has shape {:?}, the grid {:?}",
                density.shape(),
                shape
            )));
        }
        if let Some(v) = density.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
            return Err(EvalError::Input(format!(
                "W2: the {name} density contains {v}; densities must be finite and non-negative"
            )));
        }
    }
    let mass_a: f64 = a.sum();
    let mass_b: f64 = b.sum();
    if mass_a <= 0.0 || mass_b <= 0.0 {
        return Err(EvalError::Input(format!(
            "W2 needs densities of positive mass, got masses {} and {}",
            mass_a * grid.cell_volume(),
            mass_b * grid.cell_volume()
        )));
    }
    let difference = (mass_a - mass_b).abs() / mass_a.max(mass_b);
    if difference > MASS_TOLERANCE {
        return Err(EvalError::Input(format!(
            "W2 needs densities of equal mass, got {} and {} (relative difference {difference:.2e}, \
             tolerance {MASS_TOLERANCE:.0e})",
            mass_a * grid.cell_volume(),
            mass_b * grid.cell_volume()
        )));
    }
    let a = a.iter().map(|v| v / mass_a).collect();
    let b = b.iter().map(|v| v / mass_b).collect();
    Ok((a, b))
}

/// Pieces of a quantile function: on `[s_start, s_start + p)` it runs
/// linearly from `x_left` to `x_left + dx`, for every cell of mass `p > 0`.
fn quantile_pieces(points: &[f64], dx: f64, p: &[f64]) -> Vec<(f64, f64, f64)> {
    let mut pieces = Vec::with_capacity(p.len());
    let mut s = 0.0;
    for (&x, &mass) in points.iter().zip(p) {
        if mass > 0.0 {
            pieces.push((s, mass, x - 0.5 * dx));
            s += mass;
        }
    }
    pieces
}

/// Computes the exact W2 of two cell-probability vectors on a 1D grid.
fn w2_1d_probabilities(points: &[f64], dx: f64, a: &[f64], b: &[f64]) -> f64 {
    let first = quantile_pieces(points, dx, a);
    let second = quantile_pieces(points, dx, b);
    let (mut i, mut j) = (0, 0);
    let mut s = 0.0;
    let mut total = 0.0;

    // Walk the merged breakpoints. Between two of them both quantile
    // functions are linear, Q(s) = x_left + dx (s - s_start) / p, so the
    // squared difference is a quadratic in s, integrated in closed form.
    while i < first.len() && j < second.len() {
        let (s1, p1, x1) = first[i];
        let (s2, p2, x2) = second[j];
        let end1 = s1 + p1;
        let end2 = s2 + p2;
        let end = end1.min(end2);
        let length = end - s;
        if length > 0.0 {
            let q1 = x1 + dx * (s - s1) / p1;
            let q2 = x2 + dx * (s - s2) / p2;
            let offset = q1 - q2;
            let slope = dx / p1 - dx / p2;
            total += offset * offset * length + offset * slope * length * length + slope * slope * length.powi(3) / 3.0;
        }
        s = end;
        if end1 <= end {
            i += 1;
        }
        if end2 <= end {
            j += 1;
        }
    }
    total.max(0.0).sqrt()
}

/// Computes W2 of two densities on a 1D grid of points `points` with
/// spacing `dx`, exactly, for cell-constant densities.
///
/// # Errors
/// As [`w2`].
pub fn w2_1d(points: &[f64], a: &[f64], b: &[f64]) -> Result<f64> {
    if points.len() < 2 {
        return Err(EvalError::Input("W2 needs a grid of at least 2 points".into()));
    }
    let dx = points[1] - points[0];
    let axis = ips_core::Axis::new(points[0], points[points.len() - 1], points.len() - 1, "W2 grid")?;
    let grid = Grid::new(vec![axis])?;
    let a = ndarray::ArrayView1::from(a).into_dyn();
    let b = ndarray::ArrayView1::from(b).into_dyn();
    let (a, b) = probability_pair(&grid, a, b)?;
    Ok(w2_1d_probabilities(points, dx, &a, &b))
}

/// `log sum exp` of `values`, with `-inf` for an empty or all `-inf` input.
fn log_sum_exp(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + values.map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// Separable soft-min on a tensor grid: for every cell `i`,
/// `-eps log sum_j exp(h_j / eps - |x_i - x_j|^2 / eps)`.
///
/// The squared distance splits into one term per axis, so the sum runs
/// over one axis at a time, each a log-sum-exp along grid lines. Along a
/// line, `log sum_j exp(v_j - c_ij / eps)` equals
/// `m + log sum_j exp(v_j - m) k_ij` with `m = max_j v_j` and the Gibbs
/// kernel `k_ij = exp(-c_ij / eps)` tabulated once per `eps`. That takes one
/// `exp` per line point instead of one per pair, and the sum is a dot
/// product. Where the sum falls below [`UNDERFLOW_GUARD`], the terms that
/// matter may have underflowed and the line target is summed exactly in
/// the log domain instead.
struct SoftMin {
    nx: usize,
    ny: usize,
    /// `(x_i - x_k)^2`, `[nx * nx]`.
    cost_x: Vec<f64>,
    /// `(y_i - y_k)^2`, `[ny * ny]`.
    cost_y: Vec<f64>,
}

/// Smallest kernel sum trusted by the fast soft-min. Products that
/// underflow are below about 2.2e-308 each, so above this guard the ones
/// dropped change the sum by less than 1e-15 relative for lines of up to
/// 1e12 points.
const UNDERFLOW_GUARD: f64 = 1e-280;

/// The soft-min of [`SoftMin`] at one `eps`, with its Gibbs kernel tables.
struct GibbsKernel<'a> {
    soft_min: &'a SoftMin,
    epsilon: f64,
    /// `exp(-cost_x / eps)` and `exp(-cost_y / eps)`.
    kernel_x: Vec<f64>,
    kernel_y: Vec<f64>,
}

impl SoftMin {
    fn new(grid: &Grid) -> Self {
        let x = grid.axes[0].points();
        let y = grid.axes[1].points();
        let table = |p: &[f64]| {
            let mut t = Vec::with_capacity(p.len() * p.len());
            for a in p {
                for b in p {
                    t.push((a - b).powi(2));
                }
            }
            t
        };
        SoftMin { nx: x.len(), ny: y.len(), cost_x: table(&x), cost_y: table(&y) }
    }

    /// Tabulates the Gibbs kernel at `epsilon`.
    fn at(&self, epsilon: f64) -> GibbsKernel<'_> {
        let gibbs = |costs: &[f64]| costs.iter().map(|c| (-c / epsilon).exp()).collect();
        GibbsKernel { soft_min: self, epsilon, kernel_x: gibbs(&self.cost_x), kernel_y: gibbs(&self.cost_y) }
    }

    /// Applies the soft-min at `epsilon` by a log-sum-exp over every pair,
    /// the slow reference for [`GibbsKernel::apply`].
    #[cfg(test)]
    fn apply_exact(&self, epsilon: f64, h_over_eps: &[f64], out: &mut [f64]) {
        let (nx, ny) = (self.nx, self.ny);
        let inverse = 1.0 / epsilon;
        let mut inner = vec![0.0; nx * ny];
        for j1 in 0..nx {
            let row = &h_over_eps[j1 * ny..(j1 + 1) * ny];
            for i2 in 0..ny {
                let costs = &self.cost_y[i2 * ny..(i2 + 1) * ny];
                inner[j1 * ny + i2] = log_sum_exp(row.iter().zip(costs).map(|(h, c)| h - c * inverse));
            }
        }
        for i1 in 0..nx {
            let costs = &self.cost_x[i1 * nx..(i1 + 1) * nx];
            for i2 in 0..ny {
                out[i1 * ny + i2] = -epsilon * log_sum_exp((0..nx).map(|j1| inner[j1 * ny + i2] - costs[j1] * inverse));
            }
        }
    }
}

impl GibbsKernel<'_> {
    /// Applies the soft-min to `h_over_eps = h / eps` (`[nx * ny]`, C order), writing into `out`.
    fn apply(&self, h_over_eps: &[f64], out: &mut [f64]) {
        let (nx, ny) = (self.soft_min.nx, self.soft_min.ny);
        let inverse = 1.0 / self.epsilon;

        // Sum over the y index along every row of constant j1. The result
        // is stored transposed, `[ny * nx]`, so that the sum over j1 also
        // reads contiguous lines.
        let mut inner = vec![0.0; nx * ny];
        inner.par_chunks_mut(ny).enumerate().for_each(|(j1, inner_row)| {
            let line = &h_over_eps[j1 * ny..(j1 + 1) * ny];
            line_log_sum_exp(line, &self.kernel_y, &self.soft_min.cost_y, inverse, inner_row);
        });
        let inner_t = transpose(&inner, nx, ny);

        let mut out_t = vec![0.0; nx * ny];
        out_t.par_chunks_mut(nx).enumerate().for_each(|(i2, out_column)| {
            let line = &inner_t[i2 * nx..(i2 + 1) * nx];
            line_log_sum_exp(line, &self.kernel_x, &self.soft_min.cost_x, inverse, out_column);
        });
        for (i1, out_row) in out.chunks_mut(ny).enumerate() {
            for (i2, value) in out_row.iter_mut().enumerate() {
                *value = -self.epsilon * out_t[i2 * nx + i1];
            }
        }
    }
}

/// Writes `log sum_j exp(line_j - cost_ij / eps)` for every target `i` of
/// one grid line into `out`, with `kernel = exp(-cost / eps)` tabulated.
fn line_log_sum_exp(line: &[f64], kernel: &[f64], cost: &[f64], inverse: f64, out: &mut [f64]) {
    let n = line.len();
    let max = line.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        out.fill(f64::NEG_INFINITY);
        return;
    }
    let weights: Vec<f64> = line.iter().map(|v| (v - max).exp()).collect();
    for (i, value) in out.iter_mut().enumerate() {
        let row = &kernel[i * n..(i + 1) * n];
        let sum = dot(&weights, row);
        *value = if sum > UNDERFLOW_GUARD {
            max + sum.ln()
        } else {
            let costs = &cost[i * n..(i + 1) * n];
            log_sum_exp(line.iter().zip(costs).map(|(v, c)| v - c * inverse))
        };
    }
}

/// Dot product with four partial sums, which the compiler vectorises.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut partial = [0.0; 4];
    let (a_chunks, b_chunks) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for k in 0..4 {
            partial[k] += x[k] * y[k];
        }
    }
    (partial[0] + partial[1]) + (partial[2] + partial[3]) + tail
}

/// Transposes a `[rows * cols]` C-order array.
fn transpose(values: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

/// `log p` with `-inf` for empty cells, which then take no part in the sums.
fn log_weights(p: &[f64]) -> Vec<f64> {
    p.iter().map(|&v| if v > 0.0 { v.ln() } else { f64::NEG_INFINITY }).collect()
}

/// Returns the regularisations of the epsilon-scaling schedule: from the
/// squared diameter of the grid, halved at every stage, down to `target`.
fn epsilon_schedule(grid: &Grid, target: f64) -> Vec<f64> {
    let diameter_squared: f64 = grid.axes.iter().map(|a| (a.hi - a.lo).powi(2)).sum();
    let mut schedule = Vec::new();
    let mut epsilon = diameter_squared.max(target);
    while epsilon > target {
        schedule.push(epsilon);
        epsilon *= 0.5;
    }
    schedule.push(target);
    schedule
}

/// Iteration cap of each stage before the last in the epsilon-scaling
/// schedule; those stages only warm-start the potentials.
const WARM_START_ITERATIONS: usize = 20;

/// Computes the entropic transport cost `OT_eps(a, b)` as the dual value
/// `<f, a> + <g, b>` at the fixed point of the log-domain Sinkhorn
/// iteration, reached by epsilon scaling, and whether the last stage
/// reached the tolerance.
fn entropic_cost(soft_min: &SoftMin, schedule: &[f64], a: &[f64], b: &[f64], config: &SinkhornConfig) -> (f64, bool) {
    let (log_a, log_b) = (log_weights(a), log_weights(b));
    let n = a.len();
    let (mut f, mut g) = (vec![0.0; n], vec![0.0; n]);
    let mut g_next = vec![0.0; n];
    let mut h = vec![0.0; n];
    let mut converged = false;
    for (stage, &eps) in schedule.iter().enumerate() {
        let last_stage = stage + 1 == schedule.len();
        let iterations = if last_stage { config.max_iterations } else { WARM_START_ITERATIONS };
        let kernel = soft_min.at(eps);
        for _ in 0..iterations {
            for k in 0..n {
                h[k] = log_b[k] + g[k] / eps;
            }
            kernel.apply(&h, &mut f);
            for k in 0..n {
                h[k] = log_a[k] + f[k] / eps;
            }
            kernel.apply(&h, &mut g_next);

            // After the f update the first marginal of the plan is exact.
            // The second is b exp((g - g_next) / eps), so its L1 error follows
            // from the change of g.
            let error: f64 = (0..n)
                .filter(|&k| b[k] > 0.0)
                .map(|k| (b[k] * (1.0 - ((g[k] - g_next[k]) / eps).exp())).abs())
                .sum();
            std::mem::swap(&mut g, &mut g_next);
            if last_stage && error < config.tolerance {
                converged = true;
                break;
            }
        }
    }
    let dot = |p: &[f64], potential: &[f64]| -> f64 {
        p.iter().zip(potential).filter(|(w, _)| **w > 0.0).map(|(w, v)| w * v).sum()
    };
    (dot(a, &f) + dot(b, &g), converged)
}

/// Computes the debiased Sinkhorn divergence of two cell-probability
/// vectors on a 2D grid, and whether all three entropic costs converged.
fn sinkhorn_divergence(grid: &Grid, a: &[f64], b: &[f64], config: &SinkhornConfig) -> (f64, bool) {
    let spacing = grid.axes.iter().map(|axis| axis.dx()).fold(0.0, f64::max);
    let schedule = epsilon_schedule(grid, config.epsilon_cells * spacing * spacing);
    let soft_min = SoftMin::new(grid);
    let cross = entropic_cost(&soft_min, &schedule, a, b, config);
    let self_a = entropic_cost(&soft_min, &schedule, a, a, config);
    let self_b = entropic_cost(&soft_min, &schedule, b, b, config);
    (cross.0 - 0.5 * (self_a.0 + self_b.0), cross.1 && self_a.1 && self_b.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ips_core::Axis;
    use ndarray::{Array1, Array2};

    fn line(lo: f64, hi: f64, intervals: usize) -> Grid {
        Grid::new(vec![Axis::new(lo, hi, intervals, "grid").unwrap()]).unwrap()
    }

    /// Samples a Gaussian at the grid points, scaled so that the values sum to 1.
    fn gaussian(points: &[f64], mean: f64, sd: f64) -> Vec<f64> {
        let values: Vec<f64> = points.iter().map(|x| (-(x - mean).powi(2) / (2.0 * sd * sd)).exp()).collect();
        let sum: f64 = values.iter().sum();
        values.iter().map(|v| v / sum).collect()
    }

    /// Closed form for Gaussians: W2^2 = (m1 - m2)^2 + (s1 - s2)^2.
    #[test]
    fn w2_1d_gaussians_closed_form() {
        let grid = line(-4.0, 4.0, 800);
        let points = grid.axes[0].points();
        for (m1, s1, m2, s2) in [(0.0, 0.3, 0.5, 0.3), (-0.2, 0.3, 0.3, 0.5), (0.0, 0.4, 0.0, 0.2), (0.1, 0.25, 0.12, 0.25)] {
            let a = Array1::from(gaussian(&points, m1, s1));
            let b = Array1::from(gaussian(&points, m2, s2));
            let value = w2(&grid, a.view().into_dyn(), b.view().into_dyn()).unwrap();
            let expected = ((m1 - m2).powi(2) + (s1 - s2).powi(2)).sqrt();
            assert!((value - expected).abs() < 1e-4, "W2 = {value}, closed form {expected}");
        }
    }

    /// Uniform blocks: shifting a density by whole cells moves it by exactly that distance.
    #[test]
    fn w2_1d_shifted_block_is_shift() {
        let points: Vec<f64> = (0..20).map(|k| k as f64 * 0.5).collect();
        let mut a = vec![0.0; 20];
        let mut b = vec![0.0; 20];
        for k in 2..6 {
            a[k] = 1.0;
            b[k + 7] = 1.0;
        }
        let value = w2_1d(&points, &a, &b).unwrap();
        assert!((value - 3.5).abs() < 1e-12, "{value}");
    }

    /// A density with an empty gap against one block: the quantile function
    /// jumps across the gap, and the value matches the integral by hand.
    #[test]
    fn w2_1d_with_zero_mass_gap() {
        // Cells of width 1 centred at 0..9. First: half the mass on cell 0,
        // half on cell 9 (uniform on [-0.5, 0.5] and [8.5, 9.5]).
        // Second: all on cells 4 and 5 (uniform on [3.5, 5.5]).
        // Q1 = -0.5 + 2s on [0, 1/2), 8.5 + 2(s - 1/2) after; Q2 = 3.5 + 2s.
        // Q1 - Q2 = -4 on the first half and 4 on the second, so W2 = 4.
        let points: Vec<f64> = (0..10).map(|k| k as f64).collect();
        let mut a = vec![0.0; 10];
        a[0] = 1.0;
        a[9] = 1.0;
        let mut b = vec![0.0; 10];
        b[4] = 1.0;
        b[5] = 1.0;
        let value = w2_1d(&points, &a, &b).unwrap();
        assert!((value - 4.0).abs() < 1e-12, "{value}");
    }

    /// Cells read as point masses would give W2^2 = 1 and 2/3 in the two
    /// cases below. The cell-constant densities give less, because part of
    /// each cell's mass stays in place.
    #[test]
    fn w2_1d_reads_cells_not_points() {
        let points: Vec<f64> = (0..5).map(|k| k as f64).collect();
        let a = [0.0, 0.0, 1.0, 0.0, 0.0];
        let b = [0.0, 0.5, 0.0, 0.5, 0.0];
        // Q_a = 1.5 + s. Q_b = 0.5 + 2s on [0, 1/2) and 1.5 + 2s after, so
        // W2^2 = int_0^1/2 (1 - s)^2 ds + int_1/2^1 s^2 ds = 7/12.
        let value = w2_1d(&points, &a, &b).unwrap();
        assert!((value - (7.0f64 / 12.0).sqrt()).abs() < 1e-12, "{value}");

        // Q_c = 0.5 + 3s against Q_a: W2^2 = int_0^1 (2s - 1)^2 ds = 1/3.
        let third = 1.0 / 3.0;
        let c = [0.0, third, third, third, 0.0];
        let value = w2_1d(&points, &c, &a).unwrap();
        assert!((value - (1.0f64 / 3.0).sqrt()).abs() < 1e-12, "{value}");
    }

    #[test]
    fn w2_1d_symmetric_and_zero_on_self() {
        let grid = line(-3.0, 3.0, 100);
        let points = grid.axes[0].points();
        let a = Array1::from(gaussian(&points, -0.5, 0.3));
        let b = Array1::from(gaussian(&points, 0.7, 0.4));
        let ab = w2(&grid, a.view().into_dyn(), b.view().into_dyn()).unwrap();
        let ba = w2(&grid, b.view().into_dyn(), a.view().into_dyn()).unwrap();
        assert!((ab - ba).abs() < 1e-12, "{ab} vs {ba}");
        let aa = w2(&grid, a.view().into_dyn(), a.view().into_dyn()).unwrap();
        assert!(aa.abs() < 1e-12, "{aa}");
    }

    #[test]
    fn w2_rejects_zero_mass() {
        let grid = line(0.0, 1.0, 4);
        let a = Array1::<f64>::zeros(5);
        let b = Array1::from(vec![0.0, 1.0, 0.0, 0.0, 0.0]);
        let err = w2(&grid, a.view().into_dyn(), b.view().into_dyn()).unwrap_err();
        assert!(err.to_string().contains("positive mass"), "{err}");
    }

    #[test]
    fn w2_rejects_unequal_mass() {
        let grid = line(0.0, 1.0, 4);
        let a = Array1::from(vec![0.0, 1.0, 0.0, 0.0, 0.0]);
        let b = Array1::from(vec![0.0, 0.0, 1.01, 0.0, 0.0]);
        let err = w2(&grid, a.view().into_dyn(), b.view().into_dyn()).unwrap_err();
        assert!(err.to_string().contains("equal mass"), "{err}");
    }

    #[test]
    fn w2_accepts_mass_within_tolerance() {
        let grid = line(0.0, 1.0, 4);
        let a = Array1::from(vec![0.0, 1.0, 0.0, 0.0, 0.0]);
        let b = Array1::from(vec![0.0, 0.0, 1.0 + 0.5 * MASS_TOLERANCE, 0.0, 0.0]);
        let value = w2(&grid, a.view().into_dyn(), b.view().into_dyn()).unwrap();
        assert!((value - 0.25).abs() < 1e-12, "{value}");
    }

    #[test]
    fn w2_rejects_negative_values_and_shapes() {
        let grid = line(0.0, 1.0, 4);
        let a = Array1::from(vec![0.0, 1.0, -0.1, 0.0, 0.0]);
        let b = Array1::from(vec![0.0, 0.0, 1.0, 0.0, 0.0]);
        let err = w2(&grid, a.view().into_dyn(), b.view().into_dyn()).unwrap_err();
        assert!(err.to_string().contains("non-negative"), "{err}");
        let short = Array1::from(vec![1.0, 0.0]);
        let err = w2(&grid, short.view().into_dyn(), b.view().into_dyn()).unwrap_err();
        assert!(err.to_string().contains("shape"), "{err}");
    }

    /// Samples an isotropic Gaussian at the grid points, scaled so that the values sum to 1.
    fn gaussian_2d(grid: &Grid, mean: (f64, f64), sd: f64) -> Array2<f64> {
        let x = grid.axes[0].points();
        let y = grid.axes[1].points();
        let values = Array2::from_shape_fn((x.len(), y.len()), |(i, j)| {
            (-((x[i] - mean.0).powi(2) + (y[j] - mean.1).powi(2)) / (2.0 * sd * sd)).exp()
        });
        let sum = values.sum();
        values / sum
    }

    /// Closed form for isotropic Gaussians in 2D: W2^2 = |m1 - m2|^2 + 2 (s1 - s2)^2.
    #[test]
    fn w2_2d_isotropic_gaussians() {
        let axis = Axis::new(-2.5, 2.5, 40, "grid").unwrap();
        let grid = Grid::new(vec![axis, axis]).unwrap();
        for (m1, s1, m2, s2) in [((0.0, 0.0), 0.4, (0.6, -0.3), 0.4), ((-0.2, 0.1), 0.35, (0.3, 0.2), 0.5)] {
            let a = gaussian_2d(&grid, m1, s1);
            let b = gaussian_2d(&grid, m2, s2);
            let value = w2(&grid, a.view().into_dyn(), b.view().into_dyn()).unwrap();
            let expected = ((m1.0 - m2.0).powi(2) + (m1.1 - m2.1).powi(2) + 2.0 * (s1 - s2).powi(2)).sqrt();
            assert!((value - expected).abs() < 0.02 * expected, "W2 = {value}, closed form {expected}");
        }
    }

    #[test]
    fn w2_2d_zero_on_self() {
        let axis = Axis::new(-2.0, 2.0, 30, "grid").unwrap();
        let grid = Grid::new(vec![axis, axis]).unwrap();
        let a = gaussian_2d(&grid, (0.3, -0.2), 0.4);
        let value = w2(&grid, a.view().into_dyn(), a.view().into_dyn()).unwrap();
        assert!(value < 1e-6, "{value}");
    }

    /// The fast soft-min agrees with the pairwise log-sum-exp, also where
    /// the potentials span hundreds of units and the Gibbs sums underflow,
    /// and on empty cells (`-inf`).
    #[test]
    fn soft_min_matches_exact_sum() {
        let axis = Axis::new(-3.0, 3.0, 48, "grid").unwrap();
        let grid = Grid::new(vec![axis, Axis::new(-2.0, 2.0, 31, "grid").unwrap()]).unwrap();
        let soft_min = SoftMin::new(&grid);
        let n = soft_min.nx * soft_min.ny;
        let spacing = grid.axes[0].dx();
        for (epsilon, spread) in [(4.0, 1.0), (spacing * spacing, 50.0), (spacing * spacing, 900.0)] {
            // A bumpy field with a steep slope, so that the largest value of
            // a line is far from most of its points.
            let h: Vec<f64> = (0..n)
                .map(|k| {
                    if k % 37 == 5 {
                        return f64::NEG_INFINITY;
                    }
                    let (i, j) = ((k / soft_min.ny) as f64, (k % soft_min.ny) as f64);
                    spread * ((0.3 * i).sin() * (0.2 * j).cos() - 0.02 * i * j / 10.0)
                })
                .collect();
            let (mut fast, mut exact) = (vec![0.0; n], vec![0.0; n]);
            soft_min.at(epsilon).apply(&h, &mut fast);
            soft_min.apply_exact(epsilon, &h, &mut exact);
            for k in 0..n {
                let scale = exact[k].abs().max(epsilon);
                assert!((fast[k] - exact[k]).abs() <= 1e-12 * scale, "cell {k}, eps {epsilon}: {} vs {}", fast[k], exact[k]);
            }
        }
    }

    #[test]
    fn epsilon_schedule_halves_to_target() {
        let axis = Axis::new(0.0, 1.0, 10, "grid").unwrap();
        let grid = Grid::new(vec![axis, axis]).unwrap();
        let schedule = epsilon_schedule(&grid, 0.1);
        assert_eq!(schedule.first(), Some(&2.0));
        assert_eq!(schedule.last(), Some(&0.1));
        assert!(schedule.windows(2).all(|w| w[1] < w[0]), "{schedule:?}");
    }
}
