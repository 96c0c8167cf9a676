//! One 2D W2 by debiased Sinkhorn, with the settings of the forward check,
//! between densities like those of case D: two bumps of sd 0.3 at
//! (-1, 0) and (1, 0) against one bump of sd 0.5 at the origin, on the
//! 65 x 65 grid of [-3, 3]^2.
//!
//! Run with `cargo bench -p ips-eval --bench wasserstein`.

use criterion::{criterion_group, criterion_main, Criterion};
use ips_core::{Axis, Grid};
use ips_eval::forward::FORWARD_SINKHORN;
use ips_eval::wasserstein::w2_sinkhorn_checked;
use ndarray::Array2;

fn bumps(grid: &Grid, centres: &[(f64, f64)], sd: f64) -> Array2<f64> {
    let x = grid.axes[0].points();
    let y = grid.axes[1].points();
    Array2::from_shape_fn((x.len(), y.len()), |(i, j)| {
        centres
            .iter()
            .map(|(cx, cy)| (-((x[i] - cx).powi(2) + (y[j] - cy).powi(2)) / (2.0 * sd * sd)).exp())
            .sum::<f64>()
    })
}

fn sinkhorn(c: &mut Criterion) {
    let axis = Axis::new(-3.0, 3.0, 64, "grid").unwrap();
    let grid = Grid::new(vec![axis, axis]).unwrap();
    let mut two = bumps(&grid, &[(-1.0, 0.0), (1.0, 0.0)], 0.3);
    let mut one = bumps(&grid, &[(0.0, 0.0)], 0.5);
    // Equal masses, as the forward check compares densities of mass one.
    let (sum_two, sum_one) = (two.sum(), one.sum());
    two /= sum_two;
    one /= sum_one;

    let mut group = c.benchmark_group("w2_2d");
    group.sample_size(10);
    group.bench_function("sinkhorn_65x65", |bench| {
        bench.iter(|| w2_sinkhorn_checked(&grid, two.view().into_dyn(), one.view().into_dyn(), &FORWARD_SINKHORN).unwrap())
    });
    group.finish();
}

criterion_group!(benches, sinkhorn);
criterion_main!(benches);
