//! Errors of the shared types and of artifact input and output.

use std::path::PathBuf;

/// Errors raised while reading, writing or validating shared data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A file could not be read or written.
    /// The cause is the error's `source`, so error chains print it once.
    #[error("{action} '{path}' failed")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// An NPY file could not be decoded.
    #[error("reading NPY file '{path}' failed: {message}")]
    Npy { path: PathBuf, message: String },

    /// A JSON sidecar or model file could not be decoded.
    #[error("reading JSON file '{path}' failed: {message}")]
    Json { path: PathBuf, message: String },

    /// An array has the wrong number of dimensions or the wrong length.
    #[error("'{path}' has shape {found:?}, expected {expected}")]
    Shape {
        path: PathBuf,
        found: Vec<usize>,
        expected: String,
    },

    /// A value is outside its valid range.
    #[error("invalid {field} = {value}: {reason}")]
    InvalidValue {
        field: String,
        value: String,
        reason: String,
    },

    /// An HDF5 file could not be read or written.
    #[error("HDF5 file '{path}': {message}")]
    Hdf5 { path: PathBuf, message: String },

    /// The file format needs a feature this build lacks.
    #[error("cannot use '{path}': {reason}")]
    Unsupported { path: PathBuf, reason: String },

    /// A kernel or dictionary term could not be parsed.
    #[error("invalid kernel term '{text}': {reason}")]
    Term { text: String, reason: String },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, CoreError>;

impl CoreError {
    /// Builds an [`CoreError::InvalidValue`] from displayable parts.
    pub fn invalid(
        field: impl Into<String>,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        CoreError::InvalidValue {
            field: field.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
