//! The discrete free energy
//! `F = D sum rho_m log rho_m dV + 1/2 sum_m sum_l W(x_m - x_l) rho_m rho_l dV^2`,
//! with `0 log 0 = 0`.

use ips_core::{Grid, Kernel};
use ndarray::ArrayViewD;

use crate::convolution::PotentialConvolution;
use crate::mesh::Mesh;

/// Computes the free energy from a density and its potential
/// `C = W conv rho`, which already contains one factor `dV`.
pub(crate) fn free_energy_with_potential(
    diffusion: f64,
    cell_volume: f64,
    density: &[f64],
    potential: &[f64],
) -> f64 {
    free_energy_and_magnitude(diffusion, cell_volume, density, potential).0
}

/// Computes the free energy as [`free_energy_with_potential`] does, together
/// with the sum of the absolute values of its terms. The rounding error of
/// the free energy is a small multiple of machine epsilon times that sum.
pub(crate) fn free_energy_and_magnitude(
    diffusion: f64,
    cell_volume: f64,
    density: &[f64],
    potential: &[f64],
) -> (f64, f64) {
    let mut energy = 0.0;
    let mut magnitude = 0.0;
    for (&rho, &c) in density.iter().zip(potential) {
        let interaction = 0.5 * rho * c;
        let entropy = if diffusion > 0.0 && rho != 0.0 {
            diffusion * rho * rho.ln()
        } else {
            0.0
        };
        energy += interaction + entropy;
        magnitude += interaction.abs() + entropy.abs();
    }
    (energy * cell_volume, magnitude * cell_volume)
}

/// Computes the discrete free energy of `density` on `grid`: the
/// Lyapunov functional that the solver decreases.
///
/// `W(x) = U(|x|)` with `U` = [`Kernel::potential`], the antiderivative of
/// `phi` that vanishes at 0. The double sum is evaluated by zero-padded FFT.
/// A negative density value, or a potential that overflows on the grid,
/// gives a non-finite result.
///
/// # Panics
/// When the shape of `density` differs from `grid.shape()`.
pub fn free_energy(kernel: &Kernel, diffusion: f64, grid: &Grid, density: ArrayViewD<f64>) -> f64 {
    assert_eq!(
        density.shape(),
        grid.shape().as_slice(),
        "the density must have one value per grid point"
    );
    let mesh = Mesh::new(grid);
    let values: Vec<f64> = density.iter().copied().collect();
    let Ok(convolution) = PotentialConvolution::new(kernel, &mesh) else {
        return f64::NAN;
    };
    let mut potential = vec![0.0; mesh.len()];
    convolution.apply(&values, &mut potential);
    free_energy_with_potential(diffusion, mesh.cell_volume, &values, &potential)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ips_core::{Axis, KernelTerm, Term};
    use ndarray::Array1;

    fn quadratic_kernel() -> Kernel {
        Kernel {
            convention: Default::default(),
            terms: vec![KernelTerm {
                term: Term::Power(1),
                coefficient: 1.0,
            }],
        }
    }

    /// For `W(x) = x^2 / 2`, `1/2 sum sum W rho rho = M * (second moment) / 2 - (first moment)^2 / 2`.
    #[test]
    fn interaction_energy_of_quadratic_potential() {
        let grid = Grid::new(vec![Axis::new(-1.0, 2.0, 30, "grid").unwrap()]).unwrap();
        let dx = grid.cell_volume();
        let points = Array1::from(grid.axes[0].points());
        let density = points.mapv(|x| 1.0 + 0.5 * x);
        let mass = density.sum() * dx;
        let first = (&density * &points).sum() * dx;
        let second = (&density * &points * &points).sum() * dx;
        let expected = 0.5 * (mass * second - first * first);
        let energy = free_energy(&quadratic_kernel(), 0.0, &grid, density.view().into_dyn());
        assert!(
            (energy - expected).abs() < 1e-12 * expected.abs(),
            "{energy} vs {expected}"
        );
    }

    #[test]
    fn magnitude_bounds_energy() {
        let density = [0.5, 2.0, 0.0];
        let potential = [-1.0, 0.25, 3.0];
        let (energy, magnitude) = free_energy_and_magnitude(0.1, 0.5, &density, &potential);
        let entropy = 0.1 * (0.5 * 0.5f64.ln() + 2.0 * 2f64.ln());
        let interaction = 0.5 * (-0.5 + 0.5);
        assert!((energy - 0.5 * (entropy + interaction)).abs() < 1e-15);
        let expected_magnitude =
            0.5 * (0.1 * 0.5 * 0.5f64.ln().abs() + 0.25 + 0.1 * 2.0 * 2f64.ln() + 0.25);
        assert!(
            (magnitude - expected_magnitude).abs() < 1e-15,
            "{magnitude} vs {expected_magnitude}"
        );
    }

    #[test]
    fn entropy_treats_zero_as_zero() {
        let grid = Grid::new(vec![Axis::new(0.0, 1.0, 2, "grid").unwrap()]).unwrap();
        let kernel = Kernel {
            convention: Default::default(),
            terms: vec![KernelTerm {
                term: Term::Power(0),
                coefficient: 0.0,
            }],
        };
        let density = Array1::from(vec![0.0, 2.0, 0.0]);
        let energy = free_energy(&kernel, 0.5, &grid, density.view().into_dyn());
        let expected = 0.5 * 2.0 * 2f64.ln() * 0.5;
        assert!((energy - expected).abs() < 1e-15, "{energy} vs {expected}");
    }
}
