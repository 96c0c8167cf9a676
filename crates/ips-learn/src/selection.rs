//! Support selection by exhaustive best-subset search, and block bootstrap
//! error bars.
//!
//! Thresholds alone can keep a wrong term when the dictionary is nearly
//! collinear, and a criterion that barely changes between supports means the
//! data do not decide the support (docs/method.md, "Choosing the support").
//! So every support of up to `learn.max_support` dictionary terms is fitted
//! by least squares and scored by the Bayesian information criterion
//!
//! ```text
//! BIC = n log(RSS / n) + k log(n),
//! ```
//!
//! with `n` the data rows the system stands for and `k` the fitted columns.
//! All fits run on the `K x K` triangular factor of one Householder QR of
//! the normalised columns (plus the residual the factor cannot see), so a
//! support costs `O(K^3)` whatever the number of rows. A learned D is in
//! every support and never removed.
//!
//! The runner-up supports are reported with their gaps. A gap below 2 (the
//! usual "not worth more than a bare mention" level of a Bayes factor) is
//! reported as a support the data do not identify.

use nalgebra::{DMatrix, DVector};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use crate::assembly::System;
use crate::least_squares::{solve, solve_factor, triangular_factor};
use crate::phase_two::normalised_columns;

/// Gap in BIC below which two supports count as equally supported.
pub const IDENTIFIABLE_GAP: f64 = 2.0;

/// One scored support.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScoredSupport {
    /// Dictionary terms of the support (a learned D is always included and
    /// not listed).
    pub terms: Vec<String>,
    pub bic: f64,
    /// `bic - best bic`, 0 for the best.
    pub gap: f64,
}

/// The ranking of supports, as written to `model.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SupportRanking {
    pub criterion: String,
    /// Largest support searched.
    pub max_support: usize,
    /// Best supports first (at most five).
    pub ranked: Vec<ScoredSupport>,
    /// False when the runner-up is within [`IDENTIFIABLE_GAP`] of the best.
    pub identifiable: bool,
    /// A sentence for people when the support is not identifiable.
    pub warning: Option<String>,
}

/// The compressed system: `R` of the normalised columns, `Q'b`, and the
/// squared residual outside the column space.
struct Factor {
    r: DMatrix<f64>,
    qtb: DVector<f64>,
    outside: f64,
    rows: f64,
}

fn factor(system: &System) -> Factor {
    let all: Vec<usize> = (0..system.columns()).collect();
    let (matrix, _) = normalised_columns(system, &all);
    let (rows, columns) = matrix.dim();
    let augmented = triangular_factor(matrix.view(), system.target.view());
    let r = augmented.view((0, 0), (columns, columns)).into_owned();
    let qtb: DVector<f64> = augmented.view((0, columns), (columns, 1)).column(0).into_owned();
    // The residual of the fit on every column, from the factor's last
    // column, not from ||b||^2 - ||Q'b||^2, which cancels when the fit is
    // close.
    let full = solve_factor(&augmented, rows).residual_norm;
    let outside = full * full + system.residual_offset;
    Factor { r, qtb, outside, rows: system.represented_rows as f64 }
}

fn bic(factor: &Factor, columns: &[usize]) -> f64 {
    let k = factor.r.nrows();
    let sub = Array2::from_shape_fn((k, columns.len()), |(i, j)| factor.r[(i, columns[j])]);
    let target = Array1::from_iter(factor.qtb.iter().copied());
    let fit = solve(sub.view(), target.view());
    // The factor's own residual for the full support is round-off: the
    // direct residual stands in for everything outside the columns.
    let rss = (fit.residual_norm.powi(2) + factor.outside).max(f64::MIN_POSITIVE);
    let n = factor.rows;
    n * (rss / n).ln() + columns.len() as f64 * n.ln()
}

