//! `ips run --format hdf5`: HDF5 artifacts only, the same model as the NPY
//! run, and caching across runs.

#![cfg(feature = "hdf5")]

mod common;

use std::process::{Command, Stdio};
use std::time::Instant;

use common::{experiment, ips, ips_verbose, read_model, snapshot, stderr, terms};

#[test]
fn run_writes_only_h5_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let config = experiment("cubic-small.toml");
    let h5 = dir.path().join("h5");
    let output = ips(&["run", config.to_str().unwrap(), "--out", h5.to_str().unwrap(), "--format", "hdf5"]);
    assert!(output.status.success(), "{}", stderr(&output));

    let mut names: Vec<String> = std::fs::read_dir(&h5)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // Every array artifact is HDF5; the rest are the report, its figures,
    // the metrics and the resolved experiment.
    assert_eq!(
        names,
        [
            "density.h5",
            "eval.h5",
            "eval.md",
            "experiment.toml",
            "forward.json",
            "forward_learned.h5",
            "forward_true.h5",
            "metrics.json",
            "model.h5",
            "plots",
            "report.md",
            "trajectories.h5",
        ]
    );
    assert!(!names.iter().any(|n| n.ends_with(".npy")), "{names:?}");

    // The model in the HDF5 file equals the one of an NPY run.
    let npy = dir.path().join("npy");
    let output = ips(&["run", config.to_str().unwrap(), "--out", npy.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json_model = read_model(&npy.join("model.json"));
    let output = ips(&["eval", "--model", h5.join("model.h5").to_str().unwrap(), "--out", dir.path().join("e.json").to_str().unwrap()]);
    assert!(output.status.success(), "model.h5 must be readable: {}", stderr(&output));
    let info = ips_verbose(&["info", h5.join("model.h5").to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&info.stdout).contains("stage:        learn"));

    let eval: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("e.json")).unwrap()).unwrap();
    let learned = eval["learned_kernel"].as_str().unwrap().to_string();
    let active: Vec<String> = terms(&json_model).into_iter().filter(|t| t.2).map(|t| t.0).collect();
    assert_eq!(active, ["r^2"]);
    assert!(learned.contains("r^2"), "{learned}");
}

#[test]
fn second_h5_run_is_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let config = experiment("cubic-small.toml");
    let out = dir.path().join("h5");
    let args = ["run", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--format", "hdf5"];
    let output = ips_verbose(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = ips_verbose(&args);
    let log = stderr(&output);
    for stage in ["simulate", "kde", "learn", "eval"] {
        assert!(log.contains(&format!("{stage}: up to date")), "{log}");
    }
}

#[test]
fn h5_trajectories_feed_npy_kde() {
    let dir = tempfile::tempdir().unwrap();
    let config = experiment("cubic-small.toml");
    let config = config.to_str().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let output = ips(&["simulate", config, "--out", &path("t"), "--format", "hdf5", "--set", "simulation.t_final=0.05"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("t.h5").exists(), "--format hdf5 adds the .h5 extension");
    let output = ips(&["simulate", config, "--out", &path("t.npy"), "--set", "simulation.t_final=0.05"]);
    assert!(output.status.success(), "{}", stderr(&output));

    for (input, out) in [("t.h5", "from_h5.npy"), ("t.npy", "from_npy.npy")] {
        let output = ips(&["kde", "--trajectories", &path(input), "--config", config, "--out", &path(out)]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    assert!(
        std::fs::read(path("from_h5.npy")).unwrap() == std::fs::read(path("from_npy.npy")).unwrap(),
        "HDF5 and NPY trajectories must give the same density"
    );
}

#[test]
fn format_conflicting_with_extension_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let config = experiment("cubic-small.toml");
    let out = dir.path().join("t.npy");
    let output = ips(&["simulate", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--format", "hdf5"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("*.h5"), "{}", stderr(&output));
}

/// As the NPY kill test of tests/caching.rs: a run killed with SIGKILL and
/// rerun gives the bytes of a clean run, because the HDF5 files are written
/// without modification times.
#[test]
fn h5_rerun_after_kill_matches_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = experiment("cubic-small.toml");
    let run = |out: &std::path::Path| {
        let output = ips(&["run", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--format", "hdf5"]);
        assert!(output.status.success(), "{}", stderr(&output));
    };
    let clean = dir.path().join("clean");
    let start = Instant::now();
    run(&clean);
    let clean_time = start.elapsed();
    let expected = snapshot(&clean);

    for (k, fraction) in [0.1, 0.5, 0.9].into_iter().enumerate() {
        let out = dir.path().join(format!("killed-{k}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_ips"))
            .args(["--quiet", "run", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--format", "hdf5"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(clean_time.mul_f64(fraction));
        let _ = child.kill();
        let _ = child.wait();

        run(&out);
        let actual = snapshot(&out);
        let names = |files: &[(String, Vec<u8>)]| files.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&actual), names(&expected), "killed at {fraction} of the run");
        for ((name, bytes), (_, clean_bytes)) in actual.iter().zip(&expected) {
            assert!(bytes == clean_bytes, "{name} differs after a kill at {fraction} of the run");
        }
    }
}
