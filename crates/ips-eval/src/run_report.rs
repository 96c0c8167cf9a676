//! The run report: `report.md` with tables and figures, and the headline
//! numbers in `metrics.json`.

use std::collections::BTreeMap;
use std::fmt::Write;

use ips_learn::LearnedModel;
use serde::{Deserialize, Serialize};

use crate::forward::ForwardSeries;
use crate::plots::Figure;
use crate::Evaluation;

/// Learned and true value of one coefficient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoefficientPair {
    pub learned: f64,
    /// `None` when the true kernel is unknown.
    #[serde(rename = "true")]
    pub true_value: Option<f64>,
}

/// The `metrics.json` record: headline numbers of a run, `null` where they
/// cannot be computed (no true kernel, no forward check).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metrics {
    /// Largest W2 over time between the true-kernel and learned-kernel solutions.
    pub w2_max: Option<f64>,
    /// That W2 at the last time of the forward check.
    pub w2_final: Option<f64>,
    /// Largest W2 over time between the learned-kernel solution and the data.
    pub w2_learned_data_max: Option<f64>,
    /// Relative L2 error of phi weighted by the distribution of pair distances.
    pub kernel_rel_l2_error: Option<f64>,
    /// `max |phi_learned - phi_true|` on `[0, r_max]`.
    pub kernel_max_abs_error: Option<f64>,
    /// Free energy of the true-kernel solution at the last time.
    pub free_energy_final_true: Option<f64>,
    /// Free energy of the learned-kernel solution at the last time, under
    /// the same functional as the true one (see `free_energy_functional`).
    pub free_energy_final_learned: Option<f64>,
    /// Free energy of the data at the last time of the forward check.
    pub free_energy_final_data: Option<f64>,
    /// `true-model` or `learned-model`: whose kernel and D define F.
    pub free_energy_functional: Option<String>,
    /// Every dictionary term by name.
    pub coefficients: BTreeMap<String, CoefficientPair>,
    pub diffusion_learned: f64,
    pub diffusion_true: Option<f64>,
    pub support_recovered: Option<bool>,
}

/// Collects the metrics of a run.
pub fn metrics(model: &LearnedModel, evaluation: &Evaluation, forward: Option<&ForwardSeries>) -> Metrics {
    let true_values: BTreeMap<String, f64> = evaluation
        .coefficients
        .iter()
        .flat_map(|table| table.rows.iter().map(|row| (row.name.clone(), row.true_value)))
        .collect();
    let coefficients = model
        .terms
        .iter()
        .map(|term| {
            let pair = CoefficientPair { learned: term.coefficient, true_value: true_values.get(&term.name).copied() };
            (term.name.clone(), pair)
        })
        .collect();
    let last = |values: &[Option<f64>]| values.last().copied().flatten();
    Metrics {
        w2_max: forward.and_then(ForwardSeries::w2_max),
        w2_final: forward.and_then(|f| last(&f.w2_true_learned)),
        w2_learned_data_max: forward.and_then(|f| f.w2_learned_data.iter().flatten().copied().reduce(f64::max)),
        kernel_rel_l2_error: evaluation.kernel.as_ref().and_then(|k| k.weighted_relative_l2_error),
        kernel_max_abs_error: evaluation.kernel.as_ref().map(|k| k.max_abs_error),
        free_energy_final_true: forward.and_then(|f| last(&f.free_energy_true)),
        free_energy_final_learned: forward.and_then(|f| f.free_energy_learned.last().copied()),
        free_energy_final_data: forward.and_then(|f| last(&f.free_energy_data)),
        free_energy_functional: forward
            .map(|f| if f.reference_is_true { "true-model" } else { "learned-model" }.to_string()),
        coefficients,
        diffusion_learned: evaluation.learned_diffusion,
        diffusion_true: evaluation.true_diffusion,
        support_recovered: evaluation.coefficients.as_ref().map(|t| t.support_recovered),
    }
}

fn cell(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.4e}")).unwrap_or_else(|| "–".into())
}

/// Rows of the forward-check table: about ten evenly spaced times and the last one.
fn table_rows(n: usize) -> Vec<usize> {
    let stride = n.div_ceil(10).max(1);
    let mut rows: Vec<usize> = (0..n).step_by(stride).collect();
    if n > 0 && rows.last() != Some(&(n - 1)) {
        rows.push(n - 1);
    }
    rows
}

