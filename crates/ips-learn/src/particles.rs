//! Regressions on the particles themselves, without a density estimate
//! (docs/method.md, "Particle formulations").
//!
//! **Weak form on the particles.** Itô's formula for a test function
//! `psi(x)`, averaged over particles and taken over a time window
//! `[t_a, t_b]`, gives
//!
//! ```text
//! (1/N) sum_i [psi(X_i(t_b)) - psi(X_i(t_a))]
//!     = int (1/N) sum_i [ b_i . grad psi(X_i) + D Lap psi(X_i) ] dt + martingale,
//! ```
//!
//! with `b_i = sum_k c_k f_k(X_i)` and `f_k` the drift of term `k`
//! ([`ips_sim::TermDrifts`]). The time integral is the left-point rule over
//! the snapshots, which matches the Itô integral. A row is one pair (test
//! function, window). The martingale terms of the rows of one window have
//! covariance `(2 D / N^2) int sum_i grad psi_l . grad psi_m dt`; the rows of
//! each window are whitened by it (generalised least squares), with the
//! eigenvalues below `learn.weak.covariance_floor` times the largest
//! dropped, so that a test function seeing few particles does not get a
//! huge weight. Windows do not overlap, so their noises are independent.
//!
//! **Labelled increments.** When the trajectories keep particle identities,
//! `(X_i^{n+s} - X_i^n) / dt_obs = sum_k c_k f_k(X_i^n) + noise` with noise of
//! variance `2 D / dt_obs` per coordinate. Each time step contributes
//! `N d` rows, too many to store, so each step is replaced by the `K` rows
//! of a square root of its Gram matrix, which give the same normal
//! equations; the part of the residual they cannot see is kept as
//! [`System::residual_offset`]. D is the residual quadratic variation.

use ips_core::artifact::{uniform_spacing, Trajectories};
use ips_core::Term;
use ips_sim::TermDrifts;
use nalgebra::DMatrix;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rayon::prelude::*;

use crate::assembly::System;
use crate::config::WeakConfig;
use crate::least_squares::jacobi_svd;
use crate::{Dictionary, LearnError, Result};

/// The used snapshots: every `observe_every`-th frame.
fn used_frames(trajectories: &Trajectories, observe_every: usize) -> Result<(Vec<usize>, f64)> {
    let dim = trajectories.positions.len_of(Axis(2));
    if !(1..=2).contains(&dim) {
        return Err(LearnError::Trajectories(format!("the positions are {dim}D; learning supports 1D and 2D")));
    }
    let n_times = trajectories.positions.len_of(Axis(0));
    if n_times <= observe_every {
        return Err(LearnError::Trajectories(format!(
            "{n_times} frames are too few for learn.observe_every = {observe_every}; at least {} are needed",
            observe_every + 1
        )));
    }
    let dt = uniform_spacing(&trajectories.times, "the observation times of the trajectories")?;
    Ok(((0..n_times).step_by(observe_every).collect(), dt * observe_every as f64))
}

/// Positions of one frame as `[N, d]` flattened, copied when not contiguous.
fn frame(trajectories: &Trajectories, n: usize) -> Vec<f64> {
    let view = trajectories.positions.index_axis(Axis(0), n);
    match view.as_slice() {
        Some(values) => values.to_vec(),
        None => view.iter().copied().collect(),
    }
}

/// Per-term drifts at every particle of one frame: `[K][N d]`.
fn drifts(dictionary: &Dictionary, positions: &[f64], dim: usize, buffers: &mut TermDrifts) -> Vec<Vec<f64>> {
    let mut out = vec![Vec::new(); dictionary.len()];
    buffers.evaluate(&dictionary.terms, dictionary.convention, positions, dim, &mut out);
    out
}

fn column_names(dictionary: &Dictionary, learn_diffusion: bool) -> Vec<String> {
    let mut names: Vec<String> = dictionary.terms.iter().map(Term::name).collect();
    if learn_diffusion {
        names.push("D".into());
    }
    names
}

