//! The pipeline stages as the command line runs them: read inputs, run the
//! library, write the artifact.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ips_core::artifact::{
    check_times, read_positions, read_vector, write_trajectory_companions, Density, TrajectoryMeta, Trajectories,
    FORMAT_VERSION,
};
use ips_core::h5::{self, is_hdf5_path, H5TrajectoryWriter, TrajectoryDatasets};
use ips_core::long_csv::{is_csv_path, CsvColumns};
use ips_core::npy::{companion, read_json, write_json, NpyStreamWriter};
use ips_core::npz::is_npz_path;
use ips_core::Provenance;
use ips_eval::Evaluation;
use ips_learn::LearnedModel;
use ips_sim::{FrameSink, SinkError};
use ndarray::Array1;
use serde_json::json;

use crate::experiment::Experiment;
use crate::import::Frames;
use crate::pipeline::{Input, StageSpec};
use crate::ui::Ui;

/// Where the times of user trajectories come from, the dataset names of an
/// HDF5 file or NPZ archive, and the column names of a CSV file.
#[derive(Debug, Clone, Default)]
pub struct TimesSource {
    pub times: Option<PathBuf>,
    pub dt: Option<f64>,
    pub datasets: TrajectoryDatasets,
    pub columns: CsvColumns,
}

/// The simulation stage: it reads the `[model]`, `[initial]` and
/// `[simulation]` sections and the seed.
pub fn simulate_spec(experiment: &Experiment, out: &Path) -> Result<StageSpec> {
    let (initial, simulation) = experiment.simulation_sections()?;
    Ok(StageSpec {
        name: "simulate",
        inputs: Vec::new(),
        config: json!({ "model": experiment.model, "initial": initial, "simulation": simulation }),
        seed: Some(experiment.seed),
        output: out.to_path_buf(),
    })
}

/// Passes the frames of the simulation straight to an NPY or HDF5 file.
enum FileSink {
    Npy(NpyStreamWriter),
    Hdf5(H5TrajectoryWriter),
}

impl FrameSink for FileSink {
    fn write_frame(&mut self, _index: usize, _time: f64, positions: &[f64]) -> std::result::Result<(), SinkError> {
        match self {
            FileSink::Npy(writer) => writer.append(positions).map_err(Into::into),
            FileSink::Hdf5(writer) => writer.append(positions).map_err(Into::into),
        }
    }
}

/// Runs the simulation of `experiment` and streams the trajectories into
/// `out`, so that memory stays O(N) whatever the number of frames.
pub fn simulate(experiment: &Experiment, out: &Path, provenance: Provenance, ui: &Ui) -> Result<()> {
    let model = experiment.simulation_model()?;
    let (initial, config) = experiment.simulation_sections()?;
    let n_steps = config.validate()?;
    let shape = [ips_sim::saved_frames(config)?, config.n_particles, model.dim];
    let mut sink = if is_hdf5_path(out) {
        FileSink::Hdf5(H5TrajectoryWriter::create(out, shape)?)
    } else {
        check_extension(out, "npy")?;
        FileSink::Npy(NpyStreamWriter::create(out, &shape)?)
    };

    let bar = ui.bar(n_steps as u64, "simulate");
    let (times, mut meta) = ips_sim::simulate_into(&model, initial, config, experiment.seed, &mut sink, &|step| {
        if step % 16 == 0 || step == n_steps {
            bar.set_position(step as u64);
        }
    })?;
    bar.finish_and_clear();

    meta.provenance = Some(provenance);
    let context = || format!("writing trajectories to '{}' failed", out.display());
    match sink {
        FileSink::Hdf5(writer) => writer.finish(&times, &meta).with_context(context)?,
        FileSink::Npy(writer) => {
            write_trajectory_companions(out, &times, &meta).with_context(context)?;
            // The positions file comes last: its presence marks a complete artifact.
            writer.finish().with_context(context)?;
        }
    }
    ui.note(&format!("simulate: {} particles, {} frames -> {}", shape[1], shape[0], out.display()));
    Ok(())
}

