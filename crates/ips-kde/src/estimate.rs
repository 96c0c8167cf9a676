//! Estimation of one snapshot and of a whole trajectory.

use ips_core::artifact::{Density, DensityMeta, Trajectories, FORMAT_VERSION};
use ips_core::{Grid, Kernel};
use ndarray::{Array1, Array2, ArrayD, ArrayView2, Axis as ArrayAxis, IxDyn};
use rayon::prelude::*;

use crate::bandwidth::select_bandwidth;
use crate::binned::FineGrid;
use crate::config::{KdeConfig, KdeMethod};
use crate::direct::direct_sum;
use crate::error::{KdeError, Result};

/// Magnitude of a negative mass outside the grid above which [`estimate`] logs a warning.
const MASS_OUTSIDE_WARNING: f64 = 0.01;

/// Kernel density estimate of one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Density at the grid points, of the grid's shape.
    pub values: ArrayD<f64>,
    /// Bandwidth per axis, in position units.
    pub bandwidth: Vec<f64>,
    /// One minus the integral of `values` over the grid by the trapezoid rule.
    pub mass_outside: f64,
}

/// Estimates the density of one snapshot of positions `[N, d]` on `grid`.
///
/// `grid` is normally the one returned by [`KdeConfig::validate`]; `snapshot`
/// is the frame index used in error messages.
///
/// # Errors
/// [`KdeError::DimensionMismatch`] when `d` differs from the grid dimension,
/// [`KdeError::EmptySnapshot`], [`KdeError::InvalidPosition`] for a
/// non-finite position, [`KdeError::DegenerateBandwidth`] when a rule of
/// thumb gives no positive bandwidth, and [`KdeError::InvalidConfig`] for an
/// invalid bandwidth or refinement.
pub fn estimate_snapshot(
    points: ArrayView2<f64>,
    grid: &Grid,
    config: &KdeConfig,
    snapshot: usize,
) -> Result<Snapshot> {
    config.validate_estimator()?;
    check_positions(points, grid, snapshot)?;

    let bandwidth = select_bandwidth(points, config, snapshot)?;
    let values = match config.method {
        KdeMethod::Direct => direct_sum(points, grid, &bandwidth),
        KdeMethod::Fft => {
            let refinement = config.effective_refinement(grid.dim());
            match FineGrid::new(grid, &bandwidth, refinement) {
                Some(fine) => fine.estimate(points, &bandwidth),
                None => {
                    tracing::debug!(
                        snapshot,
                        ?bandwidth,
                        "the fine grid of the FFT method would be too large; using the direct sum"
                    );
                    direct_sum(points, grid, &bandwidth)
                }
            }
        }
    };

    let mass_outside = 1.0 - trapezoid_integral(&values, grid);
    Ok(Snapshot {
        values,
        bandwidth,
        mass_outside,
    })
}

/// KDE of every snapshot, parallel over snapshots with rayon, deterministic
/// for any thread count. `on_snapshot` is called once per finished snapshot
/// (for a progress bar), also for a snapshot that failed.
///
/// The result has values `[n_times, grid...]`, the bandwidth `[n_times, d]`
/// and the mass outside the grid `[n_times]`. Its metadata copies the
/// diffusion and kernel of the trajectories and records `config` as JSON.
///
/// # Errors
/// Any error of [`KdeConfig::validate`] or [`estimate_snapshot`]; when
/// several snapshots fail, the error of the first one in time order.
pub fn estimate(
    trajectories: &Trajectories,
    config: &KdeConfig,
    on_snapshot: &(dyn Fn() + Sync),
) -> Result<Density> {
    let positions = &trajectories.positions;
    let frames: Vec<ArrayView2<f64>> = positions.axis_iter(ArrayAxis(0)).collect();
    let source = FrameSource {
        dim: trajectories.dim(),
        times: &trajectories.times,
        diffusion: trajectories.meta.diffusion,
        kernel: trajectories.meta.kernel.as_ref(),
    };
    estimate_frames(&frames, &source, config, on_snapshot)
}

