//! The Euler–Maruyama loop.

use ips_core::artifact::{TrajectoryMeta, Trajectories, FORMAT_VERSION};
use ndarray::{Array1, Array3};

use crate::cell_list::CellListDrift;
use crate::config::{DriftMethod, ModelConfig, SimulationConfig};
use crate::drift::{direct, PrefixSumDrift};
use crate::mesh::{mesh_spacing, MeshDrift};
use crate::sweep::{split_pieces, SweepDrift};
use crate::particle_mesh::ParticleMeshDrift;
use crate::initial::InitialCondition;
use crate::noise::euler_maruyama_update;
use crate::{Result, SimError};

enum Evaluator {
    Direct,
    PrefixSum(PrefixSumDrift),
    /// The sweep over the piecewise-polynomial terms, and the mesh over the
    /// rest when there is any.
    Sweep(SweepDrift, Option<MeshDrift>),
    ParticleMesh(ParticleMeshDrift),
    CellList(CellListDrift, f64),
}

fn choose_evaluator(model: &ModelConfig, config: &SimulationConfig) -> Result<Evaluator> {
    let method = config.drift;
    if method == DriftMethod::ParticleMesh {
        if model.dim != 2 {
            return Err(SimError::config(
                "simulation.drift",
                "particle-mesh",
                "the particle-mesh method needs model.dim = 2; use \"auto\" in 1D",
            ));
        }
        return Ok(Evaluator::ParticleMesh(ParticleMeshDrift::new(config.mesh_cells)));
    }
    let sweep = || {
        let (pieces, rest) = split_pieces(&model.kernel);
        let mesh = (!rest.terms.is_empty()).then(|| {
            let spacing = mesh_spacing(&rest);
            MeshDrift::new(rest, spacing)
        });
        Evaluator::Sweep(SweepDrift::new(&pieces), mesh)
    };
    let support = model.kernel.support_radius();
    if model.dim != 1 {
        return match (method, support) {
            (DriftMethod::Auto | DriftMethod::CellList, Some(radius)) => Ok(Evaluator::CellList(CellListDrift::new(), radius)),
            (DriftMethod::CellList, None) => Err(SimError::config(
                "simulation.drift",
                "cell-list",
                "cell lists need a kernel of compact support (indicator terms only); use \"direct\", \"particle-mesh\" or \"auto\"",
            )),
            (DriftMethod::Direct | DriftMethod::Auto, _) => Ok(Evaluator::Direct),
            (DriftMethod::PrefixSum | DriftMethod::Sweep, _) => Err(SimError::config(
                "simulation.drift",
                if method == DriftMethod::Sweep { "sweep" } else { "prefix-sum" },
                "sorted methods need model.dim = 1; use \"direct\", \"particle-mesh\" or \"auto\"",
            )),
            (DriftMethod::ParticleMesh, _) => unreachable!("handled above"),
        };
    }
    match (method, model.kernel.polynomial()) {
        (DriftMethod::CellList, _) => Err(SimError::config(
            "simulation.drift",
            "cell-list",
            "cell lists are for 2D; in 1D \"sweep\" (or \"auto\") is exact for kernels of compact support",
        )),
        (DriftMethod::Direct, _) => Ok(Evaluator::Direct),
        (DriftMethod::ParticleMesh, _) => unreachable!("handled above"),
        (DriftMethod::Auto | DriftMethod::PrefixSum, Some(coefficients)) => {
            Ok(Evaluator::PrefixSum(PrefixSumDrift::new(coefficients)))
        }
        (DriftMethod::PrefixSum, None) => Err(SimError::config(
            "simulation.drift",
            "prefix-sum",
            "the prefix-sum method needs a kernel of powers r^k only; use \"sweep\", \"direct\" or \"auto\"",
        )),
        (DriftMethod::Auto | DriftMethod::Sweep, _) => Ok(sweep()),
    }
}

/// Error type of a [`FrameSink`].
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Receiver of the saved frames of a simulation, e.g. a file writer, so
/// that a run need not keep all frames in memory.
pub trait FrameSink {
    /// Receives saved frame `index` (0 is the initial condition) at `time`:
    /// the positions of all particles, `N * d` values in C order.
    ///
    /// # Errors
    /// Any error of the receiver; the simulation stops with
    /// [`SimError::Sink`].
    fn write_frame(&mut self, index: usize, time: f64, positions: &[f64]) -> std::result::Result<(), SinkError>;
}

