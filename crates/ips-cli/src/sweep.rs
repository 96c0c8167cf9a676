//! `ips sweep points` and `ips sweep collect`: the runs of a sweep file as
//! JSON for a workflow engine, and their summary once they have run.

use std::io::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use ips_sweep::definition::Sweep;
use ips_sweep::points::{base_values, expand, Run};
use ips_sweep::summary;
use serde_json::json;

use crate::experiment::Experiment;
use crate::ui::Ui;

/// Loads `path` and expands it into runs, after checking that the base
/// experiment and every run's overrides make a valid experiment, so that a
/// typo in a sweep fails before any run starts.
///
/// # Errors
/// An invalid sweep file, a base experiment that is invalid or has no
/// `[meanfield]` section (its runs would have no W2), or a run whose
/// overrides are rejected.
pub fn load_runs(path: &Path) -> Result<(Sweep, Vec<Run>)> {
    let sweep = Sweep::load(path)?;
    let base = Experiment::load(&sweep.experiment, &sweep.set)
        .with_context(|| format!("loading the base experiment of the sweep '{}' failed", path.display()))?;
    check_runnable(&base)?;
    if base.meanfield.is_none() {
        bail!(
            "the base experiment '{}' has no [meanfield] section, so its runs would have no W2; add one",
            sweep.experiment.display()
        );
    }
    let resolved = toml::Table::try_from(&base).context("serialising the base experiment failed")?;
    let runs = expand(&sweep, &base_values(&sweep, &resolved)?)?;
    for run in &runs {
        let experiment = Experiment::load(&sweep.experiment, &run.set)
            .with_context(|| format!("run '{}' of the sweep '{}'", run.dir, path.display()))?;
        check_runnable(&experiment).with_context(|| format!("run '{}' of the sweep '{}'", run.dir, path.display()))?;
    }
    Ok((sweep, runs))
}

/// Runs the checks that `ips run` makes before simulating.
fn check_runnable(experiment: &Experiment) -> Result<()> {
    experiment.validate()?;
    experiment.simulation_model()?.validate()?;
    let (initial, simulation) = experiment.simulation_sections()?;
    initial.validate(experiment.model.dim)?;
    simulation.validate()?;
    Ok(())
}

/// Prints the runs of the sweep file `path` as JSON on standard output.
///
/// # Errors
/// Those of [`load_runs`], or a failed write to standard output.
pub fn print_points(path: &Path) -> Result<()> {
    let (sweep, runs) = load_runs(path)?;
    let axes: Vec<_> = sweep
        .axes
        .iter()
        .map(|a| json!({ "name": a.name, "label": a.label, "keys": a.keys }))
        .collect();
    let document = json!({
        "name": sweep.name,
        "experiment": sweep.experiment,
        "axes": axes,
        "runs": runs,
    });
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, &document)?;
    writeln!(stdout)?;
    Ok(())
}

/// Reads the `metrics.json` of every run of the sweep file `path` under
/// `out` and writes `summary.csv`, `summary.md` and `plots/w2_AXIS.{png,svg}`
/// into `out`.
///
/// # Errors
/// Those of [`load_runs`], a run without `metrics.json`, or a file that
/// cannot be written.
pub fn collect(path: &Path, out: &Path, ui: &Ui) -> Result<()> {
    let (sweep, runs) = load_runs(path)?;
    let rows = summary::collect(&runs, out)?;
    let csv_path = out.join("summary.csv");
    summary::write_csv(&csv_path, &sweep, &rows)?;
    let markdown = summary::markdown(&sweep, &rows);
    let markdown_path = out.join("summary.md");
    ips_core::npy::write_atomic(&markdown_path, |w| w.write_all(markdown.as_bytes()))?;
    let figures = ips_sweep::plots::write_plots(&out.join("plots"), &sweep, &rows)?;
    ui.note(&format!(
        "{} runs -> {}, {} and {} figures in {}",
        rows.len(),
        csv_path.display(),
        markdown_path.display(),
        figures.len(),
        out.join("plots").display()
    ));
    Ok(())
}
