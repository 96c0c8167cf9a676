//! The pipeline stages as the command line runs them: read inputs, run the
//! library, write the artifact.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ips_core::artifact::{read_positions, read_vector, check_times, Density, TrajectoryMeta, Trajectories, FORMAT_VERSION};
use ips_core::npy::{companion, write_json};
use ips_eval::Evaluation;
use ips_learn::LearnedModel;
use ndarray::Array1;

use crate::experiment::Experiment;
use crate::ui::Ui;

/// Where the times of user trajectories come from.
#[derive(Debug, Clone, Default)]
pub struct TimesSource {
    pub times: Option<PathBuf>,
    pub dt: Option<f64>,
}

/// Runs the simulation of `experiment` and writes the trajectories to `out`.
pub fn simulate(experiment: &Experiment, out: &Path, ui: &Ui) -> Result<Trajectories> {
    let model = experiment.simulation_model()?;
    let (initial, config) = experiment.simulation_sections()?;
    let n_steps = config.validate()?;
    let bar = ui.bar(n_steps as u64, "simulate");
    let trajectories = ips_sim::simulate(&model, initial, config, experiment.seed, &|step| {
        if step % 16 == 0 || step == n_steps {
            bar.set_position(step as u64);
        }
    })?;
    bar.finish_and_clear();
    trajectories
        .write(out)
        .with_context(|| format!("writing trajectories to '{}' failed", out.display()))?;
    ui.note(&format!(
        "simulate: {} particles, {} frames -> {}",
        trajectories.n_particles(),
        trajectories.times.len(),
        out.display()
    ));
    Ok(trajectories)
}

/// Reads trajectories: an artifact of `ips simulate`, or a user's NPY file
/// of shape `[n_times, N]` or `[n_times, N, d]` with times from `--times`,
/// `--dt` or a `*.times.npy` companion.
pub fn load_trajectories(path: &Path, source: &TimesSource, experiment: Option<&Experiment>) -> Result<Trajectories> {
    if source.times.is_some() && source.dt.is_some() {
        bail!("give either --times or --dt, not both");
    }
    let has_sidecar = companion(path, "json").exists() && companion(path, "times.npy").exists();
    if has_sidecar && source.times.is_none() && source.dt.is_none() {
        let trajectories = Trajectories::read(path)?;
        check_dimension(&trajectories, path, experiment)?;
        return Ok(trajectories);
    }

    let positions = read_positions(path)?;
    let n_times = positions.shape()[0];
    let times = if let Some(times_path) = &source.times {
        let times = read_vector(times_path, Some(n_times))?;
        check_times(&times, &times_path.display().to_string())?;
        times
    } else if let Some(dt) = source.dt {
        if !(dt.is_finite() && dt > 0.0) {
            bail!("invalid --dt {dt}: the time between frames must be positive");
        }
        Array1::from_iter((0..n_times).map(|n| n as f64 * dt))
    } else if companion(path, "times.npy").exists() {
        let times_path = companion(path, "times.npy");
        let times = read_vector(&times_path, Some(n_times))?;
        check_times(&times, &times_path.display().to_string())?;
        times
    } else {
        bail!(
            "no times for '{}': give --times FILE (an NPY array of {n_times} times) or --dt X (the time between frames)",
            path.display()
        );
    };
    let (n_particles, dim) = (positions.shape()[1], positions.shape()[2]);
    let trajectories = Trajectories {
        positions,
        times,
        meta: TrajectoryMeta {
            format_version: FORMAT_VERSION,
            source: "import".into(),
            dim,
            n_particles,
            n_times,
            dt: None,
            diffusion: experiment.and_then(|e| e.model.diffusion),
            kernel: experiment.and_then(|e| e.model.kernel.clone()),
            seed: None,
            config: serde_json::json!({ "imported_from": path.display().to_string() }),
            tool_version: env!("CARGO_PKG_VERSION").into(),
        },
    };
    check_dimension(&trajectories, path, experiment)?;
    Ok(trajectories)
}

fn check_dimension(trajectories: &Trajectories, path: &Path, experiment: Option<&Experiment>) -> Result<()> {
    if let Some(e) = experiment {
        if e.model.dim != trajectories.dim() {
            bail!(
                "'{}' holds {}D positions but the experiment has model.dim = {}; fix one of them",
                path.display(),
                trajectories.dim(),
                e.model.dim
            );
        }
    }
    Ok(())
}

