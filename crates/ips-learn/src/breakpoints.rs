//! Breakpoints of a piecewise-constant influence function, found without a
//! neural network.
//!
//! 1. A fine dictionary of indicators of `intervals` equal intervals of
//!    `[0, r_max)` is assembled in the strong form, exactly as a dictionary
//!    of the experiment would be: column `k` is the feature of `1[r_k, r_k+1)`.
//! 2. Its least-squares solution with a small penalty on the differences of
//!    neighbouring levels is a step estimate of `a(r)` (reported, not used
//!    further: neighbouring fine columns are nearly collinear, so the
//!    levels are noisy and depend on the penalty).
//! 3. Change-point detection: every placement of `pieces - 1` breakpoints on
//!    the fine edges defines a piecewise-constant model whose columns are
//!    sums of fine columns, so its least-squares residual follows from the
//!    Gram matrix of the fine system alone. The placement with the smallest
//!    residual wins (an exhaustive search, `C(intervals - 1, pieces - 1)`
//!    small solves). The residual weighs every distance by how much the data
//!    constrain it, that is by the pair-distance distribution of the
//!    densities: intervals no pair visits have zero columns and cannot move
//!    the fit.
//!
//! The pieces then become the dictionary `{1_I, r*1_I}` of the usual
//! Phase I and Phase II, with the last piece reaching the size of the grid.

use ips_core::artifact::Density;
use ips_core::Term;
use ndarray::{Array1, Array2, Ix2};
use serde::{Deserialize, Serialize};

use crate::assembly::{assemble_unchecked, System};
use crate::{Dictionary, LearnError, Result};

/// Placements tried at most; beyond this, fewer intervals or pieces are needed.
const MAX_PLACEMENTS: u64 = 20_000_000;

/// The `[learn.breakpoints]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakpointConfig {
    /// Number of fine intervals of `[0, r_max)`.
    pub intervals: usize,
    /// End of the fine dictionary; should exceed the support of `a(r)`.
    pub r_max: f64,
    /// Number of pieces, counting the last one that reaches the grid size.
    pub pieces: usize,
}

impl BreakpointConfig {
    /// Checks the ranges.
    ///
    /// # Errors
    /// [`LearnError::Config`] naming the `learn.breakpoints.*` key.
    pub fn validate(&self) -> Result<()> {
        if self.intervals < 2 {
            return Err(LearnError::config("learn.breakpoints.intervals", self.intervals, "needs at least 2 fine intervals"));
        }
        if !(self.r_max.is_finite() && self.r_max > 0.0) {
            return Err(LearnError::config("learn.breakpoints.r_max", self.r_max, "must be positive"));
        }
        if self.pieces == 0 || self.pieces > self.intervals {
            return Err(LearnError::config(
                "learn.breakpoints.pieces",
                self.pieces,
                format!("must lie in 1..={} (learn.breakpoints.intervals)", self.intervals),
            ));
        }
        let placements = binomial(self.intervals as u64 - 1, self.pieces as u64 - 1);
        if placements > MAX_PLACEMENTS {
            return Err(LearnError::config(
                "learn.breakpoints.intervals",
                self.intervals,
                format!("{placements} breakpoint placements to try, more than {MAX_PLACEMENTS}; use fewer intervals or pieces"),
            ));
        }
        Ok(())
    }

    /// Edges `r_k = k r_max / intervals`, rounded to 1e-9 so that the term
    /// names stay short.
    pub fn fine_edges(&self) -> Vec<f64> {
        (0..=self.intervals)
            .map(|k| round_edge(k as f64 * self.r_max / self.intervals as f64))
            .collect()
    }
}

fn round_edge(r: f64) -> f64 {
    (r * 1e9).round() / 1e9
}

fn binomial(n: u64, k: u64) -> u64 {
    let k = k.min(n.saturating_sub(k));
    let mut value: u64 = 1;
    for i in 0..k {
        value = value.saturating_mul(n - i) / (i + 1);
    }
    value
}

