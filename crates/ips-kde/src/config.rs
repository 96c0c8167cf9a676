//! The `[kde]` section of an experiment file and its validation.

use ips_core::{Axis, Grid};
use serde::{Deserialize, Serialize};

use crate::error::{KdeError, Result};

/// Default of `kde.refinement` for one-dimensional data. The crate docs
/// list the measured difference between the FFT and direct methods.
pub const DEFAULT_REFINEMENT_1D: f64 = 16.0;

/// Default of `kde.refinement` for two-dimensional data, smaller than in 1D
/// because the fine grid grows with its square.
pub const DEFAULT_REFINEMENT_2D: f64 = 8.0;

/// Rule that sets the bandwidth of each snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BandwidthRule {
    /// Silverman's rule of thumb, robust to outliers through the interquartile range.
    #[default]
    Silverman,
    /// Scott's normal reference rule.
    Scott,
    /// The value of `kde.bandwidth_value` on every axis and snapshot.
    Fixed,
}

impl BandwidthRule {
    /// Name of the rule as written in the configuration file.
    pub fn name(self) -> &'static str {
        match self {
            BandwidthRule::Silverman => "silverman",
            BandwidthRule::Scott => "scott",
            BandwidthRule::Fixed => "fixed",
        }
    }
}

/// Algorithm that evaluates the estimate on the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum KdeMethod {
    /// Linear binning onto a fine grid and FFT convolution.
    #[default]
    Fft,
    /// Exact sum of the Gaussians of all particles at each grid point.
    Direct,
}

/// The `[kde]` section of an experiment TOML file.
///
/// | key               | meaning                                              | default            |
/// |-------------------|------------------------------------------------------|--------------------|
/// | `lo`, `hi`        | grid bounds, one value per axis, `lo < hi`           | required           |
/// | `intervals`       | grid cells per axis, at least 2 (points = cells + 1) | required           |
/// | `bandwidth`       | `"silverman"`, `"scott"` or `"fixed"`                | `"silverman"`      |
/// | `bandwidth_value` | bandwidth in position units, > 0                     | required iff fixed |
/// | `method`          | `"fft"` (binned) or `"direct"` (exact sum)           | `"fft"`            |
/// | `refinement`      | fine-grid factor of the FFT method, >= 1             | 16 in 1D, 8 in 2D  |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdeConfig {
    /// Lower grid bound per axis.
    pub lo: Vec<f64>,
    /// Upper grid bound per axis.
    pub hi: Vec<f64>,
    /// Number of grid cells per axis; an axis has `intervals + 1` points.
    pub intervals: Vec<usize>,
    #[serde(default)]
    pub bandwidth: BandwidthRule,
    /// Bandwidth in position units, used on every axis; set only with `bandwidth = "fixed"`.
    #[serde(default)]
    pub bandwidth_value: Option<f64>,
    #[serde(default)]
    pub method: KdeMethod,
    /// The fine-grid spacing of the FFT method is at most `min(h, dx) / refinement`.
    /// `None` selects [`DEFAULT_REFINEMENT_1D`] or [`DEFAULT_REFINEMENT_2D`].
    #[serde(default)]
    pub refinement: Option<f64>,
}

impl KdeConfig {
    /// Checks ranges and builds the grid; errors name the key as `kde.<field>`.
    ///
    /// `dim` is the spatial dimension of the data, 1 or 2.
    ///
    /// # Errors
    /// [`KdeError::DimensionMismatch`] when `lo`, `hi` or `intervals` do not
    /// have `dim` values, and [`KdeError::InvalidConfig`] for bounds that are
    /// not finite and increasing, fewer than 2 intervals, a missing or
    /// non-positive fixed bandwidth, a `bandwidth_value` without
    /// `bandwidth = "fixed"`, or a refinement below 1.
    pub fn validate(&self, dim: usize) -> Result<Grid> {
        let lengths = [
            ("kde.lo", self.lo.len()),
            ("kde.hi", self.hi.len()),
            ("kde.intervals", self.intervals.len()),
        ];
        for (field, found) in lengths {
            if found != dim {
                return Err(KdeError::DimensionMismatch {
                    field: field.to_string(),
                    found,
                    expected: dim,
                });
            }
        }

        let mut axes = Vec::with_capacity(dim);
        for j in 0..dim {
            axes.push(self.validate_axis(j)?);
        }
        let grid = Grid::new(axes)?;

        self.validate_estimator()?;
        Ok(grid)
    }

