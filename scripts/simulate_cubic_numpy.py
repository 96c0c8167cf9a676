"""Simulate case A (phi(r) = 3 r^2, D = 0.1, 1D) with NumPy alone.

An independent check of the `--trajectories` input: the particles are
simulated here without any code of the Rust workspace and saved as a plain
NumPy array of shape [n_times, N] with a separate array of times.

    python scripts/simulate_cubic_numpy.py --out /tmp/case_a
    ips run data/experiments/cubic.toml --out out/from-numpy \
        --trajectories /tmp/case_a/positions.npy --times /tmp/case_a/times.npy

The drift of phi(r) = c r^2 is -(c/N) sum_j sign(x_i - x_j) (x_i - x_j)^2.
Expanding the square over the particles left and right of x_i on the sorted
positions gives it from prefix sums of x^0, x^1, x^2: one sort per step.
"""

import argparse
from pathlib import Path

import numpy as np


def cubic_drift(x, c):
    order = np.argsort(x, kind="stable")
    y = x[order]
    n = y.size
    s0 = np.arange(n, dtype=float)  # particles strictly to the left
    s1 = np.concatenate(([0.0], np.cumsum(y)[:-1]))
    s2 = np.concatenate(([0.0], np.cumsum(y * y)[:-1]))
    t1, t2 = y.sum(), (y * y).sum()
    r0 = n - 1 - s0
    r1 = t1 - s1 - y
    r2 = t2 - s2 - y * y
    left = y * y * s0 - 2 * y * s1 + s2
    right = y * y * r0 - 2 * y * r1 + r2
    drift = np.empty(n)
    drift[order] = -(c / n) * (left - right)
    return drift


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--n", type=int, default=20_000, help="number of particles")
    parser.add_argument("--steps", type=int, default=1000, help="Euler-Maruyama steps of dt")
    parser.add_argument("--dt", type=float, default=1e-3)
    parser.add_argument("--diffusion", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--float32", action="store_true", help="save positions as float32")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    half = args.n // 2
    x = np.concatenate(
        (rng.normal(-1.0, 0.3, half), rng.normal(1.0, 0.3, args.n - half))
    )
    positions = np.empty((args.steps + 1, args.n))
    positions[0] = x
    noise = np.sqrt(2 * args.diffusion * args.dt)
    for step in range(1, args.steps + 1):
        x = x + args.dt * cubic_drift(x, 3.0) + noise * rng.standard_normal(args.n)
        positions[step] = x

    args.out.mkdir(parents=True, exist_ok=True)
    dtype = np.float32 if args.float32 else np.float64
    np.save(args.out / "positions.npy", positions.astype(dtype))
    np.save(args.out / "times.npy", np.arange(args.steps + 1) * args.dt)
    print(f"wrote {positions.shape} positions to {args.out / 'positions.npy'}")


if __name__ == "__main__":
    main()