/// What the detection found; written to `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakpoints {
    /// Piece edges `0 = e_0 < e_1 < ... < e_K`; `e_K` is the grid size.
    pub edges: Vec<f64>,
    /// Edges of the fine intervals.
    pub fine_edges: Vec<f64>,
    /// Step estimate of `a(r)` per fine interval, with a small smoothness
    /// penalty; `None` where no pair of the data lies.
    pub fine_levels: Vec<Option<f64>>,
    /// Fraction of the pair mass `int int rho(x) rho(y)` (summed over the
    /// used snapshots) at distances in each fine interval.
    pub pair_weights: Vec<f64>,
    /// `||b - A c|| / ||b||` of the best piecewise-constant fit.
    pub relative_residual: f64,
    /// Edges found on the density, when a particle formulation then refined
    /// them (see [`refine`]). `edges` contains the refined ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub density_edges: Option<Vec<f64>>,
}

/// The refit dictionary `{1_I, r*1_I}` of the pieces between `edges`.
pub fn piece_terms(edges: &[f64]) -> Vec<Term> {
    edges
        .windows(2)
        .flat_map(|w| [Term::Indicator { lo: w[0], hi: w[1] }, Term::RIndicator { lo: w[0], hi: w[1] }])
        .collect()
}

/// Finds the breakpoints of `a(r)` in `density` (see the module notes).
///
/// # Errors
/// Configuration errors, and [`LearnError::Data`] when no fine interval
/// is visited by pairs of the data.
pub fn detect(
    density: &Density,
    config: &BreakpointConfig,
    dictionary_convention: ips_core::Convention,
    observe_every: usize,
    diffusion: Option<f64>,
    bandwidth_correction: bool,
) -> Result<Breakpoints> {
    config.validate()?;
    let fine_edges = config.fine_edges();
    let dictionary = Dictionary {
        convention: dictionary_convention,
        terms: fine_edges.windows(2).map(|w| Term::Indicator { lo: w[0], hi: w[1] }).collect(),
    };
    let system = assemble_unchecked(density, &dictionary, observe_every, diffusion, bandwidth_correction)?;
    let m = dictionary.len();
    let normal = NormalEquations::new(&system, m);

    let pair_weights = pair_weights(density, observe_every, &fine_edges)?;
    let observed: Vec<usize> = (0..m).filter(|&k| normal.gram[[k, k]] > 0.0 && pair_weights[k] > 0.0).collect();
    if observed.is_empty() {
        return Err(LearnError::Data(format!(
            "no pair of the data lies at distances below learn.breakpoints.r_max = {}",
            config.r_max
        )));
    }
    let fine_levels = fine_levels(&normal.gram, &normal.projected, &observed, &normal.extra, m);

    let inner = config.pieces - 1;
    let mut cuts: Vec<usize> = (1..=inner).collect();
    let mut best: Option<(f64, Vec<usize>)> = None;
    loop {
        let residual = normal.residual(&cuts);
        if best.as_ref().is_none_or(|(r, _)| residual < *r) {
            best = Some((residual, cuts.clone()));
        }
        if !next_combination(&mut cuts, m - 1) {
            break;
        }
    }
    let (residual, cuts) = best.expect("at least one placement is tried");

    let grid = &density.meta.grid;
    let size = grid.axes[0].hi - grid.axes[0].lo;
    let mut edges = vec![0.0];
    edges.extend(cuts.iter().map(|&c| fine_edges[c]));
    edges.push(size.max(config.r_max));
    Ok(Breakpoints {
        edges,
        fine_edges,
        fine_levels,
        pair_weights,
        relative_residual: normal.relative_residual(residual),
        density_edges: None,
    })
}

/// Candidate positions per fine interval in the refinement on particles.
const REFINE_SUBDIVISIONS: usize = 4;

