//! Euler–Maruyama simulation of interacting particle systems.
//!
//! Particles `X_i` in one or two dimensions move by
//!
//! ```text
//! X_i(t + dt) = X_i(t) + b_i dt + sqrt(2 D dt) xi,   xi ~ N(0, I),
//! b_i = -(1/N) sum_{j != i} phi(|X_i - X_j|) (X_i - X_j) / |X_i - X_j|,
//! ```
//!
//! with the kernel `phi` given as an [`ips_core::Kernel`]. The drift is
//! evaluated by one of these methods ([`drift`] and the modules named):
//!
//! - the direct pairwise sum, `O(N^2)` per step, parallel, for every kernel;
//! - in 1D, for kernels that are polynomials in `r`, an exact method on sorted
//!   positions with prefix sums of powers, `O(N log N)` per step;
//! - in 1D, for piecewise-polynomial kernels (indicator terms), an exact
//!   sweep over sorted positions ([`sweep`]), with the cut-off `1/r` terms
//!   on a particle mesh ([`mesh`]), `O(N log N)` per step;
//! - in 2D, for kernels of compact support, cell lists ([`cell_list`]),
//!   exact, `O(N k)` per step for `k` partners per particle;
//! - in 2D, a particle-mesh approximation ([`particle_mesh`]), `O(N)` per
//!   step plus FFTs.
//!
//! Runs are reproducible: the noise of each step is drawn in fixed blocks of
//! particles from generators seeded by `(seed, step, block)`, so the same seed
//! gives bit-identical trajectories for any number of threads.
//!
//! [`simulate`] returns the frames in memory; [`simulate_into`] passes each
//! saved frame to a [`FrameSink`] (such as a file writer) so that memory
//! stays `O(N)`.
//!
//! ```no_run
//! use ips_sim::{simulate, InitialCondition, ModelConfig, SimulationConfig};
//! # fn run(model: ModelConfig, initial: InitialCondition, config: SimulationConfig) -> ips_sim::Result<()> {
//! let trajectories = simulate(&model, &initial, &config, 42, &|_| {})?;
//! println!("{} frames", trajectories.times.len());
//! # Ok(()) }
//! ```

pub mod cell_list;
pub mod config;
pub mod drift;
pub mod error;
pub mod initial;
pub mod mesh;
pub mod noise;
pub mod particle_mesh;
pub mod sorting;
pub mod sweep;
pub mod term_drifts;
mod simulate;

pub use config::{DriftMethod, ModelConfig, SimulationConfig};
pub use error::{Result, SimError};
pub use initial::{InitialCondition, MixtureComponent};
pub use term_drifts::TermDrifts;
pub use simulate::{saved_frames, simulate, simulate_into, FrameSink, SinkError};
