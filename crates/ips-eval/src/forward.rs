//! Forward check: solve the mean-field equation with the true and with the
//! learned kernel from the first snapshot of the data, and compare the two
//! solutions with each other and with the data over time.

use ips_core::artifact::Density;
use ips_core::Kernel;
use ips_meanfield::{free_energy, SolverConfig};
use ndarray::Axis;
use serde::{Deserialize, Serialize};

use crate::wasserstein::{w2, w2_sinkhorn_checked, SinkhornConfig, MASS_TOLERANCE};
use crate::{EvalError, Result};

/// In 2D, W2 is computed at this many evenly spaced times at most, because
/// one Sinkhorn divergence on a 65 x 65 grid takes 5 to 20 s on two busy
/// cores (measured on the case-D densities), and three pairs are compared
/// at each time.
pub const MAX_W2_TIMES_2D: usize = 6;

/// Sinkhorn settings of the 2D forward check. The default tolerance (1e-9
/// on the L1 marginal error) was not reached in 5000 iterations on the
/// case-D densities, at minutes per distance. With 1e-6 and at most 200
/// iterations the distance between the data at t = 0 and t = 0.1 was
/// 0.41483, against 0.41473 with a two-cell blur and 1000 iterations.
pub const FORWARD_SINKHORN: SinkhornConfig = SinkhornConfig { epsilon_cells: 1.0, tolerance: 1e-6, max_iterations: 300 };

/// A model to run forward: kernel and diffusion coefficient.
#[derive(Debug, Clone)]
pub struct ForwardModel {
    pub kernel: Kernel,
    pub diffusion: f64,
}

/// The time series of a forward check, one entry per solver snapshot.
///
/// An entry is `None` where it cannot be computed: no data snapshot at that
/// time, no true model, or (in 2D) a time between the ones where W2 is taken.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ForwardSeries {
    /// Snapshot times, in the time of the data (the first data time plus the solver time).
    pub times: Vec<f64>,
    /// W2 between the true-kernel and the learned-kernel solutions.
    pub w2_true_learned: Vec<Option<f64>>,
    /// W2 between the true-kernel solution and the data.
    pub w2_true_data: Vec<Option<f64>>,
    /// W2 between the learned-kernel solution and the data.
    pub w2_learned_data: Vec<Option<f64>>,
    /// Free energy of the data under the reference functional.
    pub free_energy_data: Vec<Option<f64>>,
    /// Free energy of the true-kernel solution under the reference functional.
    pub free_energy_true: Vec<Option<f64>>,
    /// Free energy of the learned-kernel solution under the reference functional.
    pub free_energy_learned: Vec<f64>,
    /// Free energy of the learned-kernel solution under the learned
    /// functional, the Lyapunov function of that solution.
    pub free_energy_learned_own: Vec<f64>,
    /// Index of the data snapshot at each time, `None` where the data has none.
    pub data_snapshots: Vec<Option<usize>>,
    /// `true`: the free energies use the true kernel and D; `false`: no true
    /// model is known, and they use the learned ones.
    pub reference_is_true: bool,
}

/// Solutions and series of a forward check.
#[derive(Debug, Clone)]
pub struct ForwardCheck {
    pub series: ForwardSeries,
    /// The solution with the true kernel, when it is known.
    pub true_solution: Option<Density>,
    pub learned_solution: Density,
}

impl ForwardSeries {
    /// Largest W2 between the true- and learned-kernel solutions, `None` without a true model.
    pub fn w2_max(&self) -> Option<f64> {
        self.w2_true_learned.iter().flatten().copied().reduce(f64::max)
    }
}

/// Finds the data snapshot at time `t`: the nearest one, when it lies
/// within `1e-6` of the data's time step (times written as `n dt` and
/// `k save_every` differ by rounding only).
fn matching_snapshot(data_times: &[f64], t: f64) -> Option<usize> {
    let step = if data_times.len() > 1 {
        (data_times[data_times.len() - 1] - data_times[0]) / (data_times.len() - 1) as f64
    } else {
        1.0
    };
    let (index, distance) = data_times
        .iter()
        .enumerate()
        .map(|(k, &s)| (k, (s - t).abs()))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    (distance <= 1e-6 * step).then_some(index)
}

