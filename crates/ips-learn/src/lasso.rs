//! The Lasso by cyclic coordinate descent on the Gram matrix.
//!
//! Minimises `(1/2) w' G w - q' w + lambda sum_j p_j |w_j|`, which is
//! `(1/2) ||b - A w||^2 + lambda ||w||_1` up to a constant when `G = A'A` and
//! `q = A'b`. A column with penalty weight `p_j = 0` is not penalised (the
//! learned diffusion coefficient).

use ndarray::{Array1, Array2};

/// Why coordinate descent stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    Converged,
    MaxSweeps,
}

/// Soft thresholding `sign(x) max(|x| - t, 0)`.
fn soft_threshold(x: f64, t: f64) -> f64 {
    if x > t {
        x - t
    } else if x < -t {
        x + t
    } else {
        0.0
    }
}

/// Solves the Lasso from the warm start `w`, in place.
///
/// Stops when no coefficient moves by more than `tolerance` times the
/// largest coefficient in a full sweep, or after `max_sweeps` sweeps.
pub fn coordinate_descent(
    gram: &Array2<f64>,
    q: &Array1<f64>,
    lambda: f64,
    penalty: &[f64],
    w: &mut Array1<f64>,
    tolerance: f64,
    max_sweeps: usize,
) -> Termination {
    let n = q.len();
    for _ in 0..max_sweeps {
        let mut largest_change: f64 = 0.0;
        for j in 0..n {
            if gram[[j, j]] <= 0.0 {
                w[j] = 0.0;
                continue;
            }
            let mut partial = q[j];
            for l in 0..n {
                if l != j {
                    partial -= gram[[j, l]] * w[l];
                }
            }
            let updated = soft_threshold(partial, lambda * penalty[j]) / gram[[j, j]];
            largest_change = largest_change.max((updated - w[j]).abs());
            w[j] = updated;
        }
        let scale = w.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(f64::MIN_POSITIVE);
        if largest_change <= tolerance * scale {
            return Termination::Converged;
        }
    }
    Termination::MaxSweeps
}

/// The smallest `lambda` at which every penalised coefficient is zero.
///
/// Unpenalised columns are fitted first by least squares on their own; the
/// bound is then the largest correlation of a penalised column with that
/// residual.
pub fn lambda_max(gram: &Array2<f64>, q: &Array1<f64>, penalty: &[f64]) -> f64 {
    let free: Vec<usize> = (0..q.len()).filter(|&j| penalty[j] == 0.0).collect();
    let mut w = Array1::<f64>::zeros(q.len());
    if !free.is_empty() {
        let mut gram_free = Array2::<f64>::zeros((free.len(), free.len()));
        let mut q_free = Array1::<f64>::zeros(free.len());
        for (a, &i) in free.iter().enumerate() {
            q_free[a] = q[i];
            for (b, &j) in free.iter().enumerate() {
                gram_free[[a, b]] = gram[[i, j]];
            }
        }
        let mut w_free = Array1::<f64>::zeros(free.len());
        coordinate_descent(&gram_free, &q_free, 0.0, &vec![0.0; free.len()], &mut w_free, 1e-14, 10_000);
        for (a, &i) in free.iter().enumerate() {
            w[i] = w_free[a];
        }
    }
    let correlation = q - &gram.dot(&w);
    (0..q.len())
        .filter(|&j| penalty[j] > 0.0)
        .map(|j| correlation[j].abs() / penalty[j])
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// With an orthonormal design the Lasso is soft thresholding of `q`.
    #[test]
    fn orthonormal_design_soft_thresholds() {
        let gram = Array2::<f64>::eye(3);
        let q = array![2.0, -0.5, 0.1];
        let mut w = Array1::zeros(3);
        let stop = coordinate_descent(&gram, &q, 0.3, &[1.0; 3], &mut w, 1e-14, 100);
        assert_eq!(stop, Termination::Converged);
        assert_eq!(w, array![1.7, -0.2, 0.0]);
    }

    /// At lambda_max every penalised coefficient is zero, just below it not.
    #[test]
    fn lambda_max_is_the_zeroing_bound() {
        let gram = array![[1.0, 0.6], [0.6, 1.0]];
        let q = array![0.9, 0.3];
        let bound = lambda_max(&gram, &q, &[1.0, 1.0]);
        assert!((bound - 0.9).abs() < 1e-15);
        let mut w = Array1::zeros(2);
        coordinate_descent(&gram, &q, bound, &[1.0, 1.0], &mut w, 1e-14, 1000);
        assert_eq!(w, array![0.0, 0.0]);
        coordinate_descent(&gram, &q, 0.95 * bound, &[1.0, 1.0], &mut w, 1e-14, 1000);
        assert!(w[0] > 0.0);
    }

    /// Without a penalty coordinate descent solves the normal equations.
    #[test]
    fn zero_penalty_solves_least_squares() {
        let gram = array![[2.0, 0.5], [0.5, 1.0]];
        let q = array![1.0, 2.0];
        let mut w = Array1::zeros(2);
        coordinate_descent(&gram, &q, 0.0, &[1.0, 1.0], &mut w, 1e-15, 10_000);
        let residual = &q - &gram.dot(&w);
        assert!(residual.iter().all(|r| r.abs() < 1e-12), "{residual}");
    }
}