fn check_extension(path: &Path, extension: &str) -> Result<()> {
    if path.extension().and_then(|e| e.to_str()) != Some(extension) {
        bail!("invalid output path '{}': this output must end in .{extension} or .h5", path.display());
    }
    Ok(())
}

/// Reads trajectories: an artifact of `ips simulate`, or a user's NPY file
/// of shape `[n_times, N]` or `[n_times, N, d]` with times from `--times`,
/// `--dt` or a `*.times.npy` companion.
pub fn load_trajectories(path: &Path, source: &TimesSource, experiment: Option<&Experiment>) -> Result<Trajectories> {
    if source.times.is_some() && source.dt.is_some() {
        bail!("give either --times or --dt, not both");
    }
    if is_hdf5_path(path) {
        return load_hdf5_trajectories(path, source, experiment);
    }
    if is_npz_path(path) {
        let (positions, times) = crate::import::read_npz(path, source)?;
        return imported_trajectories(path, positions, times, source, experiment);
    }
    if is_csv_path(path) {
        // NOTE: the long-CSV import gives frames of varying particle counts,
        // which only the density estimate takes; the particle formulations
        // need a fixed set of particles in every frame.
        bail!(
            "'{}' is a CSV file, which only the density estimate reads; for learn.formulation = \"weak-particles\" \
             or \"increments\" save the tracks as an NPY, NPZ or HDF5 array [n_times, N(, d)] with every particle \
             in every frame, or use learn.formulation = \"strong\"",
            path.display()
        );
    }
    let has_sidecar = companion(path, "json").exists() && companion(path, "times.npy").exists();
    if has_sidecar && source.times.is_none() && source.dt.is_none() {
        let trajectories = Trajectories::read(path)?;
        check_dimension(&trajectories, path, experiment)?;
        return Ok(trajectories);
    }

    let positions = read_positions(path)?;
    let companion_times = companion(path, "times.npy");
    let stored_times = if companion_times.exists() {
        let times = read_vector(&companion_times, Some(positions.shape()[0]))?;
        check_times(&times, &companion_times.display().to_string())?;
        Some(times)
    } else {
        None
    };
    imported_trajectories(path, positions, stored_times, source, experiment)
}

/// Reads an HDF5 trajectory file: an artifact of `ips simulate` (with its
/// metadata) or a user's file with a positions dataset and, optionally, times.
fn load_hdf5_trajectories(path: &Path, source: &TimesSource, experiment: Option<&Experiment>) -> Result<Trajectories> {
    let file = h5::read_trajectories(path, &source.datasets)?;
    if let (Some(meta), Some(times), None, None) = (&file.meta, &file.times, &source.times, source.dt) {
        let trajectories = Trajectories { positions: file.positions, times: times.clone(), meta: meta.clone() };
        check_dimension(&trajectories, path, experiment)?;
        return Ok(trajectories);
    }
    imported_trajectories(path, file.positions, file.times, source, experiment)
}

