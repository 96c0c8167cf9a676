//! Evaluation of a learned kernel against the truth.
//!
//! - [`coefficients`]: the table of learned against true coefficients, with
//!   relative errors and support recovery;
//! - [`kernel_error`]: the kernel error on an `r` grid (maximum and L2) and
//!   the relative L2 error weighted by the distribution of pair distances in
//!   the data, because a kernel is only identifiable at distances where
//!   pairs of particles occur;
//! - [`report`]: the `eval.json` record and a Markdown report.

pub mod coefficients;
pub mod error;
pub mod kernel_error;
pub mod report;

pub use error::{EvalError, Result};
pub use report::{evaluate, Evaluation};
