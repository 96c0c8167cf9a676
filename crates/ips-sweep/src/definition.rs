//! Sweep files: the base experiment, the axes and the seeds.
//!
//! A sweep file is TOML, read with unknown keys rejected and then checked
//! into a [`Sweep`]. `docs/sweeps.md` documents every key; in short:
//!
//! ```toml
//! name = "case-a-robustness"
//! experiment = "../experiments/cubic.toml"   # relative to this file
//! design = "one-at-a-time"                   # or "product"
//! seeds = [1, 2, 3]
//! set = ["learn.sparsity=0.1"]               # optional, applied to every run
//!
//! [[axes]]
//! name = "n_particles"
//! key = "simulation.n_particles"             # or keys = [...]
//! values = [1000, 2000, 5000]
//! scale = "log"                              # optional: "log" or "linear"
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Result, SweepError};

/// Combination of the axes into points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Design {
    /// The base point plus, for each axis, its values with every other axis
    /// at the base experiment's value: a robustness study around the base.
    #[default]
    OneAtATime,
    /// Every combination of the axes' values (the Cartesian product).
    Product,
}

/// Scale of an axis in the plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    Linear,
    Log,
}

/// A sweep file as written, before checking.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    name: String,
    #[serde(default)]
    description: String,
    experiment: PathBuf,
    #[serde(default)]
    design: Design,
    seeds: Vec<u64>,
    #[serde(default)]
    set: Vec<String>,
    axes: Vec<RawAxis>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAxis {
    name: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    keys: Option<Vec<String>>,
    values: Vec<toml::Value>,
    #[serde(default)]
    scale: Option<Scale>,
}

/// One swept parameter: the experiment keys it sets, all to the same value.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Identifier in run names and summary columns: letters, digits and `_`.
    pub name: String,
    /// Axis title of the plots.
    pub label: String,
    /// Dotted experiment keys, as `--set` takes them (`initial.components.0.sd`).
    pub keys: Vec<String>,
    /// The values, integers or floats as written, in the file's order.
    pub values: Vec<toml::Value>,
    pub scale: Scale,
}

impl Axis {
    /// Returns the values as numbers, for plots and comparisons.
    pub fn numbers(&self) -> Vec<f64> {
        self.values.iter().filter_map(number).collect()
    }
}

/// A checked sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub name: String,
    pub description: String,
    /// The base experiment file, relative to the working directory (the
    /// file names it relative to the sweep file).
    pub experiment: PathBuf,
    pub design: Design,
    pub seeds: Vec<u64>,
    /// `KEY=VALUE` overrides applied to every run, before the axes' values.
    pub set: Vec<String>,
    pub axes: Vec<Axis>,
}

/// Returns the value of an integer or float, `None` for any other TOML value.
pub(crate) fn number(value: &toml::Value) -> Option<f64> {
    match value {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// Tests whether `text` is a non-empty run of letters, digits and `allowed`.
fn is_identifier(text: &str, allowed: &[char]) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || allowed.contains(&c))
}

