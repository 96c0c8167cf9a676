//! The forward check and the run report, after the evaluation stage: solve
//! with the true and the learned kernel, draw the figures, write
//! `report.md` and `metrics.json`.

use std::path::Path;

use anyhow::{Context, Result};
use ips_core::artifact::Density;
use ips_core::npy::{write_atomic, write_json};
use ips_eval::forward::{forward_check, ForwardCheck, ForwardModel};
use ips_eval::plots::{write_plots, RunPlots};
use ips_eval::run_report::{metrics, report_markdown};
use ips_eval::Evaluation;
use ips_learn::LearnedModel;

use crate::experiment::Experiment;
use crate::ui::Ui;

/// Folder of the figures, relative to the report.
const PLOT_DIR: &str = "plots";

/// Runs the forward check when the experiment has a `[meanfield]` section,
/// then writes into `dir`: `forward.json` (the time series),
/// `forward_true.EXT` and `forward_learned.EXT` (the solutions, in the
/// density layout, with `extension` `npy` or `h5`), the figures under
/// `plots/`, `report.md` and `metrics.json`.
pub fn forward_and_report(
    model: &LearnedModel,
    density: &Density,
    experiment: Option<&Experiment>,
    evaluation: &Evaluation,
    dir: &Path,
    extension: &str,
    ui: &Ui,
) -> Result<()> {
    let learned = ForwardModel { kernel: model.kernel()?, diffusion: model.diffusion.value };
    let true_kernel = experiment
        .and_then(|e| e.model.kernel.clone())
        .or_else(|| density.meta.kernel.clone());
    if experiment.and_then(|e| e.model.kernel.as_ref()).is_none() {
        if let Some(kernel) = &density.meta.kernel {
            // Simulated data carry their kernel in the records `ips simulate`
            // writes. The experiment file does not name it, so the note
            // names its source.
            ui.note(&format!(
                "the true kernel {} comes from the data's records (written by `ips simulate`); \
                 copy only the .npy files for a blind test",
                kernel.formula()
            ));
        }
    }
    let true_diffusion = experiment
        .and_then(|e| e.model.diffusion)
        .or(density.meta.diffusion);
    let truth = match (true_kernel, true_diffusion) {
        (Some(kernel), Some(diffusion)) => Some(ForwardModel { kernel, diffusion }),
        _ => None,
    };

    let check = match experiment.and_then(|e| e.meanfield.as_ref()) {
        Some(config) => Some(run_forward_check(density, truth.as_ref(), &learned, config, dir, extension, ui)?),
        None => {
            tracing::info!("the experiment has no [meanfield] section: no forward check");
            None
        }
    };
    let series = check.as_ref().map(|c| &c.series);

    let r_max = evaluation.kernel.as_ref().map(|k| k.r_max).unwrap_or_else(|| {
        density.meta.grid.axes.iter().map(|a| (a.hi - a.lo).powi(2)).sum::<f64>().sqrt()
    });
    let plot_dir = dir.join(PLOT_DIR);
    let figures = write_plots(
        &plot_dir,
        &RunPlots {
            data: density,
            forward: check.as_ref(),
            model,
            learned: &learned.kernel,
            truth: truth.as_ref().map(|t| &t.kernel),
            r_max,
        },
    )?;

    let metrics = metrics(model, evaluation, series);
    let metrics_path = dir.join("metrics.json");
    write_json(&metrics_path, &metrics).with_context(|| format!("writing '{}' failed", metrics_path.display()))?;
    let title = experiment.map(|e| e.name.as_str()).unwrap_or("Evaluation");
    let markdown = report_markdown(title, evaluation, &metrics, series, &figures, PLOT_DIR);
    let report_path = dir.join("report.md");
    write_atomic(&report_path, |w| std::io::Write::write_all(w, markdown.as_bytes()))?;

    let w2 = metrics.w2_max.map(|w| format!(", max W2(true, learned) = {w:.2e}")).unwrap_or_default();
    ui.note(&format!(
        "report: {} figures in {}{w2} -> {}",
        figures.len(),
        plot_dir.display(),
        report_path.display()
    ));
    Ok(())
}

/// Solves with both kernels and writes the solutions and `forward.json`.
fn run_forward_check(
    density: &Density,
    truth: Option<&ForwardModel>,
    learned: &ForwardModel,
    config: &ips_meanfield::SolverConfig,
    dir: &Path,
    extension: &str,
    ui: &Ui,
) -> Result<ForwardCheck> {
    if truth.is_none() {
        tracing::info!("no true kernel: the forward check compares the learned model with the data only");
    }
    config.validate()?;
    let runs = if truth.is_some() { 2 } else { 1 };
    let bar = ui.bar((runs * config.snapshot_times().len()) as u64, "forward check");
    let check = forward_check(density, truth, learned, config, &|| bar.inc(1))?;
    bar.finish_and_clear();

    crate::stages::write_density(&check.learned_solution, &dir.join(format!("forward_learned.{extension}")))
        .context("writing the learned-kernel solution failed")?;
    if let Some(solution) = &check.true_solution {
        crate::stages::write_density(solution, &dir.join(format!("forward_true.{extension}")))
            .context("writing the true-kernel solution failed")?;
    }
    let series_path = dir.join("forward.json");
    write_json(&series_path, &check.series).with_context(|| format!("writing '{}' failed", series_path.display()))?;
    Ok(check)
}