/// Edges of the local dictionary for [`refine`]: 0, then around every inner
/// edge of `found` the positions within one fine interval of it, a quarter
/// interval apart, then the last edge. Pair distances of particles are
/// exact, so the particles can place an edge more finely than the density's
/// grid, and the levels fitted on the pieces are biased by the share of a
/// wrong interval they take in.
pub fn refinement_edges(found: &Breakpoints, config: &BreakpointConfig) -> Vec<f64> {
    let width = config.r_max / config.intervals as f64;
    let last = *found.edges.last().expect("edges run from 0 to the grid size");
    let steps = REFINE_SUBDIVISIONS as i64;
    let mut edges = vec![0.0];
    for &edge in &found.edges[1..found.edges.len() - 1] {
        for j in -steps..=steps {
            let candidate = round_edge(edge + j as f64 * width / steps as f64);
            if candidate > 0.0 && candidate < last {
                edges.push(candidate);
            }
        }
    }
    edges.push(last);
    edges.sort_by(f64::total_cmp);
    edges.dedup();
    edges
}

/// Refines the inner edges of `found` on `system`, assembled (from the
/// particles) with the indicators of the intervals between `local_edges`
/// (from [`refinement_edges`]), plus the diffusion column when D is
/// learned. Each inner edge moves to the candidate within one fine interval
/// of it whose piecewise-constant fit leaves the smallest residual, the
/// same criterion as the detection.
///
/// # Errors
/// [`LearnError::Data`] when the system does not match `local_edges`.
pub fn refine(system: &System, local_edges: &[f64], found: &Breakpoints, config: &BreakpointConfig) -> Result<Breakpoints> {
    let m = local_edges.len() - 1;
    let terms = system.columns() - usize::from(system.diffusion_column.is_some());
    if terms != m {
        return Err(LearnError::Data(format!(
            "the refinement system has {terms} term columns for {m} local intervals"
        )));
    }

    let width = config.r_max / config.intervals as f64;
    let inner = &found.edges[1..found.edges.len() - 1];
    // Candidate cut indices (edge k of local_edges) for each inner edge.
    let windows: Vec<Vec<usize>> = inner
        .iter()
        .map(|&edge| (1..m).filter(|&k| (local_edges[k] - edge).abs() <= width * (1.0 + 1e-9)).collect())
        .collect();
    if windows.iter().any(Vec::is_empty) {
        return Err(LearnError::Data("an inner edge has no candidate in the refinement dictionary".into()));
    }

    let normal = NormalEquations::new(system, m);
    // Every choice of one candidate per window, decoded from a mixed-radix index.
    let placements: usize = windows.iter().map(Vec::len).product();
    let mut best: Option<(f64, Vec<usize>)> = None;
    for index in 0..placements {
        let mut rest = index;
        let cuts: Vec<usize> = windows
            .iter()
            .map(|window| {
                let cut = window[rest % window.len()];
                rest /= window.len();
                cut
            })
            .collect();
        if !cuts.windows(2).all(|pair| pair[0] < pair[1]) {
            continue;
        }
        let residual = normal.residual(&cuts);
        if best.as_ref().is_none_or(|(r, _)| residual < *r) {
            best = Some((residual, cuts));
        }
    }

    let Some((residual, cuts)) = best else {
        return Err(LearnError::Data("the refinement windows of neighbouring edges leave no ordered placement".into()));
    };
    let mut edges = vec![0.0];
    edges.extend(cuts.iter().map(|&c| local_edges[c]));
    edges.push(local_edges[m]);
    Ok(Breakpoints {
        edges,
        relative_residual: normal.relative_residual(residual),
        density_edges: Some(found.edges.clone()),
        ..found.clone()
    })
}

/// Normal equations of a system whose first `m` columns are fine
/// indicators, with the prefix sums that make the residual of any
/// piecewise-constant placement cheap.
struct NormalEquations {
    gram: Array2<f64>,
    /// `row_prefix[[k, l]]`: sum of `gram[[k, 0..l]]`, so block sums take O(rows).
    row_prefix: Array2<f64>,
    /// `A^T b`.
    projected: Array1<f64>,
    projected_prefix: Vec<f64>,
    /// `||b||^2`.
    target_square: f64,
    /// Number of fine columns.
    fine: usize,
    /// Columns kept in every fit: the Laplacian when D is learned.
    extra: Vec<usize>,
}

