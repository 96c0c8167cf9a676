//! `ips`: learn the interaction kernel of a particle system from trajectories.
//!
//! Each pipeline stage is a subcommand on explicit files, and `ips run` chains
//! them for one experiment file.

mod experiment;
mod forward;
mod stages;
mod ui;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use ips_core::artifact::Density;
use ips_core::npy::read_json;

use crate::experiment::Experiment;
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
    /// Trajectories: an `ips simulate` artifact, or an NPY array of shape
    /// [n_times, N] or [n_times, N, d], float64 or float32.
    #[arg(long, value_name = "FILE")]
    trajectories: Option<PathBuf>,
    /// Observation times of the trajectories: an NPY array of n_times values.
    #[arg(long, value_name = "FILE")]
    times: Option<PathBuf>,
    /// Time between frames of the trajectories, when --times is not given.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    dt: Option<f64>,
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
    },
    /// Simulate the particle system of an experiment.
    Simulate {
        /// Experiment file (TOML) with [model], [initial] and [simulation].
        experiment: PathBuf,
        /// Output trajectories (.npy); times and metadata are written beside it.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
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
    },
    /// Learn the kernel from a density by the two-phase regression.
    Learn {
        /// Density artifact (.npy) from `ips kde`.
        #[arg(long, value_name = "FILE")]
        density: PathBuf,
        /// Experiment file whose [learn] section sets the dictionary.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Output model (.json).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
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
        /// Output record (.json). Beside it go `eval.md` and, with --density,
        /// the forward check (when the experiment has [meanfield]), the
        /// figures in plots/, report.md and metrics.json.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
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

fn times_source(input: &TrajectoryInput) -> TimesSource {
    TimesSource {
        times: input.times.clone(),
        dt: input.dt,
    }
}

fn read_density(path: &Path) -> Result<Density> {
    Density::read(path).with_context(|| {
        format!(
            "reading the density artifact '{}' failed; densities come from `ips kde` or `ips meanfield`",
            path.display()
        )
    })
}

fn dispatch(command: Command, ui: &Ui) -> Result<()> {
    match command {
        Command::Run { experiment, out, input, overrides } => {
            let experiment = Experiment::load(&experiment, &overrides.set)?;
            if input.trajectories.is_none() && (input.times.is_some() || input.dt.is_some()) {
                anyhow::bail!("--times and --dt describe --trajectories FILE; without it the experiment is simulated");
            }
            experiment.validate()?;
            if input.trajectories.is_none() {
                let model = experiment.simulation_model()?;
                model.validate()?;
                let (initial, simulation) = experiment.simulation_sections()?;
                initial.validate(model.dim)?;
                simulation.validate()?;
            }
            run(&experiment, &out, &input, ui)
        }
        Command::Simulate { experiment, out, overrides } => {
            let experiment = Experiment::load(&experiment, &overrides.set)?;
            stages::simulate(&experiment, &out, ui).map(drop)
        }
        Command::Kde { input, config, out, overrides } => {
            let experiment = Experiment::load(&config, &overrides.set)?;
            let Some(path) = &input.trajectories else {
                anyhow::bail!("ips kde needs --trajectories FILE");
            };
            let trajectories = stages::load_trajectories(path, &times_source(&input), Some(&experiment))?;
            stages::kde(&trajectories, &experiment, &out, ui).map(drop)
        }
        Command::Learn { density, config, out, overrides } => {
            let experiment = Experiment::load(&config, &overrides.set)?;
            let density = read_density(&density)?;
            stages::learn(&density, &experiment, &out, ui).map(drop)
        }
        Command::Meanfield { initial, snapshot, config, model, out, overrides } => {
            let experiment = Experiment::load(&config, &overrides.set)?;
            let density = read_density(&initial)?;
            let model: Option<ips_learn::LearnedModel> = model.as_deref().map(read_json).transpose()?;
            stages::meanfield(&density, snapshot, &experiment, model.as_ref(), &out, ui).map(drop)
        }
        Command::Eval { model, density, config, out, overrides } => {
            let experiment = config.map(|c| Experiment::load(&c, &overrides.set)).transpose()?;
            let model: ips_learn::LearnedModel = read_json(&model)?;
            let density = density.as_deref().map(read_density).transpose()?;
            let evaluation = stages::evaluate(&model, density.as_ref(), experiment.as_ref(), &out, ui)?;
            match &density {
                Some(density) => {
                    let dir = out.parent().unwrap_or(Path::new("."));
                    forward::forward_and_report(&model, density, experiment.as_ref(), &evaluation, dir, ui)
                }
                None => {
                    tracing::info!("no --density: no forward check, figures or report.md");
                    Ok(())
                }
            }
        }
    }
}

/// Runs the stages of `experiment` in order, writing into `out`.
fn run(experiment: &Experiment, out: &Path, input: &TrajectoryInput, ui: &Ui) -> Result<()> {
    let start = Instant::now();
    std::fs::create_dir_all(out).with_context(|| format!("creating the output directory '{}' failed", out.display()))?;
    let resolved = toml::to_string_pretty(experiment).context("serialising the experiment failed")?;
    ips_core::npy::write_atomic(&out.join("experiment.toml"), |w| std::io::Write::write_all(w, resolved.as_bytes()))?;

    let trajectories = match &input.trajectories {
        Some(path) => {
            let t = stages::load_trajectories(path, &times_source(input), Some(experiment))?;
            ui.note(&format!(
                "trajectories: {} particles, {} frames from {}",
                t.n_particles(),
                t.times.len(),
                path.display()
            ));
            t
        }
        None => stages::simulate(experiment, &out.join("trajectories.npy"), ui)?,
    };
    let density = stages::kde(&trajectories, experiment, &out.join("density.npy"), ui)?;
    drop(trajectories);
    let model = stages::learn(&density, experiment, &out.join("model.json"), ui)?;
    let evaluation = stages::evaluate(&model, Some(&density), Some(experiment), &out.join("eval.json"), ui)?;
    forward::forward_and_report(&model, &density, Some(experiment), &evaluation, out, ui)?;
    ui.note(&format!("done in {:.1} s: {}", start.elapsed().as_secs_f64(), out.display()));
    Ok(())
}
