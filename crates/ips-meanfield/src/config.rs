//! Configuration of a solver run, read from the `[meanfield]` table.
//!
//! | key          | unit | default | valid range                 | meaning                              |
//! |--------------|------|---------|-----------------------------|--------------------------------------|
//! | `t_final`    | time | —       | finite, > 0                 | end of the run                       |
//! | `save_every` | time | —       | finite, > 0                 | interval between saved snapshots     |
//! | `cfl`        | —    | 0.4     | (0, 1]                      | safety factor of the adaptive step   |
//! | `dt_max`     | time | none    | finite, > 0, or absent      | upper bound on the time step         |

use serde::{Deserialize, Serialize};

use crate::{MeanfieldError, Result};

/// Default CFL number. SSP-RK3 with an upwind flux is stable up to 1 in one
/// dimension; 0.4 leaves room for the four faces of a 2D cell and for
/// velocities that change within a step.
pub const DEFAULT_CFL: f64 = 0.4;

/// Largest number of snapshots a run may save. It turns a mistyped
/// `save_every` into an error instead of an allocation of the whole memory.
pub const MAX_SNAPSHOTS: usize = 1_000_000;

fn default_cfl() -> f64 {
    DEFAULT_CFL
}

/// Time range, output times and step control of a solver run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolverConfig {
    /// End time of the run.
    pub t_final: f64,
    /// Output interval in time units. Snapshots are saved at
    /// `0, save_every, 2 save_every, ...` and at `t_final`.
    pub save_every: f64,
    /// Safety factor of the adaptive step, in (0, 1]; default 0.4.
    #[serde(default = "default_cfl")]
    pub cfl: f64,
    /// Upper bound on the time step; `None` lets the CFL conditions alone
    /// choose it.
    #[serde(default)]
    pub dt_max: Option<f64>,
}

impl SolverConfig {
    /// Creates a configuration with the default `cfl` and no `dt_max`.
    pub fn new(t_final: f64, save_every: f64) -> Self {
        SolverConfig {
            t_final,
            save_every,
            cfl: DEFAULT_CFL,
            dt_max: None,
        }
    }

    /// Checks every field against the range in the module table.
    ///
    /// # Errors
    /// [`MeanfieldError::InvalidConfig`] naming `meanfield.<key>`, the value
    /// and the valid range.
    pub fn validate(&self) -> Result<()> {
        if !(self.t_final.is_finite() && self.t_final > 0.0) {
            return Err(MeanfieldError::config(
                "t_final",
                self.t_final,
                "the end time must be finite and positive",
            ));
        }
        if !(self.save_every.is_finite() && self.save_every > 0.0) {
            return Err(MeanfieldError::config(
                "save_every",
                self.save_every,
                "the output interval must be finite and positive",
            ));
        }
        let intervals = (self.t_final / self.save_every).ceil();
        if intervals >= MAX_SNAPSHOTS as f64 {
            return Err(MeanfieldError::config(
                "save_every",
                self.save_every,
                format!(
                    "t_final / save_every = {intervals} snapshots exceeds the maximum of \
                     {MAX_SNAPSHOTS}; increase save_every"
                ),
            ));
        }
        if !(self.cfl.is_finite() && self.cfl > 0.0 && self.cfl <= 1.0) {
            return Err(MeanfieldError::config(
                "cfl",
                self.cfl,
                "the CFL number must lie in (0, 1]",
            ));
        }
        if let Some(dt_max) = self.dt_max {
            if !(dt_max.is_finite() && dt_max > 0.0) {
                return Err(MeanfieldError::config(
                    "dt_max",
                    dt_max,
                    "the maximum step must be finite and positive; remove the key for no bound",
                ));
            }
        }
        Ok(())
    }

    /// Snapshot times `0, save_every, 2 save_every, ...`, ending exactly at
    /// `t_final`. A multiple of `save_every` within `1e-9 * t_final` of
    /// `t_final` is replaced by `t_final` instead of adding a near-duplicate.
    /// Call [`SolverConfig::validate`] first.
    pub fn snapshot_times(&self) -> Vec<f64> {
        let tolerance = 1e-9 * self.t_final;
        let mut times = vec![0.0];
        let mut k = 1u64;
        loop {
            let t = k as f64 * self.save_every;
            if t >= self.t_final - tolerance {
                break;
            }
            times.push(t);
            k += 1;
        }
        times.push(self.t_final);
        times
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_keys_take_defaults() {
        let config: SolverConfig =
            serde_json::from_str(r#"{"t_final": 1.0, "save_every": 0.1}"#).unwrap();
        assert_eq!(config, SolverConfig::new(1.0, 0.1));
        assert_eq!(config.cfl, 0.4);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn unknown_key_rejected() {
        let parsed: std::result::Result<SolverConfig, _> =
            serde_json::from_str(r#"{"t_final": 1.0, "save_every": 0.1, "cfl_number": 0.5}"#);
        assert!(parsed.unwrap_err().to_string().contains("cfl_number"));
    }

    #[test]
    fn invalid_fields_name_key() {
        let cases = [
            (
                SolverConfig {
                    t_final: -1.0,
                    ..SolverConfig::new(1.0, 0.1)
                },
                "meanfield.t_final",
            ),
            (
                SolverConfig {
                    save_every: 0.0,
                    ..SolverConfig::new(1.0, 0.1)
                },
                "meanfield.save_every",
            ),
            (
                SolverConfig {
                    save_every: 1e-9,
                    ..SolverConfig::new(1.0, 0.1)
                },
                "meanfield.save_every",
            ),
            (
                SolverConfig {
                    cfl: 1.5,
                    ..SolverConfig::new(1.0, 0.1)
                },
                "meanfield.cfl",
            ),
            (
                SolverConfig {
                    cfl: f64::NAN,
                    ..SolverConfig::new(1.0, 0.1)
                },
                "meanfield.cfl",
            ),
            (
                SolverConfig {
                    dt_max: Some(0.0),
                    ..SolverConfig::new(1.0, 0.1)
                },
                "meanfield.dt_max",
            ),
        ];
        for (config, key) in cases {
            let text = config.validate().unwrap_err().to_string();
            assert!(text.contains(key), "{text}");
        }
    }

    #[test]
    fn snapshot_times_end_at_t_final() {
        assert_eq!(
            SolverConfig::new(1.0, 0.25).snapshot_times(),
            vec![0.0, 0.25, 0.5, 0.75, 1.0]
        );
        assert_eq!(
            SolverConfig::new(1.0, 0.4).snapshot_times(),
            vec![0.0, 0.4, 0.8, 1.0]
        );
        assert_eq!(SolverConfig::new(1.0, 3.0).snapshot_times(), vec![0.0, 1.0]);
    }

    #[test]
    fn snapshot_times_skip_rounding_duplicate() {
        // 10 * 0.1 is 1.0000000000000002 in floating point.
        let times = SolverConfig::new(1.0, 0.1).snapshot_times();
        assert_eq!(times.len(), 11);
        assert_eq!(*times.last().unwrap(), 1.0);
    }
}