fn check_columns(matrix: &Array2<f64>, names: &[String], source: &str) -> Result<()> {
    for (k, column) in matrix.columns().into_iter().enumerate() {
        if column.iter().all(|&v| v == 0.0) {
            return Err(LearnError::Column {
                term: names[k].clone(),
                reason: format!("gives a zero column on these {source} (no pairs at distances where it is non-zero)"),
            });
        }
    }
    Ok(())
}

/// The lattice of test functions: bumps `(1 - |x - centre|^2 / w^2)^p`.
#[derive(Debug, Clone)]
pub struct TestFunctions {
    pub centres: Vec<Vec<f64>>,
    pub half_width: f64,
    pub exponent: i32,
    /// Lattice spacing and origin per axis, to find the bumps near a point.
    spacing: f64,
    origin: Vec<f64>,
    counts: Vec<usize>,
}

impl TestFunctions {
    /// Covers the range of the data (`lo..hi` per axis) with centres `spacing`
    /// apart, reaching half a width beyond it on each side.
    pub fn covering(lo: &[f64], hi: &[f64], half_width: f64, spacing: f64, exponent: u32) -> Self {
        let origin: Vec<f64> = lo.iter().map(|&l| l - 0.5 * half_width).collect();
        let counts: Vec<usize> = lo
            .iter()
            .zip(hi)
            .map(|(&l, &h)| ((h - l + half_width) / spacing).floor() as usize + 1)
            .collect();
        let total: usize = counts.iter().product();
        let centres = (0..total)
            .map(|index| {
                let mut rest = index;
                let mut centre = vec![0.0; lo.len()];
                for axis in (0..lo.len()).rev() {
                    centre[axis] = origin[axis] + (rest % counts[axis]) as f64 * spacing;
                    rest /= counts[axis];
                }
                centre
            })
            .collect();
        TestFunctions { centres, half_width, exponent: exponent as i32, spacing, origin, counts }
    }

    pub fn len(&self) -> usize {
        self.centres.len()
    }

    pub fn is_empty(&self) -> bool {
        self.centres.is_empty()
    }

    /// Calls `visit(l, psi, grad, laplacian)` for every bump `l` non-zero at `x`.
    fn for_each_at(&self, x: &[f64], mut visit: impl FnMut(usize, f64, &[f64], f64)) {
        // Fixed-size arrays: this runs for every particle of every snapshot.
        let dim = x.len();
        let reach = (self.half_width / self.spacing).ceil() as isize;
        let mut first = [0isize; 2];
        let mut last = [0isize; 2];
        for axis in 0..dim {
            let nearest = ((x[axis] - self.origin[axis]) / self.spacing).round() as isize;
            first[axis] = (nearest - reach).max(0);
            last[axis] = (nearest + reach).min(self.counts[axis] as isize - 1);
            if first[axis] > last[axis] {
                return;
            }
        }
        let w2 = self.half_width * self.half_width;
        let p = self.exponent;
        let mut index = first;
        let mut grad = [0.0; 2];
        loop {
            let mut flat = 0usize;
            for axis in 0..dim {
                flat = flat * self.counts[axis] + index[axis] as usize;
            }
            let centre = &self.centres[flat];
            let offset2: f64 = (0..dim).map(|a| (x[a] - centre[a]).powi(2)).sum();
            let u = offset2 / w2;
            if u < 1.0 {
                // psi = g(u), g(u) = (1 - u)^p, u = |x - c|^2 / w^2.
                let g = (1.0 - u).powi(p);
                let g1 = -(p as f64) * (1.0 - u).powi(p - 1);
                let g2 = (p * (p - 1)) as f64 * (1.0 - u).powi(p - 2);
                for a in 0..dim {
                    grad[a] = g1 * 2.0 * (x[a] - centre[a]) / w2;
                }
                let laplacian = g2 * 4.0 * offset2 / (w2 * w2) + g1 * 2.0 * dim as f64 / w2;
                visit(flat, g, &grad[..dim], laplacian);
            }
            // Next index of the box, last axis fastest.
            let mut axis = dim;
            loop {
                if axis == 0 {
                    return;
                }
                axis -= 1;
                if index[axis] < last[axis] {
                    index[axis] += 1;
                    for later in axis + 1..dim {
                        index[later] = first[later];
                    }
                    break;
                }
            }
        }
    }
}

