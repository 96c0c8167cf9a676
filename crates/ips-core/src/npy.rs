//! NPY input and output with clear errors and atomic writes.
//!
//! Every write goes to a temporary file in the target directory and is then
//! renamed into place, so an interrupted run never leaves a file that looks
//! complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ndarray::{ArrayBase, ArrayD, Data, Dimension};
use ndarray_npy::WriteNpyExt;

use crate::{CoreError, Result};

/// Path of the temporary file that a write to `path` goes through.
pub(crate) fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Removes the temporary files that interrupted writes of the artifact
/// `path` and its companions left behind (from any process id), so that a
/// rerun after `kill -9` leaves a clean directory. Files that cannot be
/// removed are skipped.
pub fn remove_stale_temporaries(path: &Path) {
    let (Some(dir), Some(stem)) = (path.parent(), path.file_stem()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let prefix = format!(".{}.", stem.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with(&prefix) && file_name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

pub(crate) fn create_parent(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| CoreError::Io {
            action: "creating directory",
            path: parent.to_path_buf(),
            source,
        })?;
    }
    Ok(())
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
    create_parent(path)?;
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

/// NPY header (format version 1.0) of a little-endian `f64` array in C
/// order, padded with spaces so that the data starts at a multiple of 64
/// bytes. The padding rule (64 - unpadded % 64, so 1 to 64 bytes) is that of
/// ndarray-npy 0.10, which makes streamed files byte-identical to
/// [`write_npy`] output.
fn npy_header(shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let tuple = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {tuple}}}");
    // magic (6) + version (2) + header length (2) + dict + newline.
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat(64 - unpadded % 64));
    dict.push('\n');
    let mut header = b"\x93NUMPY\x01\x00".to_vec();
    header.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    header.extend_from_slice(dict.as_bytes());
    header
}

/// Writes an `f64` NPY array of a known shape block by block, so that the
/// whole array never has to be in memory.
///
/// The header is written for the full shape when the writer is created;
/// [`NpyStreamWriter::append`] adds values in C order. The file is built
/// under a temporary name and renamed by [`NpyStreamWriter::finish`] once
/// every value is written. Dropping an unfinished writer removes the
/// temporary file.
pub struct NpyStreamWriter {
    path: PathBuf,
    temporary: PathBuf,
    writer: Option<BufWriter<File>>,
    expected: usize,
    written: usize,
}

impl NpyStreamWriter {
    /// Creates the temporary file of `path` and writes the header for `shape`.
    ///
    /// # Errors
    /// [`CoreError::Io`] naming `path`.
    pub fn create(path: &Path, shape: &[usize]) -> Result<Self> {
        create_parent(path)?;
        let temporary = temporary_path(path);
        let mut stream = NpyStreamWriter {
            path: path.to_path_buf(),
            temporary,
            writer: None,
            expected: shape.iter().product(),
            written: 0,
        };
        let file = File::create(&stream.temporary).map_err(|e| stream.io_error(e))?;
        let mut writer = BufWriter::with_capacity(1 << 20, file);
        writer.write_all(&npy_header(shape)).map_err(|e| stream.io_error(e))?;
        stream.writer = Some(writer);
        Ok(stream)
    }

    fn io_error(&self, source: std::io::Error) -> CoreError {
        CoreError::Io {
            action: "writing",
            path: self.path.clone(),
            source,
        }
    }

    /// Appends `values` in C order.
    ///
    /// # Errors
    /// [`CoreError::Io`] when the write fails, [`CoreError::InvalidValue`]
    /// when the values overflow the shape given at creation.
    pub fn append(&mut self, values: &[f64]) -> Result<()> {
        if self.written + values.len() > self.expected {
            return Err(CoreError::invalid(
                format!("number of values written to '{}'", self.path.display()),
                self.written + values.len(),
                format!("the shape given at creation holds {} values", self.expected),
            ));
        }
        let writer = self.writer.as_mut().expect("the writer is open until finish");
        let mut bytes = Vec::with_capacity(values.len() * 8);
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let result = writer.write_all(&bytes);
        result.map_err(|e| self.io_error(e))?;
        self.written += values.len();
        Ok(())
    }

