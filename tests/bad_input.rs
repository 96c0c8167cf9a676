//! Bad inputs fail with a non-zero exit and a message naming the problem.

mod common;

use std::path::Path;

use common::{experiment, ips, stderr};
use ndarray::{Array1, Array2, Array3};
use ndarray_npy::write_npy;

/// Runs `ips` expecting failure and returns its standard error.
fn fails(args: &[&str]) -> String {
    let output = ips(args);
    assert!(!output.status.success(), "expected failure: {args:?}");
    let message = stderr(&output);
    assert!(!message.contains("panicked"), "panic instead of an error: {message}");
    message
}

fn small() -> String {
    experiment("cubic-small.toml").to_str().unwrap().to_string()
}

fn write_config(dir: &Path, edit: impl Fn(String) -> String) -> String {
    let text = std::fs::read_to_string(experiment("cubic-small.toml")).unwrap();
    let path = dir.join("experiment.toml");
    std::fs::write(&path, edit(text)).unwrap();
    path.to_str().unwrap().to_string()
}

fn run_with_trajectories(dir: &Path, positions: &Path, extra: &[&str]) -> String {
    let out = dir.join("out");
    let small = small();
    let mut args = vec!["run", small.as_str(), "--out", out.to_str().unwrap(), "--trajectories", positions.to_str().unwrap()];
    args.extend_from_slice(extra);
    fails(&args)
}

#[test]
fn missing_experiment_file() {
    let message = fails(&["run", "no/such/experiment.toml", "--out", "/tmp/unused"]);
    assert!(message.contains("no/such/experiment.toml"), "{message}");
}

#[test]
fn missing_trajectories_file() {
    let dir = tempfile::tempdir().unwrap();
    let message = run_with_trajectories(dir.path(), &dir.path().join("absent.npy"), &["--dt", "0.001"]);
    assert!(message.contains("absent.npy"), "{message}");
}

#[test]
fn trajectories_of_wrong_shape() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flat.npy");
    write_npy(&path, &Array1::<f64>::zeros(10)).unwrap();
    let message = run_with_trajectories(dir.path(), &path, &["--dt", "0.001"]);
    assert!(message.contains("flat.npy"), "{message}");
    assert!(message.contains("[n_times, N]"), "{message}");
}

#[test]
fn trajectories_with_three_axes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("xyz.npy");
    write_npy(&path, &Array3::<f64>::zeros((4, 10, 3))).unwrap();
    let message = run_with_trajectories(dir.path(), &path, &["--dt", "0.001"]);
    assert!(message.contains("[4, 10, 3]"), "{message}");
}

#[test]
fn nan_in_trajectories_names_frame_and_particle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nan.npy");
    let mut positions = Array2::<f64>::zeros((5, 20));
    positions[[3, 7]] = f64::NAN;
    write_npy(&path, &positions).unwrap();
    let message = run_with_trajectories(dir.path(), &path, &["--dt", "0.001"]);
    assert!(message.contains("particle 7"), "{message}");
    assert!(message.contains("frame 3"), "{message}");
}

#[test]
fn trajectories_without_times() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.npy");
    write_npy(&path, &Array2::<f64>::zeros((5, 20))).unwrap();
    let message = run_with_trajectories(dir.path(), &path, &[]);
    assert!(message.contains("--times"), "{message}");
    assert!(message.contains("--dt"), "{message}");
}

#[test]
fn times_of_wrong_length() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.npy");
    let times = dir.path().join("t.npy");
    write_npy(&path, &Array2::<f64>::zeros((5, 20))).unwrap();
    write_npy(&times, &Array1::<f64>::zeros(4)).unwrap();
    let message = run_with_trajectories(dir.path(), &path, &["--times", times.to_str().unwrap()]);
    assert!(message.contains("t.npy"), "{message}");
    assert!(message.contains("[5]"), "{message}");
}

#[test]
fn times_not_increasing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.npy");
    let times = dir.path().join("t.npy");
    write_npy(&path, &Array2::<f64>::zeros((4, 20))).unwrap();
    write_npy(&times, &Array1::from(vec![0.0, 0.1, 0.1, 0.3])).unwrap();
    let message = run_with_trajectories(dir.path(), &path, &["--times", times.to_str().unwrap()]);
    assert!(message.contains("times[2]"), "{message}");
    assert!(message.contains("increase"), "{message}");
}

#[test]
fn negative_dt_option() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.npy");
    write_npy(&path, &Array2::<f64>::zeros((4, 20))).unwrap();
    let message = run_with_trajectories(dir.path(), &path, &["--dt", "-0.1"]);
    assert!(message.contains("--dt"), "{message}");
}

#[test]
fn unknown_config_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), |t| t.replace("sparsity = 0.1", "sparsity = 0.1\nsparsityy = 0.2"));
    let message = fails(&["run", &config, "--out", dir.path().join("o").to_str().unwrap()]);
    assert!(message.contains("sparsityy"), "{message}");
    assert!(message.contains("experiment.toml"), "{message}");
}

