//! Errors of the mean-field solver.

use ips_core::CoreError;

/// Errors raised while setting up or running the mean-field solver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MeanfieldError {
    /// An error of the shared types, such as a kernel with a non-finite
    /// coefficient.
    #[error(transparent)]
    Core(#[from] CoreError),

    /// The diffusion coefficient is negative or not finite.
    #[error(
        "invalid diffusion coefficient D = {value}: D must be finite and non-negative \
         (use 0 for a model without noise)"
    )]
    InvalidDiffusion { value: f64 },

    /// The initial density does not have the shape of the grid.
    #[error(
        "initial density has shape {found:?}, but the grid has {expected:?} points; \
         sample the density at the grid points"
    )]
    Shape {
        found: Vec<usize>,
        expected: Vec<usize>,
    },

    /// A value of the initial density is negative or not finite.
    #[error(
        "invalid initial density value {value} at grid index {index:?}: densities must be \
         finite and non-negative, so replace or clip that value"
    )]
    InvalidDensity { index: Vec<usize>, value: f64 },

    /// The initial density is zero everywhere.
    #[error(
        "initial density has zero mass: every value is 0; give a density with positive \
         values on the grid"
    )]
    ZeroMass,

    /// A field of [`SolverConfig`](crate::SolverConfig) is outside its valid range.
    #[error("invalid meanfield.{key} = {value}: {reason}")]
    InvalidConfig {
        key: &'static str,
        value: String,
        reason: String,
    },

    /// The interaction potential overflows at a distance that occurs on the grid.
    #[error(
        "the interaction potential of {formula} is not finite at distance {distance}: \
         shrink the grid or reduce the coefficients"
    )]
    NonFinitePotential { formula: String, distance: f64 },

    /// The solution stopped being finite, which the scheme should prevent.
    #[error(
        "the density stopped being finite at t = {time} after {steps} steps; \
         lower meanfield.cfl or set meanfield.dt_max, and report the case as a bug"
    )]
    Diverged { time: f64, steps: u64 },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, MeanfieldError>;

impl MeanfieldError {
    /// Builds an [`MeanfieldError::InvalidConfig`] for the configuration key
    /// `key` (written without the `meanfield.` prefix).
    pub(crate) fn config(
        key: &'static str,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        MeanfieldError::InvalidConfig {
            key,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_error_names_key() {
        let err = MeanfieldError::config("cfl", 2.0, "the CFL number must lie in (0, 1]");
        assert_eq!(
            err.to_string(),
            "invalid meanfield.cfl = 2: the CFL number must lie in (0, 1]"
        );
    }

    #[test]
    fn density_error_names_value_and_index() {
        let err = MeanfieldError::InvalidDensity {
            index: vec![3, 4],
            value: -0.5,
        };
        let text = err.to_string();
        assert!(text.contains("-0.5"), "{text}");
        assert!(text.contains("[3, 4]"), "{text}");
    }
}
