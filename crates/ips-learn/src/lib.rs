//! Learning interaction kernels by sparse regression on the mean-field equation.
//!
//! The density `rho` of an interacting particle system obeys, in the limit of
//! many particles,
//!
//! ```text
//! d_t rho = div( rho (grad W conv rho) ) + D Lap rho,   grad W(x) = phi(|x|) x/|x|.
//! ```
//!
//! The equation is linear in the kernel, so writing `phi = sum_k c_k psi_k`
//! over a [`Dictionary`] turns each grid point and time step of a density
//! artifact into one row of a linear system `A c = b` ([`assembly`]). The
//! coefficients are found in two phases:
//!
//! 1. [`phase_one`]: repeated Lasso fits on batches of time steps drawn with
//!    probability proportional to their current residual, each followed by an
//!    adaptive threshold that removes small terms for good.
//! 2. [`phase_two`]: a least-squares refit of the surviving terms on all rows.
//!
//! [`learn`] runs both and returns a [`LearnedModel`], which serialises to the
//! `model.json` artifact. The diffusion coefficient is either known or learned
//! as one more column (the Laplacian); it is never thresholded away.
//!
//! Conventions: densities are arrays on node-based grids,
//! time derivatives are forward differences over the observation step, space
//! derivatives centred differences on interior points, and convolutions are
//! grid sums times the cell size (the cell area in 2D). Densities are 1D
//! `[n_times, nx]` or 2D `[n_times, nx, ny]`.

pub mod assembly;
mod assembly_2d;
pub mod breakpoints;
pub mod config;
pub mod convolution;
pub mod convolution_2d;
pub mod dictionary;
pub mod error;
pub mod lasso;
pub mod least_squares;
pub mod model;
pub mod particles;
pub mod phase_one;
pub mod phase_two;
pub mod selection;
pub mod weak_density;

pub use breakpoints::{BreakpointConfig, Breakpoints};
pub use config::{DiffusionMode, Formulation, LearnConfig, Selection, WeakConfig};
pub use dictionary::Dictionary;
pub use error::{LearnError, Result};
pub use model::{learn, learn_from_trajectories, learn_joint, LearnedModel};
