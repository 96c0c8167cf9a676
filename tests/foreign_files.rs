//! Files written by NumPy and h5py (tests/fixtures, made by
//! tests/fixtures/make_fixtures.py) are read as trajectories.

mod common;

use std::path::PathBuf;

use common::{experiment, ips, root, stderr};

fn fixture(name: &str) -> String {
    root().join("tests/fixtures").join(name).to_str().unwrap().to_string()
}

/// Runs `ips kde` on the fixture trajectories given by `input` and returns
/// the density array file.
fn kde(dir: &std::path::Path, name: &str, input: &[String]) -> PathBuf {
    let out = dir.join(format!("{name}.npy"));
    let config = experiment("cubic-small.toml");
    let mut args: Vec<String> = vec!["kde".into()];
    args.extend_from_slice(input);
    args.extend(["--config".into(), config.to_str().unwrap().into(), "--out".into(), out.to_str().unwrap().into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = ips(&args);
    assert!(output.status.success(), "{name}: {}", stderr(&output));
    out
}

#[test]
fn numpy_float32_positions_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = kde(
        dir.path(),
        "npy",
        &["--trajectories".into(), fixture("positions.npy"), "--times".into(), fixture("times.npy")],
    );
    let density: ndarray::Array2<f64> = ndarray_npy::read_npy(&out).unwrap();
    assert_eq!(density.shape(), &[21, 101]);
}

#[cfg(feature = "hdf5")]
#[test]
fn h5py_positions_match_numpy_positions() {
    let dir = tempfile::tempdir().unwrap();
    let from_npy = kde(
        dir.path(),
        "npy",
        &["--trajectories".into(), fixture("positions.npy"), "--times".into(), fixture("times.npy")],
    );
    let from_h5 = kde(
        dir.path(),
        "h5",
        &[
            "--trajectories".into(),
            fixture("positions.h5"),
            "--positions-dataset".into(),
            "particles/x".into(),
            "--times-dataset".into(),
            "particles/t".into(),
        ],
    );
    assert!(
        std::fs::read(&from_npy).unwrap() == std::fs::read(&from_h5).unwrap(),
        "the same positions from NumPy and h5py must give the same density bytes"
    );
}

#[cfg(feature = "hdf5")]
#[test]
fn missing_h5_dataset_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.npy");
    let config = experiment("cubic-small.toml");
    let output = ips(&[
        "kde",
        "--trajectories",
        &fixture("positions.h5"),
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("--positions-dataset"), "{}", stderr(&output));
}

#[cfg(not(feature = "hdf5"))]
#[test]
fn h5_without_feature_explains_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.npy");
    let config = experiment("cubic-small.toml");
    let output = ips(&[
        "kde",
        "--trajectories",
        &fixture("positions.h5"),
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("--features ips-cli/hdf5"), "{}", stderr(&output));
}
