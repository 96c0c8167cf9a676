//! Direct evaluation: the exact Gaussian sum at every grid point.
//!
//! This is the oracle of the binned FFT method. Each grid point sums the
//! kernels of the particles within [`REACH`] bandwidths, found by binary
//! search in the particles sorted along the first axis. Grid points (rows of
//! the grid in 2D) are evaluated in parallel, each in a fixed order, so the
//! result does not depend on the number of threads.

use ips_core::Grid;
use ndarray::{ArrayD, ArrayView2, IxDyn};
use rayon::prelude::*;

use crate::gaussian::{gaussian, REACH};

/// Evaluates `(1/N) sum_i K_h(x - X_i)` at every grid point for positions
/// `[N, d]` and one bandwidth per axis. Returns an array of the grid's shape.
pub(crate) fn direct_sum(points: ArrayView2<f64>, grid: &Grid, bandwidth: &[f64]) -> ArrayD<f64> {
    match grid.dim() {
        1 => direct_sum_1d(points, grid, bandwidth[0]),
        _ => direct_sum_2d(points, grid, bandwidth),
    }
}

fn direct_sum_1d(points: ArrayView2<f64>, grid: &Grid, h: f64) -> ArrayD<f64> {
    let axis = grid.axes[0];
    let n = points.nrows() as f64;
    let reach = REACH * h;

    let mut sorted = points.column(0).to_vec();
    sorted.sort_by(f64::total_cmp);

    let values: Vec<f64> = (0..axis.len())
        .into_par_iter()
        .map(|m| {
            let x = axis.point(m);
            let start = sorted.partition_point(|&p| p < x - reach);
            let end = sorted.partition_point(|&p| p <= x + reach);
            sorted[start..end]
                .iter()
                .map(|&p| gaussian(x - p, h))
                .sum::<f64>()
                / n
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(&grid.shape()), values).expect("one value per grid point")
}

fn direct_sum_2d(points: ArrayView2<f64>, grid: &Grid, bandwidth: &[f64]) -> ArrayD<f64> {
    let (axis_x, axis_y) = (grid.axes[0], grid.axes[1]);
    let (hx, hy) = (bandwidth[0], bandwidth[1]);
    let (reach_x, reach_y) = (REACH * hx, REACH * hy);
    let n = points.nrows() as f64;

    let mut sorted: Vec<(f64, f64)> = points.rows().into_iter().map(|p| (p[0], p[1])).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));

    let rows: Vec<Vec<f64>> = (0..axis_x.len())
        .into_par_iter()
        .map(|m| {
            let x = axis_x.point(m);
            let start = sorted.partition_point(|p| p.0 < x - reach_x);
            let end = sorted.partition_point(|p| p.0 <= x + reach_x);
            let near = &sorted[start..end];
            let weights_x: Vec<f64> = near.iter().map(|p| gaussian(x - p.0, hx)).collect();

            (0..axis_y.len())
                .map(|k| {
                    let y = axis_y.point(k);
                    let mut sum = 0.0;
                    for (p, w) in near.iter().zip(&weights_x) {
                        let distance = y - p.1;
                        if distance.abs() <= reach_y {
                            sum += w * gaussian(distance, hy);
                        }
                    }
                    sum / n
                })
                .collect()
        })
        .collect();
    let values: Vec<f64> = rows.into_iter().flatten().collect();
    ArrayD::from_shape_vec(IxDyn(&grid.shape()), values).expect("one value per grid point")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ips_core::Axis;
    use ndarray::array;

    #[test]
    fn single_particle_1d_is_gaussian() {
        let grid = Grid::new(vec![Axis::new(-1.0, 1.0, 20, "grid").unwrap()]).unwrap();
        let values = direct_sum(array![[0.13]].view(), &grid, &[0.2]);
        for (m, &v) in values.iter().enumerate() {
            let expected = gaussian(grid.axes[0].point(m) - 0.13, 0.2);
            assert!((v - expected).abs() < 1e-15, "point {m}: {v} vs {expected}");
        }
    }

    #[test]
    fn two_particles_2d_are_averaged_products() {
        let axis = Axis::new(-1.0, 1.0, 10, "grid").unwrap();
        let grid = Grid::new(vec![axis, axis]).unwrap();
        let points = array![[0.1, -0.2], [-0.3, 0.4]];
        let values = direct_sum(points.view(), &grid, &[0.3, 0.2]);
        assert_eq!(values.shape(), &[11, 11]);
        for m in 0..11 {
            for k in 0..11 {
                let (x, y) = (axis.point(m), axis.point(k));
                let expected = 0.5
                    * (gaussian(x - 0.1, 0.3) * gaussian(y + 0.2, 0.2)
                        + gaussian(x + 0.3, 0.3) * gaussian(y - 0.4, 0.2));
                let v = values[[m, k]];
                assert!(
                    (v - expected).abs() < 1e-15,
                    "point ({m}, {k}): {v} vs {expected}"
                );
            }
        }
    }

    #[test]
    fn far_particle_contributes_nothing() {
        let grid = Grid::new(vec![Axis::new(0.0, 1.0, 10, "grid").unwrap()]).unwrap();
        let values = direct_sum(array![[3.0]].view(), &grid, &[0.1]);
        assert!(values.iter().all(|&v| v == 0.0));
    }
}