/// Relative difference of the masses of two densities on the same grid.
fn relative_mass_difference(a: &ndarray::ArrayViewD<f64>, b: &ndarray::ArrayViewD<f64>) -> f64 {
    let (mass_a, mass_b) = (a.sum(), b.sum());
    (mass_a - mass_b).abs() / mass_a.abs().max(mass_b.abs())
}

/// Runs the forward check from the first snapshot of `data`.
///
/// `on_snapshot` is called once per solver snapshot of each run, for a
/// progress bar. The free energies use the true model when it is given,
/// else the learned one, so that the curves of one run are comparable.
/// A data snapshot whose mass differs from the solution's by more than
/// [`MASS_TOLERANCE`] (mass lost past the grid edges) gets no W2, and a
/// warning is logged with the number of such snapshots.
///
/// # Errors
/// Errors of the solver (an invalid `config`, a kernel that diverges), and
/// of [`w2`] for densities that are negative or of zero mass.
pub fn forward_check(
    data: &Density,
    truth: Option<&ForwardModel>,
    learned: &ForwardModel,
    config: &SolverConfig,
    on_snapshot: &dyn Fn(),
) -> Result<ForwardCheck> {
    if data.n_times() == 0 {
        return Err(EvalError::Input("the forward check needs at least one data snapshot".into()));
    }
    let _span = tracing::info_span!("eval.forward_check").entered();
    let grid = &data.meta.grid;
    let initial = data.values.index_axis(Axis(0), 0);
    // meanfield.t_final is the end time, as for `ips meanfield`, so the
    // solver runs for t_final - t0 from the first data snapshot.
    let t0 = data.times[0];
    if config.t_final <= t0 {
        return Err(EvalError::Input(format!(
            "meanfield.t_final = {} is not after the first data snapshot at t = {t0}; set a later end time",
            config.t_final
        )));
    }
    // An end time past the data is kept on purpose: the solutions then
    // predict beyond the observations, and the distances to the data stop
    // at the last snapshot.
    let t_last = data.times[data.n_times() - 1];
    if config.t_final > t_last + 1e-9 * t_last.abs().max(1.0) {
        tracing::info!(
            t_final = config.t_final,
            last_snapshot = t_last,
            "the forward check runs past the last data snapshot; W2 to the data stops there"
        );
    }
    let mut config = config.clone();
    config.t_final -= t0;
    let config = &config;
    let solve = |model: &ForwardModel| -> Result<Density> {
        let mut solution = ips_meanfield::solve(&model.kernel, model.diffusion, grid, initial.view(), config, on_snapshot)?;
        solution.times.mapv_inplace(|t| t + t0);
        Ok(solution)
    };
    let learned_solution = solve(learned)?;
    let true_solution = truth.map(solve).transpose()?;

    let times = learned_solution.times.to_vec();
    let data_times = data.times.to_vec();
    let data_snapshots: Vec<Option<usize>> = times.iter().map(|&t| matching_snapshot(&data_times, t)).collect();
    let w2_stride = if grid.dim() == 1 { 1 } else { times.len().div_ceil(MAX_W2_TIMES_2D).max(1) };
    let reference = truth.unwrap_or(learned);
    let energy = |model: &ForwardModel, values: ndarray::ArrayViewD<f64>| free_energy(&model.kernel, model.diffusion, grid, values);

    let mut series = ForwardSeries {
        times: times.clone(),
        w2_true_learned: Vec::new(),
        w2_true_data: Vec::new(),
        w2_learned_data: Vec::new(),
        free_energy_data: Vec::new(),
        free_energy_true: Vec::new(),
        free_energy_learned: Vec::new(),
        free_energy_learned_own: Vec::new(),
        data_snapshots: data_snapshots.clone(),
        reference_is_true: truth.is_some(),
    };
    let mut mass_mismatches = 0usize;
    let sinkhorn_taken = std::cell::Cell::new(0usize);
    let sinkhorn_unconverged = std::cell::Cell::new(0usize);
    for (k, snapshot) in data_snapshots.iter().enumerate() {
        let take_w2 = k % w2_stride == 0 || k + 1 == times.len();
        let learned_values = learned_solution.values.index_axis(Axis(0), k);
        let true_values = true_solution.as_ref().map(|s| s.values.index_axis(Axis(0), k));
        let mut data_values = snapshot.map(|n| data.values.index_axis(Axis(0), n));
        if let Some(values) = &data_values {
            if relative_mass_difference(values, &learned_values.view()) > MASS_TOLERANCE {
                mass_mismatches += 1;
                data_values = None;
            }
        }

        let pair = |a: Option<ndarray::ArrayViewD<f64>>, b: Option<ndarray::ArrayViewD<f64>>| -> Result<Option<f64>> {
            match (a, b) {
                (Some(a), Some(b)) if take_w2 && grid.dim() == 2 => {
                    let outcome = w2_sinkhorn_checked(grid, a, b, &FORWARD_SINKHORN)?;
                    sinkhorn_taken.set(sinkhorn_taken.get() + 1);
                    if !outcome.converged {
                        sinkhorn_unconverged.set(sinkhorn_unconverged.get() + 1);
                    }
                    Ok(Some(outcome.distance))
                }
                (Some(a), Some(b)) if take_w2 => Ok(Some(w2(grid, a, b)?)),
                _ => Ok(None),
            }
        };
        series.w2_true_learned.push(pair(true_values.clone(), Some(learned_values.view()))?);
        series.w2_true_data.push(pair(true_values.clone(), data_values.clone())?);
        series.w2_learned_data.push(pair(Some(learned_values.view()), data_values.clone())?);

        series.free_energy_data.push(data_values.map(|v| energy(reference, v)));
        series.free_energy_true.push(true_values.map(|v| energy(reference, v)));
        series.free_energy_learned.push(energy(reference, learned_values.view()));
        series.free_energy_learned_own.push(energy(learned, learned_values.view()));
    }
    if mass_mismatches > 0 {
        tracing::warn!(
            snapshots = mass_mismatches,
            tolerance = MASS_TOLERANCE,
            "data snapshots differ in mass from the solution, so they have no W2 to it and no free energy; \
             widen kde.lo and kde.hi if the data loses mass past the grid edges"
        );
    }
    if sinkhorn_unconverged.get() > 0 {
        tracing::warn!(
            unconverged = sinkhorn_unconverged.get(),
            distances = sinkhorn_taken.get(),
            tolerance = FORWARD_SINKHORN.tolerance,
            max_iterations = FORWARD_SINKHORN.max_iterations,
            "Sinkhorn stopped before its tolerance in some 2D W2 distances, so they are approximate"
        );
    }
    tracing::info!(
        snapshots = times.len(),
        w2_max = series.w2_max(),
        "forward check finished"
    );
    Ok(ForwardCheck { series, true_solution, learned_solution })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ips_core::artifact::{DensityMeta, FORMAT_VERSION};
    use ips_core::{Axis as GridAxis, Grid, KernelTerm, Term};
    use ndarray::{Array1, Array2, ArrayD};

    fn power(k: u32, coefficient: f64) -> ForwardModel {
        ForwardModel {
            kernel: Kernel { convention: Default::default(), terms: vec![KernelTerm { term: Term::Power(k), coefficient }] },
            diffusion: 0.1,
        }
    }

    /// Two Gaussian bumps at +-0.8 on `grid`, as a density with snapshots at `times`, all equal.
    fn bumps(grid: &Grid, times: &[f64]) -> Density {
        let points: Vec<Vec<f64>> = grid.axes.iter().map(|a| a.points()).collect();
        let shape = grid.shape();
        let snapshot = ArrayD::from_shape_fn(shape.clone(), |index| {
            let x = points[0][index[0]];
            let y = if shape.len() == 2 { points[1][index[1]] } else { 0.0 };
            let bump = |c: f64| (-((x - c).powi(2) + y * y) / (2.0 * 0.09)).exp();
            bump(-0.8) + bump(0.8)
        });
        let mut full_shape = vec![times.len()];
        full_shape.extend(&shape);
        let values = snapshot.broadcast(full_shape).expect("snapshots share the grid shape").to_owned();
        Density {
            values,
            times: Array1::from(times.to_vec()),
            bandwidth: Array2::zeros((times.len(), grid.dim())),
            mass_outside: Array1::zeros(times.len()),
            meta: DensityMeta {
                format_version: FORMAT_VERSION,
                source: "test".into(),
                grid: grid.clone(),
                n_particles: None,
                diffusion: Some(0.1),
                kernel: None,
                config: serde_json::Value::Null,
                tool_version: "test".into(),
                provenance: None,
            },
        }
    }

    /// A learned kernel 10 % stronger than the truth: the solutions separate,
    /// and the free energy of each solution under its own functional falls.
    #[test]
    fn forward_check_1d_separates_kernels() {
        let grid = Grid::new(vec![GridAxis::new(-3.0, 3.0, 60, "grid").unwrap()]).unwrap();
        let times: Vec<f64> = (0..=20).map(|n| 0.5 + n as f64 * 0.01).collect();
        let data = bumps(&grid, &times);
        let check = forward_check(&data, Some(&power(2, 3.0)), &power(2, 3.3), &SolverConfig::new(0.7, 0.05), &|| {}).unwrap();
        let series = &check.series;

        assert_eq!(series.times.len(), 5);
        assert!((series.times[0] - 0.5).abs() < 1e-12, "times start at the first data time");
        assert_eq!(series.data_snapshots, vec![Some(0), Some(5), Some(10), Some(15), Some(20)]);
        assert_eq!(series.w2_true_learned[0], Some(0.0));
        let w2_max = series.w2_max().unwrap();
        assert!(w2_max > 1e-3, "W2 between 3 r^2 and 3.3 r^2 solutions is {w2_max}");
        assert!(series.reference_is_true);
        assert!(
            series.free_energy_learned_own.windows(2).all(|w| w[1] <= w[0]),
            "{:?}",
            series.free_energy_learned_own
        );
        assert!(series.free_energy_true.windows(2).all(|w| w[1] <= w[0]), "{:?}", series.free_energy_true);
    }

    /// Data that loses mass gets no W2 or free energy at those times, and the run goes on.
    #[test]
    fn forward_check_skips_data_of_other_mass() {
        let grid = Grid::new(vec![GridAxis::new(-3.0, 3.0, 60, "grid").unwrap()]).unwrap();
        let times: Vec<f64> = (0..=2).map(|n| n as f64 * 0.05).collect();
        let mut data = bumps(&grid, &times);
        data.values.index_axis_mut(Axis(0), 2).mapv_inplace(|v| 0.9 * v);
        let truth = power(2, 3.0);
        let check = forward_check(&data, Some(&truth), &truth, &SolverConfig::new(0.1, 0.05), &|| {}).unwrap();
        let series = &check.series;

        assert!(series.w2_true_data[1].is_some());
        assert_eq!(series.w2_true_data[2], None);
        assert_eq!(series.w2_learned_data[2], None);
        assert_eq!(series.free_energy_data[2], None);
        assert!(series.w2_true_learned[2].is_some());
    }

    /// In 2D, W2 is taken at a subset of times, and equal kernels give W2 = 0.
    #[test]
    fn forward_check_2d_subsamples_w2() {
        let axis = GridAxis::new(-2.0, 2.0, 20, "grid").unwrap();
        let grid = Grid::new(vec![axis, axis]).unwrap();
        let data = bumps(&grid, &[0.0]);
        let truth = power(2, 3.0);
        let config = SolverConfig::new(0.5, 0.01);
        let check = forward_check(&data, Some(&truth), &truth, &config, &|| {}).unwrap();
        let series = &check.series;

        assert_eq!(series.times.len(), 51);
        let w2_count = series.w2_true_learned.iter().filter(|w| w.is_some()).count();
        assert!(w2_count <= MAX_W2_TIMES_2D + 1, "{w2_count} W2 values");
        assert!(series.w2_true_learned.last().unwrap().is_some(), "the last time always has W2");
        assert!(series.w2_true_learned.iter().flatten().all(|&w| w < 1e-6), "{:?}", series.w2_true_learned);
        assert_eq!(series.w2_true_data[0], Some(0.0));
        assert_eq!(series.w2_true_data[1], None, "no data after the first snapshot");
    }

    #[test]
    fn matching_snapshot_tolerates_rounding() {
        let times: Vec<f64> = (0..=100).map(|n| n as f64 * 0.001).collect();
        assert_eq!(matching_snapshot(&times, 0.01), Some(10));
        assert_eq!(matching_snapshot(&times, 3.0 * 0.01), Some(30));
        assert_eq!(matching_snapshot(&times, 0.0105), None);
        assert_eq!(matching_snapshot(&times, 0.2), None);
    }
}