/// Builds trajectories from a user's positions; the times come from
/// `--times`, `--dt` or the file itself (`stored_times`), in that order.
fn imported_trajectories(
    path: &Path,
    positions: ndarray::Array3<f64>,
    stored_times: Option<Array1<f64>>,
    source: &TimesSource,
    experiment: Option<&Experiment>,
) -> Result<Trajectories> {
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
    } else if let Some(times) = stored_times {
        times
    } else {
        bail!(
            "no times for '{}': give --times FILE (an NPY array of {n_times} times) or --dt X (the time between frames), or store them in the file",
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
            provenance: None,
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

/// The KDE stage: it reads the trajectories (and their times when given
/// separately), the `[kde]` section and the `[model]` section, whose D and
/// kernel are copied into imported trajectories' metadata.
pub fn kde_spec(experiment: &Experiment, trajectories: &Path, times: &TimesSource, out: &Path) -> StageSpec {
    StageSpec {
        name: "kde",
        inputs: trajectory_inputs(trajectories, times),
        config: json!({ "model": experiment.model, "kde": experiment.kde }),
        seed: None,
        output: out.to_path_buf(),
    }
}

/// The inputs of a stage that reads trajectories: the file, and its times
/// or dataset names where they come from elsewhere.
fn trajectory_inputs(trajectories: &Path, times: &TimesSource) -> Vec<Input> {
    let mut inputs = vec![Input::File { role: "trajectories", path: trajectories.to_path_buf() }];
    if let Some(path) = &times.times {
        inputs.push(Input::File { role: "times", path: path.clone() });
    } else if let Some(dt) = times.dt {
        inputs.push(Input::Value { role: "dt", text: dt.to_string() });
    } else if companion(trajectories, "times.npy").exists() {
        inputs.push(Input::File { role: "times", path: companion(trajectories, "times.npy") });
    }
    if is_hdf5_path(trajectories) || is_npz_path(trajectories) {
        let names = format!("{},{}", times.datasets.positions, times.datasets.times);
        inputs.push(Input::Value { role: "datasets", text: names });
    }
    if is_csv_path(trajectories) {
        inputs.push(Input::Value { role: "columns", text: format!("{:?}", times.columns) });
    }
    inputs
}

/// Reads the trajectories, estimates the density of every frame and writes
/// it to `out`.
pub fn kde(trajectories: &Path, times: &TimesSource, experiment: &Experiment, out: &Path, provenance: Provenance, ui: &Ui) -> Result<()> {
    if !is_hdf5_path(out) {
        check_extension(out, "npy")?;
    }
    // NOTE: the KDE reads every frame into memory (8 N d bytes per frame),
    // unlike the streamed simulation; a frame-by-frame reader is not written yet.
    let path = trajectories;
    let trajectories: Frames = if is_csv_path(path) {
        crate::import::read_csv(path, times, experiment)?
    } else {
        load_trajectories(path, times, Some(experiment))?.into()
    };
    let n_times = trajectories.times.len();
    let frames = trajectories.positions.frames();
    let grid = experiment.kde.validate(trajectories.dim)?;
    crate::import::check_particles_inside(&frames, &grid, path)?;
    let source = ips_kde::FrameSource {
        dim: trajectories.dim,
        times: &trajectories.times,
        diffusion: trajectories.diffusion,
        kernel: trajectories.kernel.as_ref(),
    };
    let bar = ui.bar(n_times as u64, "kde");
    let mut density = ips_kde::estimate_frames(&frames, &source, &experiment.kde, &|| bar.inc(1))?;
    drop(frames);
    drop(trajectories);
    crate::import::check_bandwidth_resolved(&density.bandwidth, &grid)?;
    density.meta.provenance = Some(provenance);
    bar.finish_and_clear();
    let worst = density.mass_outside.iter().copied().fold(0.0, f64::max);
    if worst > 1e-3 {
        tracing::warn!(
            mass_outside = worst,
            "part of the density falls outside the KDE grid; widen kde.lo and kde.hi"
        );
    }
    write_density(&density, out).with_context(|| format!("writing the density to '{}' failed", out.display()))?;
    ui.note(&format!("kde: {} snapshots on {:?} points -> {}", n_times, density.meta.grid.shape(), out.display()));
    Ok(())
}

/// The learning stage: it reads the density, the `[learn]` section, the
/// known D of `[model]` and the seed (for Phase I sampling).
pub fn learn_spec(experiment: &Experiment, densities: &[PathBuf], out: &Path) -> StageSpec {
    StageSpec {
        name: "learn",
        inputs: densities.iter().map(|path| Input::File { role: "density", path: path.clone() }).collect(),
        config: json!({ "model": { "diffusion": experiment.model.diffusion }, "learn": experiment.learn }),
        seed: Some(experiment.seed),
        output: out.to_path_buf(),
    }
}

/// Reads the density artifact at `path`, NPY or HDF5.
pub fn read_density(path: &Path) -> Result<Density> {
    let density = if is_hdf5_path(path) { h5::read_density(path) } else { Density::read(path) };
    density.with_context(|| {
        format!(
            "reading the density artifact '{}' failed; densities come from `ips kde` or `ips meanfield`",
            path.display()
        )
    })
}

/// Writes a density artifact, NPY or HDF5 by the extension of `out`.
pub(crate) fn write_density(density: &Density, out: &Path) -> Result<()> {
    if is_hdf5_path(out) {
        h5::write_density(out, density)?;
    } else {
        density.write(out)?;
    }
    Ok(())
}

/// Reads a model written by `ips learn`: `model.json` or `model.h5`.
pub fn read_model(path: &Path) -> Result<LearnedModel> {
    let model = if is_hdf5_path(path) { h5::read_record(path, "model") } else { read_json(path) };
    model.with_context(|| format!("reading the model '{}' failed; models come from `ips learn`", path.display()))
}

/// Checks that the density at `path` has the dimension of the experiment,
/// whose settings (D, grid, kernel) would otherwise be applied to another
/// system without complaint.
pub fn check_density_dimension(density: &Density, path: &Path, experiment: &Experiment) -> Result<()> {
    let dim = density.meta.grid.dim();
    if dim != experiment.model.dim {
        bail!(
            "the density '{}' is {dim}D but the experiment has model.dim = {}; give the density of this experiment or its own experiment file",
            path.display(),
            experiment.model.dim
        );
    }
    Ok(())
}

/// Writes the model as JSON, or as HDF5 with the term table as datasets.
fn write_model(model: &LearnedModel, out: &Path) -> Result<()> {
    if !is_hdf5_path(out) {
        return Ok(write_json(out, model)?);
    }
    let record = serde_json::to_value(model)?;
    let names: Vec<String> = model.terms.iter().map(|t| t.name.clone()).collect();
    let columns = [
        ("coefficients", model.terms.iter().map(|t| t.coefficient).collect()),
        ("active", model.terms.iter().map(|t| if t.active { 1.0 } else { 0.0 }).collect()),
        ("std_errors", model.terms.iter().map(|t| t.std_error.unwrap_or(f64::NAN)).collect()),
    ];
    h5::write_record(out, "model", &record, model.provenance.as_ref(), ("term_names", &names), &columns)?;
    Ok(())
}

/// Writes the evaluation as JSON, or as HDF5 with the coefficient table as datasets.
fn write_evaluation(evaluation: &Evaluation, out: &Path) -> Result<()> {
    if !is_hdf5_path(out) {
        return Ok(write_json(out, evaluation)?);
    }
    let record = serde_json::to_value(evaluation)?;
    let rows = evaluation.coefficients.as_ref().map(|c| c.rows.as_slice()).unwrap_or(&[]);
    let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    let columns = [
        ("true_coefficients", rows.iter().map(|r| r.true_value).collect()),
        ("learned_coefficients", rows.iter().map(|r| r.learned).collect()),
        ("absolute_errors", rows.iter().map(|r| r.absolute_error).collect()),
    ];
    h5::write_record(out, "evaluation", &record, evaluation.provenance.as_ref(), ("term_names", &names), &columns)?;
    Ok(())
}

/// Learns the kernel from the densities at `paths` (their rows stacked
/// into one regression) and writes `model.json` to `out`.
pub fn learn(paths: &[PathBuf], experiment: &Experiment, out: &Path, provenance: Provenance, ui: &Ui) -> Result<()> {
    let densities = paths.iter().map(|path| read_density(path)).collect::<Result<Vec<_>>>()?;
    for (index, (density, path)) in densities.iter().zip(paths).enumerate() {
        check_density_dimension(density, path, experiment)
            .with_context(|| format!("density {} of {}", index + 1, paths.len()))?;
    }
    let known_diffusion = experiment.model.diffusion.or_else(|| densities.iter().find_map(|d| d.meta.diffusion));
    let references: Vec<&Density> = densities.iter().collect();
    let model = ips_learn::learn_joint(&references, &experiment.learn, known_diffusion, experiment.seed)?;
    finish_learn(model, out, provenance, ui)
}

/// The learning stage of the particle formulations (`learn.formulation` =
/// `weak-particles` or `increments`): like [`learn_spec`], with the
/// trajectories in place of the density; `density`, when given, is the
/// density on which learn.breakpoints are detected.
pub fn learn_particles_spec(
    experiment: &Experiment,
    trajectories: &Path,
    times: &TimesSource,
    density: Option<&Path>,
    out: &Path,
) -> StageSpec {
    let mut inputs = trajectory_inputs(trajectories, times);
    if let Some(path) = density {
        inputs.push(Input::File { role: "density", path: path.to_path_buf() });
    }
    StageSpec {
        name: "learn",
        inputs,
        config: json!({ "model": { "diffusion": experiment.model.diffusion }, "learn": experiment.learn }),
        seed: Some(experiment.seed),
        output: out.to_path_buf(),
    }
}

/// Learns from the trajectories themselves; a density, when given, serves
/// only to detect learn.breakpoints.
pub fn learn_particles(
    trajectories: &Path,
    times: &TimesSource,
    density: Option<&Path>,
    experiment: &Experiment,
    out: &Path,
    provenance: Provenance,
    ui: &Ui,
) -> Result<()> {
    let trajectories = load_trajectories(trajectories, times, Some(experiment))?;
    let density = match density {
        Some(path) => {
            let density = read_density(path)?;
            check_density_dimension(&density, path, experiment)?;
            Some(density)
        }
        None => None,
    };
    let known_diffusion = experiment.model.diffusion.or(trajectories.meta.diffusion);
    let model = ips_learn::learn_from_trajectories(
        &trajectories,
        density.as_ref(),
        &experiment.learn,
        known_diffusion,
        experiment.seed,
    )?;
    finish_learn(model, out, provenance, ui)
}

fn finish_learn(mut model: ips_learn::LearnedModel, out: &Path, provenance: Provenance, ui: &Ui) -> Result<()> {
    model.provenance = Some(provenance);
    write_model(&model, out).with_context(|| format!("writing the model to '{}' failed", out.display()))?;
    let active: Vec<String> = model
        .terms
        .iter()
        .filter(|t| t.active)
        .map(|t| format!("{} = {:.4}", t.name, t.coefficient))
        .collect();
    ui.note(&format!("learn: {} -> {}", active.join(", "), out.display()));
    Ok(())
}

/// The evaluation stage: it reads the model, the density (for the weights
/// of the kernel error), the experiment's name and the true kernel and D of
/// `[model]`.
pub fn eval_spec(experiment: Option<&Experiment>, model: &Path, density: Option<&Path>, out: &Path) -> StageSpec {
    let mut inputs = vec![Input::File { role: "model", path: model.to_path_buf() }];
    if let Some(path) = density {
        inputs.push(Input::File { role: "density", path: path.to_path_buf() });
    }
    let config = match experiment {
        Some(e) => json!({
            "name": e.name,
            "model": { "kernel": e.model.kernel, "diffusion": e.model.diffusion },
            // The forward check of the report runs the solver with these settings.
            "meanfield": e.meanfield,
        }),
        None => serde_json::Value::Null,
    };
    StageSpec { name: "eval", inputs, config, seed: None, output: out.to_path_buf() }
}

/// Evaluates the model at `model` and writes `eval.json` to `out` and a
/// Markdown report beside it; with a density also the forward check,
/// figures, `report.md` and `metrics.json`.
pub fn evaluate(
    model: &Path,
    density: Option<&Path>,
    experiment: Option<&Experiment>,
    out: &Path,
    provenance: Provenance,
    ui: &Ui,
) -> Result<()> {
    let model = read_model(model)?;
    let density = match density {
        Some(path) => {
            let density = read_density(path)?;
            if let Some(experiment) = experiment {
                check_density_dimension(&density, path, experiment)?;
            }
            Some(density)
        }
        None => None,
    };
    let density = density.as_ref();
    let truth = experiment
        .and_then(|e| e.model.kernel.clone())
        .or_else(|| density.and_then(|d| d.meta.kernel.clone()));
    let true_diffusion = experiment
        .and_then(|e| e.model.diffusion)
        .or_else(|| density.and_then(|d| d.meta.diffusion));
    let mut evaluation: Evaluation = ips_eval::evaluate(&model, truth.as_ref(), true_diffusion, density)?;
    evaluation.provenance = Some(provenance);
    // The forward check, figures, report.md and metrics.json go beside the
    // record, before it: a run killed in between redoes the whole stage.
    match density {
        Some(density) => {
            let dir = out.parent().unwrap_or(Path::new("."));
            // A run killed while writing these leaves temporary files beside them.
            let extension = if is_hdf5_path(out) { "h5" } else { "npy" };
            let solutions = [format!("forward_learned.{extension}"), format!("forward_true.{extension}")];
            for name in ["report.md", "metrics.json", "forward.json"].into_iter().chain(solutions.iter().map(String::as_str)) {
                ips_core::npy::remove_stale_temporaries(&dir.join(name));
            }
            crate::forward::forward_and_report(&model, density, experiment, &evaluation, dir, extension, ui)?;
        }
        None => tracing::info!("no --density: no forward check, figures or report.md"),
    }
    let title = experiment.map(|e| e.name.as_str()).unwrap_or("Evaluation");
    let report = out.with_extension("md");
    let markdown = evaluation.to_markdown(title);
    ips_core::npy::write_atomic(&report, |w| std::io::Write::write_all(w, markdown.as_bytes()))?;
    // The record goes last: its presence marks a complete evaluation.
    write_evaluation(&evaluation, out).with_context(|| format!("writing '{}' failed", out.display()))?;
    ui.note(&format!("eval: {} and {}", out.display(), report.display()));
    Ok(())
}

/// The mean-field stage: it reads the initial density, the model when
/// given (else the true kernel and D of `[model]`) and `[meanfield]`.
pub fn meanfield_spec(experiment: &Experiment, initial: &Path, snapshot: usize, model: Option<&Path>, out: &Path) -> StageSpec {
    let mut inputs = vec![
        Input::File { role: "initial", path: initial.to_path_buf() },
        Input::Value { role: "snapshot", text: snapshot.to_string() },
    ];
    let mut config = json!({ "meanfield": experiment.meanfield });
    match model {
        Some(path) => inputs.push(Input::File { role: "model", path: path.to_path_buf() }),
        None => {
            config["model"] = json!({ "kernel": experiment.model.kernel, "diffusion": experiment.model.diffusion });
        }
    }
    StageSpec { name: "meanfield", inputs, config, seed: None, output: out.to_path_buf() }
}

/// Solves the mean-field equation from snapshot `snapshot` of `initial` with
/// the learned model when given, else the experiment's true kernel.
pub fn meanfield(
    initial: &Density,
    snapshot: usize,
    experiment: &Experiment,
    model: Option<&LearnedModel>,
    out: &Path,
    provenance: Provenance,
    ui: &Ui,
) -> Result<()> {
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
    solution.meta.provenance = Some(provenance);
    write_density(&solution, out).with_context(|| format!("writing the solution to '{}' failed", out.display()))?;
    ui.note(&format!("meanfield: {} snapshots of {} -> {}", n_snapshots, kernel.formula(), out.display()));
    Ok(())
}
