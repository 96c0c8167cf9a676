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

/// Settings of the two-phase regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnConfig {
    /// Candidate terms by name, e.g. `["r^0", "r^1", "r^2"]`. Empty when
    /// `breakpoints` builds the dictionary from the data.
    #[serde(default)]
    pub dictionary: Vec<Term>,
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
}

impl LearnConfig {
    /// A configuration with the given dictionary and default settings.
    pub fn with_dictionary(dictionary: Vec<Term>) -> Self {
        LearnConfig {
            dictionary,
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
        Ok(Dictionary {
            convention: self.convention,
            terms: self.dictionary.clone(),
        })
    }
}
