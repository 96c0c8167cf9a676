//! Trajectories from other programs' files (NPZ archives, long-format CSV)
//! and the checks of positions against the KDE grid.

use std::path::Path;

use anyhow::{bail, Result};
use ips_core::artifact::{check_times, positions_from_array, Trajectories};
use ips_core::long_csv::{read_long_csv, ParticleFrames};
use ips_core::npz::NpzArchive;
use ips_core::{Grid, Kernel};
use ndarray::{Array1, Array2, Array3, ArrayView2, Axis as ArrayAxis};

use crate::experiment::Experiment;
use crate::stages::TimesSource;

/// Largest fraction of the particles of a frame that may lie outside the
/// KDE grid. Their mass is lost to the density, so beyond a few percent the
/// regression would fit a density that is not the particles'.
pub const MAX_FRACTION_OUTSIDE: f64 = 0.05;

/// Smallest ratio of bandwidth to grid spacing accepted. Below it each
/// Gaussian falls between grid points, so the density on the grid is a set
/// of spikes whose derivatives the regression cannot use.
pub const MIN_BANDWIDTH_PER_SPACING: f64 = 0.25;

/// Positions of every frame: one array when every frame has the same
/// particles, or one array per frame when the count varies.
pub enum Positions {
    Dense(Array3<f64>),
    Ragged(Vec<Array2<f64>>),
}

impl Positions {
    /// Views of the frames, `[N_n, d]` each.
    pub fn frames(&self) -> Vec<ArrayView2<'_, f64>> {
        match self {
            Positions::Dense(positions) => positions.axis_iter(ArrayAxis(0)).collect(),
            Positions::Ragged(frames) => frames.iter().map(|frame| frame.view()).collect(),
        }
    }
}

/// Frames ready for the KDE, with what the metadata needs.
pub struct Frames {
    pub positions: Positions,
    pub times: Array1<f64>,
    pub dim: usize,
    pub diffusion: Option<f64>,
    pub kernel: Option<Kernel>,
}

impl From<Trajectories> for Frames {
    fn from(trajectories: Trajectories) -> Self {
        Frames {
            dim: trajectories.dim(),
            diffusion: trajectories.meta.diffusion,
            kernel: trajectories.meta.kernel,
            positions: Positions::Dense(trajectories.positions),
            times: trajectories.times,
        }
    }
}

/// Reads positions and times from an NPZ archive: the arrays named by
/// `--positions-dataset` and `--times-dataset` (`positions` and `times` by
/// default). The times array is optional when `--times` or `--dt` is given.
pub fn read_npz(path: &Path, source: &TimesSource) -> Result<(Array3<f64>, Option<Array1<f64>>)> {
    let mut archive = NpzArchive::open(path)?;
    let names = &source.datasets;
    let member = |name: &str| path.with_file_name(format!("{}:{name}", path.file_name().unwrap_or_default().to_string_lossy()));
    let positions = positions_from_array(archive.read(&names.positions)?, &member(&names.positions))?;
    let times = if source.times.is_none() && source.dt.is_none() && archive.contains(&names.times) {
        let times_path = member(&names.times);
        let array = archive.read(&names.times)?;
        let found = array.shape().to_vec();
        let times = array.into_dimensionality::<ndarray::Ix1>().map_err(|_| ips_core::CoreError::Shape {
            path: times_path.clone(),
            found,
            expected: "a one-dimensional array".into(),
        })?;
        if times.len() != positions.shape()[0] {
            bail!(
                "'{}' has {} times but the positions have {} frames; give one time per frame",
                times_path.display(),
                times.len(),
                positions.shape()[0]
            );
        }
        check_times(&times, &times_path.display().to_string())?;
        Some(times)
    } else {
        None
    };
    Ok((positions, times))
}

/// Reads a long-format CSV file into frames. The time column gives the
/// times, or with `--dt` the frame numbers that are multiplied by it.
pub fn read_csv(path: &Path, source: &TimesSource, experiment: &Experiment) -> Result<Frames> {
    if source.times.is_some() {
        bail!(
            "--times does not apply to '{}': a CSV file has its own time column; use --columns time=NAME to choose it, or --dt to scale frame numbers",
            path.display()
        );
    }
    let frames: ParticleFrames = read_long_csv(path, &source.columns, Some(experiment.model.dim))?;
    let mut times = Array1::from(frames.times);
    if let Some(dt) = source.dt {
        if !(dt.is_finite() && dt > 0.0) {
            bail!("invalid --dt {dt}: the time between frames must be positive");
        }
        times.mapv_inplace(|frame| frame * dt);
    }
    check_times(&times, &path.display().to_string())?;
    let counts: Vec<usize> = frames.frames.iter().map(Array2::nrows).collect();
    tracing::info!(
        frames = counts.len(),
        min_particles = counts.iter().min().copied().unwrap_or(0),
        max_particles = counts.iter().max().copied().unwrap_or(0),
        particle_ids = frames.n_particle_ids,
        "read long-format CSV"
    );
    Ok(Frames {
        dim: experiment.model.dim,
        positions: Positions::Ragged(frames.frames),
        times,
        diffusion: experiment.model.diffusion,
        kernel: experiment.model.kernel.clone(),
    })
}

