//! NPY input and output with clear errors and atomic writes.
//!
//! Every write goes to a temporary file in the target directory and is then
//! renamed into place, so an interrupted run never leaves a file that looks
//! complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ndarray::{ArrayBase, ArrayD, Data, Dimension};
use ndarray_npy::{ReadNpyError, ReadNpyExt, WriteNpyExt};

use crate::{CoreError, Result};

/// Path of the temporary file that a write to `path` goes through.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Writes a file through `write_body`, atomically.
///
/// # Errors
/// [`CoreError::Io`] naming `path` when the file cannot be created or
/// written, or the body writer fails.
pub fn write_atomic(
    path: &Path,
    write_body: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| CoreError::Io {
            action: "creating directory",
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let temporary = temporary_path(path);
    let io_error = |source| CoreError::Io {
        action: "writing",
        path: path.to_path_buf(),
        source,
    };
    let result = (|| {
        let file = File::create(&temporary)?;
        let mut writer = BufWriter::with_capacity(1 << 20, file);
        write_body(&mut writer)?;
        writer.flush()?;
        writer.get_ref().sync_all()?;
        Ok(())
    })();
    if let Err(source) = result {
        let _ = std::fs::remove_file(&temporary);
        return Err(io_error(source));
    }
    std::fs::rename(&temporary, path).map_err(io_error)
}

/// Writes an `f64` array as NPY (C order, little-endian), atomically.
///
/// # Errors
/// [`CoreError::Io`] naming `path`.
pub fn write_npy<S, D>(path: &Path, array: &ArrayBase<S, D>) -> Result<()>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    write_atomic(path, |writer| {
        array
            .write_npy(writer)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
}

/// Writes a JSON value, pretty-printed, atomically.
///
/// # Errors
/// [`CoreError::Io`] naming `path`.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, |writer| {
        serde_json::to_writer_pretty(&mut *writer, value).map_err(std::io::Error::other)?;
        writer.write_all(b"\n")
    })
}

/// Reads a JSON file into `T`.
///
/// # Errors
/// [`CoreError::Io`] when the file cannot be read, [`CoreError::Json`] when
/// it does not decode into `T`.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| CoreError::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| CoreError::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Reads an NPY array of any shape as `f64`. Little-endian `f64` and `f32`
/// arrays are accepted; `f32` values are widened.
///
/// # Errors
/// [`CoreError::Io`] when the file is missing or unreadable, and
/// [`CoreError::Npy`] when it is not an NPY file of a floating-point type.
pub fn read_npy_f64(path: &Path) -> Result<ArrayD<f64>> {
    let open = || {
        File::open(path).map_err(|source| CoreError::Io {
            action: "opening",
            path: path.to_path_buf(),
            source,
        })
    };
    let npy_error = |message: String| CoreError::Npy {
        path: path.to_path_buf(),
        message,
    };
    match ArrayD::<f64>::read_npy(std::io::BufReader::new(open()?)) {
        Ok(array) => Ok(array),
        Err(ReadNpyError::WrongDescriptor(_)) => {
            match ArrayD::<f32>::read_npy(std::io::BufReader::new(open()?)) {
                Ok(array) => Ok(array.mapv(f64::from)),
                Err(ReadNpyError::WrongDescriptor(descriptor)) => Err(npy_error(format!(
                    "the data type {descriptor} is not supported; save the array as float64 or float32"
                ))),
                Err(e) => Err(npy_error(e.to_string())),
            }
        }
        Err(e) => Err(npy_error(format!(
            "{e}; the file must be an NPY array as written by numpy.save"
        ))),
    }
}

/// A companion file of an artifact: `dir/stem.npy` gives `dir/stem.SUFFIX`.
pub fn companion(path: &Path, suffix: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{stem}.{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn npy_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let a = array![[1.0, 2.0], [3.0, 4.5]];
        write_npy(&path, &a).unwrap();
        let b = read_npy_f64(&path).unwrap();
        assert_eq!(b.shape(), &[2, 2]);
        assert_eq!(b[[1, 1]], 4.5);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "the temporary file must be renamed away");
    }

    #[test]
    fn f32_is_widened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let a = array![1.5f32, 2.25];
        ndarray_npy::write_npy(&path, &a).unwrap();
        assert_eq!(read_npy_f64(&path).unwrap()[[1]], 2.25);
    }

    #[test]
    fn missing_file_is_named() {
        let err = read_npy_f64(Path::new("/nonexistent/x.npy")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.npy"), "{err}");
    }

    #[test]
    fn non_npy_file_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.npy");
        std::fs::write(&path, b"not an npy file").unwrap();
        let err = read_npy_f64(&path).unwrap_err().to_string();
        assert!(err.contains("bad.npy"), "{err}");
        assert!(err.contains("numpy.save"), "{err}");
    }

    #[test]
    fn companion_names() {
        let p = Path::new("out/density.npy");
        assert_eq!(companion(p, "times.npy"), Path::new("out/density.times.npy"));
        assert_eq!(companion(p, "json"), Path::new("out/density.json"));
    }
}