/// Times, dimension and metadata of the frames given to [`estimate_frames`].
#[derive(Debug, Clone, Copy)]
pub struct FrameSource<'a> {
    /// Spatial dimension of the positions.
    pub dim: usize,
    /// Observation time of each frame.
    pub times: &'a Array1<f64>,
    /// Diffusion coefficient and kernel copied into the density metadata.
    pub diffusion: Option<f64>,
    pub kernel: Option<&'a Kernel>,
}

/// KDE of frames whose particle count may differ from frame to frame, as in
/// tracking data where particles enter and leave the field of view. Each
/// frame is normalised by its own count, so every snapshot integrates to
/// one. The metadata records the largest count as `n_particles`.
///
/// # Errors
/// As [`estimate`], and [`KdeError::FrameCountMismatch`] when the number of
/// frames and times differ.
pub fn estimate_frames(
    frames: &[ArrayView2<f64>],
    source: &FrameSource,
    config: &KdeConfig,
    on_snapshot: &(dyn Fn() + Sync),
) -> Result<Density> {
    let grid = config.validate(source.dim)?;
    let n_times = frames.len();
    let n_particles = frames.iter().map(|f| f.nrows()).max().unwrap_or(0);
    if source.times.len() != n_times {
        return Err(KdeError::FrameCountMismatch {
            frames: n_times,
            times: source.times.len(),
        });
    }
    let _span = tracing::info_span!("kde", n_times, n_particles, method = ?config.method).entered();

    let results: Vec<Result<Snapshot>> = (0..n_times)
        .into_par_iter()
        .map(|n| {
            let result = estimate_snapshot(frames[n], &grid, config, n);
            on_snapshot();
            result
        })
        .collect();
    let snapshots = results.into_iter().collect::<Result<Vec<_>>>()?;

    let mut shape = vec![n_times];
    shape.extend(grid.shape());
    let mut values = ArrayD::zeros(IxDyn(&shape));
    let mut bandwidth = Array2::zeros((n_times, grid.dim()));
    let mut mass_outside = Array1::zeros(n_times);
    for (n, snapshot) in snapshots.iter().enumerate() {
        values
            .index_axis_mut(ArrayAxis(0), n)
            .assign(&snapshot.values);
        bandwidth
            .row_mut(n)
            .assign(&Array1::from(snapshot.bandwidth.clone()));
        mass_outside[n] = snapshot.mass_outside;
    }
    warn_about_coarse_grid(&mass_outside);

    let config_json = serde_json::to_value(config)
        .map_err(|e| KdeError::invalid("kde", e, "the configuration cannot be recorded as JSON"))?;
    let meta = DensityMeta {
        format_version: FORMAT_VERSION,
        source: "kde".to_string(),
        grid,
        n_particles: Some(n_particles),
        diffusion: source.diffusion,
        kernel: source.kernel.cloned(),
        config: config_json,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        provenance: None,
    };
    Ok(Density {
        values,
        times: source.times.clone(),
        bandwidth,
        mass_outside,
        meta,
    })
}

/// Checks that the positions match the grid dimension, are not empty and are finite.
fn check_positions(points: ArrayView2<f64>, grid: &Grid, snapshot: usize) -> Result<()> {
    if points.ncols() != grid.dim() {
        return Err(KdeError::DimensionMismatch {
            field: "the grid".to_string(),
            found: grid.dim(),
            expected: points.ncols(),
        });
    }
    if points.nrows() == 0 {
        return Err(KdeError::EmptySnapshot { snapshot });
    }
    if let Some(((particle, axis), &value)) = points.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(KdeError::InvalidPosition {
            snapshot,
            particle,
            axis,
            value,
        });
    }
    Ok(())
}

/// Integral of grid values by the trapezoid rule, in 2D the product rule.
fn trapezoid_integral(values: &ArrayD<f64>, grid: &Grid) -> f64 {
    let weights: Vec<Vec<f64>> = grid
        .axes
        .iter()
        .map(|axis| {
            let mut w = vec![axis.dx(); axis.len()];
            w[0] *= 0.5;
            w[axis.len() - 1] *= 0.5;
            w
        })
        .collect();
    values
        .indexed_iter()
        .map(|(index, &v)| {
            let weight: f64 = weights
                .iter()
                .enumerate()
                .map(|(j, w)| w[index[j]])
                .product();
            weight * v
        })
        .sum()
}