/// Checks that no frame has more than [`MAX_FRACTION_OUTSIDE`] of its
/// particles outside the grid, and logs the largest fraction when some
/// particles are outside.
pub fn check_particles_inside(frames: &[ArrayView2<f64>], grid: &Grid, source: &Path) -> Result<()> {
    let mut worst = (0.0, 0);
    for (n, frame) in frames.iter().enumerate() {
        let outside = frame
            .rows()
            .into_iter()
            .filter(|point| point.iter().zip(&grid.axes).any(|(&x, axis)| x < axis.lo || x > axis.hi))
            .count();
        let fraction = outside as f64 / frame.nrows().max(1) as f64;
        if fraction > worst.0 {
            worst = (fraction, n);
        }
    }
    let (fraction, frame) = worst;
    let bounds: Vec<String> = grid.axes.iter().map(|a| format!("[{}, {}]", a.lo, a.hi)).collect();
    if fraction > MAX_FRACTION_OUTSIDE {
        bail!(
            "{:.1}% of the particles of frame {frame} in '{}' lie outside the KDE grid {}; at most {:.0}% may, so widen kde.lo and kde.hi or remove the outliers",
            100.0 * fraction,
            source.display(),
            bounds.join(" x "),
            100.0 * MAX_FRACTION_OUTSIDE
        );
    }
    if fraction > 0.0 {
        tracing::warn!(
            frame,
            fraction_outside = fraction,
            "{:.2}% of the particles of frame {frame} lie outside the KDE grid {} and are left out of the density",
            100.0 * fraction,
            bounds.join(" x ")
        );
    }
    Ok(())
}

/// Checks that every bandwidth is at least [`MIN_BANDWIDTH_PER_SPACING`]
/// grid spacings, naming the first frame and axis where it is not.
pub fn check_bandwidth_resolved(bandwidth: &Array2<f64>, grid: &Grid) -> Result<()> {
    for (n, row) in bandwidth.rows().into_iter().enumerate() {
        for (axis, (&h, grid_axis)) in row.iter().zip(&grid.axes).enumerate() {
            let dx = grid_axis.dx();
            if h < MIN_BANDWIDTH_PER_SPACING * dx {
                bail!(
                    "the KDE grid is too coarse for the bandwidth: frame {n} has bandwidth {h:.3e} along axis {axis} but the grid spacing is {dx:.3e}; \
                     the bandwidth must be at least {MIN_BANDWIDTH_PER_SPACING} spacings, so increase kde.intervals or the bandwidth"
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ips_core::Axis;
    use ndarray::array;

    fn grid() -> Grid {
        Grid::new(vec![Axis::new(-1.0, 1.0, 20, "grid").unwrap()]).unwrap()
    }

    #[test]
    fn outliers_below_tolerance_pass() {
        let frame = Array2::from_shape_fn((100, 1), |(i, _)| if i == 0 { 50.0 } else { 0.0 });
        check_particles_inside(&[frame.view()], &grid(), Path::new("p.npy")).unwrap();
    }

    #[test]
    fn outliers_above_tolerance_name_fraction_and_frame() {
        let inside = array![[0.0], [0.5]];
        let frame = Array2::from_shape_fn((10, 1), |(i, _)| if i < 3 { -7.0 } else { 0.0 });
        let err = check_particles_inside(&[inside.view(), frame.view()], &grid(), Path::new("p.npy"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("30.0%"), "{err}");
        assert!(err.contains("frame 1"), "{err}");
        assert!(err.contains("kde.lo"), "{err}");
    }

    #[test]
    fn coarse_grid_names_frame_and_axis() {
        // dx = 0.1, so a bandwidth of 0.02 is a fifth of a spacing.
        let err = check_bandwidth_resolved(&array![[0.1], [0.02]], &grid()).unwrap_err().to_string();
        assert!(err.contains("frame 1"), "{err}");
        assert!(err.contains("kde.intervals"), "{err}");
        check_bandwidth_resolved(&array![[0.1], [0.025]], &grid()).unwrap();
    }
}
