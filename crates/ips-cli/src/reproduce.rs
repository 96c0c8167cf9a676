//! `ips reproduce`: the paper's experiments in one command.
//!
//! A plan file (`data/reproduce.toml`) lists the experiments. Each one runs
//! like `ips run` into `OUT/<name>/`, with the same caching, so a second
//! `ips reproduce` only redoes what changed. Then `summary.json` and
//! `summary.md` set every learned coefficient beside the truth and the
//! paper's published value.
//!
//! An experiment that fails does not stop the others: its error is written
//! into the summary and the command exits non-zero at the end, so a long
//! reproduction is not lost to one bad case.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use ips_core::Term;
use serde::{Deserialize, Serialize};

use crate::experiment::Experiment;
use crate::pipeline::Rerun;
use crate::ui::Ui;

/// The plan file: which experiments `ips reproduce` runs, in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    #[serde(rename = "experiment")]
    pub experiments: Vec<PlanEntry>,
    /// One kernel learned from the densities of several experiments.
    #[serde(default, rename = "joint")]
    pub joints: Vec<JointEntry>,
    /// Experiments whose free energies are drawn in one figure.
    #[serde(default, rename = "free_energy")]
    pub free_energies: Vec<EnergyGroup>,
}

/// A `[[joint]]` entry: learn one kernel from the densities of `members`
/// (experiment names of the plan), with the `[learn]` section of the first.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JointEntry {
    pub name: String,
    pub members: Vec<String>,
    #[serde(default)]
    pub tolerance: Option<f64>,
}

/// A `[[free_energy]]` entry: `DIR/<name>.png` shows F(t) of the
/// true-kernel solutions of `members`, which should meet at one value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnergyGroup {
    pub name: String,
    pub members: Vec<String>,
}

/// One experiment of the plan. Paths are relative to the plan file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanEntry {
    /// The full experiment.
    pub file: PathBuf,
    /// Its small variant, run by `--small`.
    #[serde(default)]
    pub small: Option<PathBuf>,
    /// `--set` overrides applied to the file, e.g. `["learn_from=meanfield"]`.
    #[serde(default)]
    pub set: Vec<String>,
    /// Name of this run, when the overrides make it a variant of the file's
    /// experiment (the file's `name` otherwise).
    #[serde(default)]
    pub name: Option<String>,
    /// Target for the relative coefficient error; terms with
    /// a true value of zero must be removed. Without it no verdict is given.
    #[serde(default)]
    pub tolerance: Option<f64>,
}

impl Plan {
    /// Reads a plan file and resolves its paths against the file's folder.
    ///
    /// # Errors
    /// A missing or malformed file, or an empty plan.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!("reading the plan '{}' failed; run from the repository root or pass --plan FILE", path.display())
        })?;
        let mut plan: Plan =
            toml::from_str(&text).with_context(|| format!("invalid plan file '{}'", path.display()))?;
        if plan.experiments.is_empty() {
            bail!("the plan '{}' lists no [[experiment]]", path.display());
        }
        let base = path.parent().unwrap_or(Path::new("."));
        for entry in &mut plan.experiments {
            entry.file = base.join(&entry.file);
            entry.small = entry.small.as_ref().map(|small| base.join(small));
            if let Some(tolerance) = entry.tolerance {
                if !(tolerance.is_finite() && tolerance > 0.0) {
                    bail!(
                        "invalid tolerance = {tolerance} for '{}' in '{}': give a positive fraction such as 0.02",
                        entry.file.display(),
                        path.display()
                    );
                }
            }
        }
        Ok(plan)
    }
}

