//! Least squares by the singular value decomposition.
//!
//! The power dictionary is nearly collinear (normalised condition numbers of
//! 1e4 to 1e5), so the normal equations would square an already large
//! condition number. Householder QR, one block of rows at a time, reduces
//! the tall matrix to its small triangular factor `R`, backward stably, and
//! a one-sided Jacobi SVD of `R` gives singular values to high relative
//! accuracy. Singular values below `1e-12` of the largest are dropped,
//! which gives the minimum-norm solution when columns are exactly
//! dependent.
//!
//! NOTE: the Jacobi SVD is written here because the SVD of nalgebra 0.33
//! reconstructed a 2 x 2 factor with cond 1e8 only to 1e-8 relative, which
//! turned into fit errors of 1e-8 in the tests below.

use nalgebra::{DMatrix, DVector};
use ndarray::{Array1, ArrayView1, ArrayView2};

/// Relative cut below which singular values count as zero.
const RELATIVE_CUT: f64 = 1e-12;

/// A least-squares solution with its diagnostics.
#[derive(Debug, Clone)]
pub struct LeastSquares {
    pub coefficients: Array1<f64>,
    /// Singular values of the matrix, largest first.
    pub singular_values: Vec<f64>,
    /// Residual norm `||b - A x||`.
    pub residual_norm: f64,
    /// Standard errors `sqrt(s^2 (A'A)^-1_jj)` with `s^2 = RSS/(rows - columns)`.
    /// They assume independent rows, which neighbouring grid points are not,
    /// so they understate the real uncertainty.
    pub std_errors: Array1<f64>,
}

impl LeastSquares {
    /// Ratio of the largest to the smallest singular value.
    pub fn condition_number(&self) -> f64 {
        let largest = self.singular_values.first().copied().unwrap_or(0.0);
        let smallest = self.singular_values.last().copied().unwrap_or(0.0);
        largest / smallest
    }
}

/// One-sided Jacobi (Hestenes) SVD of a small square matrix: returns
/// `R V`, whose columns are `s_j U_j`, and the orthogonal `V`.
pub(crate) fn jacobi_svd(r: DMatrix<f64>) -> (DMatrix<f64>, DMatrix<f64>) {
    let n = r.ncols();
    let mut m = r;
    let mut v = DMatrix::<f64>::identity(n, n);
    for _sweep in 0..60 {
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                let alpha = m.column(p).norm_squared();
                let beta = m.column(q).norm_squared();
                let gamma = m.column(p).dot(&m.column(q));
                if gamma == 0.0 || gamma.abs() <= f64::EPSILON * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                for matrix in [&mut m, &mut v] {
                    for i in 0..n {
                        let (xp, xq) = (matrix[(i, p)], matrix[(i, q)]);
                        matrix[(i, p)] = c * xp - s * xq;
                        matrix[(i, q)] = s * xp + c * xq;
                    }
                }
            }
        }
        if !rotated {
            break;
        }
    }
    (m, v)
}

/// Rows stacked under the running factor in each Householder QR of
/// [`triangular_factor`].
const FACTOR_CHUNK: usize = 4096;

/// Computes the square upper-triangular factor `R` of `[A | b]`, of size
/// `columns + 1`, with `Q' [A | b] = [R; 0]`. Its last column contains
/// `Q'b` above the diagonal and, on it, the norm of the part of `b` outside
/// the column space of `A`.
///
/// The rows are taken in blocks: each block is stacked under the factor so
/// far and reduced by one Householder QR. That is as backward stable as one
/// QR of the whole matrix, and keeps `O(chunk x columns)` numbers instead of
/// the copies of the whole matrix a direct QR and its `Q` need (several GB
/// for the 2D strong form). The blocks go in a fixed order, so the result
/// does not depend on the thread count.
pub(crate) fn triangular_factor(matrix: ArrayView2<f64>, target: ArrayView1<f64>) -> DMatrix<f64> {
    let (rows, columns) = matrix.dim();
    let width = columns + 1;
    let mut factor = DMatrix::<f64>::zeros(width, width);
    let mut start = 0;
    while start < rows {
        let end = (start + FACTOR_CHUNK).min(rows);
        let stacked = DMatrix::from_fn(width + end - start, width, |i, j| match i.checked_sub(width) {
            None => factor[(i, j)],
            Some(offset) if j < columns => matrix[[start + offset, j]],
            Some(offset) => target[start + offset],
        });
        factor = stacked.qr().r();
        start = end;
    }
    factor
}

/// Solves `min ||b - A x||` for `A` of shape `[rows, columns]`.
pub fn solve(matrix: ArrayView2<f64>, target: ArrayView1<f64>) -> LeastSquares {
    let rows = matrix.nrows();
    solve_factor(&triangular_factor(matrix, target), rows)
}

