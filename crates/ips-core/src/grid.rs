//! Uniform node-based grids in one and two dimensions.

use serde::{Deserialize, Serialize};

use crate::{CoreError, Result};

/// One axis of a uniform grid: `intervals + 1` points from `lo` to `hi`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub intervals: usize,
}

impl Axis {
    /// Creates an axis after checking `lo < hi` and `intervals >= 2`.
    ///
    /// # Errors
    /// [`CoreError::InvalidValue`] naming `field` when the bounds are not
    /// finite and increasing or there are fewer than two intervals.
    pub fn new(lo: f64, hi: f64, intervals: usize, field: &str) -> Result<Self> {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(CoreError::invalid(
                field,
                format!("[{lo}, {hi}]"),
                "the bounds must be finite with lo < hi",
            ));
        }
        if intervals < 2 {
            return Err(CoreError::invalid(
                field,
                intervals,
                "an axis needs at least 2 intervals",
            ));
        }
        Ok(Axis { lo, hi, intervals })
    }

    /// Grid spacing.
    pub fn dx(&self) -> f64 {
        (self.hi - self.lo) / self.intervals as f64
    }

    /// Number of grid points, the two end points included.
    pub fn len(&self) -> usize {
        self.intervals + 1
    }

    /// Always false: an axis has at least three points.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Coordinate of point `m`.
    pub fn point(&self, m: usize) -> f64 {
        self.lo + m as f64 * self.dx()
    }

    /// All point coordinates.
    pub fn points(&self) -> Vec<f64> {
        (0..self.len()).map(|m| self.point(m)).collect()
    }
}

/// A uniform grid in one or two dimensions, one [`Axis`] per dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    pub axes: Vec<Axis>,
}

impl Grid {
    /// Creates a grid of one or two axes.
    ///
    /// # Errors
    /// [`CoreError::InvalidValue`] when there are not one or two axes.
    pub fn new(axes: Vec<Axis>) -> Result<Self> {
        if axes.is_empty() || axes.len() > 2 {
            return Err(CoreError::invalid(
                "grid dimension",
                axes.len(),
                "grids have 1 or 2 axes",
            ));
        }
        Ok(Grid { axes })
    }

    /// Spatial dimension.
    pub fn dim(&self) -> usize {
        self.axes.len()
    }

    /// Number of points along each axis.
    pub fn shape(&self) -> Vec<usize> {
        self.axes.iter().map(Axis::len).collect()
    }

    /// Volume of one cell, the quadrature weight of a grid point.
    pub fn cell_volume(&self) -> f64 {
        self.axes.iter().map(Axis::dx).product()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_points_include_both_ends() {
        let axis = Axis::new(-3.0, 3.0, 100, "grid").unwrap();
        assert_eq!(axis.len(), 101);
        assert!((axis.dx() - 0.06).abs() < 1e-15);
        assert_eq!(axis.point(0), -3.0);
        assert!((axis.point(100) - 3.0).abs() < 1e-12);
    }

    #[test]
    fn axis_rejects_reversed_bounds() {
        let err = Axis::new(1.0, -1.0, 10, "kde.grid").unwrap_err();
        assert!(err.to_string().contains("kde.grid"), "{err}");
    }
}
