//! The learned model and the two-phase driver that produces it.

use ips_core::artifact::{Density, Trajectories};
use ips_core::{Convention, Kernel, Term};
use serde::{Deserialize, Serialize};

use crate::assembly::{assemble_strong, System};
use crate::config::{DiffusionMode, Formulation};
use crate::weak_density::assemble_weak_density;
use crate::particles::{assemble_increments, assemble_weak_particles, diffusion_from_residual};
use crate::least_squares::solve;
use crate::phase_one::{self, PhaseOne};
use crate::phase_two::{self, normalised_columns, PhaseTwo};
use crate::config::{Selection, MAX_EXHAUSTIVE_TERMS};
use crate::selection::{best_subset, block_bootstrap, SupportRanking};
use crate::breakpoints::{detect, piece_terms, refine, refinement_edges};
use crate::{Breakpoints, Dictionary, LearnConfig, LearnError, Result};

/// One dictionary term of the learned model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TermEstimate {
    /// Term name, e.g. `r^2`.
    pub name: String,
    /// Learned coefficient; 0 for removed terms.
    pub coefficient: f64,
    /// Whether the term survived Phase I.
    pub active: bool,
    /// Standard error from the least-squares covariance, active terms only.
    /// It is sound where the rows are independent with equal variance (the
    /// whitened weak form on the particles, the increments) and too small
    /// for the strong form, whose neighbouring grid rows are correlated.
    pub std_error: Option<f64>,
    /// Standard deviation over a block bootstrap (`learn.bootstrap`).
    #[serde(default)]
    pub bootstrap_std_error: Option<f64>,
}

/// The diffusion coefficient used or learned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiffusionEstimate {
    pub value: f64,
    pub learned: bool,
    pub std_error: Option<f64>,
}

/// Size and conditioning of the assembled system.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssemblySummary {
    pub formulation: String,
    pub rows: usize,
    pub columns: usize,
    pub time_steps: usize,
    pub dt_obs: f64,
    /// Condition number of all columns, each scaled to unit norm.
    pub normalised_condition_number: f64,
    /// Wall time in seconds. Not written to `model.json`, so that the same
    /// data and seed give a byte-identical file; it is logged instead.
    #[serde(skip)]
    pub seconds: f64,
}

/// The `model.json` artifact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LearnedModel {
    pub format_version: u32,
    pub tool_version: String,
    /// `force`: the terms sum to phi(r); `influence`: they sum to a(r).
    pub convention: Convention,
    pub terms: Vec<TermEstimate>,
    pub diffusion: DiffusionEstimate,
    pub assembly: AssemblySummary,
    pub phase_one: PhaseOne,
    pub phase_two: PhaseTwo,
    /// Supports ranked by BIC, for dictionaries of up to 20 terms.
    #[serde(default)]
    pub support_ranking: Option<SupportRanking>,
    pub config: LearnConfig,
    pub seed: u64,
    /// The detected pieces of `a(r)`, when `learn.breakpoints` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakpoints: Option<Breakpoints>,
    /// How the model was made; set by the command line, absent otherwise.
    #[serde(default)]
    pub provenance: Option<ips_core::Provenance>,
}

impl LearnedModel {
    /// The learned kernel, active terms only.
    pub fn kernel(&self) -> Result<Kernel> {
        let mut terms = Vec::new();
        for t in self.terms.iter().filter(|t| t.active) {
            terms.push(ips_core::KernelTerm {
                term: ips_core::Term::parse(&t.name)?,
                coefficient: t.coefficient,
            });
        }
        Ok(Kernel { convention: self.convention, terms })
    }
}

/// Learns the kernel from a density: assembly, Phase I, Phase II.
///
/// `known_diffusion` is the D to use when `config.diffusion` is `known`.
///
/// # Errors
/// Configuration errors naming the `learn.*` key, [`LearnError::Data`] when
/// D is needed but unknown or the density is unusable, and column errors.
pub fn learn(density: &Density, config: &LearnConfig, known_diffusion: Option<f64>, seed: u64) -> Result<LearnedModel> {
    learn_joint(&[density], config, known_diffusion, seed)
}

