//! Make-style caching of `ips run`: up-to-date stages are skipped, changed
//! settings rerun only the stages that read them, and a run killed at any
//! point is completed by the next run to the same bytes as a clean run.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{experiment, ips_verbose, snapshot, stderr};

fn run(out: &Path, extra: &[&str]) -> String {
    let config = experiment("cubic-small.toml");
    let mut args = vec!["run", config.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = ips_verbose(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    stderr(&output)
}

fn up_to_date(log: &str, stage: &str) -> bool {
    log.lines().any(|line| line == format!("{stage}: up to date"))
}

fn ran(log: &str, stage: &str) -> bool {
    log.lines().any(|line| line.starts_with(&format!("{stage}: ")) && !line.ends_with("up to date"))
}

/// A second identical run skips every stage and changes no file. Its speed
/// (under 10 ms against 1.6 s for case A) is measured in
/// docs/benchmarks.md, not asserted here: timings on a shared machine are
/// too noisy for a test.
#[test]
fn second_run_is_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let first = run(&out, &[]);
    let before = snapshot(&out);
    let second = run(&out, &[]);

    for stage in ["simulate", "kde", "learn", "eval"] {
        assert!(ran(&first, stage), "first run must run {stage}:\n{first}");
        assert!(up_to_date(&second, stage), "second run must skip {stage}:\n{second}");
    }
    assert!(before == snapshot(&out), "an up-to-date run must not change any file");
}

#[test]
fn learn_setting_reruns_learn_and_eval_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    run(&out, &[]);
    let log = run(&out, &["--set", "learn.sparsity=0.2"]);
    assert!(up_to_date(&log, "simulate"), "{log}");
    assert!(up_to_date(&log, "kde"), "{log}");
    assert!(ran(&log, "learn"), "{log}");
    assert!(ran(&log, "eval"), "{log}");
}

#[test]
fn kde_setting_keeps_simulation() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    run(&out, &[]);
    let log = run(&out, &["--set", "kde.intervals=[80]"]);
    assert!(up_to_date(&log, "simulate"), "{log}");
    assert!(ran(&log, "kde"), "{log}");
    assert!(ran(&log, "learn"), "{log}");
}

#[test]
fn from_and_force_rerun_stages() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    run(&out, &[]);
    let before = snapshot(&out);

    let log = run(&out, &["--from", "learn"]);
    assert!(up_to_date(&log, "simulate"), "{log}");
    assert!(up_to_date(&log, "kde"), "{log}");
    assert!(ran(&log, "learn"), "{log}");
    assert!(ran(&log, "eval"), "{log}");

    let log = run(&out, &["--force"]);
    for stage in ["simulate", "kde", "learn", "eval"] {
        assert!(ran(&log, stage), "--force must run {stage}:\n{log}");
    }
    assert!(before == snapshot(&out), "rerunning must reproduce the same bytes");
}

#[test]
fn unknown_from_stage_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let config = experiment("cubic-small.toml");
    let out = dir.path().join("run");
    let output = ips_verbose(&["run", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--from", "fit"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("simulate, kde, learn, eval"), "{}", stderr(&output));
}

#[test]
fn info_prints_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    run(&out, &[]);
    for (file, stage, input) in [
        ("trajectories.npy", "simulate", None),
        ("density.npy", "kde", Some("trajectories.npy")),
        ("model.json", "learn", Some("density.npy")),
        ("eval.json", "eval", Some("model.json")),
    ] {
        let output = ips_verbose(&["info", out.join(file).to_str().unwrap()]);
        assert!(output.status.success(), "{}", stderr(&output));
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(text.contains(&format!("stage:        {stage}")), "{file}:\n{text}");
        assert!(text.contains(&format!("tool version: {}", env!("CARGO_PKG_VERSION"))), "{file}:\n{text}");
        if let Some(input) = input {
            assert!(text.contains(input), "{file} must name its input {input}:\n{text}");
            assert!(text.contains("provenance:"), "{file}:\n{text}");
        }
    }
    let output = ips_verbose(&["info", out.join("trajectories.times.npy").to_str().unwrap()]);
    assert!(!output.status.success(), "a file without a record is an error");
    assert!(stderr(&output).contains("no provenance record"), "{}", stderr(&output));
}

/// Kills `ips run` with SIGKILL at several points of a run (during the
/// simulation, the KDE, learning and evaluation), reruns it and compares
/// every file with a clean run, byte for byte. Temporary files of the killed
/// run must be gone.
#[test]
fn rerun_after_kill_matches_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean");
    let start = Instant::now();
    run(&clean, &[]);
    let clean_time = start.elapsed();
    let expected = snapshot(&clean);

    let config = experiment("cubic-small.toml");
    for (k, fraction) in [0.05, 0.2, 0.4, 0.6, 0.8, 0.95].into_iter().enumerate() {
        let out = dir.path().join(format!("killed-{k}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_ips"))
            .args(["--quiet", "run", config.to_str().unwrap(), "--out", out.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(clean_time.mul_f64(fraction));
        // SIGKILL: no destructor or cleanup runs in the child.
        let _ = child.kill();
        let _ = child.wait();

        run(&out, &[]);
        let actual = snapshot(&out);
        let names = |files: &[(String, Vec<u8>)]| files.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&actual), names(&expected), "killed at {fraction} of the run");
        for ((name, bytes), (_, clean_bytes)) in actual.iter().zip(&expected) {
            assert!(bytes == clean_bytes, "{name} differs after a kill at {fraction} of the run");
        }
    }
}

/// A kill while the trajectories are being streamed leaves a temporary file
/// and no main file; the next run does not take it for complete.
#[test]
fn kill_during_simulation_leaves_no_main_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let config = experiment("cubic-small.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ips"))
        .args(["--quiet", "run", config.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let temporary_seen = loop {
        let seen = std::fs::read_dir(&out)
            .map(|entries| {
                entries
                    .flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with(".trajectories.npy."))
            })
            .unwrap_or(false);
        if seen || Instant::now() > deadline {
            break seen;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(temporary_seen, "the simulation streams into a temporary file");
    assert!(!out.join("trajectories.npy").exists(), "a killed simulation must not leave trajectories.npy");

    let log = run(&out, &[]);
    assert!(ran(&log, "simulate"), "{log}");
    let leftovers: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "stale temporary files: {leftovers:?}");
}

/// Stage subcommands skip an up-to-date output too (what scripts/Makefile
/// relies on) and refresh its modification time; --force reruns them.
#[test]
fn stage_subcommand_skips_and_touches() {
    let dir = tempfile::tempdir().unwrap();
    let config = experiment("cubic-small.toml");
    let out = dir.path().join("t.npy");
    let args = ["simulate", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--set", "simulation.t_final=0.05"];
    let output = ips_verbose(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let first_mtime = std::fs::metadata(&out).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(20));

    let log = stderr(&ips_verbose(&args));
    assert!(up_to_date(&log, "simulate"), "{log}");
    let second_mtime = std::fs::metadata(&out).unwrap().modified().unwrap();
    assert!(second_mtime > first_mtime, "an up-to-date output gets a new modification time");

    let mut forced = args.to_vec();
    forced.push("--force");
    let log = stderr(&ips_verbose(&forced));
    assert!(ran(&log, "simulate"), "{log}");
}
