//! `ips`: learn the interaction kernel of a particle system from trajectories.
//!
//! Each pipeline stage is a subcommand on explicit files, and `ips run` chains
//! them for one experiment file.

mod experiment;
mod format;
mod forward;
mod import;
mod info;
mod pipeline;
mod reproduce;
mod stages;
mod sweep;
mod ui;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::experiment::{Experiment, LearnFrom};
use crate::format::{output_path, Format, Kind};
use crate::pipeline::{Pipeline, Rerun, STAGES};
use crate::stages::TimesSource;
use crate::ui::Ui;

#[derive(Debug, Parser)]
#[command(name = "ips", version, about = "Learn interaction kernels of particle systems from trajectories")]
struct Cli {
    /// Hide progress bars and status lines.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Log more: -v info, -vv debug, -vvv trace (or set IPS_LOG).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Overrides {
    /// Override one experiment setting, e.g. --set learn.sparsity=0.2 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

#[derive(Debug, Args)]
struct TrajectoryInput {
    /// Trajectories: an `ips simulate` artifact; an NPY file, NPZ archive or
    /// HDF5 file with positions [n_times, N] or [n_times, N, d] of any
    /// numeric type; or a CSV file in long format (time, particle, x[, y]).
    #[arg(long, value_name = "FILE")]
    trajectories: Option<PathBuf>,
    /// Observation times of the trajectories: an NPY array of n_times values.
    #[arg(long, value_name = "FILE")]
    times: Option<PathBuf>,
    /// Time between frames of the trajectories, when --times is not given;
    /// for a CSV file, the factor that turns its time column (frame
    /// numbers) into times.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    dt: Option<f64>,
    /// Name of the positions dataset in an HDF5 file or array in an NPZ archive.
    #[arg(long, value_name = "NAME", default_value = "positions")]
    positions_dataset: String,
    /// Name of the times dataset in an HDF5 file or array in an NPZ archive;
    /// when it is missing the times come from --times or --dt.
    #[arg(long, value_name = "NAME", default_value = "times")]
    times_dataset: String,
    /// Header names of the columns of a CSV file, e.g.
    /// time=POSITION_T,particle=TRACK_ID,x=POSITION_X,y=POSITION_Y; roles
    /// left out are found by their usual names.
    #[arg(long, value_name = "ROLE=NAME,...")]
    columns: Option<String>,
}

#[derive(Debug, Args)]
struct FormatOption {
    /// Format of the written artifacts: npy (with JSON records) or hdf5
    /// (.h5). Without it the output's extension decides.
    #[arg(long, value_enum)]
    format: Option<Format>,
}

#[derive(Debug, Args)]
struct ForceOption {
    /// Run the stage even when its output is up to date.
    #[arg(long)]
    force: bool,
}

impl ForceOption {
    fn rerun(&self) -> Rerun {
        if self.force {
            Rerun::All
        } else {
            Rerun::Outdated
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every stage of an experiment into a directory.
    Run {
        /// Experiment file (TOML), e.g. data/experiments/cubic.toml.
        experiment: PathBuf,
        /// Output directory.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Use these trajectories instead of simulating.
        #[command(flatten)]
        input: TrajectoryInput,
        #[command(flatten)]
        overrides: Overrides,
        #[command(flatten)]
        format: FormatOption,
        /// Rerun every stage, even those whose output is up to date.
        #[arg(long)]
        force: bool,
        /// Rerun this stage and every later one (simulate, kde, learn, eval).
        #[arg(long, value_name = "STAGE", conflicts_with = "force")]
        from: Option<String>,
        /// Stop after this stage (simulate, kde, learn, eval).
        #[arg(long, value_name = "STAGE")]
        until: Option<String>,
    },
    /// Run every experiment of the paper (cases A to D) into DIR/<experiment>/
    /// and write DIR/summary.md and DIR/summary.json, which set each learned
    /// coefficient beside the truth and the paper's value.
    Reproduce {
        /// Output directory.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The plan: which experiment files to run.
        #[arg(long, value_name = "FILE", default_value = "data/reproduce.toml")]
        plan: PathBuf,
        /// Run each experiment's small variant instead (minutes become seconds).
        #[arg(long)]
        small: bool,
        /// Run only the experiments of these names (repeatable).
        #[arg(long, value_name = "NAME")]
        only: Vec<String>,
        #[command(flatten)]
        force: ForceOption,
    },
    /// Parameter sweeps: the runs of a sweep file for a workflow engine, and
    /// their summary (see scripts/sweep/Snakefile).
    Sweep {
        #[command(subcommand)]
        command: SweepCommand,
    },
    /// Print the provenance record of an artifact: stage, tool version,
    /// configuration, seed and the ids of its inputs.
    Info {
        /// Artifact: a main .npy file (the record is in its .json sidecar),
        /// model.json, eval.json or any .h5 artifact.
        file: PathBuf,
    },
    /// Simulate the particle system of an experiment.
    Simulate {
        experiment: PathBuf,
        /// Output trajectories (.npy); times and metadata are written beside it.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
        #[command(flatten)]
        format: FormatOption,
        #[command(flatten)]
        force: ForceOption,
    },
    /// Estimate the density of every frame on the experiment's grid.
    Kde {
        #[command(flatten)]
        input: TrajectoryInput,
        /// Experiment file whose [kde] section sets the grid and bandwidth.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Output density (.npy); companions are written beside it.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
        #[command(flatten)]
        format: FormatOption,
        #[command(flatten)]
        force: ForceOption,
    },
    /// Learn the kernel by the two-phase regression, from densities or, for
    /// the particle formulations, from trajectories.
    Learn {
        /// Density artifact (.npy) from `ips kde` or `ips meanfield`, for
        /// learn.formulation = "strong" (the default) or "weak-density";
        /// repeat the option to learn one kernel from several densities,
        /// whose rows are stacked into one regression. With a particle
        /// formulation and learn.breakpoints, the density of the same run
        /// on which the pieces of a(r) are detected.
        #[arg(long, value_name = "FILE", required_unless_present = "trajectories")]
        density: Vec<PathBuf>,
        /// Trajectories, for learn.formulation = "weak-particles" or "increments".
        #[command(flatten)]
        input: TrajectoryInput,
        /// Experiment file whose [learn] section sets the dictionary.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Output model (.json).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
        #[command(flatten)]
        format: FormatOption,
        #[command(flatten)]
        force: ForceOption,
    },
    /// Solve the mean-field equation from one snapshot of a density.
    Meanfield {
        /// Density artifact (.npy) whose snapshot is the initial condition.
        #[arg(long, value_name = "FILE")]
        initial: PathBuf,
        /// Index of the initial snapshot in that artifact.
        #[arg(long, default_value_t = 0)]
        snapshot: usize,
        /// Experiment file: [meanfield] sets the times; its [model] gives the
        /// kernel and D unless --model is given.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Run the kernel and D of a learned model (.json) instead of the true ones.
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
        /// Output density (.npy), in the layout of `ips kde`.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
        #[command(flatten)]
        format: FormatOption,
        #[command(flatten)]
        force: ForceOption,
    },
    /// Compare a learned model with the true kernel.
    Eval {
        /// Model (.json) from `ips learn`.
        #[arg(long, value_name = "FILE")]
        model: PathBuf,
        /// Density the model was learned from: gives the pair-distance weights.
        #[arg(long, value_name = "FILE")]
        density: Option<PathBuf>,
        /// Experiment file with the true kernel in [model].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Output record (.json); a Markdown report is written beside it.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
        #[command(flatten)]
        format: FormatOption,
        #[command(flatten)]
        force: ForceOption,
    },
}

#[derive(Debug, Subcommand)]
enum SweepCommand {
    /// Print the runs of a sweep as JSON: for each, the point, the seed, the
    /// output folder relative to the sweep's directory and the --set
    /// overrides of its `ips run`. Every run's overrides are checked first.
    Points {
        /// Sweep file (TOML), e.g. data/sweeps/case-a-robustness.toml.
        sweep: PathBuf,
    },
    /// Read metrics.json of every run under DIR and write summary.csv,
    /// summary.md and plots/w2_AXIS.png (and .svg) into DIR.
    Collect {
        /// Sweep file (TOML).
        sweep: PathBuf,
        /// The sweep's output directory, holding points/POINT/seed-SEED/.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    ui::init_logging(cli.verbose);
    let ui = Ui { quiet: cli.quiet };
    match dispatch(cli.command, &ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn times_source(input: &TrajectoryInput) -> Result<TimesSource> {
    let columns = match &input.columns {
        Some(text) => ips_core::long_csv::CsvColumns::parse(text)?,
        None => Default::default(),
    };
    Ok(TimesSource {
        times: input.times.clone(),
        dt: input.dt,
        datasets: ips_core::h5::TrajectoryDatasets {
            positions: input.positions_dataset.clone(),
            times: input.times_dataset.clone(),
        },
        columns,
    })
}

fn dispatch(command: Command, ui: &Ui) -> Result<()> {
    match command {
        Command::Run { experiment, out, input, overrides, format, force, from, until } => {
            let experiment = Experiment::load(&experiment, &overrides.set)?;
            if input.trajectories.is_none() && (input.times.is_some() || input.dt.is_some()) {
                anyhow::bail!("--times and --dt describe --trajectories FILE; without it the experiment is simulated");
            }
            validate_for_run(&experiment, input.trajectories.is_none())?;
            let rerun = Rerun::from_options(force, from.as_deref())?;
            let last = match until.as_deref() {
                None => STAGES.len() - 1,
                Some(name) => STAGES.iter().position(|s| *s == name).ok_or_else(|| {
                    anyhow::anyhow!("invalid --until {name}: the stages are {}", STAGES.join(", "))
                })?,
            };
            run(&experiment, &out, &input, format.format.unwrap_or(Format::Npy), rerun, last, ui)
        }
        Command::Reproduce { out, plan, small, only, force } => {
            reproduce::reproduce(&plan, &out, small, &only, force.rerun(), ui)
        }
        Command::Sweep { command: SweepCommand::Points { sweep } } => sweep::print_points(&sweep),
        Command::Sweep { command: SweepCommand::Collect { sweep, out } } => sweep::collect(&sweep, &out, ui),
        Command::Info { file } => info::print(&file),
        Command::Simulate { experiment, out, overrides, format, force } => {
            let pipeline = Pipeline::new(force.rerun(), ui);
            let out = output_path(&out, format.format, Kind::Array)?;
            let experiment = Experiment::load(&experiment, &overrides.set)?;
            pipeline.stage(stages::simulate_spec(&experiment, &out)?, |p| {
                stages::simulate(&experiment, &out, p, ui)
            })
        }
        Command::Kde { input, config, out, overrides, format, force } => {
            let pipeline = Pipeline::new(force.rerun(), ui);
            let out = output_path(&out, format.format, Kind::Array)?;
            let experiment = Experiment::load(&config, &overrides.set)?;
            let Some(path) = &input.trajectories else {
                anyhow::bail!("ips kde needs --trajectories FILE");
            };
            let times = times_source(&input)?;
            pipeline.stage(stages::kde_spec(&experiment, path, &times, &out), |p| {
                stages::kde(path, &times, &experiment, &out, p, ui)
            })
        }
        Command::Learn { density, input, config, out, overrides, format, force } => {
            let pipeline = Pipeline::new(force.rerun(), ui);
            let out = output_path(&out, format.format, Kind::Record)?;
            let experiment = Experiment::load(&config, &overrides.set)?;
            let particles = experiment.learn.formulation.uses_particles();
            match (density.is_empty(), &input.trajectories) {
                (false, None) if !particles => pipeline.stage(stages::learn_spec(&experiment, &density, &out), |p| {
                    stages::learn(&density, &experiment, &out, p, ui)
                }),
                (_, Some(path)) if particles => {
                    let times = times_source(&input)?;
                    let density = match (experiment.learn.breakpoints.is_some(), density.as_slice()) {
                        (_, []) => None,
                        (true, [one]) => Some(one.clone()),
                        (true, _) => anyhow::bail!(
                            "learn.breakpoints detects the pieces of a(r) on one density; give --density once"
                        ),
                        (false, _) => anyhow::bail!(
                            "learn.formulation = \"{}\" reads --density only to detect learn.breakpoints, \
                             which this experiment does not set; leave --density out",
                            experiment.learn.formulation.name()
                        ),
                    };
                    let spec = stages::learn_particles_spec(&experiment, path, &times, density.as_deref(), &out);
                    pipeline.stage(spec, |p| stages::learn_particles(path, &times, density.as_deref(), &experiment, &out, p, ui))
                }
                (false, None) => anyhow::bail!(
                    "learn.formulation = \"{}\" learns from trajectories: give --trajectories FILE instead of --density",
                    experiment.learn.formulation.name()
                ),
                _ => anyhow::bail!("learn.formulation = \"strong\" learns from a density: give --density FILE"),
            }
        }
        Command::Meanfield { initial, snapshot, config, model, out, overrides, format, force } => {
            let pipeline = Pipeline::new(force.rerun(), ui);
            let out = output_path(&out, format.format, Kind::Array)?;
            let experiment = Experiment::load(&config, &overrides.set)?;
            let spec = stages::meanfield_spec(&experiment, &initial, snapshot, model.as_deref(), &out);
            pipeline.stage(spec, |p| {
                let density = stages::read_density(&initial)?;
                stages::check_density_dimension(&density, &initial, &experiment)?;
                let model = model.as_deref().map(stages::read_model).transpose()?;
                stages::meanfield(&density, snapshot, &experiment, model.as_ref(), &out, p, ui)
            })
        }
        Command::Eval { model, density, config, out, overrides, format, force } => {
            let pipeline = Pipeline::new(force.rerun(), ui);
            let out = output_path(&out, format.format, Kind::Record)?;
            let experiment = config.map(|c| Experiment::load(&c, &overrides.set)).transpose()?;
            let spec = stages::eval_spec(experiment.as_ref(), &model, density.as_deref(), &out);
            pipeline.stage(spec, |p| {
                stages::evaluate(&model, density.as_deref(), experiment.as_ref(), &out, p, ui)
            })
        }
    }
}

/// Checks every section `ips run` will use before any stage runs.
fn validate_for_run(experiment: &Experiment, simulated: bool) -> Result<()> {
    experiment.validate()?;
    if simulated {
        let model = experiment.simulation_model()?;
        model.validate()?;
        let (initial, simulation) = experiment.simulation_sections()?;
        initial.validate(model.dim)?;
        simulation.validate()?;
    }
    Ok(())
}

/// Runs every stage of a simulated experiment into `out` as `ips run` does,
/// with NPY artifacts; `ips reproduce` runs each experiment so.
pub(crate) fn run_experiment(experiment: &Experiment, out: &Path, rerun: Rerun, ui: &Ui) -> Result<()> {
    validate_for_run(experiment, true)?;
    let input = TrajectoryInput {
        trajectories: None,
        times: None,
        dt: None,
        positions_dataset: "positions".into(),
        times_dataset: "times".into(),
        columns: None,
    };
    run(experiment, out, &input, Format::Npy, rerun, STAGES.len() - 1, ui)
}

/// Runs the stages of `experiment` in order, writing into `out`. Each stage
/// is one [`Pipeline::stage`] call, skipped when its output is up to date;
/// every stage reads its inputs from the files of the previous ones.
/// `last` is the index in [`STAGES`] of the last stage to run.
fn run(
    experiment: &Experiment,
    out: &Path,
    input: &TrajectoryInput,
    format: Format,
    rerun: Rerun,
    last: usize,
    ui: &Ui,
) -> Result<()> {
    let start = Instant::now();
    std::fs::create_dir_all(out).with_context(|| format!("creating the output directory '{}' failed", out.display()))?;
    let resolved = toml::to_string_pretty(experiment).context("serialising the experiment failed")?;
    let resolved_path = out.join("experiment.toml");
    // A run killed while writing it leaves a temporary file behind.
    ips_core::npy::remove_stale_temporaries(&resolved_path);
    ips_core::npy::write_atomic(&resolved_path, |w| std::io::Write::write_all(w, resolved.as_bytes()))?;
    let pipeline = Pipeline::new(rerun, ui);
    let times = times_source(input)?;

    let trajectories = match &input.trajectories {
        Some(path) => path.clone(),
        None => {
            let path = out.join(format.file_name("trajectories", Kind::Array));
            pipeline.stage(stages::simulate_spec(experiment, &path)?, |p| {
                stages::simulate(experiment, &path, p, ui)
            })?;
            path
        }
    };
    let done = |stage: usize| {
        if stage == last {
            ui.note(&format!("done after {} in {:.1} s: {}", STAGES[stage], start.elapsed().as_secs_f64(), out.display()));
        }
        stage == last
    };
    if done(0) {
        return Ok(());
    }

    let density = out.join(format.file_name("density", Kind::Array));
    pipeline.stage(stages::kde_spec(experiment, &trajectories, &times, &density), |p| {
        stages::kde(&trajectories, &times, experiment, &density, p, ui)
    })?;
    if done(1) {
        return Ok(());
    }

    // With learn_from = "meanfield" the regression sees the mean-field
    // solution of the true kernel from the first KDE snapshot instead of
    // the KDE itself; the forward check then starts from that solution too.
    let density = match experiment.learn_from {
        LearnFrom::Particles => density,
        LearnFrom::Meanfield => {
            let solution = out.join(format.file_name("solver_density", Kind::Array));
            pipeline.stage(stages::meanfield_spec(experiment, &density, 0, None, &solution), |p| {
                let initial = stages::read_density(&density)?;
                stages::meanfield(&initial, 0, experiment, None, &solution, p, ui)
            })?;
            solution
        }
    };
    let model = out.join(format.file_name("model", Kind::Record));
    if experiment.learn.formulation.uses_particles() {
        // The density serves only to detect breakpoints.
        let pieces_from = experiment.learn.breakpoints.as_ref().map(|_| density.as_path());
        pipeline.stage(stages::learn_particles_spec(experiment, &trajectories, &times, pieces_from, &model), |p| {
            stages::learn_particles(&trajectories, &times, pieces_from, experiment, &model, p, ui)
        })?;
    } else {
        let densities = [density.clone()];
        pipeline.stage(stages::learn_spec(experiment, &densities, &model), |p| {
            stages::learn(&densities, experiment, &model, p, ui)
        })?;
    }
    if done(2) {
        return Ok(());
    }

    let eval = out.join(format.file_name("eval", Kind::Record));
    pipeline.stage(stages::eval_spec(Some(experiment), &model, Some(&density), &eval), |p| {
        stages::evaluate(&model, Some(&density), Some(experiment), &eval, p, ui)
    })?;

    ui.note(&format!("done in {:.1} s: {}", start.elapsed().as_secs_f64(), out.display()));
    Ok(())
}