/// Sums over the particles of one snapshot, for every test function.
struct SnapshotSums {
    /// `(1/N) sum_i psi_l(X_i)`.
    psi: Vec<f64>,
    /// `(1/N) sum_i Lap psi_l(X_i)`.
    laplacian: Vec<f64>,
    /// `(1/N) sum_i f_k(X_i) . grad psi_l(X_i)`, `[L, K]`.
    features: Array2<f64>,
    /// `sum_i grad psi_l . grad psi_m`, `[L, L]`.
    covariance: Array2<f64>,
}

fn snapshot_sums(tests: &TestFunctions, positions: &[f64], dim: usize, term_drifts: Option<&[Vec<f64>]>) -> SnapshotSums {
    let n = positions.len() / dim;
    let n_tests = tests.len();
    let n_terms = term_drifts.map_or(0, <[Vec<f64>]>::len);
    let mut sums = SnapshotSums {
        psi: vec![0.0; n_tests],
        laplacian: vec![0.0; n_tests],
        features: Array2::zeros((n_tests, n_terms)),
        covariance: Array2::zeros((n_tests, n_tests)),
    };
    // The bumps non-zero at one particle, with their gradients (d <= 2).
    let mut touched: Vec<(usize, [f64; 2])> = Vec::new();
    for i in 0..n {
        let x = &positions[i * dim..(i + 1) * dim];
        touched.clear();
        tests.for_each_at(x, |l, psi, grad, laplacian| {
            sums.psi[l] += psi;
            sums.laplacian[l] += laplacian;
            if let Some(drifts) = term_drifts {
                for (k, drift) in drifts.iter().enumerate() {
                    let dot: f64 = (0..dim).map(|a| drift[i * dim + a] * grad[a]).sum();
                    sums.features[[l, k]] += dot;
                }
            }
            let mut copy = [0.0; 2];
            copy[..dim].copy_from_slice(grad);
            touched.push((l, copy));
        });
        for (l, grad_l) in &touched {
            for (m, grad_m) in &touched {
                let dot: f64 = (0..dim).map(|a| grad_l[a] * grad_m[a]).sum();
                sums.covariance[[*l, *m]] += dot;
            }
        }
    }
    let inverse = 1.0 / n as f64;
    sums.psi.iter_mut().for_each(|v| *v *= inverse);
    sums.laplacian.iter_mut().for_each(|v| *v *= inverse);
    sums.features *= inverse;
    sums
}

/// Range of the positions over all frames, per axis.
fn data_range(trajectories: &Trajectories) -> (Vec<f64>, Vec<f64>) {
    let dim = trajectories.positions.len_of(Axis(2));
    let mut lo = vec![f64::INFINITY; dim];
    let mut hi = vec![f64::NEG_INFINITY; dim];
    for point in trajectories.positions.lanes(Axis(2)) {
        for a in 0..dim {
            lo[a] = lo[a].min(point[a]);
            hi[a] = hi[a].max(point[a]);
        }
    }
    (lo, hi)
}

/// The test functions of `config` for these trajectories: the half-width
/// defaults to 1/8 of the widest axis of the data, the spacing to half the
/// half-width.
pub fn test_functions(trajectories: &Trajectories, config: &WeakConfig) -> TestFunctions {
    let (lo, hi) = data_range(trajectories);
    let extent = lo.iter().zip(&hi).map(|(l, h)| h - l).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let half_width = config.half_width.unwrap_or(extent / 8.0);
    let spacing = config.spacing.unwrap_or(0.5 * half_width);
    TestFunctions::covering(&lo, &hi, half_width, spacing, config.exponent)
}

