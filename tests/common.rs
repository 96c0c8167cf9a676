//! Helpers shared by the end-to-end tests: run the `ips` binary, read its output.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root, where `data/` lives.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Path of a bundled experiment file.
pub fn experiment(name: &str) -> PathBuf {
    root().join("data/experiments").join(name)
}

/// Runs `ips` with `args`, quietly.
pub fn ips(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ips"))
        .arg("--quiet")
        .args(args)
        .output()
        .expect("the ips binary runs")
}

/// Standard error of a run, as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Reads `model.json` as JSON.
pub fn read_model(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("model.json exists");
    serde_json::from_str(&text).expect("model.json is JSON")
}

/// `(name, coefficient, active)` of every term of a model.
pub fn terms(model: &serde_json::Value) -> Vec<(String, f64, bool)> {
    model["terms"]
        .as_array()
        .expect("terms is a list")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["coefficient"].as_f64().unwrap(),
                t["active"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// Runs `ips` with `args`, showing its status lines on standard error.
pub fn ips_verbose(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ips"))
        .args(args)
        .output()
        .expect("the ips binary runs")
}

/// Every file of `dir` (recursively, temporary files included) with its bytes,
/// sorted by relative path.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).expect("the directory is readable") {
            let path = entry.expect("the entry is readable").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                files.push((name, std::fs::read(&path).expect("the file is readable")));
            }
        }
    }
    files.sort();
    files
}
