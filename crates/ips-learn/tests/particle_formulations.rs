//! The particle formulations on simulated case-A data: the weak form on the
//! particles and the labelled increments find the true support and the
//! coefficient of `phi(r) = 3 r^2`, and learn D.

use ips_core::{Kernel, KernelTerm, Term};
use ips_learn::{learn_from_trajectories, DiffusionMode, Formulation, LearnConfig};
use ips_sim::{simulate, InitialCondition, MixtureComponent, ModelConfig, SimulationConfig};

fn case_a(n: usize, seed: u64) -> ips_core::artifact::Trajectories {
    let model = ModelConfig {
        dim: 1,
        diffusion: 0.1,
        kernel: Kernel { convention: Default::default(), terms: vec![KernelTerm { term: Term::Power(2), coefficient: 3.0 }] },
    };
    let component = |mean: f64| MixtureComponent { weight: 0.5, mean: vec![mean], sd: 0.3 };
    let initial = InitialCondition::GaussianMixture { components: vec![component(-1.0), component(1.0)] };
    let config = SimulationConfig { n_particles: n, dt: 1e-3, t_final: 0.5, save_every: 1, drift: Default::default(), mesh_cells: 128 };
    simulate(&model, &initial, &config, seed, &|_| {}).expect("the simulation runs")
}

fn config(formulation: Formulation) -> LearnConfig {
    let mut config = LearnConfig::with_dictionary((0..6).map(Term::Power).collect());
    config.formulation = formulation;
    config.diffusion = DiffusionMode::Learn;
    config
}

fn check(formulation: Formulation, n: usize, tolerance: f64, d_tolerance: f64) {
    let trajectories = case_a(n, 7);
    let model = learn_from_trajectories(&trajectories, None, &config(formulation), None, 1).expect("learning runs");
    let active: Vec<&str> = model.terms.iter().filter(|t| t.active).map(|t| t.name.as_str()).collect();
    assert_eq!(active, ["r^2"], "{formulation:?}: {:?}", model.terms);
    let c = model.terms[2].coefficient;
    let error = model.terms[2].std_error.expect("an active term has a standard error");
    assert!((c - 3.0).abs() < tolerance * 3.0, "{formulation:?}: c(r^2) = {c} +- {error}");
    assert!(error > 0.0 && error < 0.05 * 3.0, "{formulation:?}: standard error {error}");
    assert!(model.diffusion.learned);
    let d = model.diffusion.value;
    assert!((d - 0.1).abs() < d_tolerance * 0.1, "{formulation:?}: D = {d}");
}

#[test]
fn increments_find_r2_and_d() {
    // Spread 0.4 % at N = 5000 in the prototype; 2 % is five sigma.
    check(Formulation::Increments, 5000, 0.02, 0.02);
}

#[test]
fn weak_form_on_particles_finds_r2_and_d() {
    check(Formulation::WeakParticles, 5000, 0.03, 0.1);
}
