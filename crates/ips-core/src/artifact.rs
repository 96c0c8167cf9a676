//! The trajectory and density artifacts.
//!
//! An artifact is a main NPY file plus companions that share its stem:
//!
//! | file                        | shape                     | content                          |
//! |-----------------------------|---------------------------|----------------------------------|
//! | `trajectories.npy`          | `[n_times, N, d]`         | particle positions               |
//! | `trajectories.times.npy`    | `[n_times]`               | observation times                |
//! | `trajectories.json`         |                           | [`TrajectoryMeta`]               |
//! | `density.npy`               | `[n_times, nx]` or `[n_times, nx, ny]` | density on the grid |
//! | `density.times.npy`         | `[n_times]`               | observation times                |
//! | `density.x.npy` (`.y.npy`)  | `[nx]` (`[ny]`)           | grid coordinates                 |
//! | `density.bandwidth.npy`     | `[n_times, d]`            | KDE bandwidth per axis (0 for solver output) |
//! | `density.mass_outside.npy`  | `[n_times]`               | mass that falls outside the grid |
//! | `density.json`              |                           | [`DensityMeta`]                  |
//!
//! All arrays are `float64` in C order.

use std::path::Path;

use ndarray::{Array1, Array2, Array3, ArrayD, Axis as ArrayAxis, Dimension, Ix1, Ix2, Ix3};
use serde::{Deserialize, Serialize};

use crate::npy::{companion, read_json, read_npy_f64, write_json, write_npy};
use crate::provenance::sha256_file;
use crate::{CoreError, Grid, Kernel, Provenance, Result};

/// Version of the artifact layout; bumped when a file or field changes meaning.
pub const FORMAT_VERSION: u32 = 1;

/// Metadata of a trajectory artifact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrajectoryMeta {
    pub format_version: u32,
    /// `simulation` for `ips simulate`, `import` for a user's file.
    pub source: String,
    pub dim: usize,
    pub n_particles: usize,
    pub n_times: usize,
    /// Euler–Maruyama step of the simulation, when known.
    pub dt: Option<f64>,
    /// Diffusion coefficient D of the data, when known.
    pub diffusion: Option<f64>,
    /// Kernel that generated the data, when known.
    pub kernel: Option<Kernel>,
    pub seed: Option<u64>,
    /// Full configuration of the stage that wrote the file.
    pub config: serde_json::Value,
    pub tool_version: String,
    /// How the artifact was made; absent in files from other programs.
    #[serde(default)]
    pub provenance: Option<Provenance>,
}

/// Particle positions at the observation times.
#[derive(Debug, Clone)]
pub struct Trajectories {
    /// Positions, `[n_times, N, d]`.
    pub positions: Array3<f64>,
    /// Observation times, `[n_times]`, strictly increasing.
    pub times: Array1<f64>,
    pub meta: TrajectoryMeta,
}

/// Metadata of a density artifact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DensityMeta {
    pub format_version: u32,
    /// `kde` for a kernel density estimate, `meanfield` for solver output.
    pub source: String,
    pub grid: Grid,
    /// Number of particles behind a KDE.
    pub n_particles: Option<usize>,
    pub diffusion: Option<f64>,
    pub kernel: Option<Kernel>,
    /// Full configuration of the stage that wrote the file.
    pub config: serde_json::Value,
    pub tool_version: String,
    /// How the artifact was made; absent in files from other programs.
    #[serde(default)]
    pub provenance: Option<Provenance>,
}

/// A density on a grid at the observation times.
#[derive(Debug, Clone)]
pub struct Density {
    /// Values, `[n_times, nx]` or `[n_times, nx, ny]`.
    pub values: ArrayD<f64>,
    pub times: Array1<f64>,
    /// Bandwidth per snapshot and axis, `[n_times, d]`.
    pub bandwidth: Array2<f64>,
    /// Mass outside the grid per snapshot, `[n_times]`.
    pub mass_outside: Array1<f64>,
    pub meta: DensityMeta,
}

