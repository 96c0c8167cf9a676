//! Case A (phi = 3 r^2, D = 0.1, two Gaussian bumps) with N = 20 000
//! particles: the mean-field solution from the KDE of the first frame
//! stays within W2 = 0.01 of the KDE of the particles from t = 0.3 to 1.
//!
//! Before t = 0.3 the gap is larger (0.012 at t = 0.1 with this seed)
//! because the solver starts from the KDE, which is wider than the
//! particles by the bandwidth (about 0.13 by Silverman's rule), and the
//! bumps of the solution move and merge a little differently until
//! diffusion has spread them. The whole test takes about 1.5 s in release.

use ips_core::{Kernel, KernelTerm, Term};
use ips_eval::forward::{forward_check, ForwardModel};
use ips_meanfield::SolverConfig;
use serde_json::json;

#[test]
fn case_a_solver_tracks_particles() {
    let kernel = Kernel {
        convention: Default::default(),
        terms: vec![KernelTerm { term: Term::Power(2), coefficient: 3.0 }],
    };
    let model: ips_sim::ModelConfig =
        serde_json::from_value(json!({ "dim": 1, "diffusion": 0.1, "kernel": kernel })).unwrap();
    let initial: ips_sim::InitialCondition = serde_json::from_value(json!({
        "kind": "gaussian-mixture",
        "components": [
            { "weight": 0.5, "mean": [-1.0], "sd": 0.3 },
            { "weight": 0.5, "mean": [1.0], "sd": 0.3 },
        ],
    }))
    .unwrap();
    let simulation: ips_sim::SimulationConfig =
        serde_json::from_value(json!({ "n_particles": 20000, "dt": 1e-3, "t_final": 1.0, "save_every": 100 })).unwrap();
    let trajectories = ips_sim::simulate(&model, &initial, &simulation, 20250101, &|_| {}).unwrap();
    let kde: ips_kde::KdeConfig =
        serde_json::from_value(json!({ "lo": [-3.0], "hi": [3.0], "intervals": [100], "bandwidth": "silverman" })).unwrap();
    let density = ips_kde::estimate(&trajectories, &kde, &|| {}).unwrap();

    let truth = ForwardModel { kernel, diffusion: 0.1 };
    let check = forward_check(&density, Some(&truth), &truth, &SolverConfig::new(1.0, 0.1), &|| {}).unwrap();
    let series = &check.series;
    assert_eq!(series.times.len(), 11);
    for (t, w2) in series.times.iter().zip(&series.w2_true_data) {
        let w2 = w2.expect("every solver time has a data frame");
        let bound = if *t >= 0.3 - 1e-9 { 0.01 } else { 0.02 };
        assert!(w2 < bound, "W2(solver, particles) = {w2} at t = {t}, bound {bound}");
    }
}
