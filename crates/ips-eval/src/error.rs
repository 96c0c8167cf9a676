//! Errors of the evaluation stage.

/// Errors raised while evaluating a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The inputs do not fit together.
    #[error("cannot evaluate: {0}")]
    Input(String),

    #[error(transparent)]
    Learn(#[from] ips_learn::LearnError),

    #[error(transparent)]
    Meanfield(#[from] ips_meanfield::MeanfieldError),

    /// Drawing or writing a plot failed.
    #[error("drawing the plot '{path}' failed: {message}")]
    Plot { path: String, message: String },

    #[error(transparent)]
    Core(#[from] ips_core::CoreError),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, EvalError>;