/// Scores every support of 1 to `max_support` dictionary terms and returns
/// the mask of the best with the ranking.
pub fn best_subset(system: &System, max_support: usize) -> (Vec<bool>, SupportRanking) {
    let columns = system.columns();
    let terms: Vec<usize> = (0..columns).filter(|&j| Some(j) != system.diffusion_column).collect();
    let max_support = max_support.min(terms.len()).max(1);
    let factor = factor(system);
    let mut scored: Vec<(Vec<usize>, f64)> = Vec::new();
    let mut chosen = Vec::new();
    enumerate(&terms, max_support, 0, &mut chosen, &mut |support| {
        let mut fitted = support.to_vec();
        fitted.extend(system.diffusion_column);
        scored.push((support.to_vec(), bic(&factor, &fitted)));
    });
    scored.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let best = scored[0].1;
    let ranked: Vec<ScoredSupport> = scored
        .iter()
        .take(5)
        .map(|(support, value)| ScoredSupport {
            terms: support.iter().map(|&j| system.column_names[j].clone()).collect(),
            bic: *value,
            gap: value - best,
        })
        .collect();
    let identifiable = ranked.get(1).is_none_or(|runner_up| runner_up.gap >= IDENTIFIABLE_GAP);
    let warning = (!identifiable).then(|| {
        format!(
            "the data do not identify the support: {{{}}} and {{{}}} differ by {:.2} in BIC (below {IDENTIFIABLE_GAP})",
            ranked[0].terms.join(", "),
            ranked[1].terms.join(", "),
            ranked[1].gap
        )
    });
    let mut mask = vec![false; columns];
    for &j in &scored[0].0 {
        mask[j] = true;
    }
    if let Some(j) = system.diffusion_column {
        mask[j] = true;
    }
    (mask, SupportRanking { criterion: "bic".into(), max_support, ranked, identifiable, warning })
}

/// Calls `visit` with every subset of `items` of size 1 to `max`, in
/// lexicographic order.
fn enumerate(items: &[usize], max: usize, from: usize, chosen: &mut Vec<usize>, visit: &mut impl FnMut(&[usize])) {
    for i in from..items.len() {
        chosen.push(items[i]);
        visit(chosen);
        if chosen.len() < max {
            enumerate(items, max, i + 1, chosen, visit);
        }
        chosen.pop();
    }
}