/// One row of `summary.json`: one dictionary term of one experiment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Row {
    pub experiment: String,
    pub term: String,
    /// The true coefficient of this term, where the truth is known.
    #[serde(rename = "true")]
    pub truth: Option<f64>,
    pub learned: Option<f64>,
    /// The paper's value; null where the paper gives none.
    pub published: Option<f64>,
    /// `|learned - true| / |true|`, null where the true value is zero.
    pub relative_error: Option<f64>,
    /// The same for the paper's value.
    pub published_relative_error: Option<f64>,
    /// Largest W2 distance between the true-model and learned-model
    /// mean-field solutions of this experiment.
    pub w2_max: Option<f64>,
    /// Whether this term meets the target: within the tolerance for a true
    /// term, removed (exactly zero) for a term outside the truth. Null
    /// without a tolerance.
    pub within_target: Option<bool>,
}

/// What happened to one experiment.
struct Outcome {
    name: String,
    file: PathBuf,
    seconds: f64,
    result: Result<Vec<Row>>,
}

/// Runs the plan (or the experiments named in `only`) into `out`.
///
/// # Errors
/// A bad plan or output folder; after all experiments ran, any experiment
/// that failed.
pub fn reproduce(plan_path: &Path, out: &Path, small: bool, only: &[String], rerun: Rerun, ui: &Ui) -> Result<()> {
    let plan = Plan::load(plan_path)?;
    let mut names = Vec::new();
    let mut selected = Vec::new();
    for entry in &plan.experiments {
        let file = if small {
            entry.small.clone().with_context(|| {
                format!("--small: the plan gives no small variant for '{}'", entry.file.display())
            })?
        } else {
            entry.file.clone()
        };
        let mut experiment = Experiment::load(&file, &entry.set).with_context(|| {
            format!(
                "loading an experiment of the plan '{}' failed; its paths are relative to the plan's folder",
                plan_path.display()
            )
        })?;
        if let Some(name) = &entry.name {
            experiment.name = if small { format!("{name}-small") } else { name.clone() };
        }
        names.push(experiment.name.clone());
        if only.is_empty() || only.iter().any(|name| selects(name, &experiment.name, small)) {
            // The small variants are for checking that everything runs; their
            // few particles do not reach the targets of the full runs.
            let tolerance = if small { None } else { entry.tolerance };
            selected.push((experiment, file, tolerance));
        }
    }
    for name in only {
        if !selected.iter().any(|(experiment, _, _)| selects(name, &experiment.name, small)) {
            let known: Vec<String> = plan
                .experiments
                .iter()
                .filter_map(|e| e.name.clone().or_else(|| Experiment::load(&e.file, &[]).ok().map(|x| x.name)))
                .collect();
            bail!("--only {name}: no experiment of that name in the plan; the plan has {}", known.join(", "));
        }
    }
    check_members(&plan, &names, plan_path)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating the output directory '{}' failed", out.display()))?;

    let start = Instant::now();
    let mut outcomes = Vec::with_capacity(selected.len());
    let mut energy_lines: Vec<String> = Vec::new();
    for (index, (experiment, file, tolerance)) in selected.iter().enumerate() {
        ui.note(&format!("reproduce [{}/{}]: {} ({})", index + 1, selected.len(), experiment.name, file.display()));
        let dir = out.join(&experiment.name);
        let began = Instant::now();
        let result = crate::run_experiment(experiment, &dir, rerun.clone(), ui)
            .and_then(|()| summary_rows(experiment, &dir, *tolerance));
        if let Err(error) = &result {
            ui.note(&format!("reproduce: {} failed: {error:#}", experiment.name));
        }
        outcomes.push(Outcome {
            name: experiment.name.clone(),
            file: file.clone(),
            seconds: began.elapsed().as_secs_f64(),
            result,
        });
    }

    // Joint fits and free-energy figures of the experiments that ran.
    let ran: Vec<(&Experiment, PathBuf)> = selected
        .iter()
        .zip(&outcomes)
        .filter(|(_, outcome)| outcome.result.is_ok())
        .map(|((experiment, _, _), _)| (experiment, out.join(&experiment.name)))
        .collect();
    let member_dir = |member: &str| {
        let wanted = if small { format!("{member}-small") } else { member.to_string() };
        ran.iter().find(|(experiment, _)| experiment.name == wanted || experiment.name == member).cloned()
    };
    for joint in &plan.joints {
        let members: Option<Vec<(&Experiment, PathBuf)>> = joint.members.iter().map(|m| member_dir(m)).collect();
        let Some(members) = members else {
            continue;
        };
        let began = Instant::now();
        let name = if small { format!("{}-small", joint.name) } else { joint.name.clone() };
        ui.note(&format!("reproduce: {name}, one kernel from {}", joint.members.join(", ")));
        let tolerance = if small { None } else { joint.tolerance };
        let result = learn_joint(&name, &members, &out.join(&name), rerun.clone(), ui)
            .and_then(|experiment| summary_rows(&experiment, &out.join(&name), tolerance));
        if let Err(error) = &result {
            ui.note(&format!("reproduce: {name} failed: {error:#}"));
        }
        outcomes.push(Outcome { name, file: PathBuf::from("(joint)"), seconds: began.elapsed().as_secs_f64(), result });
    }
    for group in &plan.free_energies {
        let members: Vec<(&Experiment, PathBuf)> = group.members.iter().filter_map(|m| member_dir(m)).collect();
        if members.len() < 2 {
            continue;
        }
        match free_energy_figure(&group.name, &members, out) {
            Ok(line) => energy_lines.push(line),
            Err(error) => ui.note(&format!("reproduce: the free-energy figure {} failed: {error:#}", group.name)),
        }
    }

    let rows: Vec<Row> = outcomes.iter().filter_map(|o| o.result.as_ref().ok()).flatten().cloned().collect();
    let json = serde_json::to_string_pretty(&rows).context("serialising the summary failed")?;
    ips_core::npy::write_atomic(&out.join("summary.json"), |w| std::io::Write::write_all(w, json.as_bytes()))?;
    let mut markdown = summary_markdown(&outcomes, start.elapsed().as_secs_f64());
    if !energy_lines.is_empty() {
        markdown.push_str("## Free energies\n\n");
        for line in &energy_lines {
            let _ = writeln!(markdown, "{line}\n");
        }
    }
    ips_core::npy::write_atomic(&out.join("summary.md"), |w| std::io::Write::write_all(w, markdown.as_bytes()))?;
    ui.note(&format!("reproduce: summary in {}", out.join("summary.md").display()));

    let failed: Vec<&str> = outcomes.iter().filter(|o| o.result.is_err()).map(|o| o.name.as_str()).collect();
    if !failed.is_empty() {
        bail!("{} of {} experiments failed: {} (see summary.md)", failed.len(), outcomes.len(), failed.join(", "));
    }
    Ok(())
}

