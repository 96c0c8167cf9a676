//! Make-style caching of the stages of `ips run`.
//!
//! A stage is described by a [`StageSpec`]: its name, its inputs, the
//! configuration sections it reads and its output file. From these the
//! [`Pipeline`] builds the provenance record that the output would carry.
//! When the output exists and carries a record with the same digest, the
//! stage is up to date and skipped.
//!
//! A stage that runs first removes its output's main file, then writes the
//! companions and the main file last. A main file therefore exists only when
//! the last write of that stage completed, so an interrupted run (even by
//! `kill -9`) is redone on the next run and never taken for up to date.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ips_core::artifact::{input_id, read_provenance};
use ips_core::npy::remove_stale_temporaries;
use ips_core::provenance::relative_path;
use ips_core::{InputRecord, Provenance};

use crate::ui::Ui;

/// The stages of `ips run` in order; `--from` takes one of these names. A
/// new stage of `ips run` is one entry here, a `*_spec` function and a
/// stage function in stages.rs, and one [`Pipeline::stage`] call in `run`.
pub const STAGES: &[&str] = &["simulate", "kde", "learn", "eval"];

/// An input of a stage.
#[derive(Debug, Clone)]
pub enum Input {
    /// A file, identified by its provenance digest or the hash of its bytes.
    File { role: &'static str, path: PathBuf },
    /// A value given on the command line, such as `--dt`.
    Value { role: &'static str, text: String },
}

/// One stage: what it reads and what it writes.
#[derive(Debug, Clone)]
pub struct StageSpec {
    /// One of [`STAGES`].
    pub name: &'static str,
    pub inputs: Vec<Input>,
    /// The configuration sections the stage reads, and nothing else.
    pub config: serde_json::Value,
    /// The seed, for stages that draw random numbers.
    pub seed: Option<u64>,
    /// The main output file, written last.
    pub output: PathBuf,
}

impl StageSpec {
    /// Builds the provenance record of the output; reads each input's record
    /// (or hashes its bytes) to identify it.
    ///
    /// # Errors
    /// An input that is missing or unreadable.
    pub fn provenance(&self) -> Result<Provenance> {
        let mut records = Vec::with_capacity(self.inputs.len());
        for input in &self.inputs {
            records.push(match input {
                Input::File { role, path } => InputRecord {
                    role: role.to_string(),
                    path: relative_path(path, &self.output),
                    id: input_id(path).with_context(|| format!("reading the {role} input of {} failed", self.name))?,
                },
                Input::Value { role, text } => InputRecord {
                    role: role.to_string(),
                    path: String::new(),
                    id: format!("value:{text}"),
                },
            });
        }
        Ok(Provenance::new(self.name, self.config.clone(), self.seed, records))
    }
}

/// Which stages run regardless of their outputs' provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rerun {
    /// Only stages whose output is missing or out of date.
    Outdated,
    /// Every stage (`--force`).
    All,
    /// This stage and every later one (`--from STAGE`), plus outdated ones.
    From(String),
}

impl Rerun {
    /// Reads the `--force` and `--from` options.
    ///
    /// # Errors
    /// `--from` naming no stage.
    pub fn from_options(force: bool, from: Option<&str>) -> Result<Self> {
        match (force, from) {
            (true, _) => Ok(Rerun::All),
            (false, None) => Ok(Rerun::Outdated),
            (false, Some(name)) if STAGES.contains(&name) => Ok(Rerun::From(name.to_string())),
            (false, Some(name)) => bail!("invalid --from {name}: the stages are {}", STAGES.join(", ")),
        }
    }

    fn forces(&self, stage: &str) -> bool {
        let position = |name: &str| STAGES.iter().position(|s| *s == name);
        match self {
            Rerun::Outdated => false,
            Rerun::All => true,
            Rerun::From(first) => position(stage) >= position(first),
        }
    }
}

/// Runs stages in order, skipping those whose output is up to date.
pub struct Pipeline<'a> {
    rerun: Rerun,
    ui: &'a Ui,
}

