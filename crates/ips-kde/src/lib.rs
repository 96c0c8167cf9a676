//! Gaussian kernel density estimation of particle snapshots on uniform grids.
//!
//! For each snapshot `n` of `N` particle positions `X_i^n` this crate
//! evaluates
//!
//! ```text
//! rho^n(x) = (1/N) sum_i K_h(x - X_i^n)
//! ```
//!
//! at the points of a uniform grid, where `K_h` is the normal density with
//! standard deviation `h` (in 2D a product of 1D normal densities with one
//! bandwidth per axis). The bandwidth is recomputed for every snapshot.
//!
//! # Usage
//!
//! [`KdeConfig`] is the `[kde]` section of an experiment file;
//! [`KdeConfig::validate`] checks it and builds the grid. [`estimate`] turns
//! a trajectory artifact into a density artifact, and [`estimate_snapshot`]
//! estimates a single snapshot:
//!
//! ```
//! use ips_kde::{estimate_snapshot, KdeConfig};
//!
//! let config: KdeConfig = toml::from_str("lo = [-3.0]\nhi = [3.0]\nintervals = [100]").unwrap();
//! let grid = config.validate(1).unwrap();
//! let points = ndarray::Array2::from_shape_fn((1000, 1), |(i, _)| (i as f64 / 999.0 - 0.5) * 2.0);
//! let snapshot = estimate_snapshot(points.view(), &grid, &config, 0).unwrap();
//! assert_eq!(snapshot.values.shape(), &[101]);
//! assert!(snapshot.mass_outside.abs() < 1e-3);
//! ```
//!
//! # Conventions
//!
//! - The grid is node-based: an axis from `lo` to `hi` with `intervals`
//!   cells has `intervals + 1` points, both end points included.
//! - Arrays are `f64` in C order; a 2D density is indexed `[x, y]`.
//! - The estimate integrates to about `1 - mass_outside`, where
//!   `mass_outside` is one minus its trapezoid integral over the grid. It
//!   is the kernel mass that falls outside the grid, up to the error of the
//!   trapezoid rule. That error makes it slightly negative when the
//!   bandwidth is well below the grid spacing, because a Gaussian sampled
//!   at spacing `dx = 2h` sums to `1 ± 0.014` depending on its offset.
//!
//! # Bandwidth
//!
//! [`BandwidthRule::Silverman`] (the default) uses
//! `0.9 min(sd, IQR / 1.349) N^(-1/5)` in 1D and
//! `min(sd_j, IQR_j / 1.349) N^(-1/6)` per axis in 2D, where the
//! normal-reference factor `(4 / (d + 2))^(1 / (d + 4))` is 1.
//! [`BandwidthRule::Scott`] uses `1.06 sd N^(-1/5)` in 1D and
//! `sd_j N^(-1/6)` in 2D, and [`BandwidthRule::Fixed`] uses
//! `kde.bandwidth_value` on every axis. `sd` is the sample standard deviation
//! (divisor `N - 1`). When the interquartile range is zero, Silverman's rule
//! uses `sd` alone. When `sd` is zero (all particles at one coordinate) or
//! there is a single particle, the rules of thumb fail with an error that
//! names the snapshot and suggests a fixed bandwidth.
//!
//! # Methods
//!
//! [`KdeMethod::Direct`] sums the Gaussians exactly, truncated beyond 8.5
//! bandwidths where the kernel is below `2e-16` of its peak. It is the
//! oracle of the default method, [`KdeMethod::Fft`]. That method bins the
//! particles linearly onto a fine grid of spacing
//! `delta = dx / r <= min(h, dx) / refinement`, with `r` an integer, that
//! extends 8.5 bandwidths beyond the grid. It convolves the binned counts
//! with the sampled Gaussian by real FFTs and reads every `r`-th fine point.
//! The Gaussian is sampled with the variance `h^2 - delta^2 / 6`, which
//! cancels the mean variance that linear binning adds. When a bandwidth is so small that the fine grid would exceed 2^22
//! points, the FFT method falls back to the direct sum.
//!
//! The default refinement is 16 in 1D and 8 in 2D
//! ([`DEFAULT_REFINEMENT_1D`], [`DEFAULT_REFINEMENT_2D`]). The table gives
//! the maximum difference between the two methods divided by the maximum
//! density, the largest over seeds 1 to 3, as printed by
//! `cargo run --release -p ips-kde --example fast_vs_direct -- 16 8`. Every
//! case has N = 20000 particles on [-3, 3] with 100 intervals in 1D
//! (`dx = 0.06`) and on [-3, 3]^2 with 64 intervals per axis in 2D
//! (`dx = 0.094`).
//!
//! | dim | particles                                | bandwidth h            | refinement | difference |
//! |-----|------------------------------------------|------------------------|------------|------------|
//! | 1   | half N(-1, 0.3^2), half N(1, 0.3^2)      | Silverman, 0.13        | 16         | 9.4e-7     |
//! | 1   | the same                                 | fixed 0.5              | 16         | 3.5e-8     |
//! | 1   | N(0, 0.25^2)                             | Silverman, 0.031       | 16         | 3.0e-6     |
//! | 1   | half N(-1, 0.05^2), half N(1, 0.05^2)    | fixed 0.03             | 16         | 2.4e-6     |
//! | 1   | N(0, 0.05^2)                             | Silverman, 0.006       | 16         | 3.0e-6     |
//! | 2   | half N(∓(1, 0.5), 0.4^2 I)               | Silverman, (0.21, 0.12)| 8          | 1.5e-5     |
//! | 2   | N(0, 0.25^2 I)                           | Silverman, 0.048       | 8          | 3.6e-5     |
//! | 2   | half N(∓(1, 0.5), 0.05^2 I)              | fixed 0.04             | 8          | 1.8e-5     |
//!
//! The differences stay this small because the binning errors of many
//! particles within one bandwidth partly cancel. For a single isolated
//! particle the difference reaches `delta^2 / (12 h^2)` of its peak on each
//! axis, which is at most `1 / (12 refinement^2)`: 3.3e-4 in 1D and 2.6e-3
//! (two axes) in 2D with the default refinements. For few particles, raise
//! `kde.refinement` or set `kde.method = "direct"`.
//!
//! The cost of the FFT method grows with the number of fine-grid points,
//! `refinement dx / min(h, dx)` per output interval and axis.
//! `examples/time_estimate.rs` times the estimate of a whole trajectory.
//!
//! # What this crate does not do
//!
//! It does not choose the grid, reflect mass at boundaries or adapt the
//! bandwidth within a snapshot.

mod bandwidth;
mod binned;
mod config;
mod convolve;
mod direct;
mod error;
mod estimate;
mod gaussian;
#[cfg(test)]
mod testdata;

pub use config::{
    BandwidthRule, KdeConfig, KdeMethod, DEFAULT_REFINEMENT_1D, DEFAULT_REFINEMENT_2D,
};
pub use error::{KdeError, Result};
pub use estimate::{estimate, estimate_frames, estimate_snapshot, FrameSource, Snapshot};
