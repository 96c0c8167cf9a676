//! Shared types of the `ips` pipeline.
//!
//! The stage crates (`ips-sim`, `ips-kde`, `ips-meanfield`, `ips-learn`,
//! `ips-eval`) exchange data only through the types defined here:
//!
//! - [`Grid`]: a uniform, node-based grid in one or two dimensions. An axis
//!   from `lo` to `hi` with `intervals` cells has `intervals + 1` points,
//!   the end points included.
//! - [`Term`] and [`Kernel`]: the interaction kernel as a weighted sum of
//!   dictionary terms, in the force convention (`phi(r)`) or the influence
//!   convention (`a(r)` with `phi(r) = r a(r)`).
//! - [`artifact`]: the on-disk artifacts (trajectories, densities), stored as
//!   NPY arrays in C order with a JSON sidecar of metadata.
//! - [`h5`]: the same artifacts as HDF5 files (with the `hdf5` feature).
//! - [`provenance`]: the record of the stage, configuration, seed and inputs
//!   that made an artifact, stored with it.
//!
//! All arrays are `f64`, C order; positions and times are in the units of
//! the simulation (dimensionless in the bundled experiments).

pub mod artifact;
pub mod error;
pub mod grid;
pub mod h5;
pub mod kernel;
pub mod long_csv;
pub mod npy;
pub mod npy_format;
pub mod npz;
pub mod provenance;

pub use error::{CoreError, Result};
pub use grid::{Axis, Grid};
pub use provenance::{InputRecord, Provenance};
pub use kernel::{Convention, Kernel, KernelTerm, Term};