    /// Flushes the file to disk and renames it into place.
    ///
    /// # Errors
    /// [`CoreError::InvalidValue`] when fewer values than the shape holds were
    /// written, [`CoreError::Io`] when flushing or renaming fails.
    pub fn finish(mut self) -> Result<()> {
        if self.written != self.expected {
            return Err(CoreError::invalid(
                format!("number of values written to '{}'", self.path.display()),
                self.written,
                format!("the shape given at creation holds {} values", self.expected),
            ));
        }
        let mut writer = self.writer.take().expect("the writer is open until finish");
        let result = writer.flush().and_then(|()| writer.get_ref().sync_all());
        drop(writer);
        result.map_err(|e| self.io_error(e))?;
        std::fs::rename(&self.temporary, &self.path).map_err(|e| self.io_error(e))
    }
}

impl Drop for NpyStreamWriter {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
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
        message: json_problem(&e),
    })
}

/// Describes a JSON decoding error. An early end gets a hint, because its
/// usual cause is a write or copy that was cut short.
fn json_problem(error: &serde_json::Error) -> String {
    if error.is_eof() {
        format!("{error}; the file ends before its JSON does, so it was probably cut short: write it again")
    } else {
        error.to_string()
    }
}

/// Reads an NPY array of any shape as `f64` in C order. Every format
/// version, byte order and memory order that NumPy writes is accepted, with
/// float, integer and boolean types widened to `f64`; see
/// [`crate::npy_format`].
///
/// # Errors
/// [`CoreError::Io`] when the file is missing or unreadable, and
/// [`CoreError::Npy`] when it is not a numeric NPY array.
pub fn read_npy_f64(path: &Path) -> Result<ArrayD<f64>> {
    let file = File::open(path).map_err(|source| CoreError::Io {
        action: "opening",
        path: path.to_path_buf(),
        source,
    })?;
    crate::npy_format::read_npy_array(std::io::BufReader::new(file)).map_err(|message| CoreError::Npy {
        path: path.to_path_buf(),
        message,
    })
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
    fn stream_writer_matches_ndarray_npy() {
        let dir = tempfile::tempdir().unwrap();
        for shape in [vec![3usize], vec![2, 3], vec![4, 3, 2]] {
            let n: usize = shape.iter().product();
            let values: Vec<f64> = (0..n).map(|k| k as f64 * 0.5 - 1.0).collect();
            let reference = dir.path().join("reference.npy");
            let array = ArrayD::from_shape_vec(shape.clone(), values.clone()).unwrap();
            ndarray_npy::write_npy(&reference, &array).unwrap();

            let streamed = dir.path().join("streamed.npy");
            let mut writer = NpyStreamWriter::create(&streamed, &shape).unwrap();
            for chunk in values.chunks(2) {
                writer.append(chunk).unwrap();
            }
            writer.finish().unwrap();
            assert_eq!(
                std::fs::read(&streamed).unwrap(),
                std::fs::read(&reference).unwrap(),
                "shape {shape:?}"
            );
        }
    }

    #[test]
    fn stream_writer_rejects_short_array() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.npy");
        let mut writer = NpyStreamWriter::create(&path, &[2, 2]).unwrap();
        writer.append(&[1.0, 2.0]).unwrap();
        let err = writer.finish().unwrap_err().to_string();
        assert!(err.contains("holds 4 values"), "{err}");
        assert!(!path.exists(), "an incomplete array must not appear under its name");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 0, "the temporary file must be removed");
    }

    #[test]
    fn stale_temporaries_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.npy");
        std::fs::write(dir.path().join(".t.npy.12345.tmp"), b"partial").unwrap();
        std::fs::write(dir.path().join(".t.times.npy.7.tmp"), b"partial").unwrap();
        std::fs::write(dir.path().join(".other.npy.1.tmp"), b"other").unwrap();
        remove_stale_temporaries(&path);
        assert!(!dir.path().join(".t.npy.12345.tmp").exists());
        assert!(!dir.path().join(".t.times.npy.7.tmp").exists(), "companions' temporaries go too");
        assert!(dir.path().join(".other.npy.1.tmp").exists(), "other files' temporaries stay");
    }

    #[test]
    fn companion_names() {
        let p = Path::new("out/density.npy");
        assert_eq!(companion(p, "times.npy"), Path::new("out/density.times.npy"));
        assert_eq!(companion(p, "json"), Path::new("out/density.json"));
    }
}
