//! Times [`ips_kde::estimate`] on synthetic trajectories with the default
//! configuration (Silverman bandwidth, FFT method) and the given refinement.
//!
//! Usage: `cargo run --release -p ips-kde --example time_estimate -- [DIM] [N_TIMES] [N_PARTICLES] [REFINEMENT]`,
//! by default `1 1001 20000` and the default refinement. In 1D the grid is [-3, 3] with 100 intervals,
//! in 2D [-3, 3]^2 with 64 intervals per axis. With `s = n / n_times` the
//! particles of frame `n` are half around `-(1 - s) c` and half around
//! `+(1 - s) c`, with `c = 1` (in 2D `(1, 0.5)`) and standard deviation
//! `0.3 (1 - s) + 0.05`: two clusters that merge into one, so late frames
//! have bandwidths far below the grid spacing.

use std::time::Instant;

use ips_core::artifact::{Trajectories, TrajectoryMeta, FORMAT_VERSION};
use ips_kde::{estimate, KdeConfig};
use ndarray::{Array1, Array3};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64;

fn main() {
    let arguments: Vec<f64> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse()
                .expect("arguments are DIM, N_TIMES, N_PARTICLES and REFINEMENT")
        })
        .collect();
    let dim = arguments.first().map_or(1, |&v| v as usize);
    let n_times = arguments.get(1).map_or(1001, |&v| v as usize);
    let n_particles = arguments.get(2).map_or(20_000, |&v| v as usize);
    let refinement = arguments.get(3).copied();
    let intervals = if dim == 1 { 100 } else { 64 };

    let mut rng = Pcg64::seed_from_u64(1);
    let positions = Array3::from_shape_fn((n_times, n_particles, dim), |(n, i, axis)| {
        let remaining = 1.0 - n as f64 / n_times as f64;
        let sd = 0.3 * remaining + 0.05;
        let sign = if i % 2 == 0 { -1.0 } else { 1.0 };
        let center = if axis == 0 { 1.0 } else { 0.5 };
        let z: f64 = StandardNormal.sample(&mut rng);
        sign * center * remaining + sd * z
    });
    let trajectories = Trajectories {
        positions,
        times: Array1::from_shape_fn(n_times, |n| n as f64 * 0.01),
        meta: TrajectoryMeta {
            format_version: FORMAT_VERSION,
            source: "synthetic".to_string(),
            dim,
            n_particles,
            n_times,
            dt: None,
            diffusion: None,
            kernel: None,
            seed: Some(1),
            config: serde_json::Value::Null,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            provenance: None,
        },
    };
    let config = KdeConfig {
        lo: vec![-3.0; dim],
        hi: vec![3.0; dim],
        intervals: vec![intervals; dim],
        bandwidth: Default::default(),
        bandwidth_value: None,
        method: Default::default(),
        refinement,
    };

    let start = Instant::now();
    let density = estimate(&trajectories, &config, &|| {}).expect("estimate succeeds");
    let seconds = start.elapsed().as_secs_f64();

    let bandwidth = density.bandwidth.column(0);
    let smallest = bandwidth.iter().copied().fold(f64::INFINITY, f64::min);
    let largest = bandwidth.iter().copied().fold(0.0, f64::max);
    println!(
        "{dim}D, {n_times} snapshots of {n_particles} particles on {intervals} intervals per axis, \
         refinement {}, {} threads: {seconds:.2} s ({:.2} ms per snapshot); bandwidth of axis 0 from {smallest:.4} to {largest:.4}",
        config.effective_refinement(dim),
        rayon::current_num_threads(),
        1e3 * seconds / n_times as f64
    );
}
