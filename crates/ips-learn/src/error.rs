//! Errors of the learning stage.

/// Errors raised while assembling or solving the regression.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LearnError {
    /// A configuration value is outside its valid range.
    #[error("invalid {key} = {value}: {reason}")]
    Config {
        key: String,
        value: String,
        reason: String,
    },

    /// The density artifact cannot be learned from.
    #[error("cannot learn from this density: {0}")]
    Data(String),

    /// The trajectories cannot be learned from.
    #[error("cannot learn from these trajectories: {0}")]
    Trajectories(String),

    /// A dictionary column is zero or a multiple of another on the data.
    #[error("dictionary term '{term}' {reason}; remove it from learn.dictionary")]
    Column { term: String, reason: String },

    /// An error from the shared types.
    #[error(transparent)]
    Core(#[from] ips_core::CoreError),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, LearnError>;

impl LearnError {
    pub(crate) fn config(key: &str, value: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        LearnError::Config {
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
