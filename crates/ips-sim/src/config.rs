//! The `[model]` and `[simulation]` sections of an experiment file.

use ips_core::Kernel;
use serde::{Deserialize, Serialize};

use crate::{Result, SimError};

/// The particle model: dimension, diffusion and kernel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Spatial dimension, 1 or 2.
    pub dim: usize,
    /// Diffusion coefficient D >= 0; the noise is `sqrt(2 D) dB`.
    pub diffusion: f64,
    /// The interaction kernel.
    pub kernel: Kernel,
}

impl ModelConfig {
    /// Checks the dimension, the diffusion coefficient and the kernel.
    ///
    /// # Errors
    /// [`SimError::Config`] naming the `model.*` key.
    pub fn validate(&self) -> Result<()> {
        if self.dim != 1 && self.dim != 2 {
            return Err(SimError::config("model.dim", self.dim, "the dimension must be 1 or 2"));
        }
        if !(self.diffusion.is_finite() && self.diffusion >= 0.0) {
            return Err(SimError::config(
                "model.diffusion",
                self.diffusion,
                "the diffusion coefficient must be finite and >= 0",
            ));
        }
        self.kernel.validate("model.kernel")?;
        Ok(())
    }
}

/// How the drift is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DriftMethod {
    /// In 1D the prefix-sum method for polynomial kernels and the sweep for
    /// all others; in 2D cell lists for kernels of compact support and the
    /// direct sum for all others.
    #[default]
    Auto,
    /// The direct pairwise sum.
    Direct,
    /// Prefix sums on sorted positions; 1D polynomial kernels only.
    PrefixSum,
    /// 1D only: a sorted sweep, exact for powers and indicator terms, with
    /// the cut-off `1/r` terms on a particle mesh (error about 3e-5 of the
    /// largest drift, see `ips_sim::mesh`).
    Sweep,
    /// Particle–mesh approximation on a grid of `mesh_cells` cells per
    /// axis; 2D only. Its error against the direct sum is in
    /// docs/benchmarks.md.
    ParticleMesh,
    /// Cell lists, exact; 2D kernels of compact support only.
    CellList,
}

/// The `[simulation]` section: time stepping and output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationConfig {
    /// Number of particles N >= 1.
    pub n_particles: usize,
    /// Euler–Maruyama step, > 0.
    pub dt: f64,
    /// Final time; `t_final / dt` must be a whole number of steps.
    pub t_final: f64,
    /// Save every this many steps (default 1: every step).
    #[serde(default = "one")]
    pub save_every: usize,
    #[serde(default)]
    pub drift: DriftMethod,
    /// Cells per axis of the particle–mesh grid (default 128, at least 8);
    /// read only with `drift = "particle-mesh"`.
    #[serde(default = "default_mesh_cells")]
    pub mesh_cells: usize,
}

fn one() -> usize {
    1
}

fn default_mesh_cells() -> usize {
    crate::particle_mesh::DEFAULT_MESH_CELLS
}

impl SimulationConfig {
    /// Checks the ranges and returns the number of steps.
    ///
    /// # Errors
    /// [`SimError::Config`] naming the `simulation.*` key.
    pub fn validate(&self) -> Result<usize> {
        if self.n_particles == 0 {
            return Err(SimError::config("simulation.n_particles", 0, "at least one particle is needed"));
        }
        if !(self.dt.is_finite() && self.dt > 0.0) {
            return Err(SimError::config("simulation.dt", self.dt, "the time step must be positive"));
        }
        if !(self.t_final.is_finite() && self.t_final > 0.0) {
            return Err(SimError::config("simulation.t_final", self.t_final, "the final time must be positive"));
        }
        let steps = self.t_final / self.dt;
        let n_steps = steps.round() as usize;
        if n_steps == 0 || (steps - n_steps as f64).abs() > 1e-6 * steps {
            return Err(SimError::config(
                "simulation.t_final",
                self.t_final,
                format!("t_final / dt = {steps} is not a whole number of steps; change t_final or dt"),
            ));
        }
        if self.mesh_cells < 8 {
            return Err(SimError::config(
                "simulation.mesh_cells",
                self.mesh_cells,
                "the particle-mesh grid needs at least 8 cells per axis",
            ));
        }
        if self.save_every == 0 || n_steps % self.save_every != 0 {
            return Err(SimError::config(
                "simulation.save_every",
                self.save_every,
                format!("must be >= 1 and divide the {n_steps} steps"),
            ));
        }
        Ok(n_steps)
    }
}
