//! The `--format` option: NPY (with JSON records) or HDF5.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use ips_core::h5::is_hdf5_path;

/// File format of the artifacts a command writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// NPY arrays with JSON sidecars; models and evaluations as JSON.
    Npy,
    /// One HDF5 file (.h5) per artifact.
    Hdf5,
}

/// Kind of artifact, which decides the NPY-format extension.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Trajectories and densities: `.npy`.
    Array,
    /// Models and evaluations: `.json`.
    Record,
}

impl Format {
    /// File name of the artifact `stem` in this format.
    pub fn file_name(self, stem: &str, kind: Kind) -> String {
        match (self, kind) {
            (Format::Hdf5, _) => format!("{stem}.h5"),
            (Format::Npy, Kind::Array) => format!("{stem}.npy"),
            (Format::Npy, Kind::Record) => format!("{stem}.json"),
        }
    }
}

/// Checks an output path against `--format`: without the option the
/// extension decides (`.h5` or `.hdf5` is HDF5); with it, a path without
/// extension gets the format's extension, and a conflicting one is an error.
///
/// # Errors
/// `--format` and the extension of `out` disagree.
pub fn output_path(out: &Path, format: Option<Format>, kind: Kind) -> Result<PathBuf> {
    let Some(format) = format else {
        return Ok(out.to_path_buf());
    };
    if out.extension().is_none() {
        let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        return Ok(out.with_file_name(format.file_name(&name, kind)));
    }
    if (format == Format::Hdf5) != is_hdf5_path(out) {
        bail!(
            "--format {} does not match the output '{}'; name the output *.{} or leave out --format",
            match format {
                Format::Npy => "npy",
                Format::Hdf5 => "hdf5",
            },
            out.display(),
            match (format, kind) {
                (Format::Hdf5, _) => "h5",
                (Format::Npy, Kind::Array) => "npy",
                (Format::Npy, Kind::Record) => "json",
            }
        );
    }
    Ok(out.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_decides_without_option() {
        assert_eq!(output_path(Path::new("d.h5"), None, Kind::Array).unwrap(), Path::new("d.h5"));
        assert_eq!(output_path(Path::new("d.npy"), None, Kind::Array).unwrap(), Path::new("d.npy"));
    }

    #[test]
    fn option_adds_missing_extension() {
        assert_eq!(output_path(Path::new("out/d"), Some(Format::Hdf5), Kind::Array).unwrap(), Path::new("out/d.h5"));
        assert_eq!(output_path(Path::new("m"), Some(Format::Npy), Kind::Record).unwrap(), Path::new("m.json"));
    }

    #[test]
    fn conflicting_extension_is_rejected() {
        let err = output_path(Path::new("d.npy"), Some(Format::Hdf5), Kind::Array).unwrap_err().to_string();
        assert!(err.contains("*.h5"), "{err}");
    }
}
