//! The solver keeps mass and positivity for random densities and kernels.

use ips_core::{Axis, Grid, Kernel, KernelTerm, Term};
use ips_meanfield::Solver;
use ndarray::ArrayD;
use proptest::prelude::*;

fn kernel(coefficients: &[f64]) -> Kernel {
    Kernel {
        convention: Default::default(),
        terms: coefficients
            .iter()
            .enumerate()
            .map(|(k, &c)| KernelTerm { term: Term::Power(k as u32), coefficient: c })
            .collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn solver_keeps_mass_and_positivity(
        initial in prop::collection::vec(prop_oneof![Just(0.0), 0.0f64..2.0], 41),
        coefficients in prop::collection::vec(-3.0f64..3.0, 1..5),
        diffusion in prop_oneof![Just(0.0), 0.001f64..0.2],
    ) {
        prop_assume!(initial.iter().any(|&v| v > 0.0));
        let grid = Grid::new(vec![Axis::new(-2.0, 2.0, 40, "grid").unwrap()]).unwrap();
        let density = ArrayD::from_shape_vec(vec![41], initial).unwrap();
        let mut solver = Solver::new(&kernel(&coefficients), diffusion, &grid, density.view()).unwrap();
        let mass = solver.mass();
        solver.advance_to(0.05);
        prop_assert!((solver.mass() - mass).abs() <= 1e-12 * mass, "mass {mass} -> {}", solver.mass());
        prop_assert!(solver.density().iter().all(|&v| v >= 0.0));
    }
}