/// Assembles the weak form on the particles.
///
/// `diffusion` is `Some(D)` when D is known and `None` to learn it (one more
/// column); `weighting_diffusion` is the D that scales the noise covariance
/// (only its presence matters for the estimates: the weights are relative).
///
/// # Errors
/// Too few frames, unequal time steps, windows longer than the data, or a
/// zero dictionary column.
pub fn assemble_weak_particles(
    trajectories: &Trajectories,
    dictionary: &Dictionary,
    observe_every: usize,
    diffusion: Option<f64>,
    config: &WeakConfig,
) -> Result<System> {
    let (used, dt_obs) = used_frames(trajectories, observe_every)?;
    let dim = trajectories.positions.len_of(Axis(2));
    let window = config.window;
    let n_windows = (used.len() - 1) / window;
    if n_windows == 0 {
        return Err(LearnError::config(
            "learn.weak.window",
            window,
            format!("is longer than the {} used time steps; lower it", used.len() - 1),
        ));
    }
    let tests = test_functions(trajectories, config);
    let n_tests = tests.len();
    let n_terms = dictionary.len();
    let columns = n_terms + usize::from(diffusion.is_none());

    // Every frame that starts a time step of a window, plus the last end point.
    let sums: Vec<SnapshotSums> = used[..=n_windows * window]
        .par_iter()
        .enumerate()
        .map_init(TermDrifts::new, |buffers, (s, &n)| {
            let positions = frame(trajectories, n);
            // The end frame of the last window needs only psi.
            let needs_drift = s < n_windows * window;
            let term_drifts = needs_drift.then(|| drifts(dictionary, &positions, dim, buffers));
            snapshot_sums(&tests, &positions, dim, term_drifts.as_deref())
        })
        .collect();

    let mut matrix_rows: Vec<Array2<f64>> = Vec::with_capacity(n_windows);
    let mut target_rows: Vec<Array1<f64>> = Vec::with_capacity(n_windows);
    for w in 0..n_windows {
        let (start, end) = (w * window, (w + 1) * window);
        let mut features = Array2::<f64>::zeros((n_tests, columns));
        let mut target = Array1::<f64>::zeros(n_tests);
        let mut covariance = Array2::<f64>::zeros((n_tests, n_tests));
        for l in 0..n_tests {
            target[l] = sums[end].psi[l] - sums[start].psi[l];
        }
        for step in &sums[start..end] {
            features.slice_mut(ndarray::s![.., ..n_terms]).scaled_add(dt_obs, &step.features);
            covariance.scaled_add(dt_obs, &step.covariance);
            for l in 0..n_tests {
                match diffusion {
                    Some(d) => target[l] -= d * dt_obs * step.laplacian[l],
                    None => features[[l, n_terms]] += dt_obs * step.laplacian[l],
                }
            }
        }
        let (rows, rhs) = whiten(features.view(), &target, &covariance, config.covariance_floor);
        matrix_rows.push(rows);
        target_rows.push(rhs);
    }

    let total: usize = target_rows.iter().map(Array1::len).sum();
    let mut matrix = Array2::<f64>::zeros((total, columns));
    let mut target = Array1::<f64>::zeros(total);
    let mut blocks = Vec::with_capacity(n_windows);
    let mut row = 0;
    for (rows, rhs) in matrix_rows.iter().zip(&target_rows) {
        let range = row..row + rhs.len();
        matrix.slice_mut(ndarray::s![range.clone(), ..]).assign(rows);
        target.slice_mut(ndarray::s![range.clone()]).assign(rhs);
        blocks.push(range);
        row += rhs.len();
    }
    let names = column_names(dictionary, diffusion.is_none());
    check_columns(&matrix, &names, "trajectories")?;
    let represented_rows = matrix.nrows();
    Ok(System {
        matrix,
        target,
        blocks,
        block_times: (0..n_windows).map(|w| trajectories.times[used[w * window]]).collect(),
        column_names: names,
        diffusion_column: diffusion.is_none().then_some(n_terms),
        dt_obs,
        residual_offset: 0.0,
        represented_rows,
    })
}