fn shape_error(path: &Path, found: &[usize], expected: impl Into<String>) -> CoreError {
    CoreError::Shape {
        path: path.to_path_buf(),
        found: found.to_vec(),
        expected: expected.into(),
    }
}

fn check_npy_path(path: &Path) -> Result<()> {
    if path.extension().and_then(|e| e.to_str()) != Some("npy") {
        return Err(CoreError::invalid(
            "output path",
            path.display(),
            "artifact files end in .npy",
        ));
    }
    Ok(())
}

/// Reads a one-dimensional array, checking its length when `expected_len` is given.
///
/// # Errors
/// [`CoreError::Shape`] naming the file when it is not 1D of that length.
pub fn read_vector(path: &Path, expected_len: Option<usize>) -> Result<Array1<f64>> {
    let array = read_npy_f64(path)?;
    let found = array.shape().to_vec();
    let vector = array
        .into_dimensionality::<Ix1>()
        .map_err(|_| shape_error(path, &found, "a one-dimensional array"))?;
    if let Some(n) = expected_len {
        if vector.len() != n {
            return Err(shape_error(path, &found, format!("[{n}], one value per frame")));
        }
    }
    Ok(vector)
}

/// Checks that times are finite and strictly increasing.
///
/// # Errors
/// [`CoreError::InvalidValue`] naming `source` and the first bad index.
pub fn check_times(times: &Array1<f64>, source: &str) -> Result<()> {
    if times.len() < 2 {
        return Err(CoreError::invalid(
            format!("times in {source}"),
            times.len(),
            "at least two observation times are needed",
        ));
    }
    for (n, &t) in times.iter().enumerate() {
        if !t.is_finite() {
            return Err(CoreError::invalid(
                format!("times[{n}] in {source}"),
                t,
                "times must be finite",
            ));
        }
        if n > 0 && t <= times[n - 1] {
            return Err(CoreError::invalid(
                format!("times[{n}] in {source}"),
                t,
                format!("times must increase strictly, but the previous time is {}", times[n - 1]),
            ));
        }
    }
    Ok(())
}

/// Checks that every position is finite, naming the first bad frame and particle.
///
/// # Errors
/// [`CoreError::InvalidValue`] naming `source`, frame, particle and axis.
pub fn check_positions(positions: &Array3<f64>, source: &str) -> Result<()> {
    for ((n, i, a), &x) in positions.indexed_iter() {
        if !x.is_finite() {
            return Err(CoreError::invalid(
                format!("position of particle {i}, axis {a}, frame {n} in {source}"),
                x,
                "positions must be finite; remove or interpolate the missing value",
            ));
        }
    }
    Ok(())
}

/// Reads positions of shape `[n_times, N]` or `[n_times, N, d]` (`d` = 1 or 2).
///
/// # Errors
/// [`CoreError::Shape`] for other shapes, [`CoreError::InvalidValue`] for
/// non-finite values.
pub fn read_positions(path: &Path) -> Result<Array3<f64>> {
    positions_from_array(read_npy_f64(path)?, path)
}

/// Checks the shape and values of positions read from `path` (an NPY
/// file, or an array inside an archive) and returns them as `[n_times, N, d]`.
///
/// # Errors
/// As [`read_positions`].
pub fn positions_from_array(array: ArrayD<f64>, path: &Path) -> Result<Array3<f64>> {
    let shape = array.shape().to_vec();
    let expected = "[n_times, N] or [n_times, N, d] with d = 1 or 2";
    let positions = match shape.len() {
        2 => array
            .into_dimensionality::<Ix2>()
            .map_err(|_| shape_error(path, &shape, expected))?
            .insert_axis(ArrayAxis(2)),
        3 if shape[2] == 1 || shape[2] == 2 => array
            .into_dimensionality::<Ix3>()
            .map_err(|_| shape_error(path, &shape, expected))?,
        _ => return Err(shape_error(path, &shape, expected)),
    };
    if positions.shape()[0] < 2 || positions.shape()[1] == 0 {
        return Err(shape_error(
            path,
            &shape,
            "at least two frames of at least one particle",
        ));
    }
    check_positions(&positions, &path.display().to_string())?;
    Ok(positions)
}

