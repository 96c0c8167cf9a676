//! Case D in 2D through the `ips` binary: the small radial variants, joint
//! learning from several densities, and learning from solver data.

mod common;

use common::{experiment, ips, read_model, stderr, terms};

/// Runs `ips run FILE --out DIR --until learn` with extra arguments and
/// returns the model.
fn learn_small(name: &str, out: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let config = experiment(name);
    let mut args = vec!["run", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--until", "learn"];
    args.extend_from_slice(extra);
    let output = ips(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    read_model(&out.join("model.json"))
}

/// Checks that r^2 alone is active with a coefficient within `tolerance` of 3.
fn assert_r2_alone(model: &serde_json::Value, tolerance: f64) {
    for (name, coefficient, active) in terms(model) {
        if name == "r^2" {
            assert!(active, "r^2 must be active");
            assert!((coefficient - 3.0).abs() < tolerance, "c(r^2) = {coefficient}");
        } else {
            assert!(!active, "{name} must be removed, got {coefficient}");
        }
    }
}

/// At N = 10 000 and T = 0.5 the two-bump and ring runs keep r^2 alone;
/// the KDE noise and smoothing leave c(r^2) at 2.869 and 2.946 for the
/// bundled seed, hence 0.2 (6.7 %).
#[test]
fn small_two_bumps_and_ring_find_r2() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["radial-two-small.toml", "radial-ring-small.toml"] {
        let model = learn_small(name, &dir.path().join(name), &[]);
        assert_r2_alone(&model, 0.2);
        assert_eq!(model["assembly"]["rows"], 500 * 63 * 63, "{name}: rows are the interior points of 500 steps");
    }
}

/// `ips learn` with three densities stacks their rows: the joint system
/// has the rows and time steps of the three single ones together, and its
/// time differences stay inside each density (500 steps each, not 1502).
#[test]
fn joint_learning_stacks_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut densities = Vec::new();
    for name in ["radial-two-small.toml", "radial-four-small.toml", "radial-ring-small.toml"] {
        let out = dir.path().join(name);
        learn_small(name, &out, &[]);
        densities.push(out.join("density.npy"));
    }
    let joint = dir.path().join("joint.json");
    let config = experiment("radial-two-small.toml");
    let mut args = vec!["learn", "--config", config.to_str().unwrap(), "--out", joint.to_str().unwrap()];
    for density in &densities {
        args.extend_from_slice(&["--density", density.to_str().unwrap()]);
    }
    let output = ips(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let model = read_model(&joint);
    assert_eq!(model["assembly"]["time_steps"], 1500);
    assert_eq!(model["assembly"]["rows"], 1500 * 63 * 63);
    let r2 = terms(&model).into_iter().find(|t| t.0 == "r^2").unwrap();
    assert!(r2.2, "r^2 must be active");
    // NOTE: at this size the four-bump data keeps r^1 (0.29) beside r^2
    // (2.66) in the joint fit; the full experiments remove it.
    assert!((r2.1 - 3.0).abs() < 0.45, "c(r^2) = {}", r2.1);
}

/// Densities of different dimensions are rejected with both named.
#[test]
fn joint_learning_rejects_mixed_dimensions() {
    let dir = tempfile::tempdir().unwrap();
    let two_d = dir.path().join("2d");
    learn_small("radial-two-small.toml", &two_d, &[]);
    let one_d = dir.path().join("1d");
    let cubic = experiment("cubic-small.toml");
    let output = ips(&["run", cubic.to_str().unwrap(), "--out", one_d.to_str().unwrap(), "--until", "kde"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = dir.path().join("joint.json");
    let output = ips(&[
        "learn",
        "--config",
        cubic.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--density",
        one_d.join("density.npy").to_str().unwrap(),
        "--density",
        two_d.join("density.npy").to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("density 2"), "{message}");
    assert!(!out.exists(), "no model is written");
}

/// `learn_from = "meanfield"` learns from the solver's density, written
/// beside the KDE. The solver data have no particle noise: r^2 alone stays,
/// with c(r^2) = 2.960 at save_every = 0.001; the grid leaves it low, hence
/// 0.1. (At save_every = 0.01 the forward difference in time let a small
/// r^7 term survive.)
#[test]
fn small_run_learns_from_solver_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let model = learn_small("radial-two-small.toml", &out, &["--set", "learn_from=meanfield"]);
    assert!(out.join("solver_density.npy").exists(), "the solver density is missing");
    let inputs = model["provenance"]["inputs"].to_string();
    assert!(inputs.contains("solver_density.npy"), "the model was not learned from the solver: {inputs}");
    assert_r2_alone(&model, 0.1);
    assert_eq!(model["assembly"]["time_steps"], 500);
}

/// The whole pipeline of the small ring, eval included: the 2D forward
/// check, density images and the report.
#[test]
fn small_ring_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let config = experiment("radial-ring-small.toml");
    let output = ips(&["run", config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    for figure in ["density_images", "kernel", "w2", "free_energy"] {
        let path = out.join("plots").join(format!("{figure}.png"));
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "{} is missing or empty", path.display());
    }
    let metrics: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let w2_max = metrics["w2_max"].as_f64().expect("w2_max is a number");
    assert!(w2_max.is_finite() && w2_max >= 0.0, "w2_max = {w2_max}");
    assert!(metrics["free_energy_final_true"].is_f64(), "free_energy_final_true is missing");
}