/// Checks that every member of a `[[joint]]` or `[[free_energy]]` entry
/// names an experiment of the plan. A member outside `--only` is skipped
/// when the plan runs, but one outside the plan is a typing mistake.
fn check_members(plan: &Plan, names: &[String], plan_path: &Path) -> Result<()> {
    let groups = plan.joints.iter().map(|j| ("joint", &j.name, &j.members));
    let groups = groups.chain(plan.free_energies.iter().map(|g| ("free_energy", &g.name, &g.members)));
    for (kind, group, members) in groups {
        for member in members {
            let small = format!("{member}-small");
            if !names.iter().any(|name| name == member || *name == small) {
                bail!(
                    "[[{kind}]] '{group}' of the plan '{}' names the member '{member}', but no experiment has that name; the plan has {}",
                    plan_path.display(),
                    names.join(", ")
                );
            }
        }
    }
    Ok(())
}

/// Learns one kernel from the densities of `members` into `dir/model.json`
/// and evaluates it against the first member's truth (coefficients and
/// kernel error; no forward check, which needs one initial density).
/// Returns the experiment the summary reads, renamed to `name`.
fn learn_joint(name: &str, members: &[(&Experiment, PathBuf)], dir: &Path, rerun: Rerun, ui: &Ui) -> Result<Experiment> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating '{}' failed", dir.display()))?;
    let mut experiment = members[0].0.clone();
    experiment.name = name.to_string();
    let densities: Vec<PathBuf> = members.iter().map(|(_, member)| learning_density(member)).collect();
    let pipeline = crate::pipeline::Pipeline::new(rerun, ui);
    let model = dir.join("model.json");
    pipeline.stage(crate::stages::learn_spec(&experiment, &densities, &model), |p| {
        crate::stages::learn(&densities, &experiment, &model, p, ui)
    })?;
    let eval = dir.join("eval.json");
    pipeline.stage(crate::stages::eval_spec(Some(&experiment), &model, None, &eval), |p| {
        crate::stages::evaluate(&model, None, Some(&experiment), &eval, p, ui)
    })?;
    Ok(experiment)
}

