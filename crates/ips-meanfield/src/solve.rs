//! A whole run: snapshots of the solution as a density artifact.

use ips_core::artifact::{Density, DensityMeta, FORMAT_VERSION};
use ips_core::{Grid, Kernel};
use ndarray::{Array1, Array2, ArrayD, ArrayViewD, Axis};

use crate::{MeanfieldError, Result, Solver, SolverConfig};

/// Solve from `initial` and record snapshots at 0, save_every,
/// 2 save_every, ..., t_final.
///
/// `on_snapshot` is called once per saved snapshot, the initial one
/// included, for example to advance a progress bar. The result has the
/// schema of a kernel density estimate: values `[n_times, grid...]`,
/// bandwidth and mass outside the grid all zero, and `meta.source` =
/// `"meanfield"` with the kernel, diffusion and `config` recorded. It uses
/// the default flux, [`Flux::ScharfetterGummel`](crate::Flux::ScharfetterGummel).
///
/// # Errors
/// Every error of [`SolverConfig::validate`] and [`Solver::new`], and
/// [`MeanfieldError::Diverged`] if a snapshot is not finite.
pub fn solve(
    kernel: &Kernel,
    diffusion: f64,
    grid: &Grid,
    initial: ArrayViewD<f64>,
    config: &SolverConfig,
    on_snapshot: &dyn Fn(),
) -> Result<Density> {
    config.validate()?;
    let times = config.snapshot_times();
    let mut solver = Solver::new(kernel, diffusion, grid, initial)?.with_config(config)?;

    let _span =
        tracing::info_span!("meanfield.solve", dim = grid.dim(), snapshots = times.len()).entered();
    let mut shape = vec![times.len()];
    shape.extend(grid.shape());
    let mut values = ArrayD::zeros(shape);
    for (k, &t) in times.iter().enumerate() {
        solver.advance_to(t);
        let density = solver.density();
        if density.iter().any(|v| !v.is_finite()) {
            return Err(MeanfieldError::Diverged {
                time: solver.time(),
                steps: solver.steps(),
            });
        }
        values.index_axis_mut(Axis(0), k).assign(&density);
        tracing::debug!(
            snapshot = k,
            time = t,
            steps = solver.steps(),
            rejected = solver.rejected_steps(),
            mass = solver.mass(),
            "saved snapshot"
        );
        on_snapshot();
    }
    tracing::info!(
        steps = solver.steps(),
        rejected = solver.rejected_steps(),
        t_final = config.t_final,
        "mean-field solve finished"
    );

    let n_times = times.len();
    Ok(Density {
        values,
        times: Array1::from(times),
        bandwidth: Array2::zeros((n_times, grid.dim())),
        mass_outside: Array1::zeros(n_times),
        meta: DensityMeta {
            format_version: FORMAT_VERSION,
            source: "meanfield".to_string(),
            grid: grid.clone(),
            n_particles: None,
            diffusion: Some(diffusion),
            kernel: Some(kernel.clone()),
            config: serde_json::to_value(config).expect("a SolverConfig serialises to JSON"),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            provenance: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ips_core::{Axis, KernelTerm, Term};
    use std::cell::Cell;

    fn setup() -> (Kernel, Grid, Array1<f64>) {
        let grid = Grid::new(vec![Axis::new(-3.0, 3.0, 60, "grid").unwrap()]).unwrap();
        let kernel = Kernel {
            convention: Default::default(),
            terms: vec![KernelTerm {
                term: Term::Power(2),
                coefficient: 3.0,
            }],
        };
        let initial = Array1::from_iter(
            grid.axes[0]
                .points()
                .into_iter()
                .map(|x: f64| (-4.0 * x * x).exp()),
        );
        (kernel, grid, initial)
    }

    #[test]
    fn solve_records_snapshots() {
        let (kernel, grid, initial) = setup();
        let config = SolverConfig::new(0.5, 0.2);
        let calls = Cell::new(0);
        let density = solve(
            &kernel,
            0.1,
            &grid,
            initial.view().into_dyn(),
            &config,
            &|| calls.set(calls.get() + 1),
        )
        .unwrap();

        assert_eq!(density.times.to_vec(), vec![0.0, 0.2, 0.4, 0.5]);
        assert_eq!(calls.get(), 4);
        assert_eq!(density.values.shape(), &[4, 61]);
        assert_eq!(
            density.values.index_axis(Axis(0), 0),
            initial.view().into_dyn()
        );
        assert_eq!(density.bandwidth, Array2::<f64>::zeros((4, 1)));
        assert_eq!(density.mass_outside, Array1::<f64>::zeros(4));
    }

    #[test]
    fn solve_metadata_describes_run() {
        let (kernel, grid, initial) = setup();
        let config = SolverConfig {
            dt_max: Some(0.01),
            ..SolverConfig::new(0.1, 0.1)
        };
        let density = solve(
            &kernel,
            0.1,
            &grid,
            initial.view().into_dyn(),
            &config,
            &|| {},
        )
        .unwrap();

        let meta = &density.meta;
        assert_eq!(meta.source, "meanfield");
        assert_eq!(meta.format_version, FORMAT_VERSION);
        assert_eq!(meta.grid, grid);
        assert_eq!(meta.diffusion, Some(0.1));
        assert_eq!(meta.kernel.as_ref(), Some(&kernel));
        assert_eq!(meta.n_particles, None);
        let recorded: SolverConfig = serde_json::from_value(meta.config.clone()).unwrap();
        assert_eq!(recorded, config);
    }

    /// The artifact reads back through the reader of the learning stage.
    #[test]
    fn solve_output_round_trips() {
        let (kernel, grid, initial) = setup();
        let config = SolverConfig::new(0.2, 0.1);
        let density = solve(
            &kernel,
            0.1,
            &grid,
            initial.view().into_dyn(),
            &config,
            &|| {},
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("density.npy");
        density.write(&path).unwrap();
        let back = Density::read(&path).unwrap();
        assert_eq!(back.values, density.values);
        assert_eq!(back.times, density.times);
    }

    #[test]
    fn solve_rejects_bad_config() {
        let (kernel, grid, initial) = setup();
        let config = SolverConfig {
            cfl: 0.0,
            ..SolverConfig::new(0.2, 0.1)
        };
        let err = solve(
            &kernel,
            0.1,
            &grid,
            initial.view().into_dyn(),
            &config,
            &|| {},
        )
        .unwrap_err();
        assert!(err.to_string().contains("meanfield.cfl"), "{err}");
    }
}
