//! Learning on case A (N = 20 000, 1000 steps of 1e-3, dictionary r^0..r^7):
//! strong-form assembly, and Phase I with importance sampling, with uniform
//! sampling and on every time step.
//!
//! Run with `cargo bench -p ips-learn --bench learn`.

use criterion::{criterion_group, criterion_main, Criterion};
use ips_core::artifact::Density;
use ips_core::{Kernel, KernelTerm, Term};
use ips_kde::KdeConfig;
use ips_learn::assembly::assemble_strong;
use ips_learn::{phase_one, LearnConfig};
use ips_sim::{InitialCondition, MixtureComponent, ModelConfig, SimulationConfig};

fn case_a_density() -> Density {
    let model = ModelConfig {
        dim: 1,
        diffusion: 0.1,
        kernel: Kernel {
            convention: Default::default(),
            terms: vec![KernelTerm { term: Term::Power(2), coefficient: 3.0 }],
        },
    };
    let initial = InitialCondition::GaussianMixture {
        components: vec![
            MixtureComponent { weight: 0.5, mean: vec![-1.0], sd: 0.3 },
            MixtureComponent { weight: 0.5, mean: vec![1.0], sd: 0.3 },
        ],
    };
    let simulation = SimulationConfig { n_particles: 20_000, dt: 1e-3, t_final: 1.0, save_every: 1, drift: Default::default(), mesh_cells: 128 };
    let trajectories = ips_sim::simulate(&model, &initial, &simulation, 1, &|_| {}).unwrap();
    let kde = KdeConfig {
        lo: vec![-3.0],
        hi: vec![3.0],
        intervals: vec![100],
        bandwidth: Default::default(),
        bandwidth_value: None,
        method: Default::default(),
        refinement: None,
    };
    ips_kde::estimate(&trajectories, &kde, &|| {}).unwrap()
}

fn learn(c: &mut Criterion) {
    let density = case_a_density();
    let terms: Vec<Term> = (0..8).map(Term::Power).collect();
    let config = LearnConfig::with_dictionary(terms);
    let dictionary = config.validate().unwrap();

    let mut group = c.benchmark_group("case_a");
    group.sample_size(10);
    group.bench_function("assembly", |b| {
        b.iter(|| assemble_strong(&density, &dictionary, 1, Some(0.1), true).unwrap());
    });

    let system = assemble_strong(&density, &dictionary, 1, Some(0.1), true).unwrap();
    let variants = [
        ("phase_one_importance", true, 0.2),
        ("phase_one_uniform", false, 0.2),
        ("phase_one_all_steps", false, 1.0),
    ];
    for (name, importance_sampling, batch_fraction) in variants {
        let mut cfg = config.clone();
        cfg.importance_sampling = importance_sampling;
        cfg.batch_fraction = batch_fraction;
        group.bench_function(name, |b| b.iter(|| phase_one::run(&system, &cfg, 1)));
    }
    group.finish();
}

criterion_group!(benches, learn);
criterion_main!(benches);
