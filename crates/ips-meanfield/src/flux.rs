//! Numerical fluxes across the faces between neighbouring cells.
//!
//! On the face between cell `m` and its upper neighbour `m + 1` along an axis
//! of spacing `h`, the advective velocity is the discrete gradient of the
//! interaction potential `C = W conv rho`:
//!
//! ```text
//! v = -(C_{m+1} - C_m) / h
//! ```
//!
//! Both fluxes below have the form
//!
//! ```text
//! J = a rho_m - b rho_{m+1},   a = max(v, 0) + d,   b = max(-v, 0) + d,   d >= 0
//! ```
//!
//! With `d = 0` this is the upwind flux of Carrillo, Chertock and Huang
//! (Commun. Comput. Phys. 17, 2015). The diffusive coefficient `d` is what
//! sets the two fluxes apart. Because `a` and `b` are non-negative, mass
//! only leaves a cell in proportion to its own density, which is what keeps
//! the density non-negative under the step limit of the stepper.

/// Choice of the numerical flux.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flux {
    /// Exponentially fitted (Scharfetter–Gummel) flux:
    /// `d = (D/h) B(|v| h / D)` with the Bernoulli function `B(x) = x / (e^x - 1)`.
    ///
    /// It is exact for a steady flux when `v` is constant across the face,
    /// and `J` vanishes exactly when `rho_{m+1} / rho_m = exp(-(C_{m+1} - C_m) / D)`,
    /// the discrete equilibrium `rho ~ exp(-C/D)`. It is well defined when a
    /// density is zero, and it decreases the semi-discrete free energy,
    /// because `J` has the opposite sign to the difference of
    /// `xi = D log rho + C` across the face. It becomes the upwind flux as
    /// `D -> 0` and is second-order accurate where diffusion dominates.
    #[default]
    ScharfetterGummel,
    /// Upwind advection plus the centred diffusive flux: `d = D/h`, so
    /// `J = rho^upwind v - D (rho_{m+1} - rho_m) / h`. It conserves mass and
    /// keeps the density non-negative, but it is first order, and it can
    /// raise the discrete free energy, so the stepper does not check the
    /// energy with this flux.
    UpwindCentred,
}

/// The Bernoulli function `B(x) = x / (e^x - 1)` for `x >= 0`.
fn bernoulli(x: f64) -> f64 {
    if x < 1e-4 {
        // The Taylor series, accurate to O(x^4) < 1e-16, avoids 0/0 at x = 0.
        1.0 - x / 2.0 + x * x / 12.0
    } else if x < 700.0 {
        // x e^{-x} / (1 - e^{-x}) neither overflows nor cancels.
        x * (-x).exp() / -(-x).exp_m1()
    } else {
        // B(700) < 1e-300.
        0.0
    }
}

impl Flux {
    /// Diffusive coefficient `d` of a face with velocity `velocity`, spacing
    /// `spacing` and diffusion coefficient `diffusion`, in units of velocity.
    pub(crate) fn diffusive_coefficient(self, velocity: f64, diffusion: f64, spacing: f64) -> f64 {
        if diffusion == 0.0 {
            return 0.0;
        }
        let centred = diffusion / spacing;
        match self {
            Flux::ScharfetterGummel => centred * bernoulli(velocity.abs() * spacing / diffusion),
            Flux::UpwindCentred => centred,
        }
    }
}

/// Transfer rates of one state, the right-hand side of the semi-discrete
/// equation in gain–loss form:
/// `d rho_m / dt = -out_rate_m rho_m + inflow_m`.
#[derive(Debug, Clone)]
pub(crate) struct Rates {
    /// Rate at which each cell loses its own mass, in 1/time.
    pub(crate) out_rate: Vec<f64>,
    /// Density per unit time that flows into each cell from its neighbours.
    pub(crate) inflow: Vec<f64>,
    /// Largest advective face speed `|v|` along each axis.
    pub(crate) max_speed: Vec<f64>,
    /// Largest `out_rate`. A forward Euler step of length `dt` keeps every
    /// value non-negative when `dt * max_out_rate <= 1`.
    pub(crate) max_out_rate: f64,
}

impl Rates {
    pub(crate) fn new(cells: usize, dim: usize) -> Self {
        Rates {
            out_rate: vec![0.0; cells],
            inflow: vec![0.0; cells],
            max_speed: vec![0.0; dim],
            max_out_rate: 0.0,
        }
    }

    /// Writes the forward Euler update `state + dt * rhs(state)` into `next`.
    /// Every term of the update is non-negative, so `next` is non-negative for
    /// a non-negative `state`. Where `dt * out_rate > 1` the loss is clipped to
    /// the mass of the cell, which no longer conserves mass: the stepper
    /// rejects such steps before they reach the solution.
    pub(crate) fn euler(&self, state: &[f64], dt: f64, next: &mut [f64]) {
        for (m, value) in next.iter_mut().enumerate() {
            let kept = (1.0 - dt * self.out_rate[m]).max(0.0);
            *value = state[m] * kept + dt * self.inflow[m];
        }
    }
}

