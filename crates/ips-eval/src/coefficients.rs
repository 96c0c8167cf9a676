//! Learned against true coefficients, term by term.

use ips_core::{Convention, Kernel, Term};
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
    /// Standard error of the learned coefficient, active terms only.
    #[serde(default)]
    pub std_error: Option<f64>,
    /// Standard deviation over the block bootstrap, when it ran.
    #[serde(default)]
    pub bootstrap_std_error: Option<f64>,
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

/// The term that represents `term` of convention `from` in convention `to`,
/// using `phi(r) = r a(r)`; `None` when the family has no such term.
fn convert(term: Term, from: Convention, to: Convention) -> Option<Term> {
    match (from, to) {
        (Convention::Force, Convention::Force) | (Convention::Influence, Convention::Influence) => Some(term),
        // phi = r^k is a = r^(k-1); phi = r 1[A,B) is a = 1[A,B).
        (Convention::Force, Convention::Influence) => match term {
            Term::Power(k) if k >= 1 => Some(Term::Power(k - 1)),
            Term::RIndicator { lo, hi } => Some(Term::Indicator { lo, hi }),
            _ => None,
        },
        (Convention::Influence, Convention::Force) => match term {
            Term::Power(k) => Some(Term::Power(k + 1)),
            Term::Indicator { lo, hi } => Some(Term::RIndicator { lo, hi }),
            _ => None,
        },
    }
}

/// Compares `model` with `truth`, matching terms by name after writing the
/// truth in the model's convention.
pub fn compare(model: &LearnedModel, truth: &Kernel) -> CoefficientTable {
    let mut missing = Vec::new();
    let mut true_values = vec![0.0; model.terms.len()];
    for t in &truth.terms {
        let converted = convert(t.term, truth.convention, model.convention);
        let position = converted.and_then(|c| model.terms.iter().position(|m| m.name == c.name()));
        match position {
            Some(k) => true_values[k] += t.coefficient,
            None => missing.push(t.term.name()),
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
            std_error: m.std_error,
            bootstrap_std_error: m.bootstrap_std_error,
        })
        .collect();
    let support_recovered = missing.is_empty() && rows.iter().all(|r| r.active == (r.true_value != 0.0));
    CoefficientTable {
        rows,
        support_recovered,
        missing_from_dictionary: missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn force_power_is_lower_influence_power() {
        let converted = convert(Term::Power(2), Convention::Force, Convention::Influence);
        assert_eq!(converted, Some(Term::Power(1)));
    }

    #[test]
    fn influence_indicator_is_force_r_indicator() {
        let converted = convert(Term::Indicator { lo: 0.0, hi: 0.5 }, Convention::Influence, Convention::Force);
        assert_eq!(converted, Some(Term::RIndicator { lo: 0.0, hi: 0.5 }));
    }

    #[test]
    fn constant_force_has_no_influence_term() {
        assert_eq!(convert(Term::Power(0), Convention::Force, Convention::Influence), None);
    }
}