/// A [`FrameSink`] that keeps every frame in an array, as [`simulate`] returns it.
struct InMemory {
    frames: Array3<f64>,
}

impl FrameSink for InMemory {
    fn write_frame(&mut self, index: usize, _time: f64, positions: &[f64]) -> std::result::Result<(), SinkError> {
        let len = positions.len();
        self.frames.as_slice_mut().expect("a new array is contiguous")[index * len..(index + 1) * len]
            .copy_from_slice(positions);
        Ok(())
    }
}

/// Number of saved frames of a run, the initial condition included.
///
/// # Errors
/// [`SimError::Config`] for invalid settings.
pub fn saved_frames(config: &SimulationConfig) -> Result<usize> {
    Ok(config.validate()? / config.save_every + 1)
}

/// Simulates the particle system and returns the saved frames.
///
/// `on_step` is called after each Euler–Maruyama step with the step count,
/// for progress reporting. The frames are kept in memory, `8 N d` bytes
/// each; [`simulate_into`] passes them to a [`FrameSink`] instead.
///
/// # Errors
/// [`SimError::Config`] for invalid settings and [`SimError::Diverged`] when
/// a position stops being finite.
pub fn simulate(
    model: &ModelConfig,
    initial: &InitialCondition,
    config: &SimulationConfig,
    seed: u64,
    on_step: &dyn Fn(usize),
) -> Result<Trajectories> {
    let n_saved = saved_frames(config)?;
    let mut sink = InMemory {
        frames: Array3::<f64>::zeros((n_saved, config.n_particles, model.dim)),
    };
    let (times, meta) = simulate_into(model, initial, config, seed, &mut sink, on_step)?;
    Ok(Trajectories { positions: sink.frames, times, meta })
}

