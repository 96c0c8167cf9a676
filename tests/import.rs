//! Trajectories in the layouts other programs write (tests/fixtures/layouts,
//! made by tests/fixtures/make_fixtures.py from the positions of
//! tests/fixtures/positions.npy) give the density of that file.

mod common;

use std::path::{Path, PathBuf};

use common::{experiment, ips, root, stderr};
use ndarray::{Array2, Axis};

/// Path of a layout fixture; leaked so that argument lists can borrow it.
fn layout(name: &str) -> &'static str {
    Box::leak(root().join("tests/fixtures/layouts").join(name).to_str().unwrap().into())
}

fn fixture(name: &str) -> &'static str {
    Box::leak(root().join("tests/fixtures").join(name).to_str().unwrap().into())
}

/// Runs `ips kde` on the trajectories given by `input` and returns the density file.
fn kde(dir: &Path, name: &str, input: &[&str]) -> PathBuf {
    let out = dir.join(format!("{name}.npy"));
    let config = experiment("cubic-small.toml");
    let mut args = vec!["kde"];
    args.extend_from_slice(input);
    args.extend(["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let output = ips(&args);
    assert!(output.status.success(), "{name}: {}", stderr(&output));
    out
}

/// The density of the float32 NPY fixture with its times file.
fn reference(dir: &Path) -> Vec<u8> {
    let out = kde(dir, "reference", &["--trajectories", fixture("positions.npy"), "--times", fixture("times.npy")]);
    std::fs::read(out).unwrap()
}

#[test]
fn numpy_layouts_give_same_density() {
    let dir = tempfile::tempdir().unwrap();
    let expected = reference(dir.path());
    let times = layout("times.npy");
    let cases: [(&str, Vec<&str>); 9] = [
        ("fortran", vec!["--trajectories", layout("fortran.npy"), "--times", times]),
        ("big_endian", vec!["--trajectories", layout("big_endian.npy"), "--times", times]),
        ("version2", vec!["--trajectories", layout("version2.npy"), "--times", times]),
        ("version3", vec!["--trajectories", layout("version3.npy"), "--times", times]),
        ("savez", vec!["--trajectories", layout("savez.npz")]),
        ("compressed", vec!["--trajectories", layout("compressed.npz")]),
        ("positional", vec!["--trajectories", layout("positional.npz"), "--positions-dataset", "arr_0", "--times-dataset", "arr_1"]),
        ("big_endian_dt", vec!["--trajectories", layout("big_endian.npy"), "--dt", "0.01"]),
        ("savez_times_file", vec!["--trajectories", layout("savez.npz"), "--times", times]),
    ];
    for (name, input) in cases {
        let found = std::fs::read(kde(dir.path(), name, &input)).unwrap();
        assert!(found == expected, "{name}: the density differs from that of positions.npy");
    }
}

#[test]
fn csv_layouts_give_same_density() {
    let dir = tempfile::tempdir().unwrap();
    let expected = reference(dir.path());
    let cases: [(&str, Vec<&str>); 4] = [
        ("long", vec!["--trajectories", layout("long.csv")]),
        ("semicolon", vec!["--trajectories", layout("semicolon.csv")]),
        ("trackmate", vec!["--trajectories", layout("trackmate.csv")]),
        ("trackpy", vec!["--trajectories", layout("trackpy.csv"), "--dt", "0.01"]),
    ];
    for (name, input) in cases {
        let found = std::fs::read(kde(dir.path(), name, &input)).unwrap();
        assert!(found == expected, "{name}: the density differs from that of positions.npy");
    }
}

#[test]
fn integer_positions_are_widened() {
    let milli = ips_core::npy::read_npy_f64(Path::new(layout("int32_milli.npy"))).unwrap();
    let positions = ips_core::npy::read_npy_f64(Path::new(fixture("positions.npy"))).unwrap();
    assert_eq!(milli.shape(), positions.shape());
    for (m, x) in milli.iter().zip(&positions) {
        assert_eq!(*m, (x * 1000.0).round(), "int32 value {m} for position {x}");
    }
}

#[test]
fn particles_leaving_change_only_their_frames() {
    let dir = tempfile::tempdir().unwrap();
    reference(dir.path());
    let expected: Array2<f64> = ndarray_npy::read_npy(dir.path().join("reference.npy")).unwrap();
    let out = kde(dir.path(), "appearing", &["--trajectories", layout("appearing.csv")]);
    let found: Array2<f64> = ndarray_npy::read_npy(out).unwrap();
    assert_eq!(found.shape(), expected.shape());
    for (n, (row, reference_row)) in found.axis_iter(Axis(0)).zip(expected.axis_iter(Axis(0))).enumerate() {
        if (5..=9).contains(&n) {
            assert!(row != reference_row, "frame {n} lost a third of its particles but kept its density");
        } else {
            assert!(row == reference_row, "frame {n} has every particle but a different density");
        }
    }
    let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("appearing.json")).unwrap()).unwrap();
    assert_eq!(meta["n_particles"], 200, "the largest particle count is recorded");
}

