//! Phase I: importance sampling of time steps with adaptive thresholds.
//!
//! Starting from all dictionary terms, each iteration
//!
//! 1. computes the residual norm `e_n` of every time step under the current
//!    coefficients (uniform in the first iteration, when there are none),
//! 2. turns them into sampling probabilities `p_n = e_n / sum e_n`,
//! 3. draws a batch of distinct time steps with those probabilities,
//! 4. fits the Lasso on the batch rows over the active columns, normalised to
//!    unit norm, with `lambda` a fixed fraction of `lambda_max`,
//! 5. sets the threshold `tau = eta * mean |w_j|` over the active terms, with
//!    `w` the normalised coefficients, and
//! 6. removes the terms below it from the mask.
//!
//! A removed term never returns: the batches change from one iteration to the
//! next, and letting terms back in makes the mask oscillate instead of settle.
//! The loop stops when the mask has not changed for `stall_iterations`
//! iterations or after `max_iterations`. Every iteration is recorded for the
//! sparsity-path plot.

use std::time::Instant;

use ndarray::{s, Array1, Array2};
use rand::Rng;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use crate::assembly::System;
use crate::lasso::{coordinate_descent, lambda_max};
use crate::LearnConfig;

/// One Phase I iteration, as recorded in `model.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IterationRecord {
    pub iteration: usize,
    /// Indices of the sampled time steps (blocks of rows), sorted.
    pub batch: Vec<usize>,
    pub lambda_max: f64,
    pub lambda: f64,
    /// Coefficients in the units of the dictionary; 0 for removed terms.
    pub coefficients: Vec<f64>,
    /// Coefficients of the unit-norm columns of the batch.
    pub normalised_coefficients: Vec<f64>,
    pub threshold: f64,
    /// Mask after this iteration's threshold.
    pub mask: Vec<bool>,
    /// `||b - A c|| / ||b||` over all rows, after the threshold.
    pub relative_residual: f64,
}

/// Outcome of Phase I.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseOne {
    pub mask: Vec<bool>,
    pub coefficients: Vec<f64>,
    pub iterations: Vec<IterationRecord>,
    pub stop_reason: String,
    /// Wall time in seconds. Not written to `model.json`, so that the same
    /// data and seed give a byte-identical file; it is logged instead.
    #[serde(skip)]
    pub seconds: f64,
}

/// Per-block Gram matrices and right-hand sides, so a batch costs O(K^2) per block.
struct BlockProducts {
    gram: Vec<Array2<f64>>,
    rhs: Vec<Array1<f64>>,
}

fn block_products(system: &System) -> BlockProducts {
    let mut gram = Vec::with_capacity(system.blocks.len());
    let mut rhs = Vec::with_capacity(system.blocks.len());
    for rows in &system.blocks {
        let a = system.matrix.slice(s![rows.clone(), ..]);
        let b = system.target.slice(s![rows.clone()]);
        gram.push(a.t().dot(&a));
        rhs.push(a.t().dot(&b));
    }
    BlockProducts { gram, rhs }
}