/// Fills `rates` from the density and its interaction potential.
pub(crate) fn assemble(
    flux: Flux,
    mesh: &crate::mesh::Mesh,
    diffusion: f64,
    density: &[f64],
    potential: &[f64],
    rates: &mut Rates,
) {
    rates.out_rate.iter_mut().for_each(|v| *v = 0.0);
    rates.inflow.iter_mut().for_each(|v| *v = 0.0);

    for axis in 0..mesh.dim() {
        let spacing = mesh.spacing[axis];
        let mut max_speed: f64 = 0.0;
        for (lower, upper) in mesh.faces(axis) {
            let velocity = -(potential[upper] - potential[lower]) / spacing;
            let d = flux.diffusive_coefficient(velocity, diffusion, spacing);
            let upward = (velocity.max(0.0) + d) / spacing;
            let downward = ((-velocity).max(0.0) + d) / spacing;

            rates.out_rate[lower] += upward;
            rates.inflow[upper] += upward * density[lower];
            rates.out_rate[upper] += downward;
            rates.inflow[lower] += downward * density[upper];
            max_speed = max_speed.max(velocity.abs());
        }
        rates.max_speed[axis] = max_speed;
    }

    rates.max_out_rate = rates.out_rate.iter().fold(0.0, |m: f64, &r| m.max(r));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::Mesh;
    use ips_core::{Axis, Grid};

    #[test]
    fn bernoulli_is_continuous_across_branches() {
        for x in [1e-4, 700.0] {
            let below = bernoulli(x * (1.0 - 1e-12));
            let above = bernoulli(x * (1.0 + 1e-12));
            assert!(
                (below - above).abs() < 1e-12,
                "B near {x}: {below} vs {above}"
            );
        }
        assert_eq!(bernoulli(0.0), 1.0);
        assert!((bernoulli(1.0) - 1.0 / (1f64.exp() - 1.0)).abs() < 1e-15);
    }

    #[test]
    fn bernoulli_satisfies_reflection() {
        // B(-x) = x + B(x), which is why a = max(v, 0) + d reproduces the
        // classical form (D/h) B(-v h / D).
        for x in [0.3f64, 2.0, 25.0] {
            let negative = -x / ((-x).exp() - 1.0);
            assert!(
                (negative - (x + bernoulli(x))).abs() < 1e-12 * negative,
                "x = {x}"
            );
        }
    }

    #[test]
    fn scharfetter_gummel_limits() {
        let flux = Flux::ScharfetterGummel;
        // Without velocity it is the centred diffusive flux.
        assert_eq!(flux.diffusive_coefficient(0.0, 0.1, 0.05), 0.1 / 0.05);
        // Without diffusion it is the upwind flux.
        assert_eq!(flux.diffusive_coefficient(300.0, 0.0, 0.05), 0.0);
        // At high Peclet number the extra diffusion vanishes.
        assert!(flux.diffusive_coefficient(300.0, 1e-3, 0.05) < 1e-300);
    }

    /// Rates from two cells at the discrete equilibrium rho ~ exp(-C/D)
    /// cancel exactly for the exponentially fitted flux.
    #[test]
    fn scharfetter_gummel_equilibrium_has_zero_flux() {
        let grid = Grid::new(vec![Axis::new(0.0, 0.1, 2, "grid").unwrap()]).unwrap();
        let mesh = Mesh::new(&grid);
        let diffusion = 0.2;
        let potential = [0.0, 0.7, 1.1];
        let density: Vec<f64> = potential
            .iter()
            .map(|c: &f64| (-c / diffusion).exp())
            .collect();
        let mut rates = Rates::new(3, 1);
        assemble(
            Flux::ScharfetterGummel,
            &mesh,
            diffusion,
            &density,
            &potential,
            &mut rates,
        );
        for (m, rho) in density.iter().enumerate() {
            let net = rates.inflow[m] - rates.out_rate[m] * rho;
            assert!(
                net.abs() < 1e-12 * rates.inflow[m],
                "cell {m}: net rate {net}"
            );
        }
    }

    #[test]
    fn rates_conserve_mass() {
        let grid = Grid::new(vec![
            Axis::new(0.0, 1.0, 4, "x").unwrap(),
            Axis::new(0.0, 1.0, 3, "y").unwrap(),
        ])
        .unwrap();
        let mesh = Mesh::new(&grid);
        let density: Vec<f64> = (0..mesh.len())
            .map(|m| (m as f64 * 0.37).sin().abs())
            .collect();
        let potential: Vec<f64> = (0..mesh.len()).map(|m| (m as f64 * 1.3).cos()).collect();
        for flux in [Flux::ScharfetterGummel, Flux::UpwindCentred] {
            let mut rates = Rates::new(mesh.len(), 2);
            assemble(flux, &mesh, 0.05, &density, &potential, &mut rates);
            let lost: f64 = rates
                .out_rate
                .iter()
                .zip(&density)
                .map(|(r, rho)| r * rho)
                .sum();
            let gained: f64 = rates.inflow.iter().sum();
            assert!(
                (lost - gained).abs() < 1e-13 * lost,
                "{flux:?}: lost {lost}, gained {gained}"
            );
        }
    }
}