/// Learns one kernel from several densities (for instance runs from
/// different initial conditions): the rows of each density are assembled
/// on their own, so time differences never cross from one density to the
/// next, and then stacked into one regression. Phase I samples the time
/// steps of all densities together.
///
/// # Errors
/// As [`learn`]; also [`LearnError::Data`] for an empty list, densities of
/// different dimensions or different observation steps, and breakpoint
/// detection on more than one density.
pub fn learn_joint(densities: &[&Density], config: &LearnConfig, known_diffusion: Option<f64>, seed: u64) -> Result<LearnedModel> {
    let mut dictionary = config.validate()?;
    if config.formulation.uses_particles() {
        return Err(LearnError::config(
            "learn.formulation",
            config.formulation.name(),
            "reads particle trajectories, not a density; give the trajectories instead",
        ));
    }
    let diffusion = diffusion_setting(config, known_diffusion)?;
    let span = tracing::info_span!("learn", terms = dictionary.len());
    let _guard = span.enter();
    let start = std::time::Instant::now();
    // Breakpoint detection replaces the dictionary by the detected pieces.
    let breakpoints = match (&config.breakpoints, densities) {
        (Some(settings), [density]) => {
            let found = detect(
                density,
                settings,
                dictionary.convention,
                config.observe_every,
                diffusion,
                config.bandwidth_correction,
            )?;
            tracing::info!(edges = ?found.edges, "detected the pieces of a(r)");
            dictionary.terms = piece_terms(&found.edges);
            Some(found)
        }
        (Some(_), _) => {
            return Err(LearnError::Data(format!(
                "learn.breakpoints detects the pieces of a(r) on one density, and {} were given",
                densities.len()
            )))
        }
        (None, _) => None,
    };
    let mut systems = Vec::with_capacity(densities.len());
    for (index, density) in densities.iter().enumerate() {
        let assembled = if config.formulation == Formulation::WeakDensity {
            assemble_weak_density(density, &dictionary, config.observe_every, diffusion, config.bandwidth_correction, &config.weak)
        } else {
            assemble_strong(density, &dictionary, config.observe_every, diffusion, config.bandwidth_correction)
        };
        let system = assembled.map_err(|error| match (densities.len(), error) {
            (1, error) => error,
            (_, LearnError::Data(message)) => LearnError::Data(format!("density {} of {}: {message}", index + 1, densities.len())),
            (_, error) => error,
        })?;
        systems.push(system);
    }
    let system = stack_systems(systems, densities)?;
    let mut model = two_phases(&dictionary, &system, diffusion, config, seed, start);
    model.breakpoints = breakpoints;
    Ok(model)
}

/// Stacks the rows of several systems with the same columns into one.
fn stack_systems(mut systems: Vec<System>, densities: &[&Density]) -> Result<System> {
    if systems.is_empty() {
        return Err(LearnError::Data("no density given".into()));
    }
    if systems.len() == 1 {
        return Ok(systems.remove(0));
    }
    let dim = densities[0].meta.grid.dim();
    let dt_obs = systems[0].dt_obs;
    for (index, (system, density)) in systems.iter().zip(densities).enumerate().skip(1) {
        if density.meta.grid.dim() != dim {
            return Err(LearnError::Data(format!(
                "density {} is {}D but density 1 is {dim}D; learn from densities of one dimension",
                index + 1,
                density.meta.grid.dim()
            )));
        }
        if (system.dt_obs - dt_obs).abs() > 1e-9 * dt_obs {
            return Err(LearnError::Data(format!(
                "density {} has observation step {} but density 1 has {dt_obs}; set learn.observe_every so that they agree",
                index + 1,
                system.dt_obs
            )));
        }
    }
    let views: Vec<_> = systems.iter().map(|s| s.matrix.view()).collect();
    let matrix = ndarray::concatenate(ndarray::Axis(0), &views).expect("systems have the same columns");
    let targets: Vec<_> = systems.iter().map(|s| s.target.view()).collect();
    let target = ndarray::concatenate(ndarray::Axis(0), &targets).expect("targets are vectors");
    let mut blocks = Vec::new();
    let mut block_times = Vec::new();
    let mut offset = 0;
    for system in &systems {
        blocks.extend(system.blocks.iter().map(|b| b.start + offset..b.end + offset));
        block_times.extend_from_slice(&system.block_times);
        offset += system.matrix.nrows();
    }
    let residual_offset = systems.iter().map(|s| s.residual_offset).sum();
    let represented_rows = systems.iter().map(|s| s.represented_rows).sum();
    let first = systems.swap_remove(0);
    Ok(System { matrix, target, blocks, block_times, residual_offset, represented_rows, ..first })
}