impl Sweep {
    /// Reads and checks the sweep file at `path`.
    ///
    /// # Errors
    /// [`SweepError::Read`] for a missing file or invalid TOML (unknown keys
    /// included), [`SweepError::Invalid`] naming the field for a value that
    /// fails the checks of [`Sweep::from_toml`].
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SweepError::Read { path: path.to_path_buf(), message: e.to_string() })?;
        Self::from_toml(&text, path)
    }

    /// Parses and checks a sweep given as TOML text; `path` locates the base
    /// experiment and names the file in errors.
    ///
    /// # Errors
    /// [`SweepError::Read`] for invalid TOML; [`SweepError::Invalid`] for an
    /// empty or unsafe name, no seeds or repeated ones, no axes, an axis
    /// without keys or values, a value that is not a finite number or is
    /// repeated, a `log` scale with a value <= 0, a key swept twice, or an
    /// axis that sets `seed` (seeds are the `seeds` list).
    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        let raw: RawSweep =
            toml::from_str(text).map_err(|e| SweepError::Read { path: path.to_path_buf(), message: e.to_string() })?;
        let invalid = |field: &str, message: String| SweepError::Invalid {
            path: path.to_path_buf(),
            field: field.to_string(),
            message,
        };

        if !is_identifier(&raw.name, &['_', '-', '.']) {
            return Err(invalid("name", format!("'{}' must be letters, digits, '_', '-' or '.'", raw.name)));
        }
        if raw.seeds.is_empty() {
            return Err(invalid("seeds", "give at least one seed, e.g. seeds = [1, 2, 3]".into()));
        }
        if raw.seeds.iter().collect::<BTreeSet<_>>().len() != raw.seeds.len() {
            return Err(invalid("seeds", format!("{:?} repeats a seed", raw.seeds)));
        }
        if let Some(bad) = raw.set.iter().find(|s| !s.contains('=')) {
            return Err(invalid("set", format!("'{bad}' is not KEY=VALUE")));
        }
        if raw.axes.is_empty() {
            return Err(invalid("axes", "give at least one [[axes]] table".into()));
        }

        let mut names = BTreeSet::new();
        let mut swept_keys = BTreeSet::new();
        let mut axes = Vec::with_capacity(raw.axes.len());
        for (index, axis) in raw.axes.into_iter().enumerate() {
            let field = |name: &str| format!("axes[{index}].{name}");
            if !is_identifier(&axis.name, &['_']) {
                return Err(invalid(&field("name"), format!("'{}' must be letters, digits or '_'", axis.name)));
            }
            if !names.insert(axis.name.clone()) {
                return Err(invalid(&field("name"), format!("the axis name '{}' is used twice", axis.name)));
            }
            let keys = match (axis.key, axis.keys) {
                (Some(key), None) => vec![key],
                (None, Some(keys)) if !keys.is_empty() => keys,
                (Some(_), Some(_)) => return Err(invalid(&field("keys"), "give either key or keys, not both".into())),
                _ => return Err(invalid(&field("key"), "missing: give key = \"section.name\" or keys = [...]".into())),
            };
            for key in &keys {
                if key.split('.').any(str::is_empty) || key.contains('=') {
                    return Err(invalid(&field("keys"), format!("'{key}' is not a dotted key such as learn.sparsity")));
                }
                if key == "seed" {
                    return Err(invalid(&field("keys"), "seeds are swept by the top-level seeds list, not by an axis".into()));
                }
                if !swept_keys.insert(key.clone()) {
                    return Err(invalid(&field("keys"), format!("'{key}' is swept by two axes")));
                }
            }

            if axis.values.is_empty() {
                return Err(invalid(&field("values"), "give at least one value".into()));
            }
            let mut numbers = Vec::with_capacity(axis.values.len());
            for value in &axis.values {
                match number(value) {
                    Some(x) if x.is_finite() => numbers.push(x),
                    _ => return Err(invalid(&field("values"), format!("{value} is not a finite number"))),
                }
            }
            for (k, x) in numbers.iter().enumerate() {
                if numbers[..k].contains(x) {
                    return Err(invalid(&field("values"), format!("{} is given twice", axis.values[k])));
                }
            }
            let positive = numbers.iter().all(|&x| x > 0.0);
            let scale = match axis.scale {
                Some(Scale::Log) if !positive => {
                    return Err(invalid(&field("scale"), "a log scale needs values > 0".into()));
                }
                Some(scale) => scale,
                None => default_scale(&numbers),
            };
            axes.push(Axis {
                label: axis.label.unwrap_or_else(|| axis.name.clone()),
                name: axis.name,
                keys,
                values: axis.values,
                scale,
            });
        }

        let experiment = path.parent().unwrap_or(Path::new("")).join(&raw.experiment);
        Ok(Sweep {
            name: raw.name,
            description: raw.description,
            experiment,
            design: raw.design,
            seeds: raw.seeds,
            set: raw.set,
            axes,
        })
    }
}

