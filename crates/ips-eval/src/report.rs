//! The `eval.json` record and the Markdown report.

use std::fmt::Write;

use ips_core::artifact::Density;
use ips_core::Kernel;
use ips_learn::LearnedModel;
use serde::{Deserialize, Serialize};

use crate::coefficients::{compare, CoefficientTable};
use crate::kernel_error::{kernel_errors, KernelErrors};
use crate::Result;

/// Everything the evaluation stage measures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluation {
    pub learned_kernel: String,
    /// The learned terms with their standard errors, as in `model.json`,
    /// so that the report lists them also when there is no true kernel.
    #[serde(default)]
    pub learned_terms: Vec<ips_learn::model::TermEstimate>,
    pub true_kernel: Option<String>,
    pub coefficients: Option<CoefficientTable>,
    pub kernel: Option<KernelErrors>,
    pub true_diffusion: Option<f64>,
    pub learned_diffusion: f64,
    pub diffusion_learned: bool,
    /// Standard error of a learned D.
    #[serde(default)]
    pub diffusion_std_error: Option<f64>,
    /// Supports ranked by BIC, when the learning stage scored them.
    #[serde(default)]
    pub support_ranking: Option<ips_learn::selection::SupportRanking>,
    /// The equation the regression was built on (`strong`, `weak-particles`,
    /// `increments`).
    #[serde(default)]
    pub formulation: String,
    pub condition_number: f64,
    pub phase_one_iterations: usize,
    pub phase_one_stop_reason: String,
    /// Piece edges of `a(r)` when the model was learned with breakpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_edges: Option<Vec<f64>>,
    /// How the evaluation was made; set by the command line, absent otherwise.
    #[serde(default)]
    pub provenance: Option<ips_core::Provenance>,
}

