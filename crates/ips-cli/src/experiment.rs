//! Experiment files: one TOML file with a section per stage.
//!
//! The file is read as a TOML table, each `--set KEY=VALUE` replaces one
//! entry (`KEY` is a dotted path such as `learn.lambda_fraction`, `VALUE` a
//! TOML value, read as a string when it does not parse as one), and the
//! result is decoded with unknown keys rejected. The keys are documented in
//! `docs/experiments.md`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use ips_core::Kernel;
use ips_kde::KdeConfig;
use ips_learn::LearnConfig;
use ips_meanfield::SolverConfig;
use ips_sim::{InitialCondition, ModelConfig, SimulationConfig};
use serde::{Deserialize, Serialize};

/// The `[model]` section. The kernel and D are optional so that a user's own
/// data can be described without knowing them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentModel {
    pub dim: usize,
    #[serde(default)]
    pub diffusion: Option<f64>,
    #[serde(default)]
    pub kernel: Option<Kernel>,
}

/// An experiment file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub seed: u64,
    pub model: ExperimentModel,
    #[serde(default)]
    pub initial: Option<InitialCondition>,
    #[serde(default)]
    pub simulation: Option<SimulationConfig>,
    pub kde: KdeConfig,
    pub learn: LearnConfig,
    /// Settings of the mean-field solver, for `ips meanfield` and the
    /// forward check of `ips run` and `ips eval`.
    #[serde(default)]
    pub meanfield: Option<SolverConfig>,
    /// What `ips run` learns from: the KDE of the particles (default) or
    /// the mean-field solution of the true kernel.
    #[serde(default)]
    pub learn_from: LearnFrom,
    /// The source paper's results for this experiment, for `ips reproduce`.
    #[serde(default)]
    pub published: Option<Published>,
}

/// The data `ips run` learns from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LearnFrom {
    /// The kernel density estimate of the simulated particles.
    #[default]
    Particles,
    /// The mean-field solution of the true kernel from the first KDE
    /// snapshot, on the KDE grid at the times of `[meanfield]`; needs
    /// `[meanfield]` and the true kernel in `[model]`.
    Meanfield,
}

/// The `[published]` section: what the source paper reports, so that a
/// reproduction can be set beside it. Only `ips reproduce` reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Published {
    /// Where in the paper the numbers are (e.g. "Table 1, case A").
    #[serde(default)]
    pub source: String,
    /// Learned coefficient per term of the true kernel, keyed by term name
    /// (e.g. `"r^2" = 3.003`). Terms the paper reports as zero are left out.
    #[serde(default)]
    pub coefficients: std::collections::BTreeMap<String, f64>,
}

impl Experiment {
    /// Reads `path` and applies the `--set` overrides in order.
    ///
    /// # Errors
    /// A missing or invalid file, an unknown key in the file or in a
    /// `--set`, or a malformed `--set`.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading experiment file '{}' failed", path.display()))?;
        let mut table: toml::Table = toml::from_str(&text)
            .with_context(|| format!("'{}' is not valid TOML", path.display()))?;
        Self::decode(&table).with_context(|| format!("invalid experiment file '{}'", path.display()))?;
        for assignment in overrides {
            apply_override(&mut table, assignment)?;
            Self::decode(&table).with_context(|| format!("invalid --set {assignment}"))?;
        }
        Self::decode(&table)
    }

    fn decode(table: &toml::Table) -> Result<Self> {
        let experiment: Experiment = toml::Value::Table(table.clone()).try_into()?;
        Ok(experiment)
    }

    /// Checks the settings of every stage against each other before any
    /// stage runs, so that a mistake in `[learn]` does not surface only after
    /// a long simulation.
    pub fn validate(&self) -> Result<()> {
        if self.model.dim != 1 && self.model.dim != 2 {
            bail!("invalid model.dim = {}: the dimension must be 1 or 2", self.model.dim);
        }
        self.kde.validate(self.model.dim)?;
        self.learn.validate()?;
        if let Some(meanfield) = &self.meanfield {
            meanfield.validate()?;
        }
        if self.learn_from == LearnFrom::Meanfield {
            if self.meanfield.is_none() {
                bail!("learn_from = \"meanfield\" needs a [meanfield] section with t_final and save_every");
            }
            if self.model.kernel.is_none() || self.model.diffusion.is_none() {
                bail!("learn_from = \"meanfield\" needs model.kernel and model.diffusion to solve with");
            }
        }
        Ok(())
    }

    /// The model as the simulator needs it: kernel and D must be given.
    pub fn simulation_model(&self) -> Result<ModelConfig> {
        let Some(kernel) = self.model.kernel.clone() else {
            bail!("simulating needs model.kernel in the experiment file");
        };
        let Some(diffusion) = self.model.diffusion else {
            bail!("simulating needs model.diffusion in the experiment file");
        };
        Ok(ModelConfig { dim: self.model.dim, diffusion, kernel })
    }

    /// The `[initial]` and `[simulation]` sections, which simulating needs.
    pub fn simulation_sections(&self) -> Result<(&InitialCondition, &SimulationConfig)> {
        match (&self.initial, &self.simulation) {
            (Some(initial), Some(simulation)) => Ok((initial, simulation)),
            (None, _) => bail!("simulating needs an [initial] section in the experiment file"),
            (_, None) => bail!("simulating needs a [simulation] section in the experiment file"),
        }
    }
}