/// Learns the kernel from particle trajectories with a particle
/// formulation (`weak-particles` or `increments`).
///
/// With `learn.breakpoints` the pieces of `a(r)` are detected on
/// `density`, a density estimate of the same run, as [`learn`] does. Each
/// edge is then placed again on the particles, and the levels come from
/// the particles. The detection needs the pair-distance distribution of a
/// fine dictionary, which the strong form on a density gives cheaply. The
/// levels are where the density estimate's smoothing would show.
///
/// # Errors
/// As [`learn`], `learn.formulation = "strong"`, which needs a density, and
/// [`LearnError::Trajectories`] when `learn.breakpoints` is set and
/// `density` is `None` or not estimated from `trajectories`.
pub fn learn_from_trajectories(
    trajectories: &Trajectories,
    density: Option<&Density>,
    config: &LearnConfig,
    known_diffusion: Option<f64>,
    seed: u64,
) -> Result<LearnedModel> {
    let mut dictionary = config.validate()?;
    let start = std::time::Instant::now();
    let span = tracing::info_span!("learn", terms = dictionary.len());
    let _guard = span.enter();
    if !config.formulation.uses_particles() {
        return Err(LearnError::config(
            "learn.formulation",
            config.formulation.name(),
            "reads a density; estimate one with `ips kde` first, or choose \"weak-particles\" or \"increments\"",
        ));
    }
    let breakpoints = match (&config.breakpoints, density) {
        (Some(settings), Some(density)) => {
            check_same_run(density, trajectories)?;
            let diffusion = diffusion_setting(config, known_diffusion)?;
            let found = detect(density, settings, dictionary.convention, config.observe_every, diffusion, config.bandwidth_correction)?;
            tracing::info!(edges = ?found.edges, "detected the pieces of a(r) on the density");
            // Each edge is then placed more finely on the particles.
            let local_edges = refinement_edges(&found, settings);
            let local = Dictionary {
                convention: dictionary.convention,
                terms: local_edges.windows(2).map(|w| Term::Indicator { lo: w[0], hi: w[1] }).collect(),
            };
            let system = particle_system(trajectories, &local, config, known_diffusion)?;
            let refined = refine(&system, &local_edges, &found, settings)?;
            tracing::info!(edges = ?refined.edges, "refined the pieces of a(r) on the particles");
            dictionary.terms = piece_terms(&refined.edges);
            Some(refined)
        }
        (Some(_), None) => {
            return Err(LearnError::Trajectories(
                "learn.breakpoints detects the pieces of a(r) on a density estimate, also with a particle formulation; \
                 give the density of the same run too (ips learn --trajectories FILE --density FILE)"
                    .into(),
            ))
        }
        (None, _) => None,
    };
    let system = particle_system(trajectories, &dictionary, config, known_diffusion)?;
    let mut model = match config.formulation {
        Formulation::WeakParticles => {
            let diffusion = diffusion_setting(config, known_diffusion)?;
            two_phases(&dictionary, &system, diffusion, config, seed, start)
        }
        _ => {
            let known = match config.diffusion {
                DiffusionMode::Known => Some(diffusion_setting(config, known_diffusion)?.unwrap_or_default()),
                DiffusionMode::Learn => None,
            };
            let mut model = two_phases(&dictionary, &system, Some(known.unwrap_or(0.0)), config, seed, start);
            if known.is_none() {
                let (value, std_error) = diffusion_from_residual(&system, &model.phase_two.coefficients);
                model.diffusion = DiffusionEstimate { value, learned: true, std_error: Some(std_error) };
            }
            model
        }
    };
    model.breakpoints = breakpoints;
    Ok(model)
}

/// Checks that `density` was estimated from `trajectories`: the KDE keeps
/// every frame, so the snapshot times agree. A density of another run
/// would place the pieces of another kernel.
fn check_same_run(density: &Density, trajectories: &Trajectories) -> Result<()> {
    let (snapshots, frames) = (&density.times, &trajectories.times);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()));
    if snapshots.len() == frames.len() && snapshots.iter().zip(frames).all(|(&a, &b)| close(a, b)) {
        return Ok(());
    }
    let span = |t: &ndarray::Array1<f64>| match (t.first(), t.last()) {
        (Some(first), Some(last)) => format!("{} from t = {first} to {last}", t.len()),
        _ => "0".to_string(),
    };
    Err(LearnError::Trajectories(format!(
        "the density has {} snapshots and the trajectories {} frames; learn.breakpoints needs the density \
         estimated from these trajectories (ips kde --trajectories FILE)",
        span(snapshots),
        span(frames)
    )))
}

/// Assembles the system of a particle formulation. The increments carry no
/// D column, because D comes from their residual.
fn particle_system(
    trajectories: &Trajectories,
    dictionary: &Dictionary,
    config: &LearnConfig,
    known_diffusion: Option<f64>,
) -> Result<System> {
    match config.formulation {
        Formulation::WeakParticles => {
            let diffusion = diffusion_setting(config, known_diffusion)?;
            assemble_weak_particles(trajectories, dictionary, config.observe_every, diffusion, &config.weak)
        }
        _ => assemble_increments(trajectories, dictionary, config.observe_every),
    }
}