/// Whitens the rows of one window by their noise covariance `C = U L U'`:
/// the rows become `L^(-1/2) U' A` for the eigenvalues above `floor` times
/// the largest.
fn whiten(features: ArrayView2<f64>, target: &Array1<f64>, covariance: &Array2<f64>, floor: f64) -> (Array2<f64>, Array1<f64>) {
    let n = covariance.nrows();
    let (values, vectors) = symmetric_eigen(DMatrix::from_fn(n, n, |i, j| covariance[[i, j]]));
    let largest = values.iter().copied().fold(0.0, f64::max);
    let kept: Vec<usize> = (0..n).filter(|&j| largest > 0.0 && values[j] > floor * largest).collect();
    let mut rows = Array2::<f64>::zeros((kept.len(), features.ncols()));
    let mut rhs = Array1::<f64>::zeros(kept.len());
    for (r, &j) in kept.iter().enumerate() {
        let weight = 1.0 / values[j].sqrt();
        let vector = vectors.column(j);
        for l in 0..n {
            let u = vector[l] * weight;
            if u != 0.0 {
                rhs[r] += u * target[l];
                for k in 0..features.ncols() {
                    rows[[r, k]] += u * features[[l, k]];
                }
            }
        }
    }
    (rows, rhs)
}

/// The labelled-increment system and the number of scalar increments it
/// stands for.
///
/// # Errors
/// Too few frames, unequal time steps, or a zero dictionary column.
pub fn assemble_increments(trajectories: &Trajectories, dictionary: &Dictionary, observe_every: usize) -> Result<System> {
    let (used, dt_obs) = used_frames(trajectories, observe_every)?;
    let dim = trajectories.positions.len_of(Axis(2));
    let n_terms = dictionary.len();
    let steps = used.len() - 1;

    // Per step: Gram matrix, A'y and y'y of the N d increments.
    let products: Vec<(Array2<f64>, Array1<f64>, f64)> = (0..steps)
        .into_par_iter()
        .map_init(TermDrifts::new, |buffers, s| {
            let now = frame(trajectories, used[s]);
            let next = frame(trajectories, used[s + 1]);
            let term_drifts = drifts(dictionary, &now, dim, buffers);
            let mut gram = Array2::<f64>::zeros((n_terms, n_terms));
            let mut rhs = Array1::<f64>::zeros(n_terms);
            let mut yy = 0.0;
            let mut row = vec![0.0; n_terms];
            for i in 0..now.len() {
                let y = (next[i] - now[i]) / dt_obs;
                for k in 0..n_terms {
                    row[k] = term_drifts[k][i];
                }
                for a in 0..n_terms {
                    rhs[a] += row[a] * y;
                    for b in a..n_terms {
                        gram[[a, b]] += row[a] * row[b];
                    }
                }
                yy += y * y;
            }
            for a in 0..n_terms {
                for b in 0..a {
                    gram[[a, b]] = gram[[b, a]];
                }
            }
            (gram, rhs, yy)
        })
        .collect();

    let mut matrix = Array2::<f64>::zeros((steps * n_terms, n_terms));
    let mut target = Array1::<f64>::zeros(steps * n_terms);
    let mut residual_offset = 0.0;
    for (s, (gram, rhs, yy)) in products.iter().enumerate() {
        let (rows, z) = gram_square_root(gram, rhs);
        let range = s * n_terms..(s + 1) * n_terms;
        matrix.slice_mut(ndarray::s![range.clone(), ..]).assign(&rows);
        target.slice_mut(ndarray::s![range]).assign(&z);
        residual_offset += (yy - z.dot(&z)).max(0.0);
    }
    let names = column_names(dictionary, false);
    check_columns(&matrix, &names, "trajectories")?;
    let n_values = trajectories.positions.len_of(Axis(1)) * dim;
    Ok(System {
        matrix,
        target,
        blocks: (0..steps).map(|s| s * n_terms..(s + 1) * n_terms).collect(),
        block_times: used[..steps].iter().map(|&n| trajectories.times[n]).collect(),
        column_names: names,
        diffusion_column: None,
        dt_obs,
        residual_offset,
        represented_rows: steps * n_values,
    })
}

