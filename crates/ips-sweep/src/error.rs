//! Errors of sweep definitions and summaries.

use std::path::PathBuf;

/// Errors raised while reading a sweep, expanding it or summarising its runs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// The sweep file cannot be read or is not valid TOML.
    #[error("reading the sweep file '{path}' failed: {message}")]
    Read { path: PathBuf, message: String },

    /// A field of the sweep file has an invalid value.
    #[error("invalid sweep file '{path}': {field}: {message}")]
    Invalid { path: PathBuf, field: String, message: String },

    /// The base experiment does not give a value that the sweep needs.
    #[error("the base experiment of the sweep: {0}")]
    Base(String),

    /// A run of the sweep has no usable result.
    #[error("run '{run}': {message}")]
    Run { run: String, message: String },

    /// Drawing or writing a plot failed.
    #[error("drawing the plot '{path}' failed: {message}")]
    Plot { path: String, message: String },

    #[error(transparent)]
    Core(#[from] ips_core::CoreError),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, SweepError>;