#[test]
fn unknown_set_key() {
    let dir = tempfile::tempdir().unwrap();
    let message = fails(&["run", &small(), "--out", dir.path().join("o").to_str().unwrap(), "--set", "learn.lamda=0.1"]);
    assert!(message.contains("lamda"), "{message}");
    assert!(message.contains("--set"), "{message}");
}

#[test]
fn set_without_value() {
    let dir = tempfile::tempdir().unwrap();
    let message = fails(&["run", &small(), "--out", dir.path().join("o").to_str().unwrap(), "--set", "learn.sparsity"]);
    assert!(message.contains("KEY=VALUE"), "{message}");
}

#[test]
fn negative_simulation_dt() {
    let dir = tempfile::tempdir().unwrap();
    let message = fails(&["run", &small(), "--out", dir.path().join("o").to_str().unwrap(), "--set", "simulation.dt=-0.001"]);
    assert!(message.contains("simulation.dt"), "{message}");
}

#[test]
fn negative_diffusion() {
    let dir = tempfile::tempdir().unwrap();
    let message = fails(&["run", &small(), "--out", dir.path().join("o").to_str().unwrap(), "--set", "model.diffusion=-1"]);
    assert!(message.contains("model.diffusion"), "{message}");
}

#[test]
fn inverse_term_without_cutoff() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), |t| t.replace("\"r^7\"]", "\"r^7\", \"1/r\"]"));
    let message = fails(&["run", &config, "--out", dir.path().join("o").to_str().unwrap()]);
    assert!(message.contains("1/r"), "{message}");
    assert!(message.contains("eps"), "{message}");
}

#[test]
fn dimension_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p2d.npy");
    write_npy(&path, &Array3::<f64>::zeros((4, 20, 2))).unwrap();
    let message = run_with_trajectories(dir.path(), &path, &["--dt", "0.01"]);
    assert!(message.contains("model.dim"), "{message}");
}

#[test]
fn missing_density_for_learn() {
    let dir = tempfile::tempdir().unwrap();
    let density = dir.path().join("nothing.npy");
    let message = fails(&["learn", "--density", density.to_str().unwrap(), "--config", &small(), "--out", "/tmp/unused.json"]);
    assert!(message.contains("nothing"), "{message}");
}

#[test]
fn truncated_trajectories_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.npy");
    write_npy(&path, &Array2::<f64>::zeros((10, 50))).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let message = run_with_trajectories(dir.path(), &path, &["--dt", "0.01"]);
    assert!(message.contains("cut.npy"), "{message}");
}

#[test]
fn unknown_diffusion_for_learning() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), |t| t.replace("diffusion = 0.1\n", ""));
    let path = dir.path().join("p.npy");
    let positions = Array2::from_shape_fn((6, 50), |(n, i)| (i as f64 / 25.0 - 1.0) * (1.0 + 0.01 * n as f64));
    write_npy(&path, &positions).unwrap();
    let out = dir.path().join("out");
    let message = fails(&["run", &config, "--out", out.to_str().unwrap(), "--trajectories", path.to_str().unwrap(), "--dt", "0.01"]);
    assert!(message.contains("model.diffusion"), "{message}");
    assert!(message.contains("learn.diffusion"), "{message}");
}

#[test]
fn dt_without_trajectories() {
    let dir = tempfile::tempdir().unwrap();
    let message = fails(&["run", &small(), "--out", dir.path().join("o").to_str().unwrap(), "--dt", "0.001"]);
    assert!(message.contains("--trajectories"), "{message}");
}

/// A mistake in [learn] is reported before the simulation runs.
#[test]
fn learn_mistake_caught_before_simulation() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let message = fails(&["run", &small(), "--out", out.to_str().unwrap(), "--set", "learn.sparsity=2"]);
    assert!(message.contains("learn.sparsity"), "{message}");
    assert!(!out.join("trajectories.npy").exists(), "the simulation ran before the check");
}

#[test]
fn trajectories_given_as_density() {
    let dir = tempfile::tempdir().unwrap();
    let trajectories = dir.path().join("t.npy");
    let output = ips(&["simulate", &small(), "--out", trajectories.to_str().unwrap(), "--set", "simulation.t_final=0.01"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = dir.path().join("m.json");
    let message = fails(&["learn", "--density", trajectories.to_str().unwrap(), "--config", &small(), "--out", out.to_str().unwrap()]);
    assert!(message.contains("ips kde"), "{message}");
}

#[test]
fn uneven_times_named_where_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.npy");
    let times = dir.path().join("t.npy");
    let positions = Array2::from_shape_fn((40, 200), |(n, i)| (i as f64 / 100.0 - 1.0) * (1.0 - 0.001 * n as f64));
    write_npy(&path, &positions).unwrap();
    let mut t: Array1<f64> = (0..40).map(|k| k as f64 * 1e-3).collect();
    t[30] += 5e-4;
    write_npy(&times, &t).unwrap();
    let message = run_with_trajectories(dir.path(), &path, &["--times", times.to_str().unwrap()]);
    assert!(message.contains("frames 29 and 30"), "{message}");
}
