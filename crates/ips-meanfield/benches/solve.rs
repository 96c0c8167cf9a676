//! Wall-clock time of two reference runs, printed rather than compared:
//! case A in 1D (phi(r) = 3 r^2, D = 0.1, 101 points on [-3, 3], two
//! Gaussians of sd 0.3 at -1 and 1, t = 1) and the same model on a 64 x 64
//! grid. Run with `cargo bench -p ips-meanfield`.

use std::time::Instant;

use ips_core::{Axis, Grid, Kernel, KernelTerm, Term};
use ips_meanfield::{solve, SolverConfig};
use ndarray::{Array1, Array2, ArrayD};

fn gaussian(x: f64, centre: f64, sd: f64) -> f64 {
    (-(x - centre).powi(2) / (2.0 * sd * sd)).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt())
}

fn time_run(label: &str, grid: &Grid, initial: ArrayD<f64>) {
    let kernel = Kernel {
        convention: Default::default(),
        terms: vec![KernelTerm {
            term: Term::Power(2),
            coefficient: 3.0,
        }],
    };
    let config = SolverConfig::new(1.0, 0.1);
    let start = Instant::now();
    let density = solve(&kernel, 0.1, grid, initial.view(), &config, &|| {})
        .expect("the reference run is valid");
    let elapsed = start.elapsed();

    let masses: Vec<f64> = density
        .values
        .outer_iter()
        .map(|snapshot| snapshot.sum() * grid.cell_volume())
        .collect();
    let mass_error = masses
        .iter()
        .map(|m| (m - masses[0]).abs() / masses[0])
        .fold(0.0, f64::max);
    println!("{label}: {elapsed:.3?} to t = 1, largest relative mass error {mass_error:.1e}");
}

fn main() {
    let line = Grid::new(vec![Axis::new(-3.0, 3.0, 100, "grid").unwrap()]).unwrap();
    let initial = Array1::from_iter(
        line.axes[0]
            .points()
            .into_iter()
            .map(|x| 0.5 * gaussian(x, -1.0, 0.3) + 0.5 * gaussian(x, 1.0, 0.3)),
    );
    time_run("1D, 101 points", &line, initial.into_dyn());

    let square = Grid::new(vec![
        Axis::new(-3.0, 3.0, 63, "grid.x").unwrap(),
        Axis::new(-3.0, 3.0, 63, "grid.y").unwrap(),
    ])
    .unwrap();
    let points = square.axes[0].points();
    let initial = Array2::from_shape_fn((64, 64), |(i, j)| {
        let (x, y) = (points[i], points[j]);
        0.5 * (gaussian(x, -1.0, 0.3) + gaussian(x, 1.0, 0.3)) * gaussian(y, 0.0, 0.3)
    });
    time_run("2D, 64 x 64 points", &square, initial.into_dyn());
}
