//! Breakpoint detection on noise-free data with known jumps: densities of
//! the mean-field equation of the polarization kernel, solved by
//! ips-meanfield, whose finite-volume scheme is independent of the strong
//! form that the detection assembles.

use ips_core::{Axis, Convention, Grid, Kernel, KernelTerm, Term};
use ips_learn::breakpoints::detect;
use ips_learn::{learn, BreakpointConfig, LearnConfig};
use ips_meanfield::SolverConfig;
use ndarray::{ArrayD, IxDyn};

fn polarization() -> Kernel {
    Kernel {
        convention: Convention::Influence,
        terms: vec![
            KernelTerm { term: Term::Indicator { lo: 0.0, hi: 0.4 }, coefficient: 0.5 },
            KernelTerm { term: Term::Indicator { lo: 0.4, hi: 0.8 }, coefficient: 1.0 },
        ],
    }
}

/// Three bumps 0.6 apart on [-3, 3] with dx = 0.02, D = 0.01, t in [0, 2].
fn solver_density() -> ips_core::artifact::Density {
    let grid = Grid { axes: vec![Axis::new(-3.0, 3.0, 300, "grid").unwrap()] };
    let x = grid.axes[0].points();
    let bump = |c: f64| x.iter().map(move |&v| (-(v - c) * (v - c) / (2.0 * 0.15f64.powi(2))).exp());
    let values: Vec<f64> = bump(-0.6).zip(bump(0.0)).zip(bump(0.6)).map(|((a, b), c)| a + b + c).collect();
    let mass: f64 = values.iter().sum::<f64>() * grid.axes[0].dx();
    let initial = ArrayD::from_shape_vec(IxDyn(&[x.len()]), values.iter().map(|v| v / mass).collect()).unwrap();
    ips_meanfield::solve(&polarization(), 0.01, &grid, initial.view(), &SolverConfig::new(2.0, 0.002), &|| {}).unwrap()
}

/// The jumps are found exactly on the fine edges, and the refit gives the
/// levels to 1 % (measured 0.4995 and 1.0009) with the other terms removed.
#[test]
fn detects_known_jumps_on_solver_data() {
    let density = solver_density();
    let dx = density.meta.grid.axes[0].dx();
    let config = BreakpointConfig { intervals: 60, r_max: 1.2, pieces: 3 };
    let found = detect(&density, &config, Convention::Influence, 1, Some(0.01), false).unwrap();
    assert_eq!(found.edges.len(), 4, "{:?}", found.edges);
    for (detected, truth) in found.edges[1..3].iter().zip([0.4, 0.8]) {
        assert!((detected - truth).abs() <= dx + 1e-9, "edges {:?}: {detected} is not within one cell of {truth}", found.edges);
    }
    assert_eq!(found.edges[3], 6.0, "the last piece reaches the grid size");

    let mut learn_config = LearnConfig::with_dictionary(Vec::new());
    learn_config.convention = Convention::Influence;
    learn_config.bandwidth_correction = false;
    learn_config.breakpoints = Some(config);
    let model = learn(&density, &learn_config, Some(0.01), 1).unwrap();
    let breakpoints = model.breakpoints.as_ref().unwrap();
    assert_eq!(breakpoints.edges, found.edges);
    let active: Vec<(String, f64)> = model.terms.iter().filter(|t| t.active).map(|t| (t.name.clone(), t.coefficient)).collect();
    eprintln!("edges {:?}, active terms {active:?}", breakpoints.edges);
    let level = |lo: f64, hi: f64| {
        model.terms.iter().find(|t| t.name == Term::Indicator { lo, hi }.name()).map(|t| t.coefficient).unwrap()
    };
    let e = &breakpoints.edges;
    assert!((level(e[0], e[1]) - 0.5).abs() < 0.01, "inner level {active:?}");
    assert!((level(e[1], e[2]) - 1.0).abs() < 0.01, "outer level {active:?}");
    assert_eq!(level(e[2], e[3]), 0.0, "the piece beyond the support is removed: {active:?}");
}
