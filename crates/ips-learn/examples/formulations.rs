//! Compares the formulations on case A (phi = 3 r^2, D = 0.1, T = 1,
//! dt = 1e-3, dictionary r^0..r^7, D learned) at several N over seeds:
//! support, c(r^2) with its standard error, D, and the learning time.
//!
//! Run with `cargo run --release -p ips-learn --example formulations
//! [N ...]` (default 2000 5000 20000); the table is in docs/method.md.

use std::time::Instant;

use ips_core::{Kernel, KernelTerm, Term};
use ips_kde::KdeConfig;
use ips_learn::{learn, learn_from_trajectories, DiffusionMode, Formulation, LearnConfig};
use ips_sim::{InitialCondition, MixtureComponent, ModelConfig, SimulationConfig};

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("N is a whole number")).collect();
    let sizes = if sizes.is_empty() { vec![2000, 5000, 20_000] } else { sizes };
    let model = ModelConfig {
        dim: 1,
        diffusion: 0.1,
        kernel: Kernel { convention: Default::default(), terms: vec![KernelTerm { term: Term::Power(2), coefficient: 3.0 }] },
    };
    let component = |mean: f64| MixtureComponent { weight: 0.5, mean: vec![mean], sd: 0.3 };
    let initial = InitialCondition::GaussianMixture { components: vec![component(-1.0), component(1.0)] };
    let kde = KdeConfig {
        lo: vec![-3.0],
        hi: vec![3.0],
        intervals: vec![100],
        bandwidth: Default::default(),
        bandwidth_value: None,
        method: Default::default(),
        refinement: None,
    };
    println!("| N | seed | formulation | support | c(r^2) | std. error | D | BIC best | runner-up gap | seconds |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for &n in &sizes {
        for seed in 1..=3 {
            let simulation = SimulationConfig { n_particles: n, dt: 1e-3, t_final: 1.0, save_every: 1, drift: Default::default(), mesh_cells: 128 };
            let trajectories = ips_sim::simulate(&model, &initial, &simulation, seed, &|_| {}).expect("simulation");
            for formulation in [Formulation::Strong, Formulation::WeakDensity, Formulation::WeakParticles, Formulation::Increments] {
                let mut config = LearnConfig::with_dictionary((0..8).map(Term::Power).collect());
                config.formulation = formulation;
                config.diffusion = DiffusionMode::Learn;
                let start = Instant::now();
                let learned = if !formulation.uses_particles() {
                    let density = ips_kde::estimate(&trajectories, &kde, &|| {}).expect("kde");
                    learn(&density, &config, None, seed)
                } else {
                    learn_from_trajectories(&trajectories, None, &config, None, seed)
                }
                .expect("learning");
                let seconds = start.elapsed().as_secs_f64();
                let support: Vec<&str> = learned.terms.iter().filter(|t| t.active).map(|t| t.name.as_str()).collect();
                let r2 = &learned.terms[2];
                let ranking = learned.support_ranking.as_ref().expect("a ranking for 8 terms");
                println!(
                    "| {n} | {seed} | {} | {} | {:.4} | {} | {:.4} | {} | {:.1} | {seconds:.2} |",
                    learned.assembly.formulation,
                    support.join(" "),
                    r2.coefficient,
                    r2.std_error.map(|e| format!("{e:.4}")).unwrap_or_default(),
                    learned.diffusion.value,
                    ranking.ranked[0].terms.join(" "),
                    ranking.ranked[1].gap,
                );
            }
        }
    }
}
