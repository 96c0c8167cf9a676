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
    /// Per detected piece of `a(r)`, for models learned with breakpoints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pieces: Vec<PieceRow>,
    /// Each jump of the true `a(r)` with the nearest detected breakpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breakpoints: Vec<BreakpointRow>,
}

/// One detected piece `[lo, hi)` of a model learned with breakpoints, where
/// the learned influence is `level + slope r`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PieceRow {
    pub lo: f64,
    pub hi: f64,
    pub level: f64,
    pub slope: f64,
    /// The true `a(r) = phi(r)/r` at the middle of the piece.
    pub true_level: f64,
    /// `|level - true_level| / |true_level|` when the true level is not 0.
    pub relative_error: Option<f64>,
    /// True terms whose interval has its middle in this piece: the piece
    /// is the learned counterpart of those terms.
    pub true_terms: Vec<String>,
}

/// A jump of the true `a(r)` and the nearest detected breakpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BreakpointRow {
    #[serde(rename = "true")]
    pub true_value: f64,
    pub detected: f64,
    pub error: f64,
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
    if let Some(found) = &model.breakpoints {
        return compare_pieces(model, truth, &found.edges);
    }
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
        pieces: Vec::new(),
        breakpoints: Vec::new(),
    }
}

/// The true influence `a(r) = phi(r)/r`.
fn true_influence(truth: &Kernel, r: f64) -> f64 {
    truth.phi(r) / r
}

/// The comparison of a model learned on detected pieces: the true value of
/// `1_I` is the true `a(r)` at the middle of `I`, that of `r*1_I` is 0.
fn compare_pieces(model: &LearnedModel, truth: &Kernel, edges: &[f64]) -> CoefficientTable {
    let coefficient = |term: Term| {
        model
            .terms
            .iter()
            .find(|t| t.name == term.name())
            .map_or(0.0, |t| t.coefficient)
    };
    let pieces: Vec<PieceRow> = edges
        .windows(2)
        .map(|w| {
            let (lo, hi) = (w[0], w[1]);
            let true_level = true_influence(truth, 0.5 * (lo + hi));
            let level = coefficient(Term::Indicator { lo, hi });
            let true_terms = truth
                .terms
                .iter()
                .filter(|t| match t.term {
                    Term::Indicator { lo: a, hi: b } | Term::RIndicator { lo: a, hi: b } => {
                        (lo..hi).contains(&(0.5 * (a + b)))
                    }
                    _ => false,
                })
                .map(|t| t.term.name())
                .collect();
            PieceRow {
                lo,
                hi,
                level,
                slope: coefficient(Term::RIndicator { lo, hi }),
                true_level,
                relative_error: (true_level != 0.0).then(|| (level - true_level).abs() / true_level.abs()),
                true_terms,
            }
        })
        .collect();
    let rows: Vec<CoefficientRow> = model
        .terms
        .iter()
        .map(|m| {
            let truth_value = match Term::parse(&m.name) {
                Ok(Term::Indicator { lo, hi }) => true_influence(truth, 0.5 * (lo + hi)),
                _ => 0.0,
            };
            CoefficientRow {
                name: m.name.clone(),
                true_value: truth_value,
                learned: m.coefficient,
                active: m.active,
                absolute_error: (m.coefficient - truth_value).abs(),
                relative_error: (truth_value != 0.0).then(|| (m.coefficient - truth_value).abs() / truth_value.abs()),
                std_error: m.std_error,
                bootstrap_std_error: m.bootstrap_std_error,
            }
        })
        .collect();
    let support_recovered = rows.iter().all(|r| r.active == (r.true_value != 0.0));
    CoefficientTable {
        rows,
        support_recovered,
        missing_from_dictionary: Vec::new(),
        pieces,
        breakpoints: breakpoint_rows(truth, edges),
    }
}

/// The jumps of the true kernel: the interval ends of its indicator terms
/// (other than 0) where `a(r)` changes, each with the nearest detected edge.
fn breakpoint_rows(truth: &Kernel, edges: &[f64]) -> Vec<BreakpointRow> {
    let mut jumps: Vec<f64> = truth
        .terms
        .iter()
        .flat_map(|t| match t.term {
            Term::Indicator { lo, hi } | Term::RIndicator { lo, hi } => vec![lo, hi],
            _ => Vec::new(),
        })
        .filter(|&r| r > 0.0)
        .collect();
    jumps.sort_by(f64::total_cmp);
    jumps.dedup();
    let inner = &edges[1..edges.len().saturating_sub(1)];
    jumps
        .into_iter()
        .filter_map(|r| {
            let detected = inner.iter().copied().min_by(|a, b| (a - r).abs().total_cmp(&(b - r).abs()))?;
            Some(BreakpointRow { true_value: r, detected, error: (detected - r).abs() })
        })
        .collect()
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
