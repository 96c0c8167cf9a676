//! `ips info`: print the provenance record of an artifact.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use ips_core::artifact::read_provenance;

/// Prints the provenance record of `file` to standard output.
///
/// # Errors
/// A file that cannot be read or carries no record.
pub fn print(file: &Path) -> Result<()> {
    if !file.exists() {
        bail!("'{}' not found", file.display());
    }
    let record = read_provenance(file).with_context(|| format!("reading the provenance of '{}' failed", file.display()))?;
    let Some(record) = record else {
        bail!(
            "'{}' has no provenance record: only artifacts written by ips (a main .npy file with its .json sidecar, model.json, eval.json) carry one",
            file.display()
        );
    };
    let mut text = String::new();
    writeln!(text, "file:         {}", file.display())?;
    writeln!(text, "stage:        {}", record.stage)?;
    writeln!(text, "tool version: {}", record.tool_version)?;
    match record.seed {
        Some(seed) => writeln!(text, "seed:         {seed}")?,
        None => writeln!(text, "seed:         none")?,
    }
    writeln!(text, "digest:       {}", record.digest)?;
    writeln!(text, "inputs:")?;
    if record.inputs.is_empty() {
        writeln!(text, "  none")?;
    }
    for input in &record.inputs {
        let path = if input.path.is_empty() { "-" } else { input.path.as_str() };
        writeln!(text, "  {:<13} {:<28} {}", input.role, path, input.id)?;
    }
    writeln!(text, "config:")?;
    let config = serde_json::to_string_pretty(&record.config).context("formatting the configuration failed")?;
    for line in config.lines() {
        writeln!(text, "  {line}")?;
    }
    // A closed pipe (as with `ips info FILE | head`) is not an error.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing to standard output failed"),
        _ => Ok(()),
    }
}
