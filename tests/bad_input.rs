//! Bad inputs fail with a non-zero exit and a message naming the problem.

mod common;

use std::path::Path;

use common::{experiment, ips, root, stderr};
use ndarray::{Array1, Array2, Array3};
use ndarray_npy::write_npy;

/// Runs `ips` expecting failure and returns its standard error. The exit
/// code must be 1, the code of a reported error: a panic exits with 101 and
/// an abort by a signal has no code.
fn fails(args: &[&str]) -> String {
    let output = ips(args);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "expected a reported error: {args:?}\n{message}");
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

/// Writes an NPY file with a hand-written header, for types NumPy writes
/// but ndarray-npy cannot.
fn raw_npy(path: &Path, descr: &str, shape: &str, data: &[u8]) {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((dict.len() as u16).to_le_bytes());
    bytes.extend(dict.as_bytes());
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

/// One bad input: the arguments of `ips` and the parts its message must contain.
struct Case {
    name: &'static str,
    args: Vec<String>,
    expected: Vec<&'static str>,
}

/// Bad trajectory files, each given to `ips kde` with the small experiment.
fn trajectory_cases(dir: &Path) -> Vec<Case> {
    let file = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let kde = |input: &[String], extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = vec!["kde".into(), "--trajectories".into()];
        args.extend_from_slice(input);
        args.extend(["--config".into(), small(), "--out".into(), file("density.npy")]);
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };

    std::fs::write(dir.join("empty.npy"), b"").unwrap();
    raw_npy(&dir.join("complex.npy"), "<c16", "(2, 3)", &[0u8; 96]);
    write_npy(dir.join("same.npy"), &Array2::<f64>::zeros((5, 50))).unwrap();
    write_npy(dir.join("single.npy"), &Array2::from_shape_fn((5, 1), |(n, _)| 0.1 * n as f64)).unwrap();
    let spread = |n: usize, i: usize| (i as f64 / 50.0 - 1.0) * (1.0 + 0.01 * n as f64);
    let mut outliers = Array2::from_shape_fn((5, 100), |(n, i)| spread(n, i));
    for i in 0..10 {
        outliers[[2, i]] = 40.0;
    }
    write_npy(dir.join("outliers.npy"), &outliers).unwrap();
    write_npy(dir.join("spread.npy"), &Array2::from_shape_fn((5, 100), |(n, i)| spread(n, i))).unwrap();
    std::fs::write(dir.join("no_time.csv"), "particle,x\n1,0.5\n2,0.25\n").unwrap();
    std::fs::write(dir.join("word.csv"), "t,particle,x\n0,1,0.5\n1,1,half\n").unwrap();
    std::fs::write(dir.join("twice.csv"), "t,particle,x\n0,4,0.5\n0,4,0.25\n1,4,0.5\n").unwrap();
    std::fs::write(dir.join("nan.csv"), "t,particle,x\n0,4,0.5\n1,4,nan\n").unwrap();
    std::fs::write(dir.join("good.csv"), "t,particle,x\n0,4,0.5\n1,4,0.25\n").unwrap();
    // An NPZ archive cut in half loses its central directory.
    let npz = std::fs::read(root().join("tests/fixtures/layouts/savez.npz")).unwrap();
    std::fs::write(dir.join("cut.npz"), &npz[..npz.len() / 2]).unwrap();
    let savez = root().join("tests/fixtures/layouts/savez.npz").to_str().unwrap().to_string();

    vec![
        Case { name: "empty NPY file", args: kde(&[file("empty.npy")], &["--dt", "0.01"]), expected: vec!["empty.npy", "is empty"] },
        Case {
            name: "complex data type",
            args: kde(&[file("complex.npy")], &["--dt", "0.01"]),
            expected: vec!["complex.npy", "'<c16' is not supported"],
        },
        Case {
            name: "identical positions",
            args: kde(&[file("same.npy")], &["--dt", "0.01"]),
            expected: vec!["all 50 particles have the coordinate 0", "kde.bandwidth_value"],
        },
        Case {
            name: "single particle",
            args: kde(&[file("single.npy")], &["--dt", "0.01"]),
            expected: vec!["single particle", "kde.bandwidth = \"fixed\""],
        },
        Case {
            name: "particles outside the grid",
            args: kde(&[file("outliers.npy")], &["--dt", "0.01"]),
            expected: vec!["10.0% of the particles of frame 2", "outliers.npy", "kde.lo"],
        },
        Case {
            name: "grid too coarse for the bandwidth",
            args: kde(&[file("spread.npy")], &["--dt", "0.01", "--set", "kde.bandwidth=\"fixed\"", "--set", "kde.bandwidth_value=0.001"]),
            expected: vec!["too coarse", "frame 0", "kde.intervals"],
        },
        Case {
            name: "NPZ without the positions array",
            args: kde(&[savez.clone()], &["--positions-dataset", "x"]),
            expected: vec!["savez.npz, array 'x'", "'positions', 'times'"],
        },
        Case { name: "truncated NPZ archive", args: kde(&[file("cut.npz")], &[]), expected: vec!["cut.npz", "numpy.savez"] },
        Case {
            name: "CSV without a time column",
            args: kde(&[file("no_time.csv")], &[]),
            expected: vec!["no_time.csv", "--columns time=NAME"],
        },
        Case { name: "CSV cell that is not a number", args: kde(&[file("word.csv")], &[]), expected: vec!["line 3", "'half'"] },
        Case {
            name: "CSV particle twice in a frame",
            args: kde(&[file("twice.csv")], &[]),
            expected: vec!["particle 4 at time 0", "lines 2 and 3"],
        },
        Case { name: "CSV NaN position", args: kde(&[file("nan.csv")], &[]), expected: vec!["particle 4", "time 1", "finite"] },
        Case {
            name: "CSV with --times",
            args: kde(&[file("good.csv")], &["--times", &file("empty.npy")]),
            expected: vec!["own time column"],
        },
        Case {
            name: "unknown CSV column role",
            args: kde(&[file("good.csv")], &["--columns", "z=depth"]),
            expected: vec!["--columns", "time, particle, x and y"],
        },
    ]
}

