//! Errors of the simulation stage.

/// Errors raised by configuration checks and the simulation itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A configuration value is outside its valid range.
    #[error("invalid {key} = {value}: {reason}")]
    Config {
        key: String,
        value: String,
        reason: String,
    },

    /// The particle positions left the floating-point range.
    #[error("the simulation diverged at step {step} (t = {time}): a position became {value}; reduce simulation.dt")]
    Diverged { step: usize, time: f64, value: f64 },

    /// The receiver of the saved frames failed, e.g. writing to disk.
    #[error("storing frame {frame} of the simulation failed: {source}")]
    Sink {
        frame: usize,
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// An error from the shared artifact types.
    #[error(transparent)]
    Core(#[from] ips_core::CoreError),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, SimError>;

impl SimError {
    pub(crate) fn config(key: &str, value: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        SimError::Config {
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