/// Estimates the density of every frame and writes it to `out`.
pub fn kde(trajectories: &Trajectories, experiment: &Experiment, out: &Path, ui: &Ui) -> Result<Density> {
    let n_times = trajectories.times.len();
    let bar = ui.bar(n_times as u64, "kde");
    let density = ips_kde::estimate(trajectories, &experiment.kde, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let worst = density.mass_outside.iter().copied().fold(0.0, f64::max);
    if worst > 1e-3 {
        tracing::warn!(
            mass_outside = worst,
            "part of the density falls outside the KDE grid; widen kde.lo and kde.hi"
        );
    }
    density
        .write(out)
        .with_context(|| format!("writing the density to '{}' failed", out.display()))?;
    ui.note(&format!("kde: {} snapshots on {:?} points -> {}", n_times, density.meta.grid.shape(), out.display()));
    Ok(density)
}

/// Learns the kernel from `density` and writes `model.json` to `out`.
pub fn learn(density: &Density, experiment: &Experiment, out: &Path, ui: &Ui) -> Result<LearnedModel> {
    let known_diffusion = experiment.model.diffusion.or(density.meta.diffusion);
    let model = ips_learn::learn(density, &experiment.learn, known_diffusion, experiment.seed)?;
    write_json(out, &model).with_context(|| format!("writing the model to '{}' failed", out.display()))?;
    let active: Vec<String> = model
        .terms
        .iter()
        .filter(|t| t.active)
        .map(|t| format!("{} = {:.4}", t.name, t.coefficient))
        .collect();
    ui.note(&format!("learn: {} -> {}", active.join(", "), out.display()));
    Ok(model)
}

/// Evaluates `model` and writes `eval.json` to `out` and a Markdown report beside it.
pub fn evaluate(
    model: &LearnedModel,
    density: Option<&Density>,
    experiment: Option<&Experiment>,
    out: &Path,
    ui: &Ui,
) -> Result<Evaluation> {
    let truth = experiment
        .and_then(|e| e.model.kernel.clone())
        .or_else(|| density.and_then(|d| d.meta.kernel.clone()));
    let true_diffusion = experiment
        .and_then(|e| e.model.diffusion)
        .or_else(|| density.and_then(|d| d.meta.diffusion));
    let evaluation = ips_eval::evaluate(model, truth.as_ref(), true_diffusion, density)?;
    write_json(out, &evaluation).with_context(|| format!("writing '{}' failed", out.display()))?;
    let title = experiment.map(|e| e.name.as_str()).unwrap_or("Evaluation");
    let report = out.with_extension("md");
    let markdown = evaluation.to_markdown(title);
    ips_core::npy::write_atomic(&report, |w| std::io::Write::write_all(w, markdown.as_bytes()))?;
    ui.note(&format!("eval: {} and {}", out.display(), report.display()));
    Ok(evaluation)
}

/// Solves the mean-field equation from snapshot `snapshot` of `initial` with
/// the learned model when given, else the experiment's true kernel.
pub fn meanfield(
    initial: &Density,
    snapshot: usize,
    experiment: &Experiment,
    model: Option<&LearnedModel>,
    out: &Path,
    ui: &Ui,
) -> Result<Density> {
    let Some(config) = &experiment.meanfield else {
        bail!("ips meanfield needs a [meanfield] section with t_final and save_every in the experiment file");
    };
    if snapshot >= initial.n_times() {
        bail!("--snapshot {snapshot} is out of range: the density has {} snapshots", initial.n_times());
    }
    let (kernel, diffusion) = match model {
        Some(model) => (model.kernel()?, model.diffusion.value),
        None => {
            let Some(kernel) = experiment.model.kernel.clone() else {
                bail!("no kernel to solve with: give --model model.json or set model.kernel in the experiment file");
            };
            let Some(diffusion) = experiment.model.diffusion else {
                bail!("no diffusion coefficient: set model.diffusion in the experiment file");
            };
            (kernel, diffusion)
        }
    };
    // meanfield.t_final is the end time of the run, so a run that starts at
    // a later snapshot is shorter.
    let t0 = initial.times[snapshot];
    if config.t_final <= t0 {
        bail!(
            "snapshot {snapshot} is at t = {t0}, at or after meanfield.t_final = {}; choose an earlier snapshot or a later t_final",
            config.t_final
        );
    }
    let mut shifted = config.clone();
    shifted.t_final = config.t_final - t0;
    let start = initial.values.index_axis(ndarray::Axis(0), snapshot);
    let n_snapshots = shifted.snapshot_times().len();
    let bar = ui.bar(n_snapshots as u64, "meanfield");
    let mut solution = ips_meanfield::solve(&kernel, diffusion, &initial.meta.grid, start, &shifted, &|| bar.inc(1))?;
    bar.finish_and_clear();
    solution.times.mapv_inplace(|t| t + t0);
    solution
        .write(out)
        .with_context(|| format!("writing the solution to '{}' failed", out.display()))?;
    ui.note(&format!("meanfield: {} snapshots of {} -> {}", n_snapshots, kernel.formula(), out.display()));
    Ok(solution)
}