/// Bad settings, each given to `ips run` on the small experiment.
fn config_cases(dir: &Path) -> Vec<Case> {
    let run = |config: String, extra: &[&str]| -> Vec<String> {
        let out = dir.join("run").to_str().unwrap().to_string();
        let mut args: Vec<String> = vec!["run".into(), config, "--out".into(), out, "--set".into(), "simulation.t_final=0.05".into()];
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    let missing_lo = write_config(dir, |t| t.replace("lo = [-3.0]\n", ""));
    vec![
        Case { name: "missing config key", args: run(missing_lo, &[]), expected: vec!["experiment.toml", "lo"] },
        Case {
            name: "dictionary columns that are multiples",
            args: run(small(), &["--set", "learn.dictionary=[\"r^0\", \"1[0,10)\", \"r^2\"]"]),
            expected: vec!["'1[0,10)'", "multiple of that of 'r^0'", "learn.dictionary"],
        },
        Case {
            name: "dictionary column that is zero",
            args: run(small(), &["--set", "learn.dictionary=[\"r^1\", \"1[20,30)\"]"]),
            expected: vec!["'1[20,30)'", "zero column"],
        },
        Case {
            name: "dictionary term listed twice",
            args: run(small(), &["--set", "learn.dictionary=[\"r^2\", \"r^2\"]"]),
            expected: vec!["learn.dictionary", "listed twice"],
        },
        Case {
            name: "unstable solver step",
            args: run(small(), &["--set", "meanfield.cfl=1.5"]),
            expected: vec!["meanfield.cfl", "(0, 1]"],
        },
        Case {
            name: "negative maximum solver step",
            args: run(small(), &["--set", "meanfield.dt_max=-0.1"]),
            expected: vec!["dt_max", "-0.1"],
        },
    ]
}

/// Every bad input above exits with a reported error (code 1, no panic)
/// whose message names the problem.
#[test]
fn every_bad_input_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = trajectory_cases(dir.path());
    cases.extend(config_cases(dir.path()));
    for case in cases {
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let message = fails(&args);
        for part in &case.expected {
            assert!(message.contains(part), "{}: the message lacks {part:?}:\n{message}", case.name);
        }
    }
}

/// An output named like an input's record is refused before anything is
/// written: `ips learn --out density.json` beside `density.npy` would
/// replace the density's metadata with the model.
#[test]
fn output_over_an_input_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let output = ips(&["run", &small(), "--out", run_dir.to_str().unwrap(), "--until", "kde"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let density = run_dir.join("density.npy");
    let record = run_dir.join("density.json");
    let before = std::fs::read(&record).unwrap();
    let message = fails(&[
        "learn",
        "--density",
        density.to_str().unwrap(),
        "--config",
        &small(),
        "--out",
        record.to_str().unwrap(),
    ]);
    assert!(message.contains("would overwrite") && message.contains("density input"), "{message}");
    assert_eq!(std::fs::read(&record).unwrap(), before, "the density's record is untouched");
}