impl NormalEquations {
    fn new(system: &System, m: usize) -> Self {
        let a = &system.matrix;
        let b = &system.target;
        let gram: Array2<f64> = a.t().dot(a);
        let projected: Array1<f64> = a.t().dot(b);
        let mut row_prefix = Array2::<f64>::zeros((gram.nrows(), m + 1));
        for k in 0..gram.nrows() {
            for l in 0..m {
                row_prefix[[k, l + 1]] = row_prefix[[k, l]] + gram[[k, l]];
            }
        }
        let mut projected_prefix = vec![0.0; m + 1];
        for k in 0..m {
            projected_prefix[k + 1] = projected_prefix[k] + projected[k];
        }
        NormalEquations {
            gram,
            row_prefix,
            projected,
            projected_prefix,
            target_square: b.dot(b),
            fine: m,
            extra: system.diffusion_column.into_iter().collect(),
        }
    }

    /// Returns the squared residual of the piecewise-constant fit whose
    /// pieces start at the fine columns `cuts` (increasing, in `1..m`).
    fn residual(&self, cuts: &[usize]) -> f64 {
        let mut bounds = Vec::with_capacity(cuts.len() + 2);
        bounds.push(0);
        bounds.extend_from_slice(cuts);
        bounds.push(self.fine);
        let explained = explained_square(&bounds, &self.extra, &self.gram, &self.row_prefix, &self.projected, &self.projected_prefix);
        self.target_square - explained
    }

    /// Returns `||b - A c|| / ||b||` for a squared residual.
    fn relative_residual(&self, residual: f64) -> f64 {
        (residual.max(0.0) / self.target_square.max(f64::MIN_POSITIVE)).sqrt()
    }
}

/// Advances `cuts` (strictly increasing, values in `1..=top`) to the next
/// combination in lexicographic order; false after the last.
fn next_combination(cuts: &mut [usize], top: usize) -> bool {
    let k = cuts.len();
    for i in (0..k).rev() {
        if cuts[i] < top - (k - 1 - i) {
            cuts[i] += 1;
            for j in i + 1..k {
                cuts[j] = cuts[j - 1] + 1;
            }
            return true;
        }
    }
    false
}

/// `h' G_s^-1 h` of the piecewise-constant model with pieces
/// `[bounds[j], bounds[j+1])` of fine columns plus the `extra` columns:
/// the squared norm of the projection of the target, so the residual is
/// `||b||^2` minus it. Pieces without data get no column.
fn explained_square(
    bounds: &[usize],
    extra: &[usize],
    gram: &Array2<f64>,
    row_prefix: &Array2<f64>,
    projected: &Array1<f64>,
    projected_prefix: &[f64],
) -> f64 {
    // Each column is a range of fine columns (a piece) or one extra column.
    let ranges: Vec<(usize, usize)> = bounds
        .windows(2)
        .map(|w| (w[0], w[1]))
        .chain(extra.iter().map(|&j| (j, j + 1)))
        .collect();
    let block = |(r0, r1): (usize, usize), (c0, c1): (usize, usize)| -> f64 {
        (r0..r1)
            .map(|k| {
                if c1 <= row_prefix.ncols() - 1 && c0 < c1 {
                    row_prefix[[k, c1]] - row_prefix[[k, c0]]
                } else {
                    (c0..c1).map(|l| gram[[k, l]]).sum()
                }
            })
            .sum()
    };
    let rhs = |(r0, r1): (usize, usize)| -> f64 {
        if r1 < projected_prefix.len() {
            projected_prefix[r1] - projected_prefix[r0]
        } else {
            (r0..r1).map(|k| projected[k]).sum()
        }
    };
    let max_diagonal = ranges.iter().map(|&r| block(r, r)).fold(0.0f64, f64::max);
    let kept: Vec<(usize, usize)> = ranges.into_iter().filter(|&r| block(r, r) > 1e-14 * max_diagonal).collect();
    let n = kept.len();
    let mut matrix = nalgebra::DMatrix::<f64>::zeros(n, n);
    let mut h = nalgebra::DVector::<f64>::zeros(n);
    for (i, &ri) in kept.iter().enumerate() {
        h[i] = rhs(ri);
        for (j, &rj) in kept.iter().enumerate() {
            matrix[(i, j)] = block(ri, rj);
        }
    }
    match matrix.cholesky() {
        Some(factor) => h.dot(&factor.solve(&h)),
        // Dependent pieces: no better than any other placement.
        None => 0.0,
    }
}