    /// Refinement factor of the FFT method for data of dimension `dim`.
    pub fn effective_refinement(&self, dim: usize) -> f64 {
        match (self.refinement, dim) {
            (Some(refinement), _) => refinement,
            (None, 1) => DEFAULT_REFINEMENT_1D,
            (None, _) => DEFAULT_REFINEMENT_2D,
        }
    }

    /// Bandwidth of the fixed rule; `None` for the other rules.
    pub(crate) fn fixed_bandwidth(&self) -> Option<f64> {
        match self.bandwidth {
            BandwidthRule::Fixed => self.bandwidth_value,
            _ => None,
        }
    }

    fn validate_axis(&self, j: usize) -> Result<Axis> {
        let (lo, hi, intervals) = (self.lo[j], self.hi[j], self.intervals[j]);
        if !lo.is_finite() {
            return Err(KdeError::invalid(
                "kde.lo",
                format!("{:?}", self.lo),
                format!("the lower bound of axis {j} must be a finite number"),
            ));
        }
        if !hi.is_finite() {
            return Err(KdeError::invalid(
                "kde.hi",
                format!("{:?}", self.hi),
                format!("the upper bound of axis {j} must be a finite number"),
            ));
        }
        if lo >= hi {
            return Err(KdeError::invalid(
                "kde.lo",
                format!("{:?}", self.lo),
                format!(
                    "axis {j} has lo = {lo} but hi = {hi}; each value of kde.lo must be \
                     less than the value of kde.hi for the same axis"
                ),
            ));
        }
        if intervals < 2 {
            return Err(KdeError::invalid(
                "kde.intervals",
                format!("{:?}", self.intervals),
                format!("axis {j} has {intervals} intervals; each axis needs at least 2"),
            ));
        }
        Ok(Axis::new(lo, hi, intervals, "kde.lo/kde.hi")?)
    }

