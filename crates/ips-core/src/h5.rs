//! HDF5 artifacts (`.h5`), one file per artifact.
//!
//! The datasets are those of the NPY layout, named after the companion
//! suffix (`positions`, `times`, `density`, `x`, `y`, `bandwidth`,
//! `mass_outside`). Metadata are attributes of the root group: `metadata`
//! is the JSON text of the sidecar of the NPY layout, `provenance` the JSON
//! text of the [`Provenance`] record. Trajectories are stored in chunks of
//! one frame, gzip level 4. Model and evaluation records are stored as the
//! JSON text in the attribute `model` or `evaluation`, with the coefficient
//! table as datasets.
//!
//! Files are written under a temporary name and renamed when complete, as
//! the NPY files are. The real implementation needs the `hdf5` feature;
//! without it every function returns [`CoreError::Unsupported`].

use std::path::Path;

use crate::artifact::{Density, TrajectoryMeta};
use crate::{CoreError, Provenance, Result};

/// Whether `path` names an HDF5 file (extension `.h5` or `.hdf5`).
pub fn is_hdf5_path(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("h5" | "hdf5"))
}

/// Dataset names of a user's trajectory file.
#[derive(Debug, Clone)]
pub struct TrajectoryDatasets {
    /// Positions, `[n_times, N]` or `[n_times, N, d]`; `positions` by default.
    pub positions: String,
    /// Observation times, `[n_times]`; `times` by default. A missing times
    /// dataset is not an error: the times then come from elsewhere.
    pub times: String,
}

impl Default for TrajectoryDatasets {
    fn default() -> Self {
        TrajectoryDatasets { positions: "positions".into(), times: "times".into() }
    }
}

/// Positions, times (when stored) and metadata (when written by `ips`)
/// read from an HDF5 file.
#[derive(Debug)]
pub struct TrajectoryFile {
    pub positions: ndarray::Array3<f64>,
    pub times: Option<ndarray::Array1<f64>>,
    pub meta: Option<TrajectoryMeta>,
}

#[cfg(feature = "hdf5")]
pub use imp::*;

#[cfg(not(feature = "hdf5"))]
pub use stub::*;