/// Relative weight of the first-difference penalty of the fine step
/// estimate, against the mean diagonal of the Gram matrix.
const SMOOTHING: f64 = 1e-3;

/// Levels of the observed fine intervals: least squares with a small
/// penalty `mu ||c_k+1 - c_k||^2` on neighbouring levels (a discrete
/// smoothness prior; without it the nearly collinear fine columns give
/// levels that alternate by orders of magnitude). The diffusion column,
/// when learned, is not penalised.
fn fine_levels(gram: &Array2<f64>, projected: &Array1<f64>, observed: &[usize], extra: &[usize], m: usize) -> Vec<Option<f64>> {
    let columns: Vec<usize> = observed.iter().chain(extra).copied().collect();
    let n = columns.len();
    let mut matrix = nalgebra::DMatrix::<f64>::zeros(n, n);
    let mut rhs = nalgebra::DVector::<f64>::zeros(n);
    for (i, &ci) in columns.iter().enumerate() {
        rhs[i] = projected[ci];
        for (j, &cj) in columns.iter().enumerate() {
            matrix[(i, j)] = gram[[ci, cj]];
        }
    }
    let mean_diagonal = (0..observed.len()).map(|i| matrix[(i, i)]).sum::<f64>() / observed.len() as f64;
    let mu = SMOOTHING * mean_diagonal;
    for i in 0..observed.len().saturating_sub(1) {
        matrix[(i, i)] += mu;
        matrix[(i + 1, i + 1)] += mu;
        matrix[(i, i + 1)] -= mu;
        matrix[(i + 1, i)] -= mu;
    }
    let mut levels = vec![None; m];
    if let Some(solution) = matrix.lu().solve(&rhs) {
        for (i, &k) in observed.iter().enumerate() {
            levels[k] = Some(solution[i]);
        }
    }
    levels
}

/// Fraction of the pair mass `sum_n dx^2 sum_{l, l'} rho_l rho_l'` at grid
/// distances `|l - l'| dx` in each fine interval, over the used snapshots.
fn pair_weights(density: &Density, observe_every: usize, fine_edges: &[f64]) -> Result<Vec<f64>> {
    let rho = density
        .values
        .view()
        .into_dimensionality::<Ix2>()
        .map_err(|_| LearnError::Data("a 1D density must have shape [n_times, nx]".into()))?;
    let (n_times, points) = rho.dim();
    let dx = density.meta.grid.axes[0].dx();
    let mut by_offset = vec![0.0; points];
    for n in (0..n_times.saturating_sub(observe_every)).step_by(observe_every) {
        let row = rho.row(n);
        for (offset, total) in by_offset.iter_mut().enumerate() {
            let mut sum = 0.0;
            for l in 0..points - offset {
                sum += row[l] * row[l + offset];
            }
            *total += if offset == 0 { sum } else { 2.0 * sum };
        }
    }
    let all: f64 = by_offset.iter().sum();
    let intervals = fine_edges.len() - 1;
    let mut weights = vec![0.0; intervals];
    for (offset, &mass) in by_offset.iter().enumerate() {
        let r = offset as f64 * dx;
        if let Some(k) = fine_edges.windows(2).position(|w| w[0] <= r && r < w[1]) {
            weights[k] += mass / all.max(f64::MIN_POSITIVE);
        }
    }
    Ok(weights)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_are_enumerated_in_order() {
        let mut cuts = vec![1, 2];
        let mut seen = vec![cuts.clone()];
        while next_combination(&mut cuts, 4) {
            seen.push(cuts.clone());
        }
        assert_eq!(seen, vec![vec![1, 2], vec![1, 3], vec![1, 4], vec![2, 3], vec![2, 4], vec![3, 4]]);
        assert_eq!(binomial(4, 2), 6);
    }

    #[test]
    fn too_many_placements_rejected() {
        let config = BreakpointConfig { intervals: 2000, r_max: 1.0, pieces: 5 };
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("learn.breakpoints.intervals"), "{err}");
    }
}
