//! Phase II: least-squares refit of the surviving terms on all rows.

use std::time::Instant;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::assembly::System;
use crate::least_squares::solve;

/// Outcome of Phase II.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseTwo {
    /// Coefficients in dictionary units, 0 outside the mask.
    pub coefficients: Vec<f64>,
    /// Standard errors under independent rows, `None` outside the mask.
    pub std_errors: Vec<Option<f64>>,
    pub residual_norm: f64,
    /// `||b - A c|| / ||b||`.
    pub relative_residual: f64,
    /// Condition number of the normalised active columns.
    pub condition_number: f64,
    /// Wall time in seconds. Not written to `model.json`, so that the same
    /// data and seed give a byte-identical file; it is logged instead.
    #[serde(skip)]
    pub seconds: f64,
}

/// Columns of `system` scaled to unit norm, with the scales.
pub fn normalised_columns(system: &System, columns: &[usize]) -> (Array2<f64>, Vec<f64>) {
    let mut matrix = system.matrix.select(ndarray::Axis(1), columns);
    let mut scales = Vec::with_capacity(columns.len());
    for mut column in matrix.columns_mut() {
        let norm = column.dot(&column).sqrt().max(f64::MIN_POSITIVE);
        column /= norm;
        scales.push(norm);
    }
    (matrix, scales)
}

/// Refits the columns where `mask` is true on every row.
pub fn run(system: &System, mask: &[bool]) -> PhaseTwo {
    let start = Instant::now();
    let columns = system.columns();
    let active: Vec<usize> = (0..columns).filter(|&j| mask[j]).collect();
    let mut coefficients = vec![0.0; columns];
    let mut std_errors = vec![None; columns];
    // With compressed rows the target and residual miss `residual_offset`.
    let target_norm = (system.target.dot(&system.target) + system.residual_offset).sqrt().max(f64::MIN_POSITIVE);

    if active.is_empty() {
        return PhaseTwo {
            coefficients,
            std_errors,
            residual_norm: target_norm,
            relative_residual: 1.0,
            condition_number: f64::NAN,
            seconds: start.elapsed().as_secs_f64(),
        };
    }
    let (matrix, scales) = normalised_columns(system, &active);
    let fit = solve(matrix.view(), system.target.view());
    // The solver's errors use s^2 = RSS / (rows - columns) of the rows it
    // sees; rescale them to the residual variance of the data the rows stand for.
    let residual_norm = (fit.residual_norm.powi(2) + system.residual_offset).sqrt();
    let seen_variance = fit.residual_norm.powi(2) / matrix.nrows().saturating_sub(active.len()).max(1) as f64;
    let variance = residual_norm.powi(2) / system.represented_rows.saturating_sub(active.len()).max(1) as f64;
    let rescale = if seen_variance > 0.0 { (variance / seen_variance).sqrt() } else { 1.0 };
    for (a, &j) in active.iter().enumerate() {
        coefficients[j] = fit.coefficients[a] / scales[a];
        std_errors[j] = Some(rescale * fit.std_errors[a] / scales[a]);
    }
    PhaseTwo {
        coefficients,
        std_errors,
        residual_norm,
        relative_residual: residual_norm / target_norm,
        condition_number: fit.condition_number(),
        seconds: start.elapsed().as_secs_f64(),
    }
}