    /// Checks the keys that do not depend on the data: bandwidth and refinement.
    pub(crate) fn validate_estimator(&self) -> Result<()> {
        match (self.bandwidth, self.bandwidth_value) {
            (BandwidthRule::Fixed, None) => {
                return Err(KdeError::invalid(
                    "kde.bandwidth_value",
                    "(missing)",
                    "kde.bandwidth = \"fixed\" needs the bandwidth in position units, \
                     for example kde.bandwidth_value = 0.05",
                ));
            }
            (BandwidthRule::Fixed, Some(h)) if !(h.is_finite() && h > 0.0) => {
                return Err(KdeError::invalid(
                    "kde.bandwidth_value",
                    h,
                    "the fixed bandwidth must be a positive finite number",
                ));
            }
            (rule, Some(h)) if rule != BandwidthRule::Fixed => {
                return Err(KdeError::invalid(
                    "kde.bandwidth_value",
                    h,
                    format!(
                        "it is used only with kde.bandwidth = \"fixed\" but kde.bandwidth = \"{}\"; \
                         remove kde.bandwidth_value or set kde.bandwidth = \"fixed\"",
                        rule.name()
                    ),
                ));
            }
            _ => {}
        }

        if let Some(refinement) = self.refinement {
            if !(refinement.is_finite() && refinement >= 1.0) {
                return Err(KdeError::invalid(
                    "kde.refinement",
                    refinement,
                    "the fine-grid factor must be a finite number >= 1; \
                     remove the key to use the default",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_1d() -> KdeConfig {
        KdeConfig {
            lo: vec![-3.0],
            hi: vec![3.0],
            intervals: vec![100],
            bandwidth: BandwidthRule::Silverman,
            bandwidth_value: None,
            method: KdeMethod::Fft,
            refinement: None,
        }
    }

    fn error_of(config: &KdeConfig, dim: usize) -> String {
        config.validate(dim).unwrap_err().to_string()
    }

    #[test]
    fn valid_config_builds_grid() {
        let grid = config_1d().validate(1).unwrap();
        assert_eq!(grid.shape(), vec![101]);
        assert!((grid.axes[0].dx() - 0.06).abs() < 1e-15);
    }

    #[test]
    fn toml_defaults_and_names() {
        let text = "lo = [-3.0, -2.0]\nhi = [3.0, 2.0]\nintervals = [64, 32]\n";
        let config: KdeConfig = toml::from_str(text).unwrap();
        assert_eq!(config.bandwidth, BandwidthRule::Silverman);
        assert_eq!(config.method, KdeMethod::Fft);
        assert_eq!(config.refinement, None);
        assert_eq!(config.validate(2).unwrap().shape(), vec![65, 33]);

        let text = "lo = [0.0]\nhi = [1.0]\nintervals = [10]\nbandwidth = \"fixed\"\n\
                    bandwidth_value = 0.1\nmethod = \"direct\"\n";
        let config: KdeConfig = toml::from_str(text).unwrap();
        assert_eq!(config.bandwidth, BandwidthRule::Fixed);
        assert_eq!(config.method, KdeMethod::Direct);
        assert!(config.validate(1).is_ok());
    }

    #[test]
    fn unknown_key_rejected() {
        let text = "lo = [0.0]\nhi = [1.0]\nintervals = [10]\nbandwith = \"scott\"\n";
        let err = toml::from_str::<KdeConfig>(text).unwrap_err().to_string();
        assert!(err.contains("bandwith"), "{err}");
    }

    #[test]
    fn dimension_mismatch_names_key() {
        let err = error_of(&config_1d(), 2);
        assert!(err.contains("kde.lo"), "{err}");
        assert!(err.contains("1 value(s)"), "{err}");
        assert!(err.contains("2-dimensional"), "{err}");

        let mut config = config_1d();
        config.lo.push(-1.0);
        config.hi.push(1.0);
        let err = error_of(&config, 2);
        assert!(err.contains("kde.intervals"), "{err}");
    }

    #[test]
    fn reversed_bounds_name_key() {
        let mut config = config_1d();
        config.lo = vec![3.0];
        config.hi = vec![-3.0];
        let err = error_of(&config, 1);
        assert!(err.contains("kde.lo"), "{err}");
        assert!(err.contains("lo = 3"), "{err}");
    }

    #[test]
    fn equal_bounds_rejected() {
        let mut config = config_1d();
        config.hi = vec![-3.0];
        let err = error_of(&config, 1);
        assert!(err.contains("kde.lo"), "{err}");
    }

    #[test]
    fn non_finite_bound_rejected() {
        let mut config = config_1d();
        config.hi = vec![f64::INFINITY];
        let err = error_of(&config, 1);
        assert!(err.contains("kde.hi"), "{err}");
    }

    #[test]
    fn zero_intervals_name_key() {
        let mut config = config_1d();
        config.intervals = vec![0];
        let err = error_of(&config, 1);
        assert!(err.contains("kde.intervals"), "{err}");
        assert!(err.contains("at least 2"), "{err}");
    }

    #[test]
    fn fixed_without_value_rejected() {
        let mut config = config_1d();
        config.bandwidth = BandwidthRule::Fixed;
        let err = error_of(&config, 1);
        assert!(err.contains("kde.bandwidth_value"), "{err}");
        assert!(err.contains("missing"), "{err}");
    }

    #[test]
    fn non_positive_fixed_value_rejected() {
        for value in [0.0, -0.1, f64::NAN] {
            let mut config = config_1d();
            config.bandwidth = BandwidthRule::Fixed;
            config.bandwidth_value = Some(value);
            let err = error_of(&config, 1);
            assert!(err.contains("kde.bandwidth_value"), "{err}");
            assert!(err.contains("positive"), "{err}");
        }
    }

    #[test]
    fn value_without_fixed_rule_rejected() {
        let mut config = config_1d();
        config.bandwidth = BandwidthRule::Scott;
        config.bandwidth_value = Some(0.1);
        let err = error_of(&config, 1);
        assert!(err.contains("kde.bandwidth_value"), "{err}");
        assert!(err.contains("\"scott\""), "{err}");
    }

    #[test]
    fn refinement_below_one_rejected() {
        let mut config = config_1d();
        config.refinement = Some(0.5);
        let err = error_of(&config, 1);
        assert!(err.contains("kde.refinement = 0.5"), "{err}");

        config.refinement = Some(1.0);
        assert!(config.validate(1).is_ok());
    }

    #[test]
    fn refinement_default_depends_on_dimension() {
        let config = config_1d();
        assert_eq!(config.effective_refinement(1), DEFAULT_REFINEMENT_1D);
        assert_eq!(config.effective_refinement(2), DEFAULT_REFINEMENT_2D);
    }
}
