//! Exact 2D drift of kernels with compact support, by cell lists.
//!
//! When `phi(r) = 0` for `r > R`, only pairs closer than `R` interact. The
//! particles are binned into square cells of side `h >= R`, so every
//! partner of a particle lies in its own cell or one of the eight around
//! it. The drift sums over those nine cells only, which costs `O(N k)` per
//! step for `k` particles per nine cells on average, instead of `O(N^2)`.
//!
//! The cells are filled by a counting sort in particle order, and each
//! particle visits the cells and their particles in a fixed order, so the
//! result does not depend on the number of threads. It differs from the
//! direct sum only by the order of the additions.

use ips_core::Kernel;
use rayon::prelude::*;

/// Cell lists with their buffers, kept between steps.
#[derive(Debug, Clone, Default)]
pub struct CellListDrift {
    /// Cell of each particle.
    cell_of: Vec<usize>,
    /// `start[c]..start[c + 1]` indexes the particles of cell `c` in `order`.
    start: Vec<usize>,
    /// Particle indices grouped by cell, in particle order within a cell.
    order: Vec<u32>,
}

impl CellListDrift {
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes the drift of every particle (positions `[N, 2]` flattened)
    /// into `drift`, for a kernel with `phi(r) = 0` beyond `radius`.
    pub fn evaluate(&mut self, kernel: &Kernel, radius: f64, positions: &[f64], drift: &mut [f64]) {
        let n = positions.len() / 2;
        drift.fill(0.0);
        if n == 0 || !(radius > 0.0) {
            return;
        }
        let grid = CellGrid::around(positions, radius);
        self.fill_cells(&grid, positions);

        let scale = -1.0 / n as f64;
        // Pairs beyond this squared distance are skipped before the slower
        // `hypot`. The margin keeps every pair with `hypot <= radius`.
        let reach_squared = radius * radius * (1.0 + 1e-9);
        let (cell_of, start, order) = (&self.cell_of, &self.start, &self.order);
        drift.par_chunks_mut(2).enumerate().for_each(|(i, out)| {
            let (xi, yi) = (positions[2 * i], positions[2 * i + 1]);
            let (cx, cy) = (cell_of[i] / grid.ny, cell_of[i] % grid.ny);
            let (mut sx, mut sy) = (0.0, 0.0);
            for ax in cx.saturating_sub(1)..=(cx + 1).min(grid.nx - 1) {
                for ay in cy.saturating_sub(1)..=(cy + 1).min(grid.ny - 1) {
                    let cell = ax * grid.ny + ay;
                    for &j in &order[start[cell]..start[cell + 1]] {
                        let j = j as usize;
                        let (dx, dy) = (xi - positions[2 * j], yi - positions[2 * j + 1]);
                        if dx * dx + dy * dy > reach_squared {
                            continue;
                        }
                        // The same operations as the direct sum, pair by pair.
                        let r = dx.hypot(dy);
                        if r > 0.0 && r <= radius {
                            let f = kernel.phi(r) / r;
                            sx += f * dx;
                            sy += f * dy;
                        }
                    }
                }
            }
            out[0] = scale * sx;
            out[1] = scale * sy;
        });
    }

    /// Bins the particles into the cells of `grid` by a counting sort.
    fn fill_cells(&mut self, grid: &CellGrid, positions: &[f64]) {
        let cells = grid.nx * grid.ny;
        self.cell_of.clear();
        self.cell_of.extend(positions.chunks_exact(2).map(|p| grid.cell(p[0], p[1])));
        self.start.clear();
        self.start.resize(cells + 1, 0);
        for &c in &self.cell_of {
            self.start[c + 1] += 1;
        }
        for c in 0..cells {
            self.start[c + 1] += self.start[c];
        }
        let mut next = self.start.clone();
        self.order.clear();
        self.order.resize(self.cell_of.len(), 0);
        for (i, &c) in self.cell_of.iter().enumerate() {
            self.order[next[c]] = i as u32;
            next[c] += 1;
        }
    }
}