#[cfg(feature = "hdf5")]
fn h5_error(path: &Path, message: impl std::fmt::Display) -> CoreError {
    CoreError::Hdf5 {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

#[cfg(feature = "hdf5")]
mod imp {
    use super::*;
    use crate::artifact::{check_positions, check_times};
    use crate::npy::temporary_path;
    use hdf5_metno::types::VarLenUnicode;
    use hdf5_metno::{Dataset, File, Group};
    use ndarray::{s, Array1, Array2, Array3, ArrayView2, Axis as ArrayAxis, Ix2, Ix3};

    /// Largest number of particles in one chunk: 131 072 values of 8 bytes
    /// (1 MiB, the default chunk cache of HDF5) per axis.
    const CHUNK_PARTICLES: usize = 1 << 17;
    const GZIP_LEVEL: u8 = 4;

    /// Creates a file without object modification times, so that the same
    /// content gives the same bytes on every run.
    fn create(path: &Path) -> hdf5_metno::Result<File> {
        File::with_options().with_fcpl(|plist| plist.obj_track_times(false)).create(path)
    }

    fn write_text_attribute(group: &Group, name: &str, text: &str) -> hdf5_metno::Result<()> {
        let value: VarLenUnicode = text.parse().map_err(|e| hdf5_metno::Error::from(format!("{e}")))?;
        group.new_attr::<VarLenUnicode>().create(name)?.write_scalar(&value)
    }

    /// Reads a string attribute of the root group, `None` when absent.
    fn read_text_attribute(file: &File, name: &str) -> hdf5_metno::Result<Option<String>> {
        if !file.attr_names()?.iter().any(|n| n == name) {
            return Ok(None);
        }
        let value: VarLenUnicode = file.attr(name)?.read_scalar()?;
        Ok(Some(value.as_str().to_string()))
    }

    fn write_vector(file: &File, name: &str, values: &Array1<f64>) -> hdf5_metno::Result<Dataset> {
        file.new_dataset_builder().with_data(values).create(name)
    }

    /// Largest ratio of a dataset's values in bytes to the bytes it stores in
    /// the file. Deflate cannot exceed about 1032:1 (a 258-byte match in at
    /// least 2 bits, RFC 1951). NOTE: HDF5's scale-offset filter can store a
    /// constant dataset in almost no bytes, and such a dataset is rejected.
    const MAX_COMPRESSION_RATIO: u128 = 1032;

    /// Opens the dataset `name` and checks that the file stores its values.
    fn open_dataset(file: &File, path: &Path, name: &str) -> Result<Dataset> {
        let dataset = file.dataset(name).map_err(|e| h5_error(path, e))?;
        check_stored(path, name, dataset)
    }

    /// Checks that the file stores the values of `dataset` before they are
    /// read. A damaged header, or chunks that were never written (HDF5 reads
    /// them as the fill value), can claim far more values than the file
    /// contains, and reading them would allocate that much memory or abort.
    fn check_stored(path: &Path, name: &str, dataset: Dataset) -> Result<Dataset> {
        let element_bytes = dataset.dtype().map_err(|e| h5_error(path, e))?.size() as u128;
        let shape = dataset.space().map_err(|e| h5_error(path, e))?.shape();
        let value_bytes = shape.iter().try_fold(element_bytes, |total, &n| total.checked_mul(n as u128));
        let stored = u128::from(dataset.storage_size());
        match value_bytes {
            Some(bytes) if bytes <= stored * MAX_COMPRESSION_RATIO => Ok(dataset),
            _ => Err(h5_error(
                path,
                format!(
                    "dataset '{name}' of shape {shape:?} stores only {stored} bytes of values; \
                     the file is damaged, or the dataset is virtual or was never written, \
                     so write its values into a regular dataset"
                ),
            )),
        }
    }

    /// Opens `path` for reading, naming it in the error.
    fn open(path: &Path) -> Result<File> {
        if !path.exists() {
            return Err(CoreError::Io {
                action: "opening",
                path: path.to_path_buf(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        File::open(path).map_err(|e| h5_error(path, format!("{e}; the file must be an HDF5 file")))
    }

    /// Closes the file, flushes it to disk and renames it into place.
    fn commit(file: File, temporary: &Path, path: &Path) -> Result<()> {
        file.flush().map_err(|e| h5_error(path, e))?;
        file.close().map_err(|e| h5_error(path, e))?;
        let io_error = |source| CoreError::Io {
            action: "writing",
            path: path.to_path_buf(),
            source,
        };
        std::fs::File::open(temporary).and_then(|f| f.sync_all()).map_err(io_error)?;
        std::fs::rename(temporary, path).map_err(io_error)
    }

    /// Runs `write` on a new file at the temporary path of `path`, then
    /// commits it; removes the temporary file when `write` fails.
    fn write_file(path: &Path, write: impl FnOnce(&File) -> hdf5_metno::Result<()>) -> Result<()> {
        crate::npy::create_parent(path)?;
        let temporary = temporary_path(path);
        let file = create(&temporary).map_err(|e| h5_error(path, e));
        let result = file.and_then(|file| {
            write(&file).map_err(|e| h5_error(path, e))?;
            commit(file, &temporary, path)
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        result
    }

    /// Writes trajectories frame by frame into an HDF5 file; the file is
    /// renamed into place by [`H5TrajectoryWriter::finish`].
    pub struct H5TrajectoryWriter {
        path: std::path::PathBuf,
        temporary: std::path::PathBuf,
        file: Option<File>,
        positions: Option<Dataset>,
        shape: [usize; 3],
        frames: usize,
    }

    impl H5TrajectoryWriter {
        /// Creates the file and a chunked, gzip-compressed `positions`
        /// dataset of `shape = [n_times, N, d]`.
        ///
        /// # Errors
        /// [`CoreError::Hdf5`] or [`CoreError::Io`] naming `path`.
        pub fn create(path: &Path, shape: [usize; 3]) -> Result<Self> {
            crate::npy::create_parent(path)?;
            let temporary = temporary_path(path);
            let file = create(&temporary).map_err(|e| h5_error(path, e))?;
            let chunk = (1, shape[1].clamp(1, CHUNK_PARTICLES), shape[2]);
            let positions = file
                .new_dataset::<f64>()
                .chunk(chunk)
                .shuffle()
                .deflate(GZIP_LEVEL)
                .shape(shape)
                .create("positions")
                .map_err(|e| h5_error(path, e))?;
            Ok(H5TrajectoryWriter {
                path: path.to_path_buf(),
                temporary,
                file: Some(file),
                positions: Some(positions),
                shape,
                frames: 0,
            })
        }

        /// Appends the next frame, `N * d` values in C order.
        ///
        /// # Errors
        /// [`CoreError::Hdf5`] when the write fails or the frames overflow the shape.
        pub fn append(&mut self, positions: &[f64]) -> Result<()> {
            if self.frames >= self.shape[0] {
                return Err(h5_error(&self.path, format!("more than the {} frames of the dataset", self.shape[0])));
            }
            let frame = ArrayView2::from_shape((self.shape[1], self.shape[2]), positions)
                .map_err(|e| h5_error(&self.path, e))?;
            let dataset = self.positions.as_ref().expect("the dataset is open until finish");
            dataset
                .write_slice(&frame, s![self.frames, .., ..])
                .map_err(|e| h5_error(&self.path, e))?;
            self.frames += 1;
            Ok(())
        }

        /// Writes the times and metadata, closes the file and renames it into place.
        ///
        /// # Errors
        /// [`CoreError::Hdf5`] when frames are missing or a write fails.
        pub fn finish(mut self, times: &Array1<f64>, meta: &TrajectoryMeta) -> Result<()> {
            if self.frames != self.shape[0] {
                return Err(h5_error(
                    &self.path,
                    format!("{} of {} frames written", self.frames, self.shape[0]),
                ));
            }
            // Every handle into the file must be released before it closes.
            drop(self.positions.take());
            let file = self.file.take().expect("the file is open until finish");
            let path = self.path.clone();
            let written = (|| {
                write_vector(&file, "times", times)?;
                write_metadata(&file, meta, meta.provenance.as_ref())
            })();
            written.map_err(|e| h5_error(&path, e))?;
            commit(file, &self.temporary, &path)
        }
    }

    impl Drop for H5TrajectoryWriter {
        fn drop(&mut self) {
            drop(self.positions.take());
            if let Some(file) = self.file.take() {
                drop(file);
                let _ = std::fs::remove_file(&self.temporary);
            }
        }
    }

    fn write_metadata<T: serde::Serialize>(file: &File, meta: &T, provenance: Option<&Provenance>) -> hdf5_metno::Result<()> {
        let text = serde_json::to_string(meta).map_err(|e| hdf5_metno::Error::from(e.to_string()))?;
        write_text_attribute(file, "metadata", &text)?;
        if let Some(record) = provenance {
            let text = serde_json::to_string(record).map_err(|e| hdf5_metno::Error::from(e.to_string()))?;
            write_text_attribute(file, "provenance", &text)?;
        }
        Ok(())
    }

    fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, name: &str, text: &str) -> Result<T> {
        serde_json::from_str(text).map_err(|e| CoreError::Json {
            path: path.to_path_buf(),
            message: format!("attribute '{name}': {e}"),
        })
    }

    /// Reads the `provenance` attribute of an HDF5 artifact, `None` when absent.
    ///
    /// # Errors
    /// [`CoreError::Hdf5`] or [`CoreError::Json`] naming `path`.
    pub fn read_provenance(path: &Path) -> Result<Option<Provenance>> {
        let file = open(path)?;
        match read_text_attribute(&file, "provenance").map_err(|e| h5_error(path, e))? {
            Some(text) => parse_json(path, "provenance", &text).map(Some),
            None => Ok(None),
        }
    }

    /// Reads positions (`[n_times, N]` or `[n_times, N, d]`), the times when
    /// the dataset exists and the metadata when `ips` wrote the file.
    ///
    /// # Errors
    /// [`CoreError::Hdf5`] for a missing dataset or a bad shape,
    /// [`CoreError::InvalidValue`] for non-finite positions or bad times.
    pub fn read_trajectories(path: &Path, names: &TrajectoryDatasets) -> Result<TrajectoryFile> {
        let file = open(path)?;
        let dataset = file.dataset(&names.positions).map_err(|e| {
            h5_error(path, format!("{e}; name the positions dataset with --positions-dataset"))
        })?;
        let dataset = check_stored(path, &names.positions, dataset)?;
        let array = dataset.read_dyn::<f64>().map_err(|e| h5_error(path, e))?;
        let shape = array.shape().to_vec();
        let expected = "[n_times, N] or [n_times, N, d] with d = 1 or 2";
        let bad_shape = || CoreError::Shape { path: path.to_path_buf(), found: shape.clone(), expected: expected.into() };
        let positions: Array3<f64> = match shape.len() {
            2 => array.into_dimensionality::<Ix2>().map_err(|_| bad_shape())?.insert_axis(ArrayAxis(2)),
            3 if shape[2] == 1 || shape[2] == 2 => array.into_dimensionality::<Ix3>().map_err(|_| bad_shape())?,
            _ => return Err(bad_shape()),
        };
        if positions.shape()[0] < 2 || positions.shape()[1] == 0 {
            return Err(CoreError::Shape {
                path: path.to_path_buf(),
                found: shape,
                expected: "at least two frames of at least one particle".into(),
            });
        }
        check_positions(&positions, &path.display().to_string())?;

        let times = match file.dataset(&names.times) {
            Ok(dataset) => {
                let dataset = check_stored(path, &names.times, dataset)?;
                let times: Array1<f64> = dataset.read_1d().map_err(|e| h5_error(path, e))?;
                if times.len() != positions.shape()[0] {
                    return Err(CoreError::Shape {
                        path: path.to_path_buf(),
                        found: vec![times.len()],
                        expected: format!("[{}] times in dataset '{}'", positions.shape()[0], names.times),
                    });
                }
                check_times(&times, &format!("{}:{}", path.display(), names.times))?;
                Some(times)
            }
            Err(_) => None,
        };
        let meta = match read_text_attribute(&file, "metadata").map_err(|e| h5_error(path, e))? {
            Some(text) => Some(parse_json(path, "metadata", &text)?),
            None => None,
        };
        Ok(TrajectoryFile { positions, times, meta })
    }

    /// Writes a density artifact as one HDF5 file.
    ///
    /// # Errors
    /// [`CoreError::Hdf5`] or [`CoreError::Io`] naming `path`.
    pub fn write_density(path: &Path, density: &Density) -> Result<()> {
        write_file(path, |file| {
            file.new_dataset_builder().with_data(&density.values).create("density")?;
            write_vector(file, "times", &density.times)?;
            for (axis, name) in density.meta.grid.axes.iter().zip(["x", "y"]) {
                write_vector(file, name, &Array1::from(axis.points()))?;
            }
            file.new_dataset_builder().with_data(&density.bandwidth).create("bandwidth")?;
            write_vector(file, "mass_outside", &density.mass_outside)?;
            write_metadata(file, &density.meta, density.meta.provenance.as_ref())
        })
    }

    /// Reads a density artifact written by [`write_density`].
    ///
    /// # Errors
    /// [`CoreError::Hdf5`] for missing datasets or attributes, [`CoreError::Shape`]
    /// when the shapes disagree with the grid in the metadata.
    pub fn read_density(path: &Path) -> Result<Density> {
        let file = open(path)?;
        let error = |e: hdf5_metno::Error| h5_error(path, e);
        let Some(text) = read_text_attribute(&file, "metadata").map_err(error)? else {
            return Err(h5_error(path, "the attribute 'metadata' is missing; it is not a density artifact of ips"));
        };
        let meta: crate::artifact::DensityMeta = parse_json(path, "metadata", &text)?;
        let values = open_dataset(&file, path, "density")?.read_dyn::<f64>().map_err(error)?;
        let mut expected = vec![values.shape()[0]];
        expected.extend(meta.grid.shape());
        if values.shape() != expected.as_slice() {
            return Err(CoreError::Shape {
                path: path.to_path_buf(),
                found: values.shape().to_vec(),
                expected: format!("[n_times, {:?}] as the grid in the metadata", meta.grid.shape()),
            });
        }
        let times: Array1<f64> = open_dataset(&file, path, "times")?.read_1d().map_err(error)?;
        check_times(&times, &format!("{}:times", path.display()))?;
        let bandwidth: Array2<f64> = open_dataset(&file, path, "bandwidth")?.read_2d().map_err(error)?;
        let mass_outside: Array1<f64> = open_dataset(&file, path, "mass_outside")?.read_1d().map_err(error)?;
        Ok(Density { values, times, bandwidth, mass_outside, meta })
    }

    /// Writes a record (a model or an evaluation) as the JSON text of the
    /// attribute `name`, its provenance and the given 1D datasets;
    /// `labels` becomes a string dataset.
    ///
    /// # Errors
    /// [`CoreError::Hdf5`] or [`CoreError::Io`] naming `path`.
    pub fn write_record(
        path: &Path,
        name: &str,
        record: &serde_json::Value,
        provenance: Option<&Provenance>,
        labels: (&str, &[String]),
        columns: &[(&str, Array1<f64>)],
    ) -> Result<()> {
        write_file(path, |file| {
            let text = serde_json::to_string(record).map_err(|e| hdf5_metno::Error::from(e.to_string()))?;
            write_text_attribute(file, name, &text)?;
            if let Some(record) = provenance {
                let text = serde_json::to_string(record).map_err(|e| hdf5_metno::Error::from(e.to_string()))?;
                write_text_attribute(file, "provenance", &text)?;
            }
            let strings: Vec<VarLenUnicode> = labels
                .1
                .iter()
                .map(|s| s.parse().map_err(|e| hdf5_metno::Error::from(format!("{e}"))))
                .collect::<hdf5_metno::Result<_>>()?;
            file.new_dataset_builder().with_data(&Array1::from(strings)).create(labels.0)?;
            for (column, values) in columns {
                write_vector(file, column, values)?;
            }
            Ok(())
        })
    }

    /// Reads the JSON text of the attribute `name` of a record.
    ///
    /// # Errors
    /// [`CoreError::Hdf5`] when the attribute is missing, [`CoreError::Json`]
    /// when it does not decode into `T`.
    pub fn read_record<T: serde::de::DeserializeOwned>(path: &Path, name: &str) -> Result<T> {
        let file = open(path)?;
        match read_text_attribute(&file, name).map_err(|e| h5_error(path, e))? {
            Some(text) => parse_json(path, name, &text),
            None => Err(h5_error(path, format!("the attribute '{name}' is missing"))),
        }
    }
}

#[cfg(not(feature = "hdf5"))]
mod stub {
    use super::*;
    use ndarray::Array1;

    fn unsupported<T>(path: &Path) -> Result<T> {
        Err(CoreError::Unsupported {
            path: path.to_path_buf(),
            reason: "this build of ips has no HDF5 support; build it with `cargo build --release --features ips-cli/hdf5` (needs cmake 3.26 or newer)".into(),
        })
    }

    /// Stand-in for the HDF5 trajectory writer of builds without HDF5.
    pub struct H5TrajectoryWriter(());

    impl H5TrajectoryWriter {
        /// # Errors
        /// Always [`CoreError::Unsupported`].
        pub fn create(path: &Path, _shape: [usize; 3]) -> Result<Self> {
            unsupported(path)
        }

        /// # Errors
        /// Never reached: no writer can be created.
        pub fn append(&mut self, _positions: &[f64]) -> Result<()> {
            unreachable!("no H5TrajectoryWriter exists without the hdf5 feature")
        }

        /// # Errors
        /// Never reached: no writer can be created.
        pub fn finish(self, _times: &Array1<f64>, _meta: &TrajectoryMeta) -> Result<()> {
            unreachable!("no H5TrajectoryWriter exists without the hdf5 feature")
        }
    }

    /// # Errors
    /// Always [`CoreError::Unsupported`].
    pub fn read_provenance(path: &Path) -> Result<Option<Provenance>> {
        unsupported(path)
    }

    /// # Errors
    /// Always [`CoreError::Unsupported`].
    pub fn read_trajectories(path: &Path, _names: &TrajectoryDatasets) -> Result<TrajectoryFile> {
        unsupported(path)
    }

    /// # Errors
    /// Always [`CoreError::Unsupported`].
    pub fn write_density(path: &Path, _density: &Density) -> Result<()> {
        unsupported(path)
    }

    /// # Errors
    /// Always [`CoreError::Unsupported`].
    pub fn read_density(path: &Path) -> Result<Density> {
        unsupported(path)
    }

    /// # Errors
    /// Always [`CoreError::Unsupported`].
    pub fn write_record(
        path: &Path,
        _name: &str,
        _record: &serde_json::Value,
        _provenance: Option<&Provenance>,
        _labels: (&str, &[String]),
        _columns: &[(&str, Array1<f64>)],
    ) -> Result<()> {
        unsupported(path)
    }

    /// # Errors
    /// Always [`CoreError::Unsupported`].
    pub fn read_record<T: serde::de::DeserializeOwned>(path: &Path, _name: &str) -> Result<T> {
        unsupported(path)
    }
}