/// Logs one warning, for the snapshot with the most negative mass outside
/// the grid, when that is below `-MASS_OUTSIDE_WARNING`. A negative value
/// means the grid is too coarse to integrate the kernel. A large positive
/// value is left to the caller, which receives `mass_outside` in the result.
fn warn_about_coarse_grid(mass_outside: &Array1<f64>) {
    let Some((smallest, &least)) = mass_outside
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
    else {
        return;
    };
    if least < -MASS_OUTSIDE_WARNING {
        tracing::warn!(
            snapshot = smallest,
            mass_outside = least,
            "the trapezoid integral of the density estimate exceeds 1 by {:.1}% because the \
             bandwidth is small against the grid spacing; increase kde.intervals for an accurate integral",
            -100.0 * least
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BandwidthRule;
    use crate::testdata::{max_relative_difference, normal_mixture};
    use ips_core::artifact::TrajectoryMeta;
    use ips_core::Axis;
    use ndarray::{array, Array3};
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};
    use rand_pcg::Pcg64;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn config(dim: usize, intervals: usize) -> KdeConfig {
        KdeConfig {
            lo: vec![-3.0; dim],
            hi: vec![3.0; dim],
            intervals: vec![intervals; dim],
            bandwidth: BandwidthRule::Silverman,
            bandwidth_value: None,
            method: KdeMethod::Fft,
            refinement: None,
        }
    }

    /// Trajectories whose frame `n` is a two-cluster mixture of standard
    /// deviation `0.3 / (n + 1)` (seeded by `n`).
    fn trajectories(n_times: usize, n_particles: usize, dim: usize) -> Trajectories {
        let mut positions = Array3::zeros((n_times, n_particles, dim));
        for n in 0..n_times {
            let sd = 0.3 / (n + 1) as f64;
            let frame = normal_mixture(n_particles, dim, 1.0, sd, n as u64);
            positions.index_axis_mut(ArrayAxis(0), n).assign(&frame);
        }
        Trajectories {
            positions,
            times: Array1::from_shape_fn(n_times, |n| 0.5 * n as f64),
            meta: TrajectoryMeta {
                format_version: FORMAT_VERSION,
                source: "test".to_string(),
                dim,
                n_particles,
                n_times,
                dt: Some(0.01),
                diffusion: Some(0.25),
                kernel: None,
                seed: Some(0),
                config: serde_json::Value::Null,
                tool_version: "test".to_string(),
                provenance: None,
            },
        }
    }

    /// Complementary error function, Abramowitz and Stegun 7.1.26
    /// (absolute error below 1.5e-7).
    fn erfc(x: f64) -> f64 {
        if x < 0.0 {
            return 2.0 - erfc(-x);
        }
        let t = 1.0 / (1.0 + 0.327_591_1 * x);
        let polynomial = t
            * (0.254_829_592
                + t * (-0.284_496_736
                    + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
        polynomial * (-x * x).exp()
    }

    /// Probability that a standard normal variable exceeds `z`.
    fn normal_tail(z: f64) -> f64 {
        0.5 * erfc(z / std::f64::consts::SQRT_2)
    }

    #[test]
    fn fft_matches_direct_through_config() {
        let points = normal_mixture(20_000, 1, 1.0, 0.3, 21);
        let mut config = config(1, 100);
        let grid = config.validate(1).unwrap();
        let fast = estimate_snapshot(points.view(), &grid, &config, 0).unwrap();
        config.method = KdeMethod::Direct;
        let direct = estimate_snapshot(points.view(), &grid, &config, 0).unwrap();

        assert_eq!(fast.bandwidth, direct.bandwidth);
        let error = max_relative_difference(&fast.values, &direct.values);
        assert!(error < 1e-5, "max relative difference {error}");
        assert!((fast.mass_outside - direct.mass_outside).abs() < 1e-6);
    }

    #[test]
    fn centered_cloud_integrates_to_one() {
        let points = normal_mixture(20_000, 1, 0.0, 0.5, 22);
        let config = config(1, 100);
        let grid = config.validate(1).unwrap();
        let snapshot = estimate_snapshot(points.view(), &grid, &config, 0).unwrap();
        // The cloud is 6 standard deviations from each end.
        assert!(
            snapshot.mass_outside.abs() < 1e-6,
            "mass outside {}",
            snapshot.mass_outside
        );
        assert!(snapshot.values.iter().all(|&v| v >= 0.0));
    }

    #[test]
    fn centered_cloud_2d_integrates_to_one() {
        let points = normal_mixture(20_000, 2, 0.0, 0.4, 23);
        let config = config(2, 64);
        let grid = config.validate(2).unwrap();
        let snapshot = estimate_snapshot(points.view(), &grid, &config, 0).unwrap();
        assert!(
            snapshot.mass_outside.abs() < 1e-6,
            "mass outside {}",
            snapshot.mass_outside
        );
    }

    #[test]
    fn mass_outside_matches_kernel_tails() {
        // A cloud near the upper end: each kernel puts the mass
        // P(Z > (3 - X_i) / h) + P(Z > (X_i + 3) / h) outside [-3, 3].
        let mut rng = Pcg64::seed_from_u64(24);
        let normal = Normal::new(2.5, 0.5).unwrap();
        let points = Array2::from_shape_fn((2000, 1), |_| normal.sample(&mut rng));
        let config = config(1, 100);
        let grid = config.validate(1).unwrap();
        let snapshot = estimate_snapshot(points.view(), &grid, &config, 0).unwrap();

        let h = snapshot.bandwidth[0];
        let expected = points
            .column(0)
            .iter()
            .map(|&x| normal_tail((3.0 - x) / h) + normal_tail((x + 3.0) / h))
            .sum::<f64>()
            / 2000.0;
        assert!(expected > 0.1, "expected mass outside {expected}");
        // The trapezoid rule errs by about dx^2 / 12 times the slope of the
        // density at the upper end, here below 1e-3.
        let error = (snapshot.mass_outside - expected).abs();
        assert!(
            error < 1e-3,
            "mass outside {}, expected {expected}",
            snapshot.mass_outside
        );
    }

    #[test]
    fn trapezoid_weights_halve_edges() {
        let axis = Axis::new(0.0, 1.0, 4, "grid").unwrap();
        let grid_1d = Grid::new(vec![axis]).unwrap();
        let values = array![1.0, 1.0, 1.0, 1.0, 1.0].into_dyn();
        assert!((trapezoid_integral(&values, &grid_1d) - 1.0).abs() < 1e-15);
        // x on [0, 1] is integrated exactly.
        let values = array![0.0, 0.25, 0.5, 0.75, 1.0].into_dyn();
        assert!((trapezoid_integral(&values, &grid_1d) - 0.5).abs() < 1e-15);

        let other = Axis::new(-1.0, 1.0, 2, "grid").unwrap();
        let grid_2d = Grid::new(vec![axis, other]).unwrap();
        let values = ArrayD::from_elem(IxDyn(&[5, 3]), 2.0);
        assert!((trapezoid_integral(&values, &grid_2d) - 4.0).abs() < 1e-15);
    }

    #[test]
    fn tiny_bandwidth_falls_back_to_direct() {
        let points = normal_mixture(100, 1, 1.0, 0.3, 25);
        let mut config = config(1, 100);
        config.bandwidth = BandwidthRule::Fixed;
        config.bandwidth_value = Some(1e-9);
        let grid = config.validate(1).unwrap();
        let fast = estimate_snapshot(points.view(), &grid, &config, 0).unwrap();
        config.method = KdeMethod::Direct;
        let direct = estimate_snapshot(points.view(), &grid, &config, 0).unwrap();
        assert_eq!(fast, direct);
    }

    #[test]
    fn grid_dimension_mismatch_rejected() {
        let config = config(2, 10);
        let grid = config.validate(2).unwrap();
        let err = estimate_snapshot(array![[0.0], [1.0]].view(), &grid, &config, 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("the grid has 2 value(s)"), "{err}");
        assert!(err.contains("1-dimensional"), "{err}");
    }

    #[test]
    fn ragged_frames_match_single_snapshots() {
        let config = config(1, 100);
        let grid = config.validate(1).unwrap();
        let frames = [
            normal_mixture(300, 1, 1.0, 0.3, 31),
            normal_mixture(1, 1, 0.0, 0.3, 32),
            normal_mixture(1000, 1, 0.5, 0.2, 33),
        ];
        let views: Vec<ArrayView2<f64>> = frames.iter().map(|f| f.view()).collect();
        let times = array![0.0, 0.1, 0.2];
        let source = FrameSource { dim: 1, times: &times, diffusion: None, kernel: None };
        // A single particle has no spread, so the rule of thumb needs a fixed bandwidth.
        let mut fixed = config.clone();
        fixed.bandwidth = BandwidthRule::Fixed;
        fixed.bandwidth_value = Some(0.2);
        let density = estimate_frames(&views, &source, &fixed, &|| {}).unwrap();

        assert_eq!(density.meta.n_particles, Some(1000));
        for (n, frame) in frames.iter().enumerate() {
            let alone = estimate_snapshot(frame.view(), &grid, &fixed, n).unwrap();
            assert_eq!(density.values.index_axis(ArrayAxis(0), n), alone.values, "frame {n}");
            assert!(alone.mass_outside.abs() < 1e-6, "frame {n}: mass outside {}", alone.mass_outside);
        }
    }

    #[test]
    fn fft_does_not_wrap_around_grid_edge() {
        // Particles on the lower edge: a periodic convolution would put mass
        // at the upper edge, while the direct sum leaves it at zero there.
        let points = Array2::from_shape_fn((500, 1), |(i, _)| -3.0 + 0.001 * i as f64);
        let mut config = config(1, 100);
        config.bandwidth = BandwidthRule::Fixed;
        config.bandwidth_value = Some(0.2);
        let grid = config.validate(1).unwrap();
        let fast = estimate_snapshot(points.view(), &grid, &config, 0).unwrap();
        config.method = KdeMethod::Direct;
        let direct = estimate_snapshot(points.view(), &grid, &config, 0).unwrap();

        let upper = fast.values.len() - 1;
        assert!(direct.values[[upper]] < 1e-100, "direct sum at the upper edge {}", direct.values[[upper]]);
        assert!(fast.values[[upper]].abs() < 1e-12, "FFT estimate at the upper edge {}", fast.values[[upper]]);
        let error = max_relative_difference(&fast.values, &direct.values);
        assert!(error < 1e-5, "max relative difference {error}");
        assert!((fast.mass_outside - direct.mass_outside).abs() < 1e-6);
        // Each kernel puts P(Z > (x + 3) / h) below the grid. The trapezoid
        // rule errs by about dx^2 / 12 times the slope of the density at the
        // lower end, where it is steepest.
        let expected = points.iter().map(|&x| normal_tail((x + 3.0) / 0.2)).sum::<f64>() / 500.0;
        let dx = grid.axes[0].dx();
        let slope = (direct.values[[1]] - direct.values[[0]]) / dx;
        let trapezoid_error = dx * dx / 12.0 * slope.abs();
        let error = (fast.mass_outside - expected).abs();
        assert!(
            error < 1.5 * trapezoid_error,
            "mass outside {}, expected {expected}, trapezoid error about {trapezoid_error}",
            fast.mass_outside
        );
    }

    #[test]
    fn empty_snapshot_rejected() {
        let config = config(1, 10);
        let grid = config.validate(1).unwrap();
        let points = Array2::<f64>::zeros((0, 1));
        let err = estimate_snapshot(points.view(), &grid, &config, 4)
            .unwrap_err()
            .to_string();
        assert!(err.contains("snapshot 4 has no particles"), "{err}");
    }

    #[test]
    fn non_finite_position_named() {
        let config = config(2, 10);
        let grid = config.validate(2).unwrap();
        let points = array![[0.0, 0.0], [1.0, f64::NAN]];
        let err = estimate_snapshot(points.view(), &grid, &config, 6)
            .unwrap_err()
            .to_string();
        assert!(err.contains("snapshot 6"), "{err}");
        assert!(err.contains("particle 1, axis 1 is NaN"), "{err}");
    }

    #[test]
    fn invalid_config_rejected_per_snapshot() {
        let mut config = config(1, 10);
        let grid = config.validate(1).unwrap();
        config.refinement = Some(0.0);
        let err = estimate_snapshot(array![[0.0], [1.0]].view(), &grid, &config, 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("kde.refinement"), "{err}");
    }

    #[test]
    fn estimate_fills_density() {
        let trajectories = trajectories(4, 500, 2);
        let config = config(2, 16);
        let calls = AtomicUsize::new(0);
        let density = estimate(&trajectories, &config, &|| {
            calls.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();

        assert_eq!(calls.load(Ordering::Relaxed), 4);
        assert_eq!(density.values.shape(), &[4, 17, 17]);
        assert_eq!(density.bandwidth.shape(), &[4, 2]);
        assert_eq!(density.mass_outside.len(), 4);
        assert_eq!(density.times, trajectories.times);
        assert_eq!(density.meta.source, "kde");
        assert_eq!(density.meta.format_version, FORMAT_VERSION);
        assert_eq!(density.meta.grid, config.validate(2).unwrap());
        assert_eq!(density.meta.n_particles, Some(500));
        assert_eq!(density.meta.diffusion, Some(0.25));
        assert_eq!(density.meta.tool_version, env!("CARGO_PKG_VERSION"));
        let recorded: KdeConfig = serde_json::from_value(density.meta.config.clone()).unwrap();
        assert_eq!(recorded, config);

        // Each frame equals its own snapshot estimate.
        let grid = config.validate(2).unwrap();
        let frame = trajectories.positions.index_axis(ArrayAxis(0), 2);
        let snapshot = estimate_snapshot(frame, &grid, &config, 2).unwrap();
        assert_eq!(density.values.index_axis(ArrayAxis(0), 2), snapshot.values);
        assert_eq!(density.bandwidth.row(2).to_vec(), snapshot.bandwidth);
        assert_eq!(density.mass_outside[2], snapshot.mass_outside);
    }

    #[test]
    fn estimate_same_for_one_thread() {
        let trajectories = trajectories(6, 2000, 1);
        for method in [KdeMethod::Fft, KdeMethod::Direct] {
            let mut config = config(1, 100);
            config.method = method;
            let parallel = estimate(&trajectories, &config, &|| {}).unwrap();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            let serial = pool
                .install(|| estimate(&trajectories, &config, &|| {}))
                .unwrap();
            assert_eq!(parallel.values, serial.values, "{method:?}");
            assert_eq!(parallel.bandwidth, serial.bandwidth, "{method:?}");
            assert_eq!(parallel.mass_outside, serial.mass_outside, "{method:?}");
        }
    }

    #[test]
    fn estimate_reports_first_failing_snapshot() {
        let mut trajectories = trajectories(6, 50, 1);
        for n in [3, 5] {
            trajectories
                .positions
                .index_axis_mut(ArrayAxis(0), n)
                .fill(0.5);
        }
        let calls = AtomicUsize::new(0);
        let err = estimate(&trajectories, &config(1, 10), &|| {
            calls.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("snapshot 3:"), "{err}");
        assert!(err.contains("kde.bandwidth = \"fixed\""), "{err}");
        assert_eq!(calls.load(Ordering::Relaxed), 6);
    }

    #[test]
    fn estimate_checks_config_dimension() {
        let trajectories = trajectories(2, 50, 2);
        let err = estimate(&trajectories, &config(1, 10), &|| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("kde.lo has 1 value(s)"), "{err}");
        assert!(err.contains("2-dimensional"), "{err}");
    }

    #[test]
    fn estimate_checks_frame_count() {
        let mut trajectories = trajectories(3, 50, 1);
        trajectories.times = array![0.0, 1.0];
        let err = estimate(&trajectories, &config(1, 10), &|| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("3 frame(s)"), "{err}");
        assert!(err.contains("2 time(s)"), "{err}");
    }

    #[test]
    fn public_types_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<KdeConfig>();
        assert_send_sync::<Snapshot>();
        assert_send_sync::<KdeError>();
    }
}
