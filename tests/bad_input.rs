//! Bad inputs fail with a non-zero exit and a message naming the problem.
//!
//! Every case that only checks the message is one row of the table that
//! [`every_bad_input_fails_cleanly`] runs. The builders below group the rows
//! by stage, and each writes the files a row needs into that row's folder.

mod common;

use std::path::{Path, PathBuf};

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

/// Runs `ips` expecting success, for the setup of a case.
fn succeeds(args: &[&str]) {
    let output = ips(args);
    assert!(output.status.success(), "setup failed: {args:?}\n{}", stderr(&output));
}

fn small() -> String {
    experiment("cubic-small.toml").to_str().unwrap().to_string()
}

fn text(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// Creates a folder under `dir` for the files of one case, so that cases
/// never share an input or an output.
fn case_dir(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).unwrap();
    path
}

fn write_config(dir: &Path, edit: impl Fn(String) -> String) -> String {
    let text = std::fs::read_to_string(experiment("cubic-small.toml")).unwrap();
    let path = dir.join("experiment.toml");
    std::fs::write(&path, edit(text)).unwrap();
    path.to_str().unwrap().to_string()
}

/// `ips run` of the small experiment on the trajectories at `positions`.
fn run_with_trajectories(dir: &Path, positions: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = strings(&["run", &small(), "--out", &text(&dir.join("out")), "--trajectories", &text(positions)]);
    args.extend(strings(extra));
    args
}

