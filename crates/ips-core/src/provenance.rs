//! Provenance records: what made an artifact.
//!
//! Every artifact stores a [`Provenance`]: the stage that wrote it, the tool
//! version, the configuration sections that the stage reads, the seed and
//! one [`InputRecord`] per input file. Its [`Provenance::digest`] is the
//! SHA-256 of all of these except the input paths, so two records with the
//! same digest describe the same computation on the same inputs.
//!
//! An input written by `ips` is identified by the digest of its own
//! provenance record instead of the bytes of its files: the stages are
//! deterministic, so the record fixes the content, and reading the record
//! costs microseconds where hashing gigabytes of trajectories costs
//! seconds. A file from another program has no record and is identified by
//! the SHA-256 of its bytes.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{CoreError, Result};

/// One input of a stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRecord {
    /// What the stage reads the file as, e.g. `trajectories` or `density`.
    pub role: String,
    /// Path of the input as the stage was given it, relative to the output's
    /// directory when the two share it. Informational: not part of the digest.
    pub path: String,
    /// `provenance:<digest>` for an `ips` artifact, `sha256:<hash>` of the
    /// bytes for any other file, `value:<text>` for a value given on the
    /// command line (such as `--dt`).
    pub id: String,
}

/// The record of how an artifact was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Stage that wrote the artifact: `simulate`, `kde`, `learn`, `eval`, ...
    pub stage: String,
    pub tool_version: String,
    /// Configuration sections that the stage reads, and nothing else, so
    /// that changing another section keeps the artifact up to date.
    pub config: serde_json::Value,
    pub seed: Option<u64>,
    pub inputs: Vec<InputRecord>,
    /// SHA-256 (hex) of the stage, tool version, configuration, seed and
    /// input ids, computed when the record is made and stored as text so
    /// that a record read back compares equal without re-serialising floats.
    pub digest: String,
}

/// The digested part of a record, in a fixed field order.
#[derive(Serialize)]
struct DigestInput<'a> {
    stage: &'a str,
    tool_version: &'a str,
    config: &'a serde_json::Value,
    seed: Option<u64>,
    inputs: Vec<(&'a str, &'a str)>,
}

impl Provenance {
    /// Makes the record of `stage` with the version of this crate and
    /// computes its digest.
    pub fn new(stage: &str, config: serde_json::Value, seed: Option<u64>, inputs: Vec<InputRecord>) -> Self {
        let tool_version = env!("CARGO_PKG_VERSION").to_string();
        let digested = DigestInput {
            stage,
            tool_version: &tool_version,
            config: &config,
            seed,
            inputs: inputs.iter().map(|i| (i.role.as_str(), i.id.as_str())).collect(),
        };
        let text = serde_json::to_string(&digested).expect("a provenance record serialises to JSON");
        Provenance {
            stage: stage.to_string(),
            tool_version,
            config,
            seed,
            inputs,
            digest: sha256_hex(text.as_bytes()),
        }
    }

    /// The id under which a later stage records this artifact as its input.
    pub fn id(&self) -> String {
        format!("provenance:{}", self.digest)
    }
}

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// SHA-256 of a file's bytes as lowercase hex, read in blocks of 1 MiB.
///
/// # Errors
/// [`CoreError::Io`] naming `path`.
pub fn sha256_file(path: &Path) -> Result<String> {
    let io_error = |source| CoreError::Io {
        action: "hashing",
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).map_err(io_error)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Path of `input` as recorded in the provenance of `output`: the file name
/// alone when both lie in the same directory, so that the records (and the
/// artifacts' bytes) do not depend on where the output directory is.
pub fn relative_path(input: &Path, output: &Path) -> String {
    let same_directory = input.parent().is_some() && input.parent() == output.parent();
    match input.file_name() {
        Some(name) if same_directory => name.to_string_lossy().into_owned(),
        _ => input.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(id: &str, path: &str) -> InputRecord {
        InputRecord { role: "density".into(), path: path.into(), id: id.into() }
    }

    #[test]
    fn digest_ignores_input_paths() {
        let a = Provenance::new("learn", json!({"learn": {"sparsity": 0.1}}), Some(1), vec![input("sha256:ab", "a/d.npy")]);
        let b = Provenance::new("learn", json!({"learn": {"sparsity": 0.1}}), Some(1), vec![input("sha256:ab", "b/d.npy")]);
        assert_eq!(a.digest, b.digest);
    }

    #[test]
    fn digest_changes_with_config_seed_and_inputs() {
        let base = Provenance::new("learn", json!({"sparsity": 0.1}), Some(1), vec![input("sha256:ab", "d.npy")]);
        let config = Provenance::new("learn", json!({"sparsity": 0.2}), Some(1), vec![input("sha256:ab", "d.npy")]);
        let seed = Provenance::new("learn", json!({"sparsity": 0.1}), Some(2), vec![input("sha256:ab", "d.npy")]);
        let inputs = Provenance::new("learn", json!({"sparsity": 0.1}), Some(1), vec![input("sha256:cd", "d.npy")]);
        assert_ne!(base.digest, config.digest);
        assert_ne!(base.digest, seed.digest);
        assert_ne!(base.digest, inputs.digest);
    }

    #[test]
    fn record_survives_json_round_trip() {
        let record = Provenance::new("simulate", json!({"dt": 0.001, "t_final": 1.0}), Some(7), vec![]);
        let text = serde_json::to_string(&record).unwrap();
        let back: Provenance = serde_json::from_str(&text).unwrap();
        assert_eq!(back.digest, record.digest);
    }

    #[test]
    fn sha256_of_known_text() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc.txt");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(sha256_file(&path).unwrap(), sha256_hex(b"abc"));
    }

    #[test]
    fn relative_path_in_same_directory() {
        assert_eq!(relative_path(Path::new("out/t.npy"), Path::new("out/d.npy")), "t.npy");
        assert_eq!(relative_path(Path::new("data/t.npy"), Path::new("out/d.npy")), "data/t.npy");
    }
}
