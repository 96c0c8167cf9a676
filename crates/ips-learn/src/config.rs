//! The `[learn]` section of an experiment file.

use ips_core::{Convention, Term};
use serde::{Deserialize, Serialize};

use crate::{Dictionary, LearnError, Result};

/// Whether the diffusion coefficient is given or learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DiffusionMode {
    /// D is known (from `model.diffusion` or the data's metadata).
    #[default]
    Known,
    /// D is learned as the coefficient of one more column, the Laplacian.
    Learn,
}

/// The equation the regression is built on (docs/method.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Formulation {
    /// The mean-field equation at grid points of the KDE density: the paper's.
    #[default]
    Strong,
    /// The mean-field equation against test functions in space and time,
    /// integrated by parts on the KDE grid: no derivative of the data.
    WeakDensity,
    /// Itô's formula for test functions of the particles over time
    /// windows, weighted by the noise covariance; no KDE.
    WeakParticles,
    /// Regression of labelled increments on the per-term drifts; needs
    /// particle identities. D from the residual quadratic variation.
    Increments,
}

impl Formulation {
    /// Whether the formulation reads trajectories instead of a density.
    pub fn uses_particles(self) -> bool {
        matches!(self, Formulation::WeakParticles | Formulation::Increments)
    }

    /// The name used in experiment files and `model.json`.
    pub fn name(self) -> &'static str {
        match self {
            Formulation::Strong => "strong",
            Formulation::WeakDensity => "weak-density",
            Formulation::WeakParticles => "weak-particles",
            Formulation::Increments => "increments",
        }
    }
}

/// Largest dictionary for which every support is scored.
pub const MAX_EXHAUSTIVE_TERMS: usize = 20;

/// How Phase I's support is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Selection {
    /// The paper's Phase I: Lasso on sampled blocks with adaptive thresholds.
    #[default]
    Thresholds,
    /// Exhaustive best-subset search by BIC, instead of Phase I.
    BestSubset,
}

/// The `[learn.weak]` table: test functions and windows of the weak forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeakConfig {
    /// Half-width of the bump test functions in space; default 1/8 of the
    /// widest axis of the data (weak-particles) or 8 grid cells
    /// (weak-density).
    #[serde(default)]
    pub half_width: Option<f64>,
    /// Distance between test-function centres; default half the half-width.
    #[serde(default)]
    pub spacing: Option<f64>,
    /// Exponent p of the bumps (1 - |x - c|^2 / w^2)^p, at least 2 so that
    /// the Laplacian is continuous.
    #[serde(default = "defaults::exponent")]
    pub exponent: u32,
    /// Used time steps per window (weak-particles, non-overlapping), or the
    /// half-width in used time steps of the time bumps (weak-density).
    #[serde(default = "defaults::window")]
    pub window: usize,
    /// Eigenvalues of a window's noise covariance below this fraction of the
    /// largest are cut before whitening.
    #[serde(default = "defaults::covariance_floor")]
    pub covariance_floor: f64,
}

impl Default for WeakConfig {
    fn default() -> Self {
        WeakConfig {
            half_width: None,
            spacing: None,
            exponent: defaults::exponent(),
            window: defaults::window(),
            covariance_floor: defaults::covariance_floor(),
        }
    }
}

/// Settings of the two-phase regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnConfig {
    /// Candidate terms by name, e.g. `["r^0", "r^1", "r^2"]`. Empty when
    /// `breakpoints` builds the dictionary from the data.
    #[serde(default)]
    pub dictionary: Vec<Term>,
    /// The equation the regression is built on.
    #[serde(default)]
    pub formulation: Formulation,
    /// Test functions and windows of the weak formulations.
    #[serde(default)]
    pub weak: WeakConfig,
    /// `thresholds` (Phase I) or `best-subset` (BIC over all supports).
    #[serde(default)]
    pub selection: Selection,
    /// Largest support the best-subset search scores; the ranking of
    /// supports is reported for dictionaries of up to 20 terms either way.
    #[serde(default = "defaults::max_support")]
    pub max_support: usize,
    /// Block-bootstrap replicates for error bars (0: none).
    #[serde(default)]
    pub bootstrap: usize,
    /// Convention of the dictionary: `force` (phi) or `influence` (a(r)).
    #[serde(default)]
    pub convention: Convention,
    #[serde(default)]
    pub diffusion: DiffusionMode,
    /// Use every this many density snapshots: `dt_obs = observe_every * dt`.
    #[serde(default = "defaults::observe_every")]
    pub observe_every: usize,
    /// Lasso penalty as a fraction of lambda_max, in (0, 1).
    #[serde(default = "defaults::lambda_fraction")]
    pub lambda_fraction: f64,
    /// Sparsity intensity eta of the threshold `eta * mean |w|` on the
    /// normalised coefficients, in [0, 1).
    #[serde(default = "defaults::sparsity")]
    pub sparsity: f64,
    /// Fraction of the time steps drawn per Phase I iteration, in (0, 1].
    #[serde(default = "defaults::batch_fraction")]
    pub batch_fraction: f64,
    /// Maximum number of Phase I iterations.
    #[serde(default = "defaults::max_iterations")]
    pub max_iterations: usize,
    /// Phase I stops once the mask has not changed for this many iterations.
    #[serde(default = "defaults::stall_iterations")]
    pub stall_iterations: usize,
    /// Draw time steps with probability proportional to their residual
    /// (true) or uniformly (false).
    #[serde(default = "defaults::importance_sampling")]
    pub importance_sampling: bool,
    /// Remove the apparent diffusion `(1/2) d(h^2)/dt Lap rho` that a
    /// bandwidth changing between snapshots adds to a KDE (see `assembly`).
    #[serde(default = "defaults::bandwidth_correction")]
    pub bandwidth_correction: bool,
    /// Find the pieces of a piecewise-constant `a(r)` first and learn on
    /// the dictionary `{1_I, r*1_I}` of the pieces (see [`crate::breakpoints`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakpoints: Option<crate::BreakpointConfig>,
}