/// The density an experiment learned from: the solver's when it learned
/// from mean-field data, the KDE's otherwise.
fn learning_density(dir: &Path) -> PathBuf {
    let solver = dir.join("solver_density.npy");
    if solver.exists() {
        solver
    } else {
        dir.join("density.npy")
    }
}

/// Draws F(t) of the true-kernel solutions of `members` into
/// `out/<name>.png` and returns a line for the summary with the final values.
fn free_energy_figure(name: &str, members: &[(&Experiment, PathBuf)], out: &Path) -> Result<String> {
    let mut curves = Vec::with_capacity(members.len());
    for (experiment, dir) in members {
        let forward = read_json(&dir.join("forward.json"))?;
        let numbers = |key: &str| -> Result<Vec<f64>> {
            forward[key]
                .as_array()
                .with_context(|| format!("'{}' has no {key}", dir.join("forward.json").display()))?
                .iter()
                .map(|v| v.as_f64().with_context(|| format!("a value of {key} is not a number")))
                .collect()
        };
        curves.push(ips_eval::plots::EnergyCurve {
            name: experiment.name.clone(),
            times: numbers("times")?,
            values: numbers("free_energy_true")?,
        });
    }
    ips_eval::plots::write_free_energy_curves(out, name, "Free energy of the true-kernel solutions", &curves)?;
    let finals: Vec<String> = curves
        .iter()
        .filter_map(|c| c.values.last().map(|v| format!("{} {v:.5}", c.name)))
        .collect();
    let values: Vec<f64> = curves.iter().filter_map(|c| c.values.last().copied()).collect();
    let spread = values.iter().copied().fold(f64::NEG_INFINITY, f64::max) - values.iter().copied().fold(f64::INFINITY, f64::min);
    Ok(format!(
        "`{name}.png`: final F of the true-kernel solutions: {}; spread {spread:.2e}.",
        finals.join(", ")
    ))
}

