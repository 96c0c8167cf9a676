//! The particle formulations through the command line: `ips run` passes the
//! trajectories to the learn stage, `ips learn --trajectories` reads them,
//! and a formulation given the wrong input says which one it needs.

mod common;

use common::{experiment, ips, read_model, stderr, terms};

fn small() -> String {
    experiment("cubic-small.toml").to_str().unwrap().to_string()
}

#[test]
fn run_with_increments_learns_r2_and_d() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = ips(&[
        "run",
        &small(),
        "--out",
        out.to_str().unwrap(),
        "--set",
        "learn.formulation=increments",
        "--set",
        "learn.diffusion=learn",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let model = read_model(&out.join("model.json"));
    assert_eq!(model["assembly"]["formulation"], "increments");
    let active: Vec<(String, f64, bool)> = terms(&model).into_iter().filter(|t| t.2).collect();
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(active[0].0, "r^2");
    // N = 5000 over T = 0.5: standard error about 0.6 %; 3 % is five of them.
    assert!((active[0].1 - 3.0).abs() < 0.09, "c(r^2) = {}", active[0].1);
    let d = model["diffusion"]["value"].as_f64().unwrap();
    assert!((d - 0.1).abs() < 0.005, "D = {d}");
    assert!(model["support_ranking"]["ranked"][0]["terms"].is_array());
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("formulation: increments") && report.contains("Supports ranked by BIC"), "{report}");
}

#[test]
fn learn_reads_trajectories_for_the_weak_particle_form() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let output = ips(&["run", &small(), "--out", run.to_str().unwrap(), "--until", "simulate"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let model = dir.path().join("model.json");
    let trajectories = run.join("trajectories.npy");
    let output = ips(&[
        "learn",
        "--trajectories",
        trajectories.to_str().unwrap(),
        "--config",
        &small(),
        "--out",
        model.to_str().unwrap(),
        "--set",
        "learn.formulation=weak-particles",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let learned = read_model(&model);
    assert_eq!(learned["assembly"]["formulation"], "weak-particles");
    let r2 = terms(&learned).into_iter().find(|t| t.0 == "r^2").unwrap();
    assert!(r2.2 && (r2.1 - 3.0).abs() < 0.15, "{r2:?}");

    // The same formulation given a density says what to pass instead.
    let density = dir.path().join("density.npy");
    std::fs::write(&density, b"unused").unwrap();
    let output = ips(&[
        "learn",
        "--density",
        density.to_str().unwrap(),
        "--config",
        &small(),
        "--out",
        model.to_str().unwrap(),
        "--set",
        "learn.formulation=weak-particles",
    ]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("--trajectories") && !message.contains("panicked"), "{message}");
}

#[test]
fn unknown_formulation_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = ips(&["run", &small(), "--out", out.to_str().unwrap(), "--set", "learn.formulation=weak"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("weak") && message.contains("weak-particles"), "{message}");
}