/// Solves the least-squares problem whose `[A | b]` has the factor
/// `augmented` (from [`triangular_factor`]), with `rows` rows behind it.
pub(crate) fn solve_factor(augmented: &DMatrix<f64>, rows: usize) -> LeastSquares {
    let columns = augmented.ncols() - 1;
    let r = augmented.view((0, 0), (columns, columns)).into_owned();
    let q_t_b = augmented.view((0, columns), (columns, 1)).column(0).into_owned();
    let outside = augmented[(columns, columns)];
    let (columns_of_r, v) = jacobi_svd(r.clone());

    let sigma: Vec<f64> = columns_of_r.column_iter().map(|c| c.norm()).collect();
    let largest = sigma.iter().copied().fold(0.0, f64::max);
    let cut = RELATIVE_CUT * largest;
    // With R V = U S and U_j = (R V)_j / s_j: x = sum_j V_j (U_j . Q'b) / s_j.
    let mut x = DVector::<f64>::zeros(columns);
    for j in 0..sigma.len() {
        if sigma[j] > cut {
            let weight = columns_of_r.column(j).dot(&q_t_b) / (sigma[j] * sigma[j]);
            x += v.column(j) * weight;
        }
    }

    // ||b - A x||^2 = ||Q'b - R x||^2 + (the part of b outside the columns)^2.
    let residual_norm = ((&q_t_b - &r * &x).norm_squared() + outside * outside).sqrt();
    let dof = rows.saturating_sub(columns).max(1) as f64;
    let variance = residual_norm * residual_norm / dof;
    // (A'A)^-1 = V S^-2 V'.
    let std_errors = Array1::from_iter((0..columns).map(|i| {
        let sum: f64 = (0..sigma.len())
            .filter(|&j| sigma[j] > cut)
            .map(|j| (v[(i, j)] / sigma[j]).powi(2))
            .sum();
        (variance * sum).sqrt()
    }));
    let mut singular_values = sigma;
    singular_values.sort_by(|x, y| y.total_cmp(x));
    LeastSquares {
        coefficients: Array1::from_iter(x.iter().copied()),
        singular_values,
        residual_norm,
        std_errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    #[test]
    fn exact_fit_recovers_coefficients() {
        let a = array![[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 3.0]];
        let b = a.dot(&array![0.5, -2.0]);
        let fit = solve(a.view(), b.view());
        assert!((fit.coefficients[0] - 0.5).abs() < 1e-13);
        assert!((fit.coefficients[1] + 2.0).abs() < 1e-13);
        assert!(fit.residual_norm < 1e-12);
    }

    /// Two columns that agree to 1e-7, a condition number of about 1e8 (the
    /// power dictionary reaches 1e5): the normal equations would lose every
    /// digit, the QR and SVD keep the fit.
    #[test]
    fn near_collinear_columns_fit() {
        let n = 200;
        let a = Array2::from_shape_fn((n, 2), |(i, j)| {
            let x = i as f64 / n as f64;
            if j == 0 { x } else { x + 1e-7 * x * x }
        });
        let b = a.dot(&array![1.0, 1.0]);
        let fit = solve(a.view(), b.view());
        let predicted = a.dot(&fit.coefficients);
        let error = (&predicted - &b).mapv(f64::abs).fold(0.0f64, |m, &v| m.max(v));
        assert!(error < 1e-12, "prediction error {error}");
        assert!(fit.condition_number() > 1e7, "{}", fit.condition_number());
    }

    /// Rows over several blocks of the factor: the coefficients agree with
    /// the normal equations (well conditioned here, so an independent
    /// check) and the residual norm with the direct `||b - A x||`.
    #[test]
    fn blocked_factor_matches_normal_equations_and_direct_residual() {
        let n = 3 * FACTOR_CHUNK + 123;
        let a = Array2::from_shape_fn((n, 3), |(i, j)| ((i * (j + 3)) as f64 * 0.618_033_988_7).fract() - 0.5);
        // A target off the column space.
        let b = Array1::from_shape_fn(n, |i| a[[i, 0]] - 2.0 * a[[i, 2]] + ((i as f64) * 0.754_877_666).fract() - 0.5);
        let fit = solve(a.view(), b.view());

        let gram = a.t().dot(&a);
        let projected = a.t().dot(&b);
        let normal = DMatrix::from_fn(3, 3, |i, j| gram[[i, j]]).lu().solve(&DVector::from_iterator(3, projected)).unwrap();
        for j in 0..3 {
            assert!((fit.coefficients[j] - normal[j]).abs() < 1e-12, "{j}: {} vs {}", fit.coefficients[j], normal[j]);
        }
        let direct = (&b - &a.dot(&fit.coefficients)).mapv(|v| v * v).sum().sqrt();
        assert!((fit.residual_norm - direct).abs() < 1e-10 * direct, "{} vs {direct}", fit.residual_norm);
    }
}