/// Reads the provenance record of an artifact: from the JSON sidecar of an
/// `.npy` file, the `provenance` field of a `.json` file or the
/// `provenance` attribute of an `.h5` file. Returns
/// `None` for files without a record, such as another program's arrays.
///
/// # Errors
/// [`CoreError::Io`] or [`CoreError::Json`] when a sidecar exists but
/// cannot be read or holds a malformed record.
pub fn read_provenance(path: &Path) -> Result<Option<Provenance>> {
    let record_file = match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => companion(path, "json"),
        Some("json") => path.to_path_buf(),
        _ if crate::h5::is_hdf5_path(path) => return crate::h5::read_provenance(path),
        _ => return Ok(None),
    };
    if !record_file.exists() {
        return Ok(None);
    }
    let mut value: serde_json::Value = read_json(&record_file)?;
    match value.get_mut("provenance").map(serde_json::Value::take) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(record) => serde_json::from_value(record).map(Some).map_err(|e| CoreError::Json {
            path: record_file.clone(),
            message: format!("invalid provenance record: {e}"),
        }),
    }
}

/// The id under which a stage records `path` as an input: the digest of its
/// provenance record when it has one, else the SHA-256 of its bytes.
///
/// # Errors
/// Any error of [`read_provenance`], or [`CoreError::Io`] when the file
/// cannot be hashed.
pub fn input_id(path: &Path) -> Result<String> {
    if !path.exists() {
        return Err(CoreError::invalid(
            "input file",
            path.display(),
            "not found; check the path, or run the stage that writes it first",
        ));
    }
    match read_provenance(path)? {
        Some(record) => Ok(record.id()),
        None => Ok(format!("sha256:{}", sha256_file(path)?)),
    }
}

/// Writes the companions of a trajectory artifact (times and sidecar), the
/// first half of a streamed write: the positions follow through
/// [`crate::npy::NpyStreamWriter`] into `path` itself, which comes last.
///
/// # Errors
/// [`CoreError::Io`] or [`CoreError::InvalidValue`] for a bad path.
pub fn write_trajectory_companions(path: &Path, times: &Array1<f64>, meta: &TrajectoryMeta) -> Result<()> {
    check_npy_path(path)?;
    write_npy(&companion(path, "times.npy"), times)?;
    write_json(&companion(path, "json"), meta)
}

impl Trajectories {
    /// Spatial dimension.
    pub fn dim(&self) -> usize {
        self.positions.shape()[2]
    }

    /// Number of particles.
    pub fn n_particles(&self) -> usize {
        self.positions.shape()[1]
    }

    /// Writes the artifact: `path` (must end in `.npy`), its times and sidecar.
    ///
    /// # Errors
    /// [`CoreError::Io`] or [`CoreError::InvalidValue`] for a bad path.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_trajectory_companions(path, &self.times, &self.meta)?;
        // The main file goes last: its presence marks a complete artifact.
        write_npy(path, &self.positions)
    }

    /// Reads an artifact written by [`Trajectories::write`].
    ///
    /// # Errors
    /// Any read, shape or validation error, naming the file.
    pub fn read(path: &Path) -> Result<Self> {
        let positions = read_positions(path)?;
        let meta: TrajectoryMeta = read_json(&companion(path, "json"))?;
        let times = read_vector(&companion(path, "times.npy"), Some(positions.shape()[0]))?;
        check_times(&times, &companion(path, "times.npy").display().to_string())?;
        Ok(Trajectories { positions, times, meta })
    }
}

