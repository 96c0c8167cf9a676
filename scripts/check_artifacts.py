"""Open every artifact of an `ips run` with NumPy and h5py and check it.

Run the same experiment twice, once per format, then compare:

    ips run data/experiments/cubic-small.toml --out out/npy
    ips run data/experiments/cubic-small.toml --out out/h5 --format hdf5
    python scripts/check_artifacts.py data/experiments/cubic-small.toml out/npy out/h5

Checks, for trajectories, density, model and evaluation: the dataset and
file names of docs/artifacts.md, shapes against the experiment file, dtype
float64, metadata against the experiment, and that the HDF5 datasets hold
exactly the values of the NPY files. Exits with status 1 and a list of the
failed checks when any fails.
"""

import argparse
import json
import sys
import tomllib
from pathlib import Path

import h5py
import numpy as np

failures: list[str] = []


def check(condition: bool, message: str) -> None:
    if not condition:
        failures.append(message)


def check_equal(npy: np.ndarray, h5: np.ndarray, name: str) -> None:
    check(npy.shape == h5.shape, f"{name}: NPY shape {npy.shape} != HDF5 shape {h5.shape}")
    check(npy.dtype == np.float64, f"{name}: NPY dtype {npy.dtype}, expected float64")
    check(h5.dtype == np.float64, f"{name}: HDF5 dtype {h5.dtype}, expected float64")
    if npy.shape == h5.shape:
        check(np.array_equal(npy, h5, equal_nan=True), f"{name}: NPY and HDF5 values differ")


def text_attribute(file: h5py.File, name: str) -> dict:
    value = file.attrs[name]
    if isinstance(value, bytes):
        value = value.decode()
    return json.loads(value)


def check_trajectories(experiment: dict, npy_dir: Path, h5_dir: Path) -> None:
    simulation = experiment["simulation"]
    n_steps = round(simulation["t_final"] / simulation["dt"])
    n_times = n_steps // simulation.get("save_every", 1) + 1
    shape = (n_times, simulation["n_particles"], experiment["model"]["dim"])

    positions = np.load(npy_dir / "trajectories.npy")
    times = np.load(npy_dir / "trajectories.times.npy")
    sidecar = json.loads((npy_dir / "trajectories.json").read_text())
    check(positions.shape == shape, f"trajectories.npy: shape {positions.shape}, expected {shape}")
    check(times.shape == (n_times,), f"trajectories.times.npy: shape {times.shape}")
    check(bool(np.all(np.diff(times) > 0)), "trajectories.times.npy: times must increase")
    check(sidecar["n_particles"] == shape[1], "trajectories.json: n_particles")
    check(sidecar["seed"] == experiment.get("seed", 0), "trajectories.json: seed")
    check(sidecar["provenance"]["stage"] == "simulate", "trajectories.json: provenance.stage")

    with h5py.File(h5_dir / "trajectories.h5", "r") as f:
        check(set(f.keys()) == {"positions", "times"}, f"trajectories.h5: datasets {sorted(f.keys())}")
        check(f["positions"].compression == "gzip", "trajectories.h5: positions must be gzip-compressed")
        check(f["positions"].chunks is not None, "trajectories.h5: positions must be chunked")
        check_equal(positions, f["positions"][...], "trajectories positions")
        check_equal(times, f["times"][...], "trajectories times")
        meta = text_attribute(f, "metadata")
        provenance = text_attribute(f, "provenance")
    check(meta["n_times"] == n_times, "trajectories.h5: metadata n_times")
    check(
        provenance["digest"] == sidecar["provenance"]["digest"],
        "trajectories: the NPY and HDF5 runs must have the same provenance digest",
    )


def check_density(experiment: dict, npy_dir: Path, h5_dir: Path) -> None:
    kde = experiment["kde"]
    x = np.linspace(kde["lo"][0], kde["hi"][0], kde["intervals"][0] + 1)
    density = np.load(npy_dir / "density.npy")
    check(density.shape[1:] == (x.size,), f"density.npy: shape {density.shape}, expected [n_times, {x.size}]")
    check(bool(np.all(density >= 0)), "density.npy: negative values")
    check(np.allclose(np.load(npy_dir / "density.x.npy"), x), "density.x.npy: grid points")
    mass = np.trapezoid(density, x, axis=1) + np.load(npy_dir / "density.mass_outside.npy")
    check(np.allclose(mass, 1.0, atol=1e-9), "density: integral plus mass outside must be 1")

    with h5py.File(h5_dir / "density.h5", "r") as f:
        expected = {"density", "times", "x", "bandwidth", "mass_outside"}
        check(set(f.keys()) == expected, f"density.h5: datasets {sorted(f.keys())}")
        check_equal(density, f["density"][...], "density values")
        for name in ["times", "x", "bandwidth", "mass_outside"]:
            check_equal(np.load(npy_dir / f"density.{name}.npy"), f[name][...], f"density {name}")
        meta = text_attribute(f, "metadata")
    check(meta["grid"]["axes"][0]["intervals"] == kde["intervals"][0], "density.h5: metadata grid")


def check_model(npy_dir: Path, h5_dir: Path) -> None:
    model = json.loads((npy_dir / "model.json").read_text())
    names = [t["name"] for t in model["terms"]]
    coefficients = np.array([t["coefficient"] for t in model["terms"]])
    with h5py.File(h5_dir / "model.h5", "r") as f:
        check(
            set(f.keys()) == {"term_names", "coefficients", "active", "std_errors"},
            f"model.h5: datasets {sorted(f.keys())}",
        )
        h5_names = [n.decode() if isinstance(n, bytes) else n for n in f["term_names"][...]]
        check(h5_names == names, f"model.h5: term names {h5_names} != {names}")
        check_equal(coefficients, f["coefficients"][...], "model coefficients")
        active = np.array([1.0 if t["active"] else 0.0 for t in model["terms"]])
        check_equal(active, f["active"][...], "model active")
        record = text_attribute(f, "model")
    check(record["terms"] == model["terms"], "model.h5: the 'model' attribute must equal model.json's terms")
    check(record["provenance"]["stage"] == "learn", "model.h5: provenance stage")


def check_evaluation(npy_dir: Path, h5_dir: Path) -> None:
    evaluation = json.loads((npy_dir / "eval.json").read_text())
    rows = evaluation["coefficients"]["rows"]
    with h5py.File(h5_dir / "eval.h5", "r") as f:
        record = text_attribute(f, "evaluation")
        check_equal(np.array([r["true"] for r in rows]), f["true_coefficients"][...], "eval true coefficients")
        check_equal(np.array([r["learned"] for r in rows]), f["learned_coefficients"][...], "eval learned coefficients")
    check(record["learned_kernel"] == evaluation["learned_kernel"], "eval.h5: learned kernel")
    check(record["kernel"] == evaluation["kernel"], "eval.h5: kernel errors")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", type=Path, help="experiment file (TOML) of both runs")
    parser.add_argument("npy_dir", type=Path, help="output directory of the NPY run")
    parser.add_argument("h5_dir", type=Path, help="output directory of the --format hdf5 run")
    args = parser.parse_args()
    experiment = tomllib.loads(args.experiment.read_text())

    check_trajectories(experiment, args.npy_dir, args.h5_dir)
    check_density(experiment, args.npy_dir, args.h5_dir)
    check_model(args.npy_dir, args.h5_dir)
    check_evaluation(args.npy_dir, args.h5_dir)

    if failures:
        print(f"{len(failures)} checks failed:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    print("all artifacts of the NPY and HDF5 runs agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
