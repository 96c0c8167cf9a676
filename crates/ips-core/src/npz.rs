//! Arrays from NPZ archives as `numpy.savez` and `numpy.savez_compressed`
//! write them: a ZIP file (stored or deflated members, with the ZIP64
//! headers NumPy always writes) of NPY files named `NAME.npy`.
//!
//! Each member is decoded by [`crate::npy_format`], so object arrays are
//! rejected and never unpickled.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use ndarray::ArrayD;

use crate::{CoreError, Result};

/// Returns whether `path` names an NPZ archive, by its extension.
pub fn is_npz_path(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("npz"))
}

/// An opened NPZ archive.
pub struct NpzArchive<R: Read + Seek> {
    archive: zip::ZipArchive<R>,
    /// File name for error messages.
    source: String,
}

impl NpzArchive<BufReader<File>> {
    /// Opens the archive at `path`.
    ///
    /// # Errors
    /// [`CoreError::Io`] when the file cannot be opened, [`CoreError::Npy`]
    /// when it is not a ZIP archive.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| CoreError::Io {
            action: "opening",
            path: path.to_path_buf(),
            source,
        })?;
        NpzArchive::new(BufReader::new(file), &path.display().to_string())
    }
}

impl<R: Read + Seek> NpzArchive<R> {
    /// Reads the directory of the archive in `reader`; `source` names it in errors.
    ///
    /// # Errors
    /// [`CoreError::Npy`] when the bytes are not a ZIP archive.
    pub fn new(reader: R, source: &str) -> Result<Self> {
        let archive = zip::ZipArchive::new(reader).map_err(|e| CoreError::Npy {
            path: source.into(),
            message: format!("it is not an NPZ archive as numpy.savez writes it: {e}"),
        })?;
        Ok(NpzArchive { archive, source: source.to_string() })
    }

    /// Names of the arrays in the archive, in archive order.
    pub fn names(&self) -> Vec<String> {
        self.archive
            .file_names()
            .map(|name| name.strip_suffix(".npy").unwrap_or(name).to_string())
            .collect()
    }

    /// Returns whether the archive contains an array called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.archive.index_for_name(&format!("{name}.npy")).is_some()
    }

    /// Reads the array `name` (the keyword given to `numpy.savez`, or
    /// `arr_0`, `arr_1`, ... for positional arrays) as `f64` in C order.
    ///
    /// # Errors
    /// [`CoreError::Npy`] naming the archive and array when the array is
    /// missing (with the names present), cannot be decompressed or is not a
    /// numeric NPY array.
    pub fn read(&mut self, name: &str) -> Result<ArrayD<f64>> {
        let error = |message: String| CoreError::Npy {
            path: format!("{}, array '{name}'", self.source).into(),
            message,
        };
        let Some(index) = self.archive.index_for_name(&format!("{name}.npy")) else {
            let names = self.names().join("', '");
            return Err(error(format!(
                "the archive has no such array; it has '{names}'. Name the array with --positions-dataset or --times-dataset"
            )));
        };
        let member = self
            .archive
            .by_index(index)
            .map_err(|e| error(format!("the member cannot be read: {e}")))?;
        crate::npy_format::read_npy_array(BufReader::new(member)).map_err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn npy_bytes(values: &[f64]) -> Vec<u8> {
        let mut bytes = Vec::new();
        ndarray_npy::WriteNpyExt::write_npy(&ndarray::Array1::from(values.to_vec()), &mut bytes).unwrap();
        bytes
    }

    fn archive(members: &[(&str, Vec<u8>)], method: zip::CompressionMethod) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(method).large_file(true);
        for (name, bytes) in members {
            writer.start_file(*name, options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn stored_member_is_read_by_name() {
        let bytes = archive(&[("times.npy", npy_bytes(&[0.0, 0.5])), ("x.npy", npy_bytes(&[3.0]))], zip::CompressionMethod::Stored);
        let mut npz = NpzArchive::new(Cursor::new(bytes), "a.npz").unwrap();
        assert_eq!(npz.names(), ["times", "x"]);
        assert_eq!(npz.read("times").unwrap().as_slice().unwrap(), &[0.0, 0.5]);
    }

    #[test]
    fn missing_member_lists_names() {
        let bytes = archive(&[("arr_0.npy", npy_bytes(&[1.0]))], zip::CompressionMethod::Stored);
        let mut npz = NpzArchive::new(Cursor::new(bytes), "a.npz").unwrap();
        let err = npz.read("positions").unwrap_err().to_string();
        assert!(err.contains("'arr_0'"), "{err}");
        assert!(err.contains("--positions-dataset"), "{err}");
    }

    #[test]
    fn non_zip_bytes_are_rejected() {
        let err = NpzArchive::new(Cursor::new(b"PK\x03\x04 not really".to_vec()), "a.npz")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("a.npz"), "{err}");
        assert!(err.contains("numpy.savez"), "{err}");
    }
}
