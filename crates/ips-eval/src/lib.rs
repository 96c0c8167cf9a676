//! Evaluation of a learned kernel against the truth.
//!
//! - [`coefficients`]: the table of learned against true coefficients, with
//!   relative errors and support recovery;
//! - [`kernel_error`]: the kernel error on an `r` grid (maximum and L2) and
//!   the relative L2 error weighted by the distribution of pair distances in
//!   the data, because a kernel is only identifiable at distances where
//!   pairs of particles occur;
//! - [`wasserstein`]: the 2-Wasserstein distance between grid densities,
//!   exact in 1D and by debiased Sinkhorn in 2D;
//! - [`forward`]: the forward check, mean-field solutions with the true and
//!   the learned kernel compared with each other and with the data by W2
//!   and free energy over time;
//! - [`plots`]: PNG and SVG figures of a run, drawn with an embedded font;
//! - [`report`]: the `eval.json` record and its Markdown form;
//! - [`run_report`]: the run report `report.md` and `metrics.json`.

pub mod coefficients;
pub mod error;
pub mod forward;
pub mod kernel_error;
pub mod plots;
pub mod report;
pub mod run_report;
pub mod wasserstein;

pub use error::{EvalError, Result};
pub use report::{evaluate, Evaluation};