/// D when it is known, `None` when it is learned.
fn diffusion_setting(config: &LearnConfig, known_diffusion: Option<f64>) -> Result<Option<f64>> {
    let diffusion = match config.diffusion {
        DiffusionMode::Learn => None,
        DiffusionMode::Known => Some(known_diffusion.ok_or_else(|| {
            LearnError::Data(
                "the diffusion coefficient is unknown: set model.diffusion, or learn it with learn.diffusion = \"learn\"".into(),
            )
        })?),
    };
    if let Some(d) = diffusion {
        if !(d.is_finite() && d >= 0.0) {
            return Err(LearnError::config("model.diffusion", d, "must be finite and >= 0"));
        }
    }
    Ok(diffusion)
}

/// Phase I and Phase II on an assembled system.
fn two_phases(
    dictionary: &Dictionary,
    system: &System,
    diffusion: Option<f64>,
    config: &LearnConfig,
    seed: u64,
    start: std::time::Instant,
) -> LearnedModel {
    let normalised_condition_number = condition_number(system);
    let assembly = AssemblySummary {
        formulation: config.formulation.name().into(),
        rows: system.matrix.nrows(),
        columns: system.columns(),
        time_steps: system.blocks.len(),
        dt_obs: system.dt_obs,
        normalised_condition_number,
        seconds: start.elapsed().as_secs_f64(),
    };
    tracing::info!(rows = assembly.rows, condition = normalised_condition_number, "assembled the system");

    let ranking = (dictionary.len() <= MAX_EXHAUSTIVE_TERMS).then(|| best_subset(system, config.max_support));
    let phase_one = match (&ranking, config.selection) {
        (Some((mask, _)), Selection::BestSubset) => PhaseOne {
            mask: mask.clone(),
            coefficients: vec![0.0; system.columns()],
            iterations: Vec::new(),
            stop_reason: "the support was chosen by best-subset search (learn.selection), not by Phase I".into(),
            seconds: 0.0,
        },
        _ => phase_one::run(system, config, seed),
    };
    tracing::info!(seconds = phase_one.seconds, iterations = phase_one.iterations.len(), "phase I finished");
    let phase_two = phase_two::run(system, &phase_one.mask);
    tracing::info!(seconds = phase_two.seconds, "phase II finished");
    let bootstrap = block_bootstrap(system, &phase_one.mask, config.bootstrap, seed);
    let mut model = build_model(dictionary, system, diffusion, config, seed, assembly, phase_one, phase_two);
    for (k, term) in model.terms.iter_mut().enumerate() {
        term.bootstrap_std_error = bootstrap[k];
    }
    if let Some(ranking) = ranking.map(|(_, ranking)| ranking) {
        if let Some(warning) = &ranking.warning {
            match config.selection {
                Selection::BestSubset => tracing::warn!("{warning}"),
                // The support came from Phase I; the ranking is a diagnostic,
                // and on the strong form's correlated rows its gaps are
                // often small, so it is logged without alarm.
                Selection::Thresholds => tracing::info!("best-subset diagnostic (the support comes from Phase I): {warning}"),
            }
        }
        model.support_ranking = Some(ranking);
    }
    model
}

fn condition_number(system: &System) -> f64 {
    let all: Vec<usize> = (0..system.columns()).collect();
    let (matrix, _) = normalised_columns(system, &all);
    solve(matrix.view(), system.target.view()).condition_number()
}

#[allow(clippy::too_many_arguments)]
fn build_model(
    dictionary: &Dictionary,
    system: &System,
    diffusion: Option<f64>,
    config: &LearnConfig,
    seed: u64,
    assembly: AssemblySummary,
    phase_one: PhaseOne,
    phase_two: PhaseTwo,
) -> LearnedModel {
    let terms = (0..dictionary.len())
        .map(|k| TermEstimate {
            name: dictionary.terms[k].name(),
            coefficient: phase_two.coefficients[k],
            active: phase_one.mask[k],
            std_error: phase_two.std_errors[k],
            bootstrap_std_error: None,
        })
        .collect();
    let diffusion = match (diffusion, system.diffusion_column) {
        (_, Some(j)) => DiffusionEstimate {
            value: phase_two.coefficients[j],
            learned: true,
            std_error: phase_two.std_errors[j],
        },
        (Some(d), None) => DiffusionEstimate { value: d, learned: false, std_error: None },
        (None, None) => unreachable!("a learned D always has a column"),
    };
    LearnedModel {
        format_version: ips_core::artifact::FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        convention: dictionary.convention,
        terms,
        diffusion,
        assembly,
        phase_one,
        phase_two,
        support_ranking: None,
        config: config.clone(),
        seed,
        breakpoints: None,
        provenance: None,
    }
}
