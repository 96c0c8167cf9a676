//! Forward check: solve the mean-field equation with the true and with the
//! learned kernel from the first snapshot of the data, and compare the two
//! solutions with each other and with the data over time.

use ips_core::artifact::Density;
use ips_core::Kernel;
use ips_meanfield::{free_energy, SolverConfig};
use ndarray::Axis;
use serde::{Deserialize, Serialize};

use crate::wasserstein::w2;
use crate::{EvalError, Result};

/// In 2D, W2 is computed at this many evenly spaced times at most, because
/// one Sinkhorn divergence on a 100 x 100 grid takes seconds.
pub const MAX_W2_TIMES_2D: usize = 21;

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

/// Runs the forward check from the first snapshot of `data`.
///
/// `on_snapshot` is called once per solver snapshot of each run, for a
/// progress bar. The free energies use the true model when it is given,
/// else the learned one, so that the curves of one run are comparable.
///
/// # Errors
/// Errors of the solver (an invalid `config`, a kernel that diverges), and
/// of [`w2`] when a solution and the data differ in mass.
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
    let t0 = data.times[0];
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
    for (k, snapshot) in data_snapshots.iter().enumerate() {
        let take_w2 = k % w2_stride == 0 || k + 1 == times.len();
        let learned_values = learned_solution.values.index_axis(Axis(0), k);
        let true_values = true_solution.as_ref().map(|s| s.values.index_axis(Axis(0), k));
        let data_values = snapshot.map(|n| data.values.index_axis(Axis(0), n));

        let pair = |a: Option<ndarray::ArrayViewD<f64>>, b: Option<ndarray::ArrayViewD<f64>>| -> Result<Option<f64>> {
            match (a, b) {
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

    #[test]
    fn matching_snapshot_tolerates_rounding() {
        let times: Vec<f64> = (0..=100).map(|n| n as f64 * 0.001).collect();
        assert_eq!(matching_snapshot(&times, 0.01), Some(10));
        assert_eq!(matching_snapshot(&times, 3.0 * 0.01), Some(30));
        assert_eq!(matching_snapshot(&times, 0.0105), None);
        assert_eq!(matching_snapshot(&times, 0.2), None);
    }
}