impl<'a> Pipeline<'a> {
    pub fn new(rerun: Rerun, ui: &'a Ui) -> Self {
        Pipeline { rerun, ui }
    }

    /// Runs `stage` through `run` unless its output is up to date. `run`
    /// receives the provenance record to store in the output.
    ///
    /// # Errors
    /// An unreadable input or output record, or the error of `run`.
    pub fn stage(&self, spec: StageSpec, run: impl FnOnce(Provenance) -> Result<()>) -> Result<()> {
        check_no_clobber(&spec)?;
        let provenance = spec.provenance()?;
        if !self.rerun.forces(spec.name) && is_up_to_date(&spec.output, &provenance)? {
            self.ui.note(&format!("{}: up to date", spec.name));
            mark_checked(&spec.output);
            return Ok(());
        }
        tracing::info!(stage = spec.name, digest = %provenance.digest, "running");
        remove_output(&spec.output)?;
        run(provenance)
    }
}

/// The files an artifact at `path` consists of: the file itself and, for
/// NPY, its JSON record and times companion.
fn artifact_files(path: &Path) -> Vec<PathBuf> {
    let mut files = vec![std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())];
    if path.extension().is_some_and(|e| e == "npy") {
        for suffix in ["json", "times.npy"] {
            let companion = ips_core::npy::companion(path, suffix);
            files.push(std::path::absolute(&companion).unwrap_or(companion));
        }
    }
    files
}

/// Refuses an output whose files are files of an input: writing it would
/// destroy the input, e.g. `ips learn --out d.json` beside the density
/// `d.npy`, whose record is `d.json`.
fn check_no_clobber(spec: &StageSpec) -> Result<()> {
    let written = artifact_files(&spec.output);
    for input in &spec.inputs {
        let Input::File { role, path } = input else {
            continue;
        };
        if let Some(file) = artifact_files(path).into_iter().find(|f| written.contains(f)) {
            bail!(
                "the output '{}' would overwrite '{}', which belongs to the {role} input '{}'; write the output under another name",
                spec.output.display(),
                file.display(),
                path.display()
            );
        }
    }
    Ok(())
}

/// Whether `output` exists and carries a record with the digest of `expected`.
fn is_up_to_date(output: &Path, expected: &Provenance) -> Result<bool> {
    if !output.exists() {
        return Ok(false);
    }
    // A record that cannot be read is out of date, not an error: the stage
    // will replace it.
    match read_provenance(output) {
        Ok(Some(stored)) => Ok(stored.digest == expected.digest),
        Ok(None) | Err(_) => Ok(false),
    }
}

/// Sets the modification time of an up-to-date output to now, so that
/// `make` (see scripts/Makefile) sees it newer than its prerequisites and
/// does not ask for it again. The content is left alone; a failure is
/// logged and otherwise ignored because it costs only a repeated check.
fn mark_checked(output: &Path) {
    let touched = std::fs::File::options()
        .append(true)
        .open(output)
        .and_then(|file| file.set_modified(std::time::SystemTime::now()));
    if let Err(error) = touched {
        tracing::warn!(path = %output.display(), %error, "updating the modification time failed");
    }
}

/// Removes the main file of an output and the temporary files of earlier,
/// interrupted writes of it and its companions.
fn remove_output(output: &Path) -> Result<()> {
    remove_stale_temporaries(output);
    match std::fs::remove_file(output) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing the outdated '{}' failed", output.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_forces_later_stages_only() {
        let rerun = Rerun::from_options(false, Some("learn")).unwrap();
        assert!(!rerun.forces("simulate"));
        assert!(!rerun.forces("kde"));
        assert!(rerun.forces("learn"));
        assert!(rerun.forces("eval"));
    }

    #[test]
    fn unknown_from_stage_is_rejected() {
        let err = Rerun::from_options(false, Some("fit")).unwrap_err().to_string();
        assert!(err.contains("simulate, kde, learn, eval"), "{err}");
    }

    #[test]
    fn force_forces_every_stage() {
        let rerun = Rerun::from_options(true, None).unwrap();
        assert!(STAGES.iter().all(|s| rerun.forces(s)));
    }
}