/// Log when the values are positive and span at least a decade, else linear.
fn default_scale(numbers: &[f64]) -> Scale {
    let lo = numbers.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if lo > 0.0 && hi / lo >= 10.0 {
        Scale::Log
    } else {
        Scale::Linear
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        name = "tiny"
        experiment = "../experiments/cubic-small.toml"
        seeds = [1, 2]

        [[axes]]
        name = "n_particles"
        key = "simulation.n_particles"
        values = [100, 1000]

        [[axes]]
        name = "sd"
        keys = ["initial.components.0.sd", "initial.components.1.sd"]
        values = [0.2, 0.3]
    "#;

    fn parse(text: &str) -> Result<Sweep> {
        Sweep::from_toml(text, Path::new("data/sweeps/tiny.toml"))
    }

    fn error_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn minimal_sweep_is_read() {
        let sweep = parse(MINIMAL).unwrap();
        assert_eq!(sweep.experiment, Path::new("data/sweeps/../experiments/cubic-small.toml"));
        assert_eq!(sweep.design, Design::OneAtATime);
        assert_eq!(sweep.axes[0].keys, vec!["simulation.n_particles"]);
        assert_eq!(sweep.axes[0].label, "n_particles");
        assert_eq!(sweep.axes[1].keys.len(), 2);
        assert_eq!(sweep.axes[1].numbers(), vec![0.2, 0.3]);
    }

    #[test]
    fn default_scale_is_log_over_a_decade() {
        let sweep = parse(MINIMAL).unwrap();
        assert_eq!(sweep.axes[0].scale, Scale::Log);
        assert_eq!(sweep.axes[1].scale, Scale::Linear);
    }

    #[test]
    fn unknown_key_is_rejected() {
        let err = error_of(&MINIMAL.replace("seeds = [1, 2]", "seeds = [1, 2]\nrepeats = 3"));
        assert!(err.contains("repeats"), "{err}");
    }

    #[test]
    fn empty_seeds_are_rejected() {
        let err = error_of(&MINIMAL.replace("seeds = [1, 2]", "seeds = []"));
        assert!(err.contains("seeds"), "{err}");
    }

    #[test]
    fn repeated_value_is_rejected() {
        let err = error_of(&MINIMAL.replace("values = [100, 1000]", "values = [100, 100.0]"));
        assert!(err.contains("axes[0].values"), "{err}");
        assert!(err.contains("given twice"), "{err}");
    }

    #[test]
    fn non_number_value_is_rejected() {
        let err = error_of(&MINIMAL.replace("values = [100, 1000]", "values = [100, \"many\"]"));
        assert!(err.contains("\"many\" is not a finite number"), "{err}");
    }

    #[test]
    fn seed_axis_is_rejected() {
        let err = error_of(&MINIMAL.replace("key = \"simulation.n_particles\"", "key = \"seed\""));
        assert!(err.contains("seeds list"), "{err}");
    }

    #[test]
    fn key_swept_twice_is_rejected() {
        let err = error_of(&MINIMAL.replace("\"initial.components.1.sd\"", "\"simulation.n_particles\""));
        assert!(err.contains("swept by two axes"), "{err}");
    }

    #[test]
    fn log_scale_needs_positive_values() {
        let text = MINIMAL.replace("values = [0.2, 0.3]", "values = [0.0, 0.3]\nscale = \"log\"");
        let err = error_of(&text);
        assert!(err.contains("axes[1].scale"), "{err}");
    }

    #[test]
    fn axis_without_key_is_rejected() {
        let err = error_of(&MINIMAL.replace("key = \"simulation.n_particles\"", ""));
        assert!(err.contains("axes[0].key"), "{err}");
    }

    #[test]
    fn unsafe_axis_name_is_rejected() {
        let err = error_of(&MINIMAL.replace("name = \"sd\"", "name = \"initial sd\""));
        assert!(err.contains("axes[1].name"), "{err}");
    }
}