/// Rows `R` and target `z` with `R'R = G` and `R'z = h`: from the
/// eigen-decomposition of the Gram matrix with its columns scaled to unit
/// diagonal, which keeps the nearly collinear power columns accurate.
fn gram_square_root(gram: &Array2<f64>, rhs: &Array1<f64>) -> (Array2<f64>, Array1<f64>) {
    let k = gram.nrows();
    let scale: Vec<f64> = (0..k).map(|a| gram[[a, a]].sqrt()).collect();
    let safe = |a: usize| if scale[a] > 0.0 { scale[a] } else { 1.0 };
    let normalised = DMatrix::from_fn(k, k, |a, b| gram[[a, b]] / (safe(a) * safe(b)));
    let (values, vectors) = symmetric_eigen(normalised);
    let largest = values.iter().copied().fold(0.0, f64::max);
    let mut rows = Array2::<f64>::zeros((k, k));
    let mut z = Array1::<f64>::zeros(k);
    for j in 0..k {
        let lambda = values[j];
        if !(lambda > 1e-14 * largest) {
            continue;
        }
        let vector = vectors.column(j);
        let root = lambda.sqrt();
        let mut projected = 0.0;
        for a in 0..k {
            rows[[j, a]] = root * vector[a] * scale[a];
            projected += vector[a] * rhs[a] / safe(a);
        }
        z[j] = projected / root;
    }
    (rows, z)
}

/// Eigenvalues and eigenvectors of a symmetric positive semi-definite
/// matrix, by the one-sided Jacobi method of the least-squares solver: for
/// such a matrix `M V = V L`, so the column norms of `M V` are the
/// eigenvalues. It is accurate to round-off relative to the largest
/// eigenvalue, where the QR iteration of nalgebra's `SymmetricEigen` left
/// errors of 1e-11 in a 3 x 3 test.
fn symmetric_eigen(matrix: DMatrix<f64>) -> (Vec<f64>, DMatrix<f64>) {
    let (product, vectors) = jacobi_svd(matrix);
    let values = product.column_iter().map(|c| c.norm()).collect();
    (values, vectors)
}