/// Standard deviations of the Phase II coefficients over `replicates`
/// resamplings of the blocks (time steps or windows) with replacement, the
/// mask fixed. Blocks are the units whose noises are independent, so this
/// holds when the rows within a block are correlated, as in the strong form.
pub fn block_bootstrap(system: &System, mask: &[bool], replicates: usize, seed: u64) -> Vec<Option<f64>> {
    let columns = system.columns();
    let active: Vec<usize> = (0..columns).filter(|&j| mask[j]).collect();
    if active.is_empty() || replicates < 2 {
        return vec![None; columns];
    }
    let (matrix, scales) = normalised_columns(system, &active);
    let n_blocks = system.blocks.len();
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0xb007_57a9);
    let mut draws: Vec<Vec<f64>> = Vec::with_capacity(replicates);
    for _ in 0..replicates {
        let picks: Vec<usize> = (0..n_blocks).map(|_| rng.random_range(0..n_blocks)).collect();
        let rows: Vec<usize> = picks.iter().flat_map(|&b| system.blocks[b].clone()).collect();
        let sub = matrix.select(ndarray::Axis(0), &rows);
        let target = system.target.select(ndarray::Axis(0), &rows);
        let fit = solve(sub.view(), target.view());
        draws.push((0..active.len()).map(|a| fit.coefficients[a] / scales[a]).collect());
    }
    let mut errors = vec![None; columns];
    for (a, &j) in active.iter().enumerate() {
        let mean = draws.iter().map(|d| d[a]).sum::<f64>() / replicates as f64;
        let variance = draws.iter().map(|d| (d[a] - mean).powi(2)).sum::<f64>() / (replicates - 1) as f64;
        errors[j] = Some(variance.sqrt());
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows from `y = 2 x1 - x3` plus small noise on four columns: the best
    /// subset is {x1, x3}, far ahead of every other.
    fn synthetic(noise: f64) -> System {
        let rows = 400;
        let mut matrix = Array2::<f64>::zeros((rows, 4));
        let mut target = Array1::<f64>::zeros(rows);
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        for i in 0..rows {
            for j in 0..4 {
                matrix[[i, j]] = rng.random::<f64>() - 0.5;
            }
            target[i] = 2.0 * matrix[[i, 0]] - matrix[[i, 2]] + noise * (rng.random::<f64>() - 0.5);
        }
        System {
            matrix,
            target,
            blocks: (0..40).map(|b| b * 10..(b + 1) * 10).collect(),
            block_times: (0..40).map(f64::from).collect(),
            column_names: ["x1", "x2", "x3", "x4"].map(String::from).to_vec(),
            diffusion_column: None,
            dt_obs: 1.0,
            residual_offset: 0.0,
            represented_rows: rows,
        }
    }

    #[test]
    fn best_subset_finds_the_true_pair() {
        let (mask, ranking) = best_subset(&synthetic(0.01), 3);
        assert_eq!(mask, [true, false, true, false]);
        assert_eq!(ranking.ranked[0].terms, ["x1", "x3"]);
        // Every support that lacks a true term is far behind; a superset
        // may come close, as a spurious column fits some of the noise.
        for support in &ranking.ranked[1..] {
            let complete = support.terms.contains(&"x1".into()) && support.terms.contains(&"x3".into());
            assert!(complete || support.gap > 100.0, "{ranking:?}");
        }
    }

    /// Two identical columns fit equally well: the support is not identifiable.
    #[test]
    fn duplicate_column_is_reported_as_not_identifiable() {
        let mut system = synthetic(0.01);
        let copy = system.matrix.column(0).to_owned();
        system.matrix.column_mut(1).assign(&copy);
        let (_, ranking) = best_subset(&system, 2);
        assert!(!ranking.identifiable, "{ranking:?}");
        assert!(ranking.warning.as_deref().is_some_and(|w| w.contains("do not identify")), "{ranking:?}");
    }

    /// The BIC from the compressed factor equals the one from a direct fit
    /// on all rows.
    #[test]
    fn compressed_bic_matches_direct_fit() {
        let system = synthetic(0.3);
        let factor = factor(&system);
        let columns = [0, 1, 3];
        let (matrix, _) = normalised_columns(&system, &columns);
        let fit = solve(matrix.view(), system.target.view());
        let n = 400.0;
        let direct = n * (fit.residual_norm.powi(2) / n).ln() + 3.0 * n.ln();
        assert!((bic(&factor, &columns) - direct).abs() < 1e-8, "{} vs {direct}", bic(&factor, &columns));
    }

    #[test]
    fn subsets_are_enumerated_once() {
        let mut seen = Vec::new();
        enumerate(&[0, 1, 2, 3, 4], 2, 0, &mut Vec::new(), &mut |s| seen.push(s.to_vec()));
        assert_eq!(seen.len(), 5 + 10);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 15);
    }

    /// With independent rows the bootstrap spread agrees with the
    /// least-squares standard error.
    #[test]
    fn bootstrap_agrees_with_least_squares_error() {
        let system = synthetic(0.3);
        let mask = [true, false, true, false];
        let boot = block_bootstrap(&system, &mask, 400, 9);
        let (matrix, scales) = normalised_columns(&system, &[0, 2]);
        let fit = solve(matrix.view(), system.target.view());
        let analytic = fit.std_errors[0] / scales[0];
        let ratio = boot[0].unwrap() / analytic;
        assert!((0.8..1.25).contains(&ratio), "bootstrap {} vs {analytic}", boot[0].unwrap());
        assert!(boot[1].is_none());
    }
}