/// Residual norm of each block under `coefficients`.
fn block_residuals(system: &System, coefficients: &Array1<f64>) -> Vec<f64> {
    let predicted = system.matrix.dot(coefficients);
    system
        .blocks
        .iter()
        .map(|rows| {
            rows.clone()
                .map(|i| (system.target[i] - predicted[i]).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect()
}

/// Draws `size` distinct blocks with probabilities proportional to
/// `weights`, by the exponential-key method of Efraimidis and Spirakis
/// (Inf. Process. Lett. 97, 2006): the largest `ln(u)/w` win.
fn draw_batch(weights: &[f64], size: usize, rng: &mut Pcg64Mcg) -> Vec<usize> {
    let total: f64 = weights.iter().sum();
    let uniform = !(total > 0.0 && total.is_finite());
    let mut keys: Vec<(f64, usize)> = weights
        .iter()
        .enumerate()
        .map(|(n, &w)| {
            let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
            // A block with zero residual is drawn last rather than never.
            let weight = if uniform { 1.0 } else { (w / total).max(1e-300) };
            (u.ln() / weight, n)
        })
        .collect();
    keys.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut batch: Vec<usize> = keys.iter().take(size).map(|&(_, n)| n).collect();
    batch.sort_unstable();
    batch
}

/// Runs Phase I on the assembled system.
pub fn run(system: &System, config: &LearnConfig, seed: u64) -> PhaseOne {
    let start = Instant::now();
    let columns = system.columns();
    let n_blocks = system.blocks.len();
    let products = block_products(system);
    let penalty: Vec<f64> = (0..columns)
        .map(|j| if Some(j) == system.diffusion_column { 0.0 } else { 1.0 })
        .collect();
    let batch_size = ((config.batch_fraction * n_blocks as f64).round() as usize).clamp(1, n_blocks);
    let target_norm = system.target.dot(&system.target).sqrt().max(f64::MIN_POSITIVE);
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0x5eed_0f_1ea2);

    let mut mask = vec![true; columns];
    let mut coefficients = Array1::<f64>::zeros(columns);
    let mut iterations = Vec::new();
    let mut unchanged = 0;
    let mut stop_reason = format!("reached learn.max_iterations = {}", config.max_iterations);

    for iteration in 1..=config.max_iterations {
        let weights = if iteration == 1 || !config.importance_sampling {
            vec![1.0; n_blocks]
        } else {
            block_residuals(system, &coefficients)
        };

        let batch = draw_batch(&weights, batch_size, &mut rng);

        let active: Vec<usize> = (0..columns).filter(|&j| mask[j]).collect();
        let mut gram = Array2::<f64>::zeros((active.len(), active.len()));
        let mut rhs = Array1::<f64>::zeros(active.len());
        for &n in &batch {
            for (a, &i) in active.iter().enumerate() {
                rhs[a] += products.rhs[n][i];
                for (b, &j) in active.iter().enumerate() {
                    gram[[a, b]] += products.gram[n][[i, j]];
                }
            }
        }
        let scale: Vec<f64> = (0..active.len()).map(|a| gram[[a, a]].sqrt().max(f64::MIN_POSITIVE)).collect();
        for a in 0..active.len() {
            rhs[a] /= scale[a];
            for b in 0..active.len() {
                gram[[a, b]] /= scale[a] * scale[b];
            }
        }
        let active_penalty: Vec<f64> = active.iter().map(|&j| penalty[j]).collect();
        let bound = lambda_max(&gram, &rhs, &active_penalty);
        let lambda = config.lambda_fraction * bound;
        let mut w = Array1::from_iter(active.iter().zip(&scale).map(|(&j, s)| coefficients[j] * s));
        coordinate_descent(&gram, &rhs, lambda, &active_penalty, &mut w, 1e-10, 100_000);

        let penalised: Vec<f64> = (0..active.len()).filter(|&a| active_penalty[a] > 0.0).map(|a| w[a].abs()).collect();
        let threshold = if penalised.is_empty() {
            0.0
        } else {
            config.sparsity * penalised.iter().sum::<f64>() / penalised.len() as f64
        };
        let previous_mask = mask.clone();
        let mut normalised = vec![0.0; columns];
        coefficients.fill(0.0);
        for (a, &j) in active.iter().enumerate() {
            // Terms exactly zeroed by the Lasso go too, also when eta = 0.
            let below = w[a].abs() < threshold || w[a] == 0.0;
            if active_penalty[a] > 0.0 && below {
                mask[j] = false;
            } else {
                coefficients[j] = w[a] / scale[a];
                normalised[j] = w[a];
            }
        }

        let residual = &system.target - &system.matrix.dot(&coefficients);
        iterations.push(IterationRecord {
            iteration,
            batch,
            lambda_max: bound,
            lambda,
            coefficients: coefficients.to_vec(),
            normalised_coefficients: normalised,
            threshold,
            mask: mask.clone(),
            relative_residual: residual.dot(&residual).sqrt() / target_norm,
        });
        tracing::debug!(iteration, active = mask.iter().filter(|&&m| m).count(), threshold, "phase I iteration");

        if (0..columns).all(|j| !mask[j] || Some(j) == system.diffusion_column) {
            stop_reason = "every dictionary term was removed; lower learn.sparsity or learn.lambda_fraction".into();
            break;
        }
        unchanged = if mask == previous_mask { unchanged + 1 } else { 0 };
        if unchanged >= config.stall_iterations {
            stop_reason = format!("the mask did not change for {unchanged} iterations");
            break;
        }
    }

    PhaseOne {
        mask,
        coefficients: coefficients.to_vec(),
        iterations,
        stop_reason,
        seconds: start.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_is_distinct_and_sorted() {
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let batch = draw_batch(&[1.0; 50], 10, &mut rng);
        assert_eq!(batch.len(), 10);
        assert!(batch.windows(2).all(|w| w[0] < w[1]));
    }

    /// Blocks with large weights are drawn far more often.
    #[test]
    fn heavy_blocks_are_preferred() {
        let mut rng = Pcg64Mcg::seed_from_u64(2);
        let mut weights = vec![1.0; 100];
        for w in weights.iter_mut().take(10) {
            *w = 100.0;
        }
        let mut heavy = 0;
        for _ in 0..100 {
            heavy += draw_batch(&weights, 10, &mut rng).iter().filter(|&&n| n < 10).count();
        }
        assert!(heavy > 800, "heavy blocks drawn {heavy} times of 1000");
    }
}
