//! Learned against true coefficients, term by term.

use ips_core::Kernel;
use ips_learn::LearnedModel;
use serde::{Deserialize, Serialize};

/// One row of the coefficient table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoefficientRow {
    pub name: String,
    #[serde(rename = "true")]
    pub true_value: f64,
    pub learned: f64,
    pub active: bool,
    pub absolute_error: f64,
    /// `|learned - true| / |true|`, for terms of the true kernel.
    pub relative_error: Option<f64>,
}

/// The coefficient table and support recovery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoefficientTable {
    pub rows: Vec<CoefficientRow>,
    /// True when the active terms are exactly the non-zero terms of the truth.
    pub support_recovered: bool,
    /// Terms of the true kernel that the dictionary cannot express.
    pub missing_from_dictionary: Vec<String>,
}

/// Compares `model` with `truth`, matching terms by name.
pub fn compare(model: &LearnedModel, truth: &Kernel) -> CoefficientTable {
    let mut missing = Vec::new();
    let mut true_values = vec![0.0; model.terms.len()];
    for t in &truth.terms {
        let name = t.term.name();
        match model.terms.iter().position(|m| m.name == name) {
            Some(k) if truth.convention == model.convention => true_values[k] += t.coefficient,
            _ => missing.push(name),
        }
    }
    let rows: Vec<CoefficientRow> = model
        .terms
        .iter()
        .zip(&true_values)
        .map(|(m, &truth)| CoefficientRow {
            name: m.name.clone(),
            true_value: truth,
            learned: m.coefficient,
            active: m.active,
            absolute_error: (m.coefficient - truth).abs(),
            relative_error: (truth != 0.0).then(|| (m.coefficient - truth).abs() / truth.abs()),
        })
        .collect();
    let support_recovered = missing.is_empty() && rows.iter().all(|r| r.active == (r.true_value != 0.0));
    CoefficientTable {
        rows,
        support_recovered,
        missing_from_dictionary: missing,
    }
}