/// `ips run` of the small experiment into `dir/out` with `extra` options.
fn run_small(dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = strings(&["run", &small(), "--out", &text(&dir.join("out"))]);
    args.extend(strings(extra));
    args
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

/// Bad trajectory files, each imported by `ips kde` with the small experiment.
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
    std::fs::write(dir.join("header.csv"), "t,particle,x\n").unwrap();
    // An NPZ archive cut in half loses its central directory.
    let npz = std::fs::read(root().join("tests/fixtures/layouts/savez.npz")).unwrap();
    std::fs::write(dir.join("cut.npz"), &npz[..npz.len() / 2]).unwrap();
    let savez = root().join("tests/fixtures/layouts/savez.npz").to_str().unwrap().to_string();
    let object = root().join("tests/fixtures/layouts/object.npy").to_str().unwrap().to_string();

    vec![
        Case { name: "empty NPY file", args: kde(&[file("empty.npy")], &["--dt", "0.01"]), expected: vec!["empty.npy", "is empty"] },
        Case {
            name: "complex data type",
            args: kde(&[file("complex.npy")], &["--dt", "0.01"]),
            expected: vec!["complex.npy", "'<c16' is not supported"],
        },
        Case {
            name: "NPY array of Python objects",
            args: kde(&[object], &["--dt", "0.01"]),
            expected: vec!["object.npy", "never unpickles"],
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
        Case {
            name: "CSV with a header only",
            args: kde(&[file("header.csv")], &[]),
            expected: vec!["header.csv", "no data rows"],
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

/// Bad trajectory files, options and settings given to `ips run`.
fn run_cases(dir: &Path) -> Vec<Case> {
    let mut cases = vec![Case {
        name: "missing experiment file",
        args: strings(&["run", "no/such/experiment.toml", "--out", &text(&dir.join("unused"))]),
        expected: vec!["no/such/experiment.toml"],
    }];

    let sub = case_dir(dir, "missing_trajectories");
    cases.push(Case {
        name: "missing trajectories file",
        args: run_with_trajectories(&sub, &sub.join("absent.npy"), &["--dt", "0.001"]),
        expected: vec!["absent.npy"],
    });

    let sub = case_dir(dir, "wrong_shape");
    write_npy(sub.join("flat.npy"), &Array1::<f64>::zeros(10)).unwrap();
    cases.push(Case {
        name: "trajectories of wrong shape",
        args: run_with_trajectories(&sub, &sub.join("flat.npy"), &["--dt", "0.001"]),
        expected: vec!["flat.npy", "[n_times, N]"],
    });

    let sub = case_dir(dir, "three_axes");
    write_npy(sub.join("xyz.npy"), &Array3::<f64>::zeros((4, 10, 3))).unwrap();
    cases.push(Case {
        name: "trajectories with three axes",
        args: run_with_trajectories(&sub, &sub.join("xyz.npy"), &["--dt", "0.001"]),
        expected: vec!["[4, 10, 3]"],
    });

    let sub = case_dir(dir, "nan");
    let mut positions = Array2::<f64>::zeros((5, 20));
    positions[[3, 7]] = f64::NAN;
    write_npy(sub.join("nan.npy"), &positions).unwrap();
    cases.push(Case {
        name: "NaN in trajectories names frame and particle",
        args: run_with_trajectories(&sub, &sub.join("nan.npy"), &["--dt", "0.001"]),
        expected: vec!["particle 7", "frame 3"],
    });

    let sub = case_dir(dir, "without_times");
    write_npy(sub.join("p.npy"), &Array2::<f64>::zeros((5, 20))).unwrap();
    cases.push(Case {
        name: "trajectories without times",
        args: run_with_trajectories(&sub, &sub.join("p.npy"), &[]),
        expected: vec!["--times", "--dt"],
    });

    let sub = case_dir(dir, "times_length");
    write_npy(sub.join("p.npy"), &Array2::<f64>::zeros((5, 20))).unwrap();
    write_npy(sub.join("t.npy"), &Array1::<f64>::zeros(4)).unwrap();
    cases.push(Case {
        name: "times of wrong length",
        args: run_with_trajectories(&sub, &sub.join("p.npy"), &["--times", &text(&sub.join("t.npy"))]),
        expected: vec!["t.npy", "[5]"],
    });

    let sub = case_dir(dir, "times_order");
    write_npy(sub.join("p.npy"), &Array2::<f64>::zeros((4, 20))).unwrap();
    write_npy(sub.join("t.npy"), &Array1::from(vec![0.0, 0.1, 0.1, 0.3])).unwrap();
    cases.push(Case {
        name: "times not increasing",
        args: run_with_trajectories(&sub, &sub.join("p.npy"), &["--times", &text(&sub.join("t.npy"))]),
        expected: vec!["times[2]", "increase"],
    });

    let sub = case_dir(dir, "uneven_times");
    let positions = Array2::from_shape_fn((40, 200), |(n, i)| (i as f64 / 100.0 - 1.0) * (1.0 - 0.001 * n as f64));
    write_npy(sub.join("p.npy"), &positions).unwrap();
    let mut times: Array1<f64> = (0..40).map(|k| k as f64 * 1e-3).collect();
    times[30] += 5e-4;
    write_npy(sub.join("t.npy"), &times).unwrap();
    cases.push(Case {
        name: "uneven times named where they are",
        args: run_with_trajectories(&sub, &sub.join("p.npy"), &["--times", &text(&sub.join("t.npy"))]),
        expected: vec!["frames 29 and 30"],
    });

    let sub = case_dir(dir, "negative_dt");
    write_npy(sub.join("p.npy"), &Array2::<f64>::zeros((4, 20))).unwrap();
    cases.push(Case {
        name: "negative --dt option",
        args: run_with_trajectories(&sub, &sub.join("p.npy"), &["--dt", "-0.1"]),
        expected: vec!["--dt"],
    });

    let sub = case_dir(dir, "dimension");
    write_npy(sub.join("p2d.npy"), &Array3::<f64>::zeros((4, 20, 2))).unwrap();
    cases.push(Case {
        name: "2D trajectories for a 1D experiment",
        args: run_with_trajectories(&sub, &sub.join("p2d.npy"), &["--dt", "0.01"]),
        expected: vec!["model.dim"],
    });

    let sub = case_dir(dir, "truncated");
    write_npy(sub.join("cut.npy"), &Array2::<f64>::zeros((10, 50))).unwrap();
    let bytes = std::fs::read(sub.join("cut.npy")).unwrap();
    std::fs::write(sub.join("cut.npy"), &bytes[..bytes.len() / 2]).unwrap();
    cases.push(Case {
        name: "truncated trajectories file",
        args: run_with_trajectories(&sub, &sub.join("cut.npy"), &["--dt", "0.01"]),
        expected: vec!["cut.npy"],
    });

    let sub = case_dir(dir, "unknown_diffusion");
    let config = write_config(&sub, |t| t.replace("diffusion = 0.1\n", ""));
    let positions = Array2::from_shape_fn((6, 50), |(n, i)| (i as f64 / 25.0 - 1.0) * (1.0 + 0.01 * n as f64));
    write_npy(sub.join("p.npy"), &positions).unwrap();
    let out = text(&sub.join("out"));
    cases.push(Case {
        name: "unknown diffusion for learning",
        args: strings(&["run", &config, "--out", &out, "--trajectories", &text(&sub.join("p.npy")), "--dt", "0.01"]),
        expected: vec!["model.diffusion", "learn.diffusion"],
    });

    let sub = case_dir(dir, "dt_alone");
    cases.push(Case {
        name: "--dt without trajectories",
        args: run_small(&sub, &["--dt", "0.001"]),
        expected: vec!["--trajectories"],
    });
    cases
}

/// Bad settings, each given to `ips run` on the small experiment.
fn config_cases(dir: &Path) -> Vec<Case> {
    let run = |sub: &Path, config: String, extra: &[&str]| -> Vec<String> {
        let mut args = strings(&["run", &config, "--out", &text(&sub.join("out")), "--set", "simulation.t_final=0.05"]);
        args.extend(strings(extra));
        args
    };
    let config = |name: &str, edit: fn(String) -> String| -> (PathBuf, String) {
        let sub = case_dir(dir, name);
        let path = write_config(&sub, edit);
        (sub, path)
    };
    let (missing_lo, missing_lo_config) = config("missing_lo", |t| t.replace("lo = [-3.0]\n", ""));
    let (misspelt, misspelt_config) = config("misspelt", |t| t.replace("sparsity = 0.1", "sparsity = 0.1\nsparsityy = 0.2"));
    let (inverse, inverse_config) = config("inverse", |t| t.replace("\"r^7\"]", "\"r^7\", \"1/r\"]"));
    let sub = |name: &str| case_dir(dir, name);
    vec![
        Case { name: "missing config key", args: run(&missing_lo, missing_lo_config, &[]), expected: vec!["experiment.toml", "lo"] },
        Case {
            name: "unknown config key",
            args: run(&misspelt, misspelt_config, &[]),
            expected: vec!["sparsityy", "experiment.toml"],
        },
        Case {
            name: "inverse term without cut-off",
            args: run(&inverse, inverse_config, &[]),
            expected: vec!["1/r", "eps"],
        },
        Case {
            name: "unknown --set key",
            args: run(&sub("set_key"), small(), &["--set", "learn.lamda=0.1"]),
            expected: vec!["lamda", "--set"],
        },
        Case {
            name: "--set without value",
            args: run(&sub("set_value"), small(), &["--set", "learn.sparsity"]),
            expected: vec!["KEY=VALUE"],
        },
        Case {
            name: "negative simulation step",
            args: run(&sub("simulation_dt"), small(), &["--set", "simulation.dt=-0.001"]),
            expected: vec!["simulation.dt"],
        },
        Case {
            name: "negative diffusion",
            args: run(&sub("diffusion"), small(), &["--set", "model.diffusion=-1"]),
            expected: vec!["model.diffusion"],
        },
        Case {
            name: "dictionary columns that are multiples",
            args: run(&sub("multiples"), small(), &["--set", "learn.dictionary=[\"r^0\", \"1[0,10)\", \"r^2\"]"]),
            expected: vec!["'1[0,10)'", "multiple of that of 'r^0'", "learn.dictionary"],
        },
        Case {
            name: "dictionary column that is zero",
            args: run(&sub("zero_column"), small(), &["--set", "learn.dictionary=[\"r^1\", \"1[20,30)\"]"]),
            expected: vec!["'1[20,30)'", "zero column"],
        },
        Case {
            name: "dictionary term listed twice",
            args: run(&sub("twice"), small(), &["--set", "learn.dictionary=[\"r^2\", \"r^2\"]"]),
            expected: vec!["learn.dictionary", "listed twice"],
        },
        Case {
            name: "unstable solver step",
            args: run(&sub("cfl"), small(), &["--set", "meanfield.cfl=1.5"]),
            expected: vec!["meanfield.cfl", "(0, 1]"],
        },
        Case {
            name: "negative maximum solver step",
            args: run(&sub("dt_max"), small(), &["--set", "meanfield.dt_max=-0.1"]),
            expected: vec!["dt_max", "-0.1"],
        },
    ]
}

/// Bad settings and outputs given to `ips simulate`.
fn simulate_cases(dir: &Path) -> Vec<Case> {
    let simulate = |name: &str, out: &str, extra: &[&str]| -> Vec<String> {
        let out = case_dir(dir, name).join(out);
        let mut args = strings(&["simulate", &small(), "--out", &text(&out)]);
        args.extend(strings(extra));
        args
    };
    vec![
        Case {
            name: "simulation without particles",
            args: simulate("no_particles", "t.npy", &["--set", "simulation.n_particles=0"]),
            expected: vec!["simulation.n_particles = 0", "at least one particle"],
        },
        Case {
            name: "simulation to a negative final time",
            args: simulate("negative_t_final", "t.npy", &["--set", "simulation.t_final=-1"]),
            expected: vec!["simulation.t_final = -1", "must be positive"],
        },
        Case {
            name: "negative initial spread",
            args: simulate("negative_sd", "t.npy", &["--set", "initial.components.0.sd=-0.3"]),
            expected: vec!["initial.components[0].sd = -0.3", "must be positive"],
        },
        Case {
            name: "simulation output of unknown type",
            args: simulate("output_type", "t.xyz", &[]),
            expected: vec!["t.xyz", "must end in .npy or .h5"],
        },
    ]
}

/// The artifacts of one short run of the small experiment, which the
/// later stages' cases read or damage.
struct Artifacts {
    density: String,
    model: String,
    trajectories: String,
    truncated_model: String,
    /// An experiment in 2D, the wrong dimension for the 1D artifacts.
    planar: String,
}

fn prepare_artifacts(dir: &Path) -> Artifacts {
    let run = dir.join("run");
    succeeds(&["run", &small(), "--out", &text(&run), "--until", "learn", "--set", "simulation.t_final=0.05"]);
    let model = std::fs::read(run.join("model.json")).unwrap();
    let truncated_model = dir.join("cut.json");
    std::fs::write(&truncated_model, &model[..model.len() / 2]).unwrap();
    Artifacts {
        density: text(&run.join("density.npy")),
        model: text(&run.join("model.json")),
        trajectories: text(&run.join("trajectories.npy")),
        truncated_model: text(&truncated_model),
        planar: text(&experiment("radial-two-small.toml")),
    }
}

/// Bad densities, settings and option mixes given to `ips learn`.
fn learn_cases(dir: &Path, artifacts: &Artifacts) -> Vec<Case> {
    let learn = |name: &str, density: &str, config: &str, extra: &[&str]| -> Vec<String> {
        let out = case_dir(dir, name).join("model.json");
        let mut args = strings(&["learn", "--density", density, "--config", config, "--out", &text(&out)]);
        args.extend(strings(extra));
        args
    };
    let sub = case_dir(dir, "simulated_as_density");
    let simulated = text(&sub.join("t.npy"));
    succeeds(&["simulate", &small(), "--out", &simulated, "--set", "simulation.t_final=0.01"]);
    let absent = text(&dir.join("nothing.npy"));
    vec![
        Case { name: "missing density for learn", args: learn("missing_density", &absent, &small(), &[]), expected: vec!["nothing"] },
        Case {
            name: "trajectories given as density",
            args: learn("simulated_as_density", &simulated, &small(), &[]),
            expected: vec!["ips kde"],
        },
        Case {
            name: "learn density of wrong dimension",
            args: learn("learn_dimension", &artifacts.density, &artifacts.planar, &[]),
            expected: vec!["density.npy' is 1D", "model.dim = 2"],
        },
        Case {
            name: "density for a particle formulation",
            args: learn("particle_formulation", &artifacts.density, &small(), &["--set", "learn.formulation=\"weak-particles\""]),
            expected: vec!["weak-particles", "give --trajectories FILE instead of --density"],
        },
        Case {
            name: "particle formulation with breakpoints but no density",
            args: strings(&[
                "learn",
                "--trajectories",
                &artifacts.trajectories,
                "--config",
                &text(&experiment("opinion-polarization-small.toml")),
                "--out",
                &text(&case_dir(dir, "pieces_without_density").join("model.json")),
                "--set",
                "learn.formulation=\"weak-particles\"",
            ]),
            expected: vec!["learn.breakpoints", "--density FILE"],
        },
        Case {
            name: "density of another run for breakpoints",
            args: learn(
                "other_run",
                &artifacts.density,
                &text(&experiment("opinion-polarization-small.toml")),
                &["--trajectories", &simulated, "--set", "learn.formulation=\"weak-particles\""],
            ),
            expected: vec!["51 from t = 0 to 0.05", "11 from t = 0 to 0.01", "estimated from these trajectories"],
        },
        Case {
            name: "density beside trajectories without breakpoints",
            args: learn(
                "unused_density",
                &artifacts.density,
                &small(),
                &["--trajectories", &artifacts.trajectories, "--set", "learn.formulation=\"weak-particles\""],
            ),
            expected: vec!["only to detect learn.breakpoints", "leave --density out"],
        },
        Case {
            name: "unknown learn formulation",
            args: learn("unknown_formulation", &artifacts.density, &small(), &["--set", "learn.formulation=\"weird\""]),
            expected: vec!["learn.formulation", "`weird`", "`strong`"],
        },
    ]
}

/// Bad initial densities, models and times given to `ips meanfield`.
fn meanfield_cases(dir: &Path, artifacts: &Artifacts) -> Vec<Case> {
    let meanfield = |name: &str, initial: &str, config: &str, extra: &[&str]| -> Vec<String> {
        let out = case_dir(dir, name).join("solution.npy");
        let mut args = strings(&["meanfield", "--initial", initial, "--config", config, "--out", &text(&out)]);
        args.extend(strings(extra));
        args
    };
    let density = artifacts.density.as_str();
    vec![
        Case {
            name: "meanfield to a negative final time",
            args: meanfield("meanfield_t_final", density, &small(), &["--set", "meanfield.t_final=-1"]),
            expected: vec!["meanfield.t_final = -1", "choose an earlier snapshot or a later t_final"],
        },
        Case {
            name: "meanfield snapshot out of range",
            args: meanfield("snapshot", density, &small(), &["--snapshot", "1000"]),
            expected: vec!["--snapshot 1000 is out of range", "51 snapshots"],
        },
        Case {
            name: "truncated model for meanfield",
            args: meanfield("meanfield_cut_model", density, &small(), &["--model", &artifacts.truncated_model]),
            expected: vec!["cut.json", "cut short"],
        },
        Case {
            name: "meanfield density of wrong dimension",
            args: meanfield("meanfield_dimension", density, &artifacts.planar, &[]),
            expected: vec!["density.npy' is 1D", "model.dim = 2"],
        },
        Case {
            name: "trajectories as initial density",
            args: meanfield("meanfield_trajectories", &artifacts.trajectories, &small(), &[]),
            expected: vec!["trajectories.npy", "ips kde"],
        },
    ]
}

/// Bad models and densities given to `ips eval`.
fn eval_cases(dir: &Path, artifacts: &Artifacts) -> Vec<Case> {
    let eval = |name: &str, model: &str, density: Option<&str>, config: &str| -> Vec<String> {
        let out = case_dir(dir, name).join("eval.json");
        let mut args = strings(&["eval", "--model", model, "--config", config, "--out", &text(&out)]);
        if let Some(density) = density {
            args.extend(strings(&["--density", density]));
        }
        args
    };
    let record = artifacts.density.replace("density.npy", "density.json");
    vec![
        Case {
            name: "truncated model for eval",
            args: eval("eval_cut_model", &artifacts.truncated_model, None, &small()),
            expected: vec!["cut.json", "cut short"],
        },
        Case {
            name: "density record given as model",
            args: eval("record_as_model", &record, None, &small()),
            expected: vec!["density.json", "models come from `ips learn`"],
        },
        Case {
            name: "eval density of wrong dimension",
            args: eval("eval_dimension", &artifacts.model, Some(&artifacts.density), &artifacts.planar),
            expected: vec!["density.npy' is 1D", "model.dim = 2"],
        },
        Case {
            name: "trajectories as eval density",
            args: eval("eval_trajectories", &artifacts.model, Some(&artifacts.trajectories), &small()),
            expected: vec!["trajectories.npy", "ips kde"],
        },
    ]
}

/// Bad sweep files given to `ips sweep points`.
fn sweep_cases(dir: &Path) -> Vec<Case> {
    let sweep = |name: &str, body: &str| -> Vec<String> {
        let path = case_dir(dir, name).join("sweep.toml");
        std::fs::write(&path, format!("name = \"test\"\nexperiment = \"{}\"\n{body}", small())).unwrap();
        strings(&["sweep", "points", &text(&path)])
    };
    let axis = "[[axes]]\nname = \"n\"\nkey = \"simulation.n_particles\"\n";
    vec![
        Case {
            name: "unknown sweep key",
            args: sweep("sweep_key", &format!("seedz = [1]\n{axis}values = [300]\n")),
            expected: vec!["sweep.toml", "unknown field `seedz`", "`seeds`"],
        },
        Case {
            name: "sweep axis without values",
            args: sweep("sweep_values", &format!("seeds = [1]\n{axis}values = []\n")),
            expected: vec!["sweep.toml", "axes[0].values", "at least one value"],
        },
        Case {
            name: "missing sweep file",
            args: strings(&["sweep", "points", &text(&dir.join("no_sweep.toml"))]),
            expected: vec!["no_sweep.toml"],
        },
    ]
}

/// Bad plans given to `ips reproduce`. Each fails before any experiment runs.
fn reproduce_cases(dir: &Path) -> Vec<Case> {
    let reproduce = |name: &str, plan: &str, extra: &[&str]| -> Vec<String> {
        let sub = case_dir(dir, name);
        let path = sub.join("plan.toml");
        std::fs::write(&path, plan).unwrap();
        let mut args = strings(&["reproduce", "--plan", &text(&path), "--out", &text(&sub.join("out"))]);
        args.extend(strings(extra));
        args
    };
    let cubic = format!("[[experiment]]\nfile = '{}'\n", small());
    vec![
        Case {
            name: "plan naming a missing experiment",
            args: reproduce("plan_missing", "[[experiment]]\nfile = 'missing.toml'\n", &[]),
            expected: vec!["plan.toml", "missing.toml", "relative to the plan's folder"],
        },
        Case {
            name: "unknown plan key",
            args: reproduce("plan_key", &format!("{cubic}tolerence = 0.1\n"), &[]),
            expected: vec!["plan.toml", "unknown field `tolerence`"],
        },
        Case {
            name: "joint of an unknown member",
            args: reproduce("plan_joint", &format!("{cubic}[[joint]]\nname = 'j'\nmembers = ['ghost']\n"), &[]),
            expected: vec!["[[joint]] 'j'", "'ghost'", "the plan has cubic-small"],
        },
        Case {
            name: "--only naming no experiment",
            args: reproduce("plan_only", &cubic, &["--only", "nothing"]),
            expected: vec!["--only nothing", "the plan has cubic-small"],
        },
        Case {
            name: "missing plan file",
            args: strings(&["reproduce", "--plan", &text(&dir.join("no_plan.toml")), "--out", &text(&dir.join("unused"))]),
            expected: vec!["no_plan.toml", "--plan FILE"],
        },
    ]
}

/// Every bad input above exits with a reported error (code 1, no panic)
/// whose message names the problem.
#[test]
fn every_bad_input_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = prepare_artifacts(dir.path());
    let mut cases = run_cases(dir.path());
    cases.extend(config_cases(dir.path()));
    cases.extend(trajectory_cases(&case_dir(dir.path(), "import")));
    cases.extend(simulate_cases(dir.path()));
    cases.extend(learn_cases(dir.path(), &artifacts));
    cases.extend(meanfield_cases(dir.path(), &artifacts));
    cases.extend(eval_cases(dir.path(), &artifacts));
    cases.extend(sweep_cases(dir.path()));
    cases.extend(reproduce_cases(dir.path()));
    for case in cases {
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let message = fails(&args);
        for part in &case.expected {
            assert!(message.contains(part), "{}: the message lacks {part:?}:\n{message}", case.name);
        }
    }
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