impl Density {
    /// Number of snapshots.
    pub fn n_times(&self) -> usize {
        self.times.len()
    }

    /// Writes the artifact: `path` (must end in `.npy`) and its companions.
    ///
    /// # Errors
    /// [`CoreError::Io`] or [`CoreError::InvalidValue`] for a bad path.
    pub fn write(&self, path: &Path) -> Result<()> {
        check_npy_path(path)?;
        write_npy(&companion(path, "times.npy"), &self.times)?;
        for (axis, name) in self.meta.grid.axes.iter().zip(["x", "y"]) {
            let coordinates = Array1::from(axis.points());
            write_npy(&companion(path, &format!("{name}.npy")), &coordinates)?;
        }
        write_npy(&companion(path, "bandwidth.npy"), &self.bandwidth)?;
        write_npy(&companion(path, "mass_outside.npy"), &self.mass_outside)?;
        write_json(&companion(path, "json"), &self.meta)?;
        write_npy(path, &self.values)
    }

    /// Reads an artifact written by [`Density::write`].
    ///
    /// # Errors
    /// Any read or shape error, naming the file; non-finite or negative
    /// density values are rejected.
    pub fn read(path: &Path) -> Result<Self> {
        let meta: DensityMeta = read_json(&companion(path, "json"))?;
        let values = read_npy_f64(path)?;
        let mut expected = vec![0usize];
        expected.extend(meta.grid.shape());
        let shape = values.shape().to_vec();
        if shape.len() != expected.len() || shape[1..] != expected[1..] {
            return Err(shape_error(
                path,
                &shape,
                format!("[n_times, {:?}] as the grid in the sidecar says", meta.grid.shape()),
            ));
        }
        let n_times = shape[0];
        if let Some((index, &v)) = values.indexed_iter().find(|(_, v)| !v.is_finite() || **v < 0.0) {
            return Err(CoreError::invalid(
                format!("density value at {:?} in {}", index.slice(), path.display()),
                v,
                "densities must be finite and non-negative",
            ));
        }
        let times = read_vector(&companion(path, "times.npy"), Some(n_times))?;
        check_times(&times, &companion(path, "times.npy").display().to_string())?;
        let bandwidth_path = companion(path, "bandwidth.npy");
        let bandwidth = read_npy_f64(&bandwidth_path)?
            .into_dimensionality::<Ix2>()
            .map_err(|_| shape_error(&bandwidth_path, &[], format!("[{n_times}, d]")))?;
        let mass_outside = read_vector(&companion(path, "mass_outside.npy"), Some(n_times))?;
        Ok(Density {
            values,
            times,
            bandwidth,
            mass_outside,
            meta,
        })
    }
}