#[test]
fn gap_in_frames_is_named_by_learn() {
    let dir = tempfile::tempdir().unwrap();
    let out = kde(dir.path(), "gap", &["--trajectories", layout("gap.csv")]);
    let density: Array2<f64> = ndarray_npy::read_npy(&out).unwrap();
    assert_eq!(density.nrows(), 19, "the KDE keeps the 19 frames present");

    let model = dir.path().join("model.json");
    let config = experiment("cubic-small.toml");
    let output = ips(&["learn", "--density", out.to_str().unwrap(), "--config", config.to_str().unwrap(), "--out", model.to_str().unwrap()]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("frames 2 and 3"), "{message}");
    assert!(message.contains("equally spaced"), "{message}");
    assert!(!message.contains("panicked"), "{message}");
}

#[test]
fn csv_run_learns_like_npy_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = experiment("cubic-small.toml");
    let from_npy = dir.path().join("npy");
    let from_csv = dir.path().join("csv");
    for (out, input) in [
        (&from_npy, vec!["--trajectories", fixture("positions.npy"), "--times", fixture("times.npy")]),
        (&from_csv, vec!["--trajectories", layout("long.csv")]),
    ] {
        let mut args = vec!["run", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--until", "learn"];
        args.extend_from_slice(&input);
        let output = ips(&args);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let npy = common::read_model(&from_npy.join("model.json"));
    let csv = common::read_model(&from_csv.join("model.json"));
    assert_eq!(common::terms(&npy), common::terms(&csv));
}

/// Every 1D example of data/examples gives the density of positions.npy.
#[test]
fn examples_give_same_density() {
    let dir = tempfile::tempdir().unwrap();
    let example = |name: &str| -> &'static str { Box::leak(root().join("data/examples").join(name).to_str().unwrap().into()) };
    let times = example("times.npy");
    let expected = std::fs::read(kde(dir.path(), "positions", &["--trajectories", example("positions.npy"), "--times", times])).unwrap();
    let cases: [(&str, Vec<&str>); 9] = [
        ("fortran", vec!["--trajectories", example("fortran.npy"), "--times", times]),
        ("big_endian", vec!["--trajectories", example("big_endian.npy"), "--times", times]),
        ("version3", vec!["--trajectories", example("version3.npy"), "--times", times]),
        ("savez", vec!["--trajectories", example("savez.npz")]),
        ("compressed", vec!["--trajectories", example("compressed.npz")]),
        ("long", vec!["--trajectories", example("long.csv")]),
        ("semicolon", vec!["--trajectories", example("semicolon.csv")]),
        ("trackmate", vec!["--trajectories", example("trackmate.csv")]),
        ("trackpy", vec!["--trajectories", example("trackpy.csv"), "--dt", "0.01"]),
    ];
    for (name, input) in cases {
        let found = std::fs::read(kde(dir.path(), name, &input)).unwrap();
        assert!(found == expected, "data/examples {name}: the density differs from that of positions.npy");
    }
}

/// Chunked datasets with gzip, shuffle and Fletcher32 filters, string
/// attributes, and soft and external links give the density of positions.npy.
#[cfg(feature = "hdf5")]
#[test]
fn hdf5_filters_and_links_give_same_density() {
    let dir = tempfile::tempdir().unwrap();
    let expected = reference(dir.path());
    for name in ["filters.h5", "links.h5"] {
        let found = std::fs::read(kde(dir.path(), name, &["--trajectories", layout(name)])).unwrap();
        assert!(found == expected, "{name}: the density differs from that of positions.npy");
    }
}

#[cfg(feature = "hdf5")]
#[test]
fn empty_hdf5_dataset_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.npy");
    let config = experiment("cubic-small.toml");
    let output = ips(&["kde", "--trajectories", layout("empty.h5"), "--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("empty.h5"), "{message}");
    assert!(message.contains("at least two frames"), "{message}");
    assert!(!message.contains("panicked"), "{message}");
}

/// A few far outliers pass with a warning that gives their fraction.
#[test]
fn few_outliers_are_reported_with_fraction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outliers.npy");
    let mut positions = Array2::from_shape_fn((5, 200), |(n, i)| (i as f64 / 100.0 - 1.0) * (1.0 + 0.01 * n as f64));
    positions[[2, 0]] = 50.0;
    positions[[2, 1]] = -1e6;
    ndarray_npy::write_npy(&path, &positions).unwrap();
    let out = dir.path().join("d.npy");
    let config = experiment("cubic-small.toml");
    let output = ips(&["kde", "--trajectories", path.to_str().unwrap(), "--dt", "0.01", "--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("1.00% of the particles of frame 2 lie outside the KDE grid [-3, 3]"), "{message}");
    let mass_outside: ndarray::Array1<f64> = ndarray_npy::read_npy(dir.path().join("d.mass_outside.npy")).unwrap();
    assert!((mass_outside[2] - 0.01).abs() < 1e-6, "the two outliers carry 1% of the mass: {}", mass_outside[2]);
}