/// Builds the coefficient table of one experiment: `eval.json` gives the learned
/// and true values, `metrics.json` the W2 distance, the experiment file the
/// published values.
fn summary_rows(experiment: &Experiment, dir: &Path, tolerance: Option<f64>) -> Result<Vec<Row>> {
    let eval = read_json(&dir.join("eval.json"))?;
    // A joint fit has no forward check, so no metrics.json.
    let metrics_path = dir.join("metrics.json");
    let w2_max = if metrics_path.exists() { read_json(&metrics_path)?["w2_max"].as_f64() } else { None };
    let eval_rows = eval["coefficients"]["rows"]
        .as_array()
        .with_context(|| format!("'{}' has no coefficients.rows", dir.join("eval.json").display()))?;

    // Terms of the true kernel in the learned convention, for matching
    // detected pieces (whose names differ from the true ones) by interval.
    let true_terms: Vec<(Term, f64)> = match &experiment.model.kernel {
        Some(kernel) if kernel.convention == experiment.learn.convention => {
            kernel.terms.iter().map(|t| (t.term, t.coefficient)).collect()
        }
        _ => Vec::new(),
    };
    let published: Vec<(Term, f64)> = match &experiment.published {
        Some(published) => published
            .coefficients
            .iter()
            .map(|(name, value)| {
                Term::parse(name)
                    .map(|term| (term, *value))
                    .with_context(|| format!("invalid term '{name}' in [published] of {}", experiment.name))
            })
            .collect::<Result<_>>()?,
        None => Vec::new(),
    };

    let mut rows = Vec::with_capacity(eval_rows.len());
    for entry in eval_rows {
        let name = entry["name"].as_str().context("a coefficient row has no name")?.to_string();
        let learned = entry["learned"].as_f64();
        let term = Term::parse(&name).ok();
        let truth = match (term, true_terms.is_empty()) {
            (Some(term), false) if is_interval(term) => Some(matching_value(term, &true_terms).unwrap_or(0.0)),
            _ => entry["true"].as_f64(),
        };
        let published = term.and_then(|term| matching_value(term, &published));
        let relative = |value: Option<f64>| match (value, truth) {
            (Some(value), Some(truth)) if truth != 0.0 => Some((value - truth).abs() / truth.abs()),
            _ => None,
        };
        let within_target = match (tolerance, truth, learned) {
            (Some(tolerance), Some(truth), Some(learned)) => Some(if truth == 0.0 {
                learned == 0.0
            } else {
                (learned - truth).abs() <= tolerance * truth.abs()
            }),
            _ => None,
        };
        rows.push(Row {
            experiment: experiment.name.clone(),
            term: name,
            truth,
            learned,
            published,
            relative_error: relative(learned),
            published_relative_error: relative(published),
            w2_max,
            within_target,
        });
    }

    // Detected breakpoints of a piecewise kernel, one row each; the target
    // is one KDE grid cell.
    let cell = experiment
        .kde
        .lo
        .iter()
        .zip(&experiment.kde.hi)
        .zip(&experiment.kde.intervals)
        .map(|((lo, hi), &n)| (hi - lo) / n as f64)
        .fold(f64::INFINITY, f64::min);
    if let Some(breakpoints) = eval["coefficients"]["breakpoints"].as_array() {
        for (index, point) in breakpoints.iter().enumerate() {
            let (truth, detected) = (point["true"].as_f64(), point["detected"].as_f64());
            rows.push(Row {
                experiment: experiment.name.clone(),
                term: format!("breakpoint {}", index + 1),
                truth,
                learned: detected,
                published: None,
                relative_error: match (truth, detected) {
                    (Some(t), Some(d)) if t != 0.0 => Some((d - t).abs() / t.abs()),
                    _ => None,
                },
                published_relative_error: None,
                w2_max,
                within_target: match (tolerance, truth, detected) {
                    (Some(_), Some(t), Some(d)) => Some((d - t).abs() <= cell * (1.0 + 1e-9)),
                    _ => None,
                },
            });
        }
    }
    Ok(rows)
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading '{}' failed", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("'{}' is not valid JSON", path.display()))
}

fn is_interval(term: Term) -> bool {
    matches!(term, Term::Indicator { .. } | Term::RIndicator { .. })
}

/// The value given for `term` in `values`: the entry of the same name, or
/// for a piece of a piecewise kernel, the entry of the same kind whose
/// interval holds the piece's midpoint (detected breakpoints never fall
/// exactly on the true ones).
fn matching_value(term: Term, values: &[(Term, f64)]) -> Option<f64> {
    if let Some((_, value)) = values.iter().find(|(candidate, _)| candidate.name() == term.name()) {
        return Some(*value);
    }
    let (kind, mid) = match term {
        Term::Indicator { lo, hi } => (0, 0.5 * (lo + hi)),
        Term::RIndicator { lo, hi } => (1, 0.5 * (lo + hi)),
        _ => return None,
    };
    values.iter().find_map(|(candidate, value)| match *candidate {
        Term::Indicator { lo, hi } if kind == 0 && lo <= mid && mid < hi => Some(*value),
        Term::RIndicator { lo, hi } if kind == 1 && lo <= mid && mid < hi => Some(*value),
        _ => None,
    })
}