/// Evaluates `model`, against `truth` when it is known. The density, when
/// given, supplies the pair-distance weights and the range of `r`.
///
/// # Errors
/// An error when a term name in the model cannot be parsed.
pub fn evaluate(model: &LearnedModel, truth: Option<&Kernel>, true_diffusion: Option<f64>, density: Option<&Density>) -> Result<Evaluation> {
    let learned = model.kernel()?;
    let r_max = density
        .map(|d| {
            d.meta
                .grid
                .axes
                .iter()
                .map(|a| (a.hi - a.lo).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .unwrap_or(1.0);
    Ok(Evaluation {
        learned_kernel: learned.formula(),
        learned_terms: model.terms.clone(),
        true_kernel: truth.map(Kernel::formula),
        coefficients: truth.map(|t| compare(model, t)),
        kernel: truth.map(|t| kernel_errors(&learned, t, r_max, density)),
        true_diffusion,
        learned_diffusion: model.diffusion.value,
        diffusion_learned: model.diffusion.learned,
        diffusion_std_error: model.diffusion.std_error,
        formulation: model.assembly.formulation.clone(),
        support_ranking: model.support_ranking.clone(),
        condition_number: model.assembly.normalised_condition_number,
        phase_one_iterations: model.phase_one.iterations.len(),
        phase_one_stop_reason: model.phase_one.stop_reason.clone(),
        detected_edges: model.breakpoints.as_ref().map(|b| b.edges.clone()),
        provenance: None,
    })
}

fn number(value: f64) -> String {
    format!("{value:.6}")
}

impl Evaluation {
    /// A Markdown report for people.
    pub fn to_markdown(&self, title: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# {title}\n");
        let _ = writeln!(out, "Learned: `{}`\n", self.learned_kernel);
        if let Some(edges) = &self.detected_edges {
            let text: Vec<String> = edges.iter().map(|e| e.to_string()).collect();
            let _ = writeln!(out, "Detected piece edges of a(r): {}\n", text.join(", "));
        }
        if let Some(t) = &self.true_kernel {
            let _ = writeln!(out, "True: `{t}`\n");
        }
        if self.coefficients.is_none() && !self.learned_terms.is_empty() {
            let _ = writeln!(out, "## Coefficients\n");
            let _ = writeln!(out, "No true kernel was given, so the table lists the learned values only.\n");
            let _ = writeln!(out, "| term | learned | std. error | bootstrap std. | active |");
            let _ = writeln!(out, "|---|---|---|---|---|");
            for term in &self.learned_terms {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    term.name,
                    number(term.coefficient),
                    term.std_error.map(number).unwrap_or_default(),
                    term.bootstrap_std_error.map(number).unwrap_or_default(),
                    if term.active { "yes" } else { "no" }
                );
            }
            let _ = writeln!(out);
        }
        if let Some(table) = &self.coefficients {
            let _ = writeln!(out, "## Coefficients\n");
            let _ = writeln!(out, "| term | true | learned | std. error | bootstrap std. | active | relative error |");
            let _ = writeln!(out, "|---|---|---|---|---|---|---|");
            for row in &table.rows {
                let relative = row
                    .relative_error
                    .map(|e| format!("{:.3} %", 100.0 * e))
                    .unwrap_or_else(|| "".into());
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    row.name,
                    number(row.true_value),
                    number(row.learned),
                    row.std_error.map(number).unwrap_or_default(),
                    row.bootstrap_std_error.map(number).unwrap_or_default(),
                    if row.active { "yes" } else { "no" },
                    relative
                );
            }
            let _ = writeln!(
                out,
                "\nSupport recovered: {}.",
                if table.support_recovered { "yes" } else { "no" }
            );
            if !table.pieces.is_empty() {
                let _ = writeln!(out, "\n## Detected pieces of a(r)\n");
                let _ = writeln!(out, "Learned a(r) = level + slope r on each piece; the true level is a(r) at the middle of the piece.\n");
                let _ = writeln!(out, "| piece | level | slope | true level | relative error | true terms |");
                let _ = writeln!(out, "|---|---|---|---|---|---|");
                for piece in &table.pieces {
                    let relative = piece.relative_error.map(|e| format!("{:.3} %", 100.0 * e)).unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "| [{}, {}) | {} | {} | {} | {} | {} |",
                        piece.lo,
                        piece.hi,
                        number(piece.level),
                        number(piece.slope),
                        number(piece.true_level),
                        relative,
                        piece.true_terms.join(", ")
                    );
                }
                let _ = writeln!(out, "\n| true breakpoint | detected | error |");
                let _ = writeln!(out, "|---|---|---|");
                for row in &table.breakpoints {
                    let _ = writeln!(out, "| {} | {} | {} |", number(row.true_value), number(row.detected), number(row.error));
                }
            }
            if !table.missing_from_dictionary.is_empty() {
                let _ = writeln!(
                    out,
                    "True terms missing from the dictionary: {}.",
                    table.missing_from_dictionary.join(", ")
                );
            }
        }
        if let Some(k) = &self.kernel {
            let _ = writeln!(out, "\n## Kernel error on [0, {:.3}]\n", k.r_max);
            let _ = writeln!(out, "- max |phi_learned - phi_true|: {:.3e}", k.max_abs_error);
            let _ = writeln!(out, "- L2 error: {:.3e}", k.l2_error);
            if let Some(w) = k.weighted_relative_l2_error {
                let _ = writeln!(out, "- relative L2 error weighted by pair distances: {:.3e}", w);
            }
        }
        let _ = writeln!(out, "\n## Diffusion\n");
        let _ = writeln!(
            out,
            "D = {}{} ({}){}",
            number(self.learned_diffusion),
            self.diffusion_std_error.map(|e| format!(" +- {}", number(e))).unwrap_or_default(),
            if self.diffusion_learned { "learned" } else { "given" },
            self.true_diffusion
                .map(|d| format!(", true {}", number(d)))
                .unwrap_or_default()
        );
        let _ = writeln!(out, "\n## Regression\n");
        if !self.formulation.is_empty() {
            let _ = writeln!(out, "- formulation: {}", self.formulation);
        }
        let _ = writeln!(out, "- normalised condition number: {:.3e}", self.condition_number);
        let _ = writeln!(
            out,
            "- Phase I: {} iterations, stopped because {}",
            self.phase_one_iterations, self.phase_one_stop_reason
        );
        if let Some(ranking) = &self.support_ranking {
            let _ = writeln!(
                out,
                "\n## Supports ranked by {} (up to {} terms)\n",
                ranking.criterion.to_uppercase(),
                ranking.max_support
            );
            let chosen_by_ranking = self.phase_one_stop_reason.contains("best-subset");
            if !chosen_by_ranking {
                let _ = writeln!(
                    out,
                    "The support in the tables above comes from the thresholds of Phase I; this ranking is a \
                     diagnostic (set learn.selection = \"best-subset\" to take its best support instead).\n"
                );
            }
            if matches!(self.formulation.as_str(), "strong" | "weak-density" | "") {
                let _ = writeln!(
                    out,
                    "The rows of the {} form are correlated (neighbouring grid points and time steps), so \
                     BIC overstates the evidence for larger supports and its gaps cannot be trusted; \
                     the weak form on the particles and the increments have independent rows \
                     (docs/method.md, \"Choosing the support\").\n",
                    if self.formulation.is_empty() { "strong" } else { self.formulation.as_str() }
                );
            }
            if let Some(warning) = &ranking.warning {
                let _ = writeln!(out, "**Warning:** {warning}.\n");
            }
            let _ = writeln!(out, "| support | BIC | gap to the best |");
            let _ = writeln!(out, "|---|---|---|");
            for support in &ranking.ranked {
                let _ = writeln!(out, "| {} | {:.2} | {:.2} |", support.terms.join(", "), support.bic, support.gap);
            }
        }
        out
    }
}