/// Simulates the particle system and passes each saved frame to `sink` as
/// soon as it is computed; memory stays `O(N)`. Returns the observation
/// times and the metadata of the trajectory artifact.
///
/// # Errors
/// [`SimError::Config`] for invalid settings, [`SimError::Diverged`] when
/// a position stops being finite and [`SimError::Sink`] when the sink fails.
pub fn simulate_into(
    model: &ModelConfig,
    initial: &InitialCondition,
    config: &SimulationConfig,
    seed: u64,
    sink: &mut dyn FrameSink,
    on_step: &dyn Fn(usize),
) -> Result<(Array1<f64>, TrajectoryMeta)> {
    model.validate()?;
    initial.validate(model.dim)?;
    let n_steps = config.validate()?;
    let mut evaluator = choose_evaluator(model, config)?;

    let (n, dim) = (config.n_particles, model.dim);
    let n_saved = n_steps / config.save_every + 1;
    let dt_saved = config.dt * config.save_every as f64;
    let times = Array1::from_iter((0..n_saved).map(|k| k as f64 * dt_saved));
    let span = tracing::info_span!("simulate", n, dim, n_steps);
    let _guard = span.enter();

    let mut positions = initial.sample(n, dim, seed).into_raw_vec_and_offset().0;
    let mut drift = vec![0.0; n * dim];
    let mut store = |frame: usize, positions: &[f64]| {
        sink.write_frame(frame, times[frame], positions)
            .map_err(|source| SimError::Sink { frame, source })
    };
    store(0, &positions)?;
    let noise_scale = (2.0 * model.diffusion * config.dt).sqrt();

    for step in 1..=n_steps {
        match &mut evaluator {
            Evaluator::Direct => direct(&model.kernel, &positions, dim, &mut drift),
            Evaluator::PrefixSum(method) => method.evaluate(&positions, &mut drift),
            Evaluator::Sweep(sweep, mesh) => {
                sweep.evaluate(&positions, &mut drift);
                if let Some(mesh) = mesh {
                    mesh.add(&positions, &mut drift);
                }
            }
            Evaluator::ParticleMesh(method) => method.evaluate(&model.kernel, &positions, &mut drift),
            Evaluator::CellList(method, radius) => method.evaluate(&model.kernel, *radius, &positions, &mut drift),
        }
        let not_finite = euler_maruyama_update(&mut positions, &drift, config.dt, dim, noise_scale, seed, step as u64);
        if let Some(bad) = not_finite {
            return Err(SimError::Diverged {
                step,
                time: step as f64 * config.dt,
                value: bad,
            });
        }
        if step % config.save_every == 0 {
            store(step / config.save_every, &positions)?;
        }
        on_step(step);
    }

    let meta = TrajectoryMeta {
        format_version: FORMAT_VERSION,
        source: "simulation".into(),
        dim,
        n_particles: n,
        n_times: n_saved,
        dt: Some(config.dt),
        diffusion: Some(model.diffusion),
        kernel: Some(model.kernel.clone()),
        seed: Some(seed),
        config: serde_json::json!({ "model": model, "initial": initial, "simulation": config }),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        provenance: None,
    };
    Ok((times, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MixtureComponent;
    use ips_core::{Kernel, KernelTerm, Term};

    fn cubic_model(dim: usize) -> ModelConfig {
        ModelConfig {
            dim,
            diffusion: 0.1,
            kernel: Kernel {
                convention: Default::default(),
                terms: vec![KernelTerm { term: Term::Power(2), coefficient: 3.0 }],
            },
        }
    }

    fn two_bumps(dim: usize) -> InitialCondition {
        let mean = |x: f64| {
            let mut m = vec![0.0; dim];
            m[0] = x;
            m
        };
        InitialCondition::GaussianMixture {
            components: vec![
                MixtureComponent { weight: 0.5, mean: mean(-1.0), sd: 0.3 },
                MixtureComponent { weight: 0.5, mean: mean(1.0), sd: 0.3 },
            ],
        }
    }

    fn config(n: usize, drift: DriftMethod) -> SimulationConfig {
        SimulationConfig { n_particles: n, dt: 1e-3, t_final: 0.05, save_every: 10, drift, mesh_cells: 128 }
    }

    /// Runs over several noise blocks; the 2D run is short because its
    /// direct sum is quadratic.
    fn run_with_threads(threads: usize, dim: usize) -> Array3<f64> {
        let (n, t_final) = if dim == 1 { (9000, 0.05) } else { (5000, 0.004) };
        let cfg = SimulationConfig { n_particles: n, dt: 1e-3, t_final, save_every: 2, drift: DriftMethod::Auto, mesh_cells: 128 };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            simulate(&cubic_model(dim), &two_bumps(dim), &cfg, 5, &|_| {})
                .unwrap()
                .positions
        })
    }

    #[test]
    fn same_seed_same_trajectories_for_any_thread_count() {
        for dim in [1, 2] {
            let one = run_with_threads(1, dim);
            let two = run_with_threads(2, dim);
            let three = run_with_threads(3, dim);
            assert!(one == two, "dim {dim}: 1 and 2 threads differ");
            assert!(two == three, "dim {dim}: 2 and 3 threads differ");
        }
    }

    #[test]
    fn prefix_sum_and_direct_runs_agree() {
        let model = cubic_model(1);
        let a = simulate(&model, &two_bumps(1), &config(2000, DriftMethod::Direct), 9, &|_| {}).unwrap();
        let b = simulate(&model, &two_bumps(1), &config(2000, DriftMethod::PrefixSum), 9, &|_| {}).unwrap();
        let diff = (&a.positions - &b.positions).mapv(f64::abs).fold(0.0f64, |m, &v| m.max(v));
        assert!(diff < 1e-10, "max difference {diff}");
    }

    #[test]
    fn frames_and_times_match_save_every() {
        let t = simulate(&cubic_model(1), &two_bumps(1), &config(100, DriftMethod::Auto), 1, &|_| {}).unwrap();
        assert_eq!(t.positions.shape(), &[6, 100, 1]);
        assert!((t.times[5] - 0.05).abs() < 1e-12);
    }

    /// Records what a sink receives, and fails on request.
    struct Recorder {
        frames: Vec<(usize, f64, Vec<f64>)>,
        fail_at: Option<usize>,
    }

    impl FrameSink for Recorder {
        fn write_frame(&mut self, index: usize, time: f64, positions: &[f64]) -> std::result::Result<(), SinkError> {
            if self.fail_at == Some(index) {
                return Err("disk full".into());
            }
            self.frames.push((index, time, positions.to_vec()));
            Ok(())
        }
    }

    #[test]
    fn sink_receives_the_frames_of_simulate() {
        let cfg = config(100, DriftMethod::Auto);
        let in_memory = simulate(&cubic_model(1), &two_bumps(1), &cfg, 3, &|_| {}).unwrap();
        let mut recorder = Recorder { frames: Vec::new(), fail_at: None };
        let (times, _) = simulate_into(&cubic_model(1), &two_bumps(1), &cfg, 3, &mut recorder, &|_| {}).unwrap();
        assert_eq!(times, in_memory.times);
        assert_eq!(recorder.frames.len(), 6);
        for (k, (index, time, positions)) in recorder.frames.iter().enumerate() {
            assert_eq!(*index, k);
            assert_eq!(*time, in_memory.times[k]);
            let expected = in_memory.positions.index_axis(ndarray::Axis(0), k);
            assert_eq!(positions.as_slice(), expected.as_slice().unwrap(), "frame {k}");
        }
    }

    #[test]
    fn sink_error_names_the_frame() {
        let mut recorder = Recorder { frames: Vec::new(), fail_at: Some(2) };
        let err = simulate_into(&cubic_model(1), &two_bumps(1), &config(10, DriftMethod::Auto), 1, &mut recorder, &|_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("frame 2"), "{err}");
        assert!(err.contains("disk full"), "{err}");
    }

    /// A 2D opinion-like kernel: `auto` takes cell lists, which follow the
    /// direct sum up to the order of additions.
    #[test]
    fn cell_list_and_direct_runs_agree() {
        let mut model = cubic_model(2);
        model.kernel.terms = vec![KernelTerm { term: Term::Indicator { lo: 0.0, hi: 0.4 }, coefficient: 1.0 }];
        let a = simulate(&model, &two_bumps(2), &config(2000, DriftMethod::Direct), 9, &|_| {}).unwrap();
        let b = simulate(&model, &two_bumps(2), &config(2000, DriftMethod::Auto), 9, &|_| {}).unwrap();
        let diff = (&a.positions - &b.positions).mapv(f64::abs).fold(0.0f64, |m, &v| m.max(v));
        assert!(diff < 1e-10, "max difference {diff}");
    }

    #[test]
    fn cell_list_rejected_without_compact_support() {
        let err = simulate(&cubic_model(2), &two_bumps(2), &config(10, DriftMethod::CellList), 1, &|_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("cell-list") && err.contains("compact support"), "{err}");
        let err = simulate(&cubic_model(1), &two_bumps(1), &config(10, DriftMethod::CellList), 1, &|_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("cell-list") && err.contains("2D"), "{err}");
    }

    #[test]
    fn prefix_sum_rejected_for_cutoff_kernel() {
        let mut model = cubic_model(1);
        model.kernel.terms.push(KernelTerm { term: Term::CutoffInverse { eps: 0.1 }, coefficient: -1.0 });
        let err = simulate(&model, &two_bumps(1), &config(10, DriftMethod::PrefixSum), 1, &|_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("simulation.drift"), "{err}");
    }

    #[test]
    fn negative_diffusion_is_named() {
        let mut model = cubic_model(1);
        model.diffusion = -0.1;
        let err = simulate(&model, &two_bumps(1), &config(10, DriftMethod::Auto), 1, &|_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("model.diffusion"), "{err}");
    }

    /// The mean is conserved by the drift, and D = 0.1 spreads a point mass
    /// at the rate 2 D t when the kernel is zero.
    #[test]
    fn free_diffusion_variance() {
        let mut model = cubic_model(1);
        model.kernel.terms[0].coefficient = 0.0;
        let init = InitialCondition::Uniform { lo: vec![-1e-9], hi: vec![1e-9] };
        let cfg = SimulationConfig { n_particles: 50_000, dt: 1e-2, t_final: 1.0, save_every: 100, drift: DriftMethod::Auto, mesh_cells: 128 };
        let t = simulate(&model, &init, &cfg, 2, &|_| {}).unwrap();
        let last = t.positions.index_axis(ndarray::Axis(0), 1);
        let var = last.mapv(|v| v * v).mean().unwrap();
        assert!((var - 0.2).abs() < 0.006, "variance {var}, expected 2 D t = 0.2");
    }
}
