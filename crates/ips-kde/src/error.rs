//! Errors of the kernel density estimation.

use ips_core::CoreError;

/// Errors raised while checking the `[kde]` configuration or estimating a snapshot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KdeError {
    /// A key of the `[kde]` section has an invalid value.
    #[error("invalid {field} = {value}: {reason}")]
    InvalidConfig {
        /// Key as written in the TOML file, such as `kde.bandwidth_value`.
        field: String,
        value: String,
        /// Explanation of the problem and of the fix.
        reason: String,
    },

    /// The number of axes of the data differs from that of the configuration or grid.
    #[error(
        "{field} has {found} value(s) but the positions are {expected}-dimensional; \
         kde.lo, kde.hi and kde.intervals need one value per axis"
    )]
    DimensionMismatch {
        /// Key or argument with the wrong length, such as `kde.lo`.
        field: String,
        found: usize,
        expected: usize,
    },

    /// The trajectories have a different number of frames and times.
    #[error(
        "the trajectories have {frames} frame(s) of positions but {times} time(s); \
         give one observation time per frame"
    )]
    FrameCountMismatch { frames: usize, times: usize },

    /// A snapshot has no particles.
    #[error("snapshot {snapshot} has no particles; a density estimate needs at least one")]
    EmptySnapshot { snapshot: usize },

    /// A particle position is NaN or infinite.
    #[error(
        "snapshot {snapshot}: position of particle {particle}, axis {axis} is {value}; \
         positions must be finite, so remove or interpolate the missing value"
    )]
    InvalidPosition {
        snapshot: usize,
        particle: usize,
        axis: usize,
        value: f64,
    },

    /// The bandwidth rule gives no positive bandwidth, for example because all
    /// particles have the same coordinate.
    #[error(
        "snapshot {snapshot}: the {rule} bandwidth along axis {axis} is undefined because {reason}; \
         set kde.bandwidth = \"fixed\" and kde.bandwidth_value to the bandwidth in position units"
    )]
    DegenerateBandwidth {
        snapshot: usize,
        /// Name of the rule, `silverman` or `scott`.
        rule: &'static str,
        axis: usize,
        /// Cause of the zero or undefined spread of the positions.
        reason: String,
    },

    /// An error of the shared types, such as an invalid grid axis.
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, KdeError>;

impl KdeError {
    /// Builds a [`KdeError::InvalidConfig`] from displayable parts.
    pub(crate) fn invalid(
        field: impl Into<String>,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        KdeError::InvalidConfig {
            field: field.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