fn summary_markdown(outcomes: &[Outcome], seconds: f64) -> String {
    let mut text = String::from("# Reproduction of the paper's experiments\n\n");
    let rows = outcomes.iter().filter_map(|o| o.result.as_ref().ok()).flatten();
    let judged: Vec<bool> = rows.filter_map(|row| row.within_target).collect();
    let met = judged.iter().filter(|&&m| m).count();
    let _ = writeln!(
        text,
        "{} experiment(s) in {:.1} s; {} failed. Targets met by {met} of {} judged terms (small variants are not judged).\n",
        outcomes.len(),
        seconds,
        outcomes.iter().filter(|o| o.result.is_err()).count(),
        judged.len()
    );
    text.push_str(
        "\"rel. error\" is |learned - true| / |true|. \"target\" is met when a true term is \
         within the plan's tolerance, a term outside the truth is removed, and a detected \
         breakpoint is within one KDE grid cell of the true one; small variants are not judged.\n\n",
    );
    for outcome in outcomes {
        let _ = writeln!(text, "## {}\n", outcome.name);
        let _ = writeln!(text, "File `{}`, {:.1} s.\n", outcome.file.display(), outcome.seconds);
        let rows = match &outcome.result {
            Ok(rows) => rows,
            Err(error) => {
                let _ = writeln!(text, "**Failed:** {error:#}\n");
                continue;
            }
        };
        if let Some(w2) = rows.first().and_then(|r| r.w2_max) {
            let _ = writeln!(text, "W2 max between the true and learned mean-field solutions: {w2:.3e}\n");
        }
        text.push_str("| term | true | learned | rel. error | published | published rel. error | target |\n");
        text.push_str("|---|---|---|---|---|---|---|\n");
        for row in rows {
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {} | {} | {} |",
                row.term,
                number(row.truth),
                number(row.learned),
                percent(row.relative_error),
                number(row.published),
                percent(row.published_relative_error),
                match row.within_target {
                    Some(true) => "met",
                    Some(false) => "missed",
                    None => "",
                }
            );
        }
        text.push('\n');
    }
    text
}

fn number(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.4}")).unwrap_or_default()
}

fn percent(value: Option<f64>) -> String {
    value.map(|v| format!("{:.2} %", 100.0 * v)).unwrap_or_default()
}

/// Checks whether `--only name` selects the experiment named `experiment`. With
/// `--small` the experiments are the small variants, named `<name>-small`,
/// and the full run's name selects them too.
fn selects(name: &str, experiment: &str, small: bool) -> bool {
    name == experiment || (small && experiment.strip_suffix("-small") == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_select_small_variants() {
        assert!(selects("cubic", "cubic", false));
        assert!(selects("cubic", "cubic-small", true));
        assert!(selects("cubic-small", "cubic-small", true));
        assert!(!selects("cubic", "cubic-small", false));
        assert!(!selects("cubic", "cubic-extra-small", true));
    }

    #[test]
    fn pieces_match_the_true_interval_holding_their_midpoint() {
        let truth = vec![
            (Term::Indicator { lo: 0.0, hi: 0.4 }, 0.5),
            (Term::Indicator { lo: 0.4, hi: 0.8 }, 1.0),
        ];
        assert_eq!(matching_value(Term::Indicator { lo: 0.0, hi: 0.41 }, &truth), Some(0.5));
        assert_eq!(matching_value(Term::Indicator { lo: 0.41, hi: 0.79 }, &truth), Some(1.0));
        assert_eq!(matching_value(Term::RIndicator { lo: 0.0, hi: 0.41 }, &truth), None);
        assert_eq!(matching_value(Term::Indicator { lo: 0.79, hi: 3.0 }, &truth), None);
    }

    #[test]
    fn powers_match_by_name_only() {
        let truth = vec![(Term::Power(2), 3.0)];
        assert_eq!(matching_value(Term::Power(2), &truth), Some(3.0));
        assert_eq!(matching_value(Term::Power(3), &truth), None);
    }
}
