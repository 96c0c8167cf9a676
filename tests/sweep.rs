//! `ips sweep points` and `ips sweep collect` through the binary: the runs of
//! a sweep file, run one by one as the Snakemake workflow runs them, then
//! summarised.

mod common;

use std::path::Path;

use common::{experiment, ips, root, stderr};

/// Writes a sweep of the small cubic experiment, shortened to seconds, with
/// `axes` appended.
fn write_sweep(dir: &Path, axes: &str) -> std::path::PathBuf {
    let text = format!(
        r#"
        name = "test"
        experiment = "{}"
        seeds = [1, 2]
        set = ["simulation.n_particles=400", "simulation.t_final=0.05", "meanfield.t_final=0.05"]
        {axes}
        "#,
        experiment("cubic-small.toml").display()
    );
    let path = dir.join("sweep.toml");
    std::fs::write(&path, text).unwrap();
    path
}

const AXES: &str = r#"
    [[axes]]
    name = "n_particles"
    key = "simulation.n_particles"
    values = [300, 400]

    [[axes]]
    name = "initial_sd"
    keys = ["initial.components.0.sd", "initial.components.1.sd"]
    values = [0.2, 0.3]
"#;

fn points(sweep: &Path) -> serde_json::Value {
    let output = ips(&["sweep", "points", sweep.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("ips sweep points prints JSON")
}

#[test]
fn points_of_bundled_sweeps() {
    let tiny = points(&root().join("data/sweeps/tiny.toml"));
    assert_eq!(tiny["runs"].as_array().unwrap().len(), 6);
    let robustness = points(&root().join("data/sweeps/case-a-robustness.toml"));
    // 1 base point and 5 + 4 + 4 + 5 points off the base, 5 seeds each.
    assert_eq!(robustness["runs"].as_array().unwrap().len(), 19 * 5);
}

#[test]
fn points_list_runs_with_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let document = points(&write_sweep(dir.path(), AXES));
    let runs = document["runs"].as_array().unwrap();
    let dirs: Vec<&str> = runs.iter().map(|r| r["dir"].as_str().unwrap()).collect();
    assert_eq!(
        dirs,
        vec![
            "points/base/seed-1",
            "points/base/seed-2",
            "points/n_particles-300/seed-1",
            "points/n_particles-300/seed-2",
            "points/initial_sd-0.2/seed-1",
            "points/initial_sd-0.2/seed-2",
        ]
    );
    let sd_run = &runs[4];
    let set: Vec<&str> = sd_run["set"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(&set[3..], ["initial.components.0.sd=0.2", "initial.components.1.sd=0.2", "seed=1"]);
    assert_eq!(sd_run["values"], serde_json::json!([400.0, 0.2]));
}

#[test]
fn points_reject_an_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    let axes = AXES.replace("\"simulation.n_particles\"", "\"simulation.particles\"");
    let output = ips(&["sweep", "points", write_sweep(dir.path(), &axes).to_str().unwrap()]);
    assert!(!output.status.success());
    let err = stderr(&output);
    // The base point does not set the key, so its value is unknown there.
    assert!(err.contains("simulation.particles is not set"), "{err}");
}

#[test]
fn points_reject_an_invalid_value() {
    let dir = tempfile::tempdir().unwrap();
    let axes = AXES.replace("values = [300, 400]", "values = [0, 400]");
    let output = ips(&["sweep", "points", write_sweep(dir.path(), &axes).to_str().unwrap()]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("points/n_particles-0/seed-1"), "{err}");
}

#[test]
fn collect_without_runs_names_the_missing() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = write_sweep(dir.path(), AXES);
    let out = dir.path().join("out");
    let output = ips(&["sweep", "collect", sweep.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("6 of 6 runs have no metrics.json"), "{err}");
}

#[test]
fn collect_summarises_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = write_sweep(dir.path(), AXES);
    let out = dir.path().join("out");
    let document = points(&sweep);
    let experiment = document["experiment"].as_str().unwrap();
    for run in document["runs"].as_array().unwrap() {
        let run_dir = out.join(run["dir"].as_str().unwrap());
        let mut args = vec!["run".to_string(), experiment.to_string(), "--out".into(), run_dir.display().to_string()];
        for assignment in run["set"].as_array().unwrap() {
            args.push("--set".into());
            args.push(assignment.as_str().unwrap().into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = ips(&args);
        assert!(output.status.success(), "{}", stderr(&output));
    }

    let output = ips(&["sweep", "collect", sweep.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 6);
    assert!(lines[0].starts_with("point,seed,n_particles,initial_sd,w2_max,"), "{}", lines[0]);
    assert!(lines[5].starts_with("initial_sd-0.2,1,400,0.2,"), "{}", lines[5]);
    for line in &lines[1..] {
        let w2: f64 = line.split(',').nth(4).unwrap().parse().expect("w2_max is a number");
        assert!(w2.is_finite(), "{line}");
        assert!(w2 >= 0.0, "{line}");
    }
    // The runs of the sd axis started from different initial conditions.
    let trajectories = |point: &str| std::fs::read(out.join("points").join(point).join("seed-1/trajectories.npy")).unwrap();
    assert_ne!(trajectories("base"), trajectories("initial_sd-0.2"));

    for stem in ["w2_n_particles", "w2_initial_sd"] {
        for extension in ["png", "svg"] {
            let size = std::fs::metadata(out.join("plots").join(format!("{stem}.{extension}"))).map(|m| m.len()).unwrap_or(0);
            assert!(size > 1000, "{stem}.{extension} is missing or empty");
        }
    }
    let markdown = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(markdown.contains("| initial_sd | runs | median W2 |"), "{markdown}");
}