/// Replaces one dotted key of `table` by the value of `KEY=VALUE`. A part
/// of `KEY` names a table entry, created when missing, or indexes an
/// existing array entry from 0 (`initial.components.1.sd`).
fn apply_override(table: &mut toml::Table, assignment: &str) -> Result<()> {
    let Some((key, raw)) = assignment.split_once('=') else {
        bail!("--set {assignment}: expected KEY=VALUE, e.g. --set learn.lambda_fraction=0.02");
    };
    let key = key.trim();
    let value = parse_value(raw.trim());
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        bail!("--set {assignment}: '{key}' is not a dotted key such as learn.sparsity");
    }
    let mut root = toml::Value::Table(std::mem::take(table));
    let result = assign(&mut root, &parts, value, assignment);
    if let toml::Value::Table(inner) = root {
        *table = inner;
    }
    result
}

/// Walks `parts` from `root` and stores `value` at the last one.
fn assign(root: &mut toml::Value, parts: &[&str], value: toml::Value, assignment: &str) -> Result<()> {
    let mut current = root;
    for (depth, part) in parts.iter().enumerate() {
        let last = depth + 1 == parts.len();
        let parent = parts[..depth].join(".");
        current = match current {
            toml::Value::Table(inner) => {
                if last {
                    inner.insert(part.to_string(), value);
                    return Ok(());
                }
                inner.entry(part.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()))
            }
            toml::Value::Array(items) => {
                let len = items.len();
                let Some(item) = part.parse::<usize>().ok().and_then(|index| items.get_mut(index)) else {
                    bail!("--set {assignment}: '{parent}' is an array of {len} entries, and '{part}' is not an index from 0 to {}", len.saturating_sub(1));
                };
                if last {
                    *item = value;
                    return Ok(());
                }
                item
            }
            _ => bail!("--set {assignment}: '{parent}' is a value, not a section"),
        };
    }
    unreachable!("the loop returns at the last part, and a key has at least one part")
}

/// Reads a TOML value, falling back to a plain string.
fn parse_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("value = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("value"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_replaces_nested_value() {
        let mut table: toml::Table = toml::from_str("[learn]\nsparsity = 0.1").unwrap();
        apply_override(&mut table, "learn.sparsity=0.3").unwrap();
        assert_eq!(table["learn"]["sparsity"].as_float(), Some(0.3));
    }

    #[test]
    fn override_parses_strings_and_arrays() {
        assert_eq!(parse_value("fixed"), toml::Value::String("fixed".into()));
        assert_eq!(parse_value("[1, 2]").as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn override_indexes_arrays() {
        let mut table: toml::Table = toml::from_str("[initial]\ncomponents = [{ sd = 0.3 }, { sd = 0.3 }]").unwrap();
        apply_override(&mut table, "initial.components.1.sd=0.1").unwrap();
        assert_eq!(table["initial"]["components"][1]["sd"].as_float(), Some(0.1));
        assert_eq!(table["initial"]["components"][0]["sd"].as_float(), Some(0.3));
    }

    #[test]
    fn override_index_out_of_range_is_rejected() {
        let mut table: toml::Table = toml::from_str("[initial]\ncomponents = [{ sd = 0.3 }]").unwrap();
        let err = apply_override(&mut table, "initial.components.1.sd=0.1").unwrap_err().to_string();
        assert!(err.contains("'initial.components' is an array of 1 entries"), "{err}");
        assert!(err.contains("from 0 to 0"), "{err}");
    }

    #[test]
    fn override_below_a_value_is_rejected() {
        let mut table: toml::Table = toml::from_str("seed = 1").unwrap();
        let err = apply_override(&mut table, "seed.value=2").unwrap_err().to_string();
        assert!(err.contains("'seed' is a value, not a section"), "{err}");
    }

    #[test]
    fn override_without_equals_is_rejected() {
        let mut table = toml::Table::new();
        let err = apply_override(&mut table, "learn.sparsity").unwrap_err().to_string();
        assert!(err.contains("KEY=VALUE"), "{err}");
    }
}