/// Mean squared increment noise per coordinate after the fit, as D:
/// `D = dt_obs * RSS / (2 * values)`, with its standard error under
/// Gaussian noise, `D sqrt(2 / values)`.
pub fn diffusion_from_residual(system: &System, coefficients: &[f64]) -> (f64, f64) {
    let c = Array1::from(coefficients.to_vec());
    let residual = &system.target - &system.matrix.dot(&c);
    let rss = residual.dot(&residual) + system.residual_offset;
    let values = system.represented_rows as f64;
    let d = system.dt_obs * rss / (2.0 * values);
    (d, d * (2.0 / values).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ips_core::artifact::TrajectoryMeta;
    use ndarray::Array3;

    #[test]
    fn gram_square_root_reproduces_the_normal_equations() {
        let a = ndarray::array![[1.0, 2.0, 0.5], [0.3, -1.0, 2.0], [2.0, 0.1, 0.0], [1.0, 1.0, 1.0], [0.0, 3.0, -1.0]];
        let y = ndarray::array![1.0, -2.0, 0.5, 3.0, 0.2];
        let gram = a.t().dot(&a);
        let rhs = a.t().dot(&y);
        let (rows, z) = gram_square_root(&gram, &rhs);
        let rebuilt = rows.t().dot(&rows);
        let rebuilt_rhs = rows.t().dot(&z);
        for i in 0..3 {
            assert!((rebuilt_rhs[i] - rhs[i]).abs() < 1e-12, "{rebuilt_rhs} vs {rhs}");
            for j in 0..3 {
                assert!((rebuilt[[i, j]] - gram[[i, j]]).abs() < 1e-12, "{rebuilt} vs {gram}");
            }
        }
    }

    #[test]
    fn bump_derivatives_match_finite_differences() {
        for dim in [1, 2] {
            let tests = TestFunctions::covering(&vec![0.0; dim], &vec![1.0; dim], 0.6, 0.3, 4);
            let x: Vec<f64> = (0..dim).map(|a| 0.37 + 0.1 * a as f64).collect();
            let value = |point: &[f64], l: usize| {
                let mut found = 0.0;
                tests.for_each_at(point, |m, psi, _, _| {
                    if m == l {
                        found = psi;
                    }
                });
                found
            };
            let h = 1e-4;
            tests.for_each_at(&x, |l, psi, grad, laplacian| {
                let mut fd_laplacian = 0.0;
                for a in 0..dim {
                    let mut plus = x.clone();
                    plus[a] += h;
                    let mut minus = x.clone();
                    minus[a] -= h;
                    let (up, down) = (value(&plus, l), value(&minus, l));
                    assert!(((up - down) / (2.0 * h) - grad[a]).abs() < 1e-6, "gradient of bump {l}");
                    fd_laplacian += (up - 2.0 * psi + down) / (h * h);
                }
                assert!((fd_laplacian - laplacian).abs() < 1e-3 * (1.0 + laplacian.abs()), "Laplacian of bump {l}");
            });
        }
    }

    /// Every bump non-zero at a point is visited: the sum over bumps equals
    /// a direct loop over all centres.
    #[test]
    fn nearby_bumps_are_all_the_non_zero_ones() {
        let tests = TestFunctions::covering(&[-1.0, 0.0], &[1.0, 2.0], 0.5, 0.2, 3);
        let x = [0.13, 1.01];
        let mut visited = 0.0;
        tests.for_each_at(&x, |_, psi, _, _| visited += psi);
        let direct: f64 = tests
            .centres
            .iter()
            .map(|c| {
                let u = ((x[0] - c[0]).powi(2) + (x[1] - c[1]).powi(2)) / 0.25;
                if u < 1.0 {
                    (1.0 - u).powi(3)
                } else {
                    0.0
                }
            })
            .sum();
        assert!((visited - direct).abs() < 1e-12, "{visited} vs {direct}");
    }

    /// Brownian particles without interaction: the increment regression finds
    /// no drift and D from the quadratic variation, within its standard error.
    #[test]
    fn increments_of_free_brownian_motion_give_d() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        let (n, steps, dt, d): (usize, usize, f64, f64) = (400, 200, 1e-2, 0.3);
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(5);
        let mut positions = Array3::<f64>::zeros((steps + 1, n, 1));
        for s in 1..=steps {
            for i in 0..n {
                let z: f64 = StandardNormal.sample(&mut rng);
                positions[[s, i, 0]] = positions[[s - 1, i, 0]] + (2.0 * d * dt).sqrt() * z;
            }
        }
        let trajectories = Trajectories {
            positions,
            times: Array1::from_iter((0..=steps).map(|s| s as f64 * dt)),
            meta: TrajectoryMeta {
                format_version: 1,
                source: "import".into(),
                dim: 1,
                n_particles: n,
                n_times: steps + 1,
                dt: None,
                diffusion: None,
                kernel: None,
                seed: None,
                config: serde_json::Value::Null,
                tool_version: String::new(),
                provenance: None,
            },
        };
        let dictionary = Dictionary { convention: Default::default(), terms: vec![Term::Power(1)] };
        let system = assemble_increments(&trajectories, &dictionary, 1).unwrap();
        let (estimate, error) = diffusion_from_residual(&system, &[0.0]);
        assert!((estimate - d).abs() < 4.0 * error, "D = {estimate} +- {error}");
        assert!(error < 0.01 * d);
    }
}
