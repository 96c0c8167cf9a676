//! Finite-volume cells of a node-based grid.
//!
//! Every grid point is the centre of a cell of width `dx` per axis. The end
//! points get full cells too, so an axis from `lo` to `hi` with `intervals`
//! intervals covers `[lo - dx/2, hi + dx/2]` with `intervals + 1` cells. The
//! density of a cell is its point value, and the mass of a cell is that value
//! times [`Grid::cell_volume`], the same quadrature weight as the rest of the
//! pipeline uses.

use ips_core::Grid;

/// Shape, C-order strides and spacing of the cells of a grid.
#[derive(Debug, Clone)]
pub(crate) struct Mesh {
    /// Cells per axis.
    pub(crate) shape: Vec<usize>,
    /// Offset between neighbours along each axis in a C-order flat array.
    pub(crate) strides: Vec<usize>,
    /// Cell width per axis.
    pub(crate) spacing: Vec<f64>,
    pub(crate) cell_volume: f64,
}

impl Mesh {
    pub(crate) fn new(grid: &Grid) -> Self {
        let shape = grid.shape();
        let mut strides = vec![1; shape.len()];
        for a in (0..shape.len().saturating_sub(1)).rev() {
            strides[a] = strides[a + 1] * shape[a + 1];
        }
        Mesh {
            shape,
            strides,
            spacing: grid.axes.iter().map(|axis| axis.dx()).collect(),
            cell_volume: grid.cell_volume(),
        }
    }

    /// Number of cells.
    pub(crate) fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub(crate) fn dim(&self) -> usize {
        self.shape.len()
    }

    /// Interior faces normal to `axis`, each as the flat indices of its
    /// lower and upper cell. The outer faces of the domain are not listed,
    /// because no mass crosses them.
    pub(crate) fn faces(&self, axis: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let stride = self.strides[axis];
        let n = self.shape[axis];
        (0..self.len())
            .filter(move |&p| (p / stride) % n + 1 < n)
            .map(move |p| (p, p + stride))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ips_core::Axis;

    fn grid_2d() -> Grid {
        Grid::new(vec![
            Axis::new(0.0, 1.0, 2, "x").unwrap(),
            Axis::new(0.0, 2.0, 3, "y").unwrap(),
        ])
        .unwrap()
    }

    #[test]
    fn strides_are_c_order() {
        let mesh = Mesh::new(&grid_2d());
        assert_eq!(mesh.shape, vec![3, 4]);
        assert_eq!(mesh.strides, vec![4, 1]);
        assert_eq!(mesh.len(), 12);
    }

    #[test]
    fn faces_skip_domain_boundary() {
        let mesh = Mesh::new(&grid_2d());
        let along_x: Vec<_> = mesh.faces(0).collect();
        let along_y: Vec<_> = mesh.faces(1).collect();
        // (3 - 1) * 4 faces normal to x and 3 * (4 - 1) normal to y.
        assert_eq!(along_x.len(), 8);
        assert_eq!(along_y.len(), 9);
        assert!(along_x.contains(&(4, 8)));
        assert!(!along_y.contains(&(3, 4)));
    }
}