/// Checks that the times are equally spaced and returns the spacing.
///
/// Each step may differ from the median step by `1e-6` of the median step
/// or of the largest `|t|`, whichever is larger, so that times stored as
/// float32 (about 7 significant digits) pass.
///
/// # Errors
/// [`CoreError::InvalidValue`] naming the first step that differs.
pub fn uniform_spacing(times: &Array1<f64>, source: &str) -> Result<f64> {
    let n = times.len();
    let mut steps: Vec<f64> = (1..n).map(|k| times[k] - times[k - 1]).collect();
    let first_steps = steps.clone();
    steps.sort_by(f64::total_cmp);
    let median = steps[steps.len() / 2];
    let magnitude = times.iter().fold(0.0f64, |m, t| m.max(t.abs()));
    let tolerance = 1e-6 * median.abs().max(magnitude);
    for (k, &dt) in first_steps.iter().enumerate() {
        if (dt - median).abs() > tolerance {
            return Err(CoreError::invalid(
                format!("time step between frames {k} and {} in {source}", k + 1),
                dt,
                format!("the regression needs equally spaced times (the median step is {median}); resample the data first"),
            ));
        }
    }
    Ok((times[n - 1] - times[0]) / (n - 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Axis;
    use ndarray::array;

    fn meta() -> TrajectoryMeta {
        TrajectoryMeta {
            format_version: FORMAT_VERSION,
            source: "test".into(),
            dim: 1,
            n_particles: 2,
            n_times: 2,
            dt: Some(0.1),
            diffusion: None,
            kernel: None,
            seed: None,
            config: serde_json::Value::Null,
            tool_version: "test".into(),
            provenance: None,
        }
    }

    #[test]
    fn trajectories_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trajectories.npy");
        let t = Trajectories {
            positions: array![[[0.0], [1.0]], [[0.5], [1.5]]],
            times: array![0.0, 0.1],
            meta: meta(),
        };
        t.write(&path).unwrap();
        let back = Trajectories::read(&path).unwrap();
        assert_eq!(back.positions, t.positions);
        assert_eq!(back.times, t.times);
    }

    #[test]
    fn nan_position_names_frame_and_particle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.npy");
        let mut p = Array2::<f64>::zeros((3, 4));
        p[[2, 1]] = f64::NAN;
        ndarray_npy::write_npy(&path, &p).unwrap();
        let err = read_positions(&path).unwrap_err().to_string();
        assert!(err.contains("particle 1"), "{err}");
        assert!(err.contains("frame 2"), "{err}");
    }

    #[test]
    fn wrong_rank_positions_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.npy");
        ndarray_npy::write_npy(&path, &array![1.0, 2.0]).unwrap();
        let err = read_positions(&path).unwrap_err().to_string();
        assert!(err.contains("[n_times, N]"), "{err}");
    }

    #[test]
    fn decreasing_times_rejected() {
        let err = check_times(&array![0.0, 0.2, 0.1], "t.npy").unwrap_err().to_string();
        assert!(err.contains("times[2]"), "{err}");
    }

    #[test]
    fn uneven_spacing_rejected() {
        let err = uniform_spacing(&array![0.0, 0.1, 0.3], "t.npy").unwrap_err().to_string();
        assert!(err.contains("equally spaced"), "{err}");
    }

    /// One long gap is reported where it is, not at the first step.
    #[test]
    fn uneven_step_named_where_it_is() {
        let mut times: Array1<f64> = (0..300).map(|k| k as f64 * 1e-3).collect();
        for t in times.iter_mut().skip(201) {
            *t += 1e-3;
        }
        let err = uniform_spacing(&times, "t.npy").unwrap_err().to_string();
        assert!(err.contains("frames 200 and 201"), "{err}");
    }

    /// Times rounded to float32 still count as equally spaced.
    #[test]
    fn float32_times_accepted() {
        let times: Array1<f64> = (0..1001).map(|k| (k as f64 * 1e-3) as f32 as f64).collect();
        let step = uniform_spacing(&times, "t.npy").unwrap();
        assert!((step - 1e-3).abs() < 1e-9, "{step}");
    }

    #[test]
    fn density_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("density.npy");
        let grid = Grid::new(vec![Axis::new(0.0, 1.0, 2, "grid").unwrap()]).unwrap();
        let d = Density {
            values: array![[0.5, 1.0, 0.5], [0.4, 1.2, 0.4]].into_dyn(),
            times: array![0.0, 1.0],
            bandwidth: array![[0.1], [0.1]],
            mass_outside: array![0.0, 0.0],
            meta: DensityMeta {
                format_version: FORMAT_VERSION,
                source: "test".into(),
                grid,
                n_particles: None,
                diffusion: None,
                kernel: None,
                config: serde_json::Value::Null,
                tool_version: "test".into(),
                provenance: None,
            },
        };
        d.write(&path).unwrap();
        let back = Density::read(&path).unwrap();
        assert_eq!(back.values, d.values);
        assert!(dir.path().join("density.x.npy").exists());
    }
}
