//! One KDE snapshot of case-A-like data: the binned FFT path against the
//! direct sum, in 1D (101 points) and 2D (65 x 65 points).
//!
//! Run with `cargo bench -p ips-kde --bench kde`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ips_kde::{estimate_snapshot, KdeConfig, KdeMethod};
use ndarray::Array2;

/// Two clusters at -1 and 1 of spread 0.3, from a low-discrepancy sequence.
fn points(n: usize, dim: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, dim), |(i, a)| {
        let u = ((i * (a + 1)) as f64 * 0.618_033_988_7 + 0.1 * a as f64).fract();
        let centre = if i % 2 == 0 { -1.0 } else { 1.0 };
        let spread = 0.3 * (2.0 * u - 1.0) * 1.7;
        if a == 0 { centre + spread } else { spread }
    })
}

fn config(dim: usize, method: KdeMethod) -> KdeConfig {
    KdeConfig {
        lo: vec![-3.0; dim],
        hi: vec![3.0; dim],
        intervals: vec![if dim == 1 { 100 } else { 64 }; dim],
        bandwidth: Default::default(),
        bandwidth_value: None,
        method,
        refinement: None,
    }
}

fn snapshot(c: &mut Criterion) {
    let mut group = c.benchmark_group("kde_snapshot");
    group.sample_size(10);
    for dim in [1usize, 2] {
        let n = 20_000;
        let data = points(n, dim);
        for method in [KdeMethod::Fft, KdeMethod::Direct] {
            let cfg = config(dim, method);
            let grid = cfg.validate(dim).unwrap();
            let label = format!("{dim}d_{method:?}");
            group.bench_with_input(BenchmarkId::new(label, n), &n, |b, _| {
                b.iter(|| estimate_snapshot(data.view(), &grid, &cfg, 0).unwrap());
            });
        }
    }
    group.finish();
}

criterion_group!(benches, snapshot);
criterion_main!(benches);