/// The square cells of one step: lower corner, side and cells per axis.
#[derive(Debug, Clone, Copy)]
struct CellGrid {
    x0: f64,
    y0: f64,
    side: f64,
    nx: usize,
    ny: usize,
}

impl CellGrid {
    /// Covers the bounding box of the particles with cells of side at
    /// least `radius`. The side doubles until there are at most `4 N + 64`
    /// cells, so that far outliers cannot make the grid huge.
    fn around(positions: &[f64], radius: f64) -> Self {
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for p in positions.chunks_exact(2) {
            for axis in 0..2 {
                lo[axis] = lo[axis].min(p[axis]);
                hi[axis] = hi[axis].max(p[axis]);
            }
        }
        let limit = 4 * (positions.len() / 2) + 64;
        let mut side = radius;
        loop {
            let nx = ((hi[0] - lo[0]) / side) as usize + 1;
            let ny = ((hi[1] - lo[1]) / side) as usize + 1;
            if nx.saturating_mul(ny) <= limit {
                return CellGrid { x0: lo[0], y0: lo[1], side, nx, ny };
            }
            side *= 2.0;
        }
    }

    fn cell(&self, x: f64, y: f64) -> usize {
        let cx = (((x - self.x0) / self.side) as usize).min(self.nx - 1);
        let cy = (((y - self.y0) / self.side) as usize).min(self.ny - 1);
        cx * self.ny + cy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::direct;
    use crate::noise::stream;
    use ips_core::{KernelTerm, Term};
    use rand::Rng;

    /// Opinion-like influence: 1 on [0, 0.3), 0.4 r on [0.3, 0.5).
    fn compact_kernel() -> Kernel {
        Kernel {
            convention: Default::default(),
            terms: vec![
                KernelTerm { term: Term::Indicator { lo: 0.0, hi: 0.3 }, coefficient: 1.0 },
                KernelTerm { term: Term::RIndicator { lo: 0.3, hi: 0.5 }, coefficient: 0.4 },
            ],
        }
    }

    /// Two clusters, ties and two far outliers, which force larger cells.
    fn positions(seed: u64) -> Vec<f64> {
        let mut rng = stream(seed, 0, 0);
        let mut x: Vec<f64> = (0..3000)
            .flat_map(|i| {
                let centre = if i % 2 == 0 { -0.6 } else { 0.7 };
                [centre + 0.4 * (rng.random::<f64>() - 0.5), 0.5 * (rng.random::<f64>() - 0.5)]
            })
            .collect();
        x[10] = x[20];
        x[11] = x[21];
        x.extend([1e4, -3e3, -2e4, 5e3]);
        x
    }

    #[test]
    fn cell_list_matches_direct_sum() {
        let kernel = compact_kernel();
        let radius = kernel.support_radius().unwrap();
        let x = positions(1);
        let mut fast = vec![0.0; x.len()];
        CellListDrift::new().evaluate(&kernel, radius, &x, &mut fast);
        let mut slow = vec![0.0; x.len()];
        direct(&kernel, &x, 2, &mut slow);
        let scale = slow.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        assert!(scale > 0.0);
        for (k, (a, b)) in fast.iter().zip(&slow).enumerate() {
            assert!((a - b).abs() <= 1e-12 * scale, "component {k}: {a} vs {b}");
        }
    }

    #[test]
    fn cell_list_same_for_any_threads() {
        let kernel = compact_kernel();
        let x = positions(2);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut drift = vec![0.0; x.len()];
            pool.install(|| CellListDrift::new().evaluate(&kernel, 0.5, &x, &mut drift));
            drift
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
    }

    #[test]
    fn cell_list_of_identical_positions_is_zero() {
        let x = vec![0.25; 20];
        let mut drift = vec![1.0; x.len()];
        CellListDrift::new().evaluate(&compact_kernel(), 0.5, &x, &mut drift);
        assert!(drift.iter().all(|&v| v == 0.0), "{drift:?}");
    }
}
