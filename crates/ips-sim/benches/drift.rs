//! Drift evaluations per second over N and thread counts. In 1D the
//! prefix-sum method runs against the direct sum; in 2D the direct sum runs
//! beside the particle mesh, and cell lists against the direct sum for a
//! kernel of compact support.
//!
//! Run with `cargo bench -p ips-sim --bench drift`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ips_core::{Kernel, KernelTerm, Term};
use ips_sim::cell_list::CellListDrift;
use ips_sim::drift::{direct, PrefixSumDrift};
use ips_sim::particle_mesh::{ParticleMeshDrift, DEFAULT_MESH_CELLS};
use ips_sim::noise::add_gaussian;

fn cubic() -> Kernel {
    Kernel {
        convention: Default::default(),
        terms: vec![KernelTerm { term: Term::Power(2), coefficient: 3.0 }],
    }
}

/// Positions one noise step after a sorted state, as in a simulation.
fn positions(n: usize, dim: usize) -> Vec<f64> {
    let mut x: Vec<f64> = (0..n * dim).map(|i| ((i as f64) * 0.618_033_988_7).fract() * 4.0 - 2.0).collect();
    if dim == 1 {
        x.sort_by(f64::total_cmp);
    }
    add_gaussian(&mut x, dim, 0.014, 7, 0);
    x
}

/// The prefix-sum method for `phi = 3 r^2` and for a kernel of degree 7,
/// the largest of the case A dictionary.
fn prefix_sum_1d(c: &mut Criterion) {
    prefix_sum_by_kernel(c, "prefix_sum_1d", &[0.0, 0.0, 3.0], &[1_000, 10_000, 100_000, 1_000_000]);
    let degree_7 = [0.3, -1.0, 3.0, 0.5, -0.2, 0.1, -0.05, 0.01];
    prefix_sum_by_kernel(c, "prefix_sum_1d_degree_7", &degree_7, &[10_000, 1_000_000]);
}

fn prefix_sum_by_kernel(c: &mut Criterion, name: &str, coefficients: &[f64], sizes: &[usize]) {
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    for &n in sizes {
        let x = positions(n, 1);
        let mut drift = vec![0.0; n];
        let mut method = PrefixSumDrift::new(coefficients.to_vec());
        group.throughput(Throughput::Elements(n as u64));
        for threads in [1usize, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            group.bench_with_input(BenchmarkId::new(format!("{threads}_threads"), n), &n, |b, _| {
                b.iter(|| pool.install(|| method.evaluate(&x, &mut drift)));
            });
        }
    }
    group.finish();
}

fn direct_by_threads(c: &mut Criterion, dim: usize, sizes: &[usize]) {
    let mut group = c.benchmark_group(format!("direct_{dim}d"));
    group.sample_size(10);
    let kernel = cubic();
    for &n in sizes {
        let x = positions(n, dim);
        let mut drift = vec![0.0; n * dim];
        // Throughput in pair interactions.
        group.throughput(Throughput::Elements((n * n) as u64));
        for threads in [1usize, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            group.bench_with_input(BenchmarkId::new(format!("{threads}_threads"), n), &n, |b, _| {
                b.iter(|| pool.install(|| direct(&kernel, &x, dim, &mut drift)));
            });
        }
    }
    group.finish();
}

fn direct_1d(c: &mut Criterion) {
    direct_by_threads(c, 1, &[1_000, 10_000]);
}

fn direct_2d(c: &mut Criterion) {
    direct_by_threads(c, 2, &[1_000, 10_000, 50_000]);
}

/// The particle–mesh drift of case D (`phi = 3 r^2`, 128 cells per axis),
/// the fast 2D method, over the same sizes as the 2D direct sum.
fn particle_mesh_2d(c: &mut Criterion) {
    let mut group = c.benchmark_group("particle_mesh_2d");
    group.sample_size(10);
    let kernel = cubic();
    for n in [1_000usize, 10_000, 50_000] {
        let x = positions(n, 2);
        let mut drift = vec![0.0; n * 2];
        let mut method = ParticleMeshDrift::new(DEFAULT_MESH_CELLS);
        group.throughput(Throughput::Elements(n as u64));
        for threads in [1usize, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            group.bench_with_input(BenchmarkId::new(format!("{threads}_threads"), n), &n, |b, _| {
                b.iter(|| pool.install(|| method.evaluate(&kernel, &x, &mut drift)));
            });
        }
    }
    group.finish();
}

/// An opinion-like influence of support 0.2 on particles spread evenly
/// over [-2, 2]^2 (the R2 low-discrepancy sequence), so each particle has
/// about 0.8 % of the others as partners.
fn cell_list_2d(c: &mut Criterion) {
    let kernel = Kernel {
        convention: Default::default(),
        terms: vec![
            KernelTerm { term: Term::Indicator { lo: 0.0, hi: 0.1 }, coefficient: 1.0 },
            KernelTerm { term: Term::Indicator { lo: 0.1, hi: 0.2 }, coefficient: 0.5 },
        ],
    };
    let mut group = c.benchmark_group("compact_2d");
    group.sample_size(10);
    for n in [10_000usize, 50_000] {
        let x: Vec<f64> = (0..n)
            .flat_map(|i| {
                let i = i as f64;
                [(i * 0.754_877_666_2).fract() * 4.0 - 2.0, (i * 0.569_840_290_9).fract() * 4.0 - 2.0]
            })
            .collect();
        let mut drift = vec![0.0; 2 * n];
        group.throughput(Throughput::Elements(n as u64));
        let mut method = CellListDrift::new();
        group.bench_with_input(BenchmarkId::new("cell_list", n), &n, |b, _| {
            b.iter(|| method.evaluate(&kernel, 0.2, &x, &mut drift));
        });
        if n <= 10_000 {
            group.bench_with_input(BenchmarkId::new("direct", n), &n, |b, _| {
                b.iter(|| direct(&kernel, &x, 2, &mut drift));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, prefix_sum_1d, direct_1d, direct_2d, particle_mesh_2d, cell_list_2d);
criterion_main!(benches);