mod defaults {
    pub fn observe_every() -> usize {
        1
    }
    pub fn lambda_fraction() -> f64 {
        0.01
    }
    pub fn sparsity() -> f64 {
        0.1
    }
    pub fn batch_fraction() -> f64 {
        0.2
    }
    pub fn max_iterations() -> usize {
        20
    }
    pub fn stall_iterations() -> usize {
        3
    }
    pub fn importance_sampling() -> bool {
        true
    }
    pub fn bandwidth_correction() -> bool {
        true
    }
    pub fn max_support() -> usize {
        4
    }
    pub fn exponent() -> u32 {
        4
    }
    pub fn window() -> usize {
        10
    }
    pub fn covariance_floor() -> f64 {
        1e-3
    }
}

impl LearnConfig {
    /// A configuration with the given dictionary and default settings.
    pub fn with_dictionary(dictionary: Vec<Term>) -> Self {
        LearnConfig {
            dictionary,
            formulation: Formulation::Strong,
            weak: WeakConfig::default(),
            selection: Selection::Thresholds,
            max_support: defaults::max_support(),
            bootstrap: 0,
            convention: Convention::Force,
            diffusion: DiffusionMode::Known,
            observe_every: defaults::observe_every(),
            lambda_fraction: defaults::lambda_fraction(),
            sparsity: defaults::sparsity(),
            batch_fraction: defaults::batch_fraction(),
            max_iterations: defaults::max_iterations(),
            stall_iterations: defaults::stall_iterations(),
            importance_sampling: defaults::importance_sampling(),
            bandwidth_correction: defaults::bandwidth_correction(),
            breakpoints: None,
        }
    }

    /// Checks every range and returns the dictionary.
    ///
    /// # Errors
    /// [`LearnError::Config`] naming the `learn.*` key.
    pub fn validate(&self) -> Result<Dictionary> {
        match &self.breakpoints {
            Some(breakpoints) => {
                breakpoints.validate()?;
                if !self.dictionary.is_empty() {
                    return Err(LearnError::config(
                        "learn.dictionary",
                        format!("{} terms", self.dictionary.len()),
                        "with learn.breakpoints the dictionary is built from the detected pieces; leave learn.dictionary out",
                    ));
                }
            }
            None if self.dictionary.is_empty() => {
                return Err(LearnError::config("learn.dictionary", "[]", "give at least one term, e.g. [\"r^0\", \"r^1\", \"r^2\"]"));
            }
            None => {}
        }
        for (k, term) in self.dictionary.iter().enumerate() {
            if self.dictionary[..k].contains(term) {
                return Err(LearnError::config("learn.dictionary", term.name(), "the term is listed twice"));
            }
        }
        if self.observe_every == 0 {
            return Err(LearnError::config("learn.observe_every", 0, "must be at least 1"));
        }
        if !(self.lambda_fraction > 0.0 && self.lambda_fraction < 1.0) {
            return Err(LearnError::config("learn.lambda_fraction", self.lambda_fraction, "must lie in (0, 1)"));
        }
        if !(self.sparsity >= 0.0 && self.sparsity < 1.0) {
            return Err(LearnError::config("learn.sparsity", self.sparsity, "must lie in [0, 1)"));
        }
        if !(self.batch_fraction > 0.0 && self.batch_fraction <= 1.0) {
            return Err(LearnError::config("learn.batch_fraction", self.batch_fraction, "must lie in (0, 1]"));
        }
        if self.max_iterations == 0 {
            return Err(LearnError::config("learn.max_iterations", 0, "must be at least 1"));
        }
        if self.stall_iterations == 0 {
            return Err(LearnError::config("learn.stall_iterations", 0, "must be at least 1"));
        }
        if self.max_support == 0 {
            return Err(LearnError::config("learn.max_support", 0, "must be at least 1"));
        }
        if self.selection == Selection::BestSubset && self.dictionary.len() > MAX_EXHAUSTIVE_TERMS {
            return Err(LearnError::config(
                "learn.selection",
                "best-subset",
                format!(
                    "searches dictionaries of up to {MAX_EXHAUSTIVE_TERMS} terms, and learn.dictionary has {}; use \"thresholds\"",
                    self.dictionary.len()
                ),
            ));
        }
        if self.bootstrap == 1 {
            return Err(LearnError::config("learn.bootstrap", 1, "needs at least 2 replicates (or 0 for none)"));
        }
        let weak = &self.weak;
        if let Some(w) = weak.half_width {
            if !(w.is_finite() && w > 0.0) {
                return Err(LearnError::config("learn.weak.half_width", w, "must be positive"));
            }
        }
        if let Some(h) = weak.spacing {
            if !(h.is_finite() && h > 0.0) {
                return Err(LearnError::config("learn.weak.spacing", h, "must be positive"));
            }
        }
        if weak.exponent < 2 {
            return Err(LearnError::config("learn.weak.exponent", weak.exponent, "must be at least 2"));
        }
        if weak.window == 0 {
            return Err(LearnError::config("learn.weak.window", 0, "must be at least 1"));
        }
        if !(weak.covariance_floor >= 0.0 && weak.covariance_floor < 1.0) {
            return Err(LearnError::config("learn.weak.covariance_floor", weak.covariance_floor, "must lie in [0, 1)"));
        }
        Ok(Dictionary {
            convention: self.convention,
            terms: self.dictionary.clone(),
        })
    }
}