/// Writes the Markdown report: the evaluation, the forward check and the
/// figures, linked as `PLOT_DIR/STEM.png` relative to the report.
pub fn report_markdown(
    title: &str,
    evaluation: &Evaluation,
    metrics: &Metrics,
    forward: Option<&ForwardSeries>,
    figures: &[Figure],
    plot_dir: &str,
) -> String {
    let mut out = evaluation.to_markdown(title);
    let _ = writeln!(out, "\n## Forward check\n");
    match forward {
        None => {
            let _ = writeln!(out, "Not run: the experiment has no [meanfield] section.");
        }
        Some(series) if series.reference_is_true => {
            let _ = writeln!(
                out,
                "The mean-field equation is solved from the first data snapshot (t = {:.4}) with the \
                 true and with the learned kernel and D. W2 is exact in 1D (quantile functions) \
                 and a debiased Sinkhorn divergence in 2D. The free energy F[rho] = D int rho log rho \
                 + 1/2 int int W(x - y) rho(x) rho(y) uses the true kernel and D for every curve.\n",
                series.times.first().copied().unwrap_or(0.0),
            );
            let _ = writeln!(out, "- max W2(true, learned) over time: {}", cell(metrics.w2_max));
            let _ = writeln!(out, "- W2(true, learned) at the last time: {}", cell(metrics.w2_final));
            let _ = writeln!(out, "- max W2(learned, data) over time: {}", cell(metrics.w2_learned_data_max));
            let _ = writeln!(
                out,
                "- final F: data {}, true {}, learned {}\n",
                cell(metrics.free_energy_final_data),
                cell(metrics.free_energy_final_true),
                cell(metrics.free_energy_final_learned)
            );
            let _ = writeln!(out, "| t | W2 true–learned | W2 true–data | W2 learned–data | F data | F true | F learned |");
            let _ = writeln!(out, "|---|---|---|---|---|---|---|");
            for k in table_rows(series.times.len()) {
                let _ = writeln!(
                    out,
                    "| {:.3} | {} | {} | {} | {} | {} | {} |",
                    series.times[k],
                    cell(series.w2_true_learned[k]),
                    cell(series.w2_true_data[k]),
                    cell(series.w2_learned_data[k]),
                    cell(series.free_energy_data[k]),
                    cell(series.free_energy_true[k]),
                    cell(Some(series.free_energy_learned[k]))
                );
            }
        }
        // No true kernel (real data): only the learned model and the data
        // can be compared, so the columns of the truth are left out.
        Some(series) => {
            let _ = writeln!(
                out,
                "No true kernel was given, so the mean-field equation is solved from the first data \
                 snapshot (t = {:.4}) with the learned kernel and D only, and compared with the data. \
                 W2 is exact in 1D (quantile functions) and a debiased Sinkhorn divergence in 2D. The \
                 free energy F[rho] = D int rho log rho + 1/2 int int W(x - y) rho(x) rho(y) uses the \
                 learned kernel and D.\n",
                series.times.first().copied().unwrap_or(0.0),
            );
            let _ = writeln!(out, "- max W2(learned, data) over time: {}", cell(metrics.w2_learned_data_max));
            let _ = writeln!(
                out,
                "- final F: data {}, learned {}\n",
                cell(metrics.free_energy_final_data),
                cell(metrics.free_energy_final_learned)
            );
            let _ = writeln!(out, "| t | W2 learned–data | F data | F learned |");
            let _ = writeln!(out, "|---|---|---|---|");
            for k in table_rows(series.times.len()) {
                let _ = writeln!(
                    out,
                    "| {:.3} | {} | {} | {} |",
                    series.times[k],
                    cell(series.w2_learned_data[k]),
                    cell(series.free_energy_data[k]),
                    cell(Some(series.free_energy_learned[k]))
                );
            }
        }
    }
    if !figures.is_empty() {
        let _ = writeln!(out, "\n## Figures\n");
        for figure in figures {
            let _ = writeln!(
                out,
                "### {}\n\n![{}]({plot_dir}/{}.png)\n\n[SVG]({plot_dir}/{}.svg)\n",
                figure.caption, figure.caption, figure.stem, figure.stem
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_end_at_last() {
        assert_eq!(table_rows(101), vec![0, 11, 22, 33, 44, 55, 66, 77, 88, 99, 100]);
        assert_eq!(table_rows(3), vec![0, 1, 2]);
        assert_eq!(table_rows(0), Vec::<usize>::new());
    }
}
