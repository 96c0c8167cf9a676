//! The discrete interaction potential `C_m = sum_l W(x_m - x_l) rho_l dV` by
//! zero-padded FFT.
//!
//! `W(x) = U(|x|)` is sampled at every offset between two cells, which runs
//! from `-(n - 1)` to `n - 1` cells per axis. Padding each axis to at least
//! `2n - 1` points turns the circular convolution of the FFT into the linear
//! sum above, exactly up to rounding. A 1D grid is handled as a grid of one
//! row. The padded lengths are even numbers of the form `2^a 3^b 5^c`, for
//! which the FFT is fast.

use std::cell::RefCell;
use std::sync::Arc;

use ips_core::Kernel;
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};

use crate::mesh::Mesh;
use crate::{MeanfieldError, Result};

struct Planners {
    real: RealFftPlanner<f64>,
    complex: FftPlanner<f64>,
}

thread_local! {
    // The planners cache one plan per length, so repeated free-energy
    // evaluations on a grid plan their FFTs once per thread.
    static PLANNERS: RefCell<Planners> = RefCell::new(Planners {
        real: RealFftPlanner::new(),
        complex: FftPlanner::new(),
    });
}

/// Smallest even number of the form `2^a 3^b 5^c` that is at least `min_len`.
fn fft_length(min_len: usize) -> usize {
    let mut len = min_len.max(2);
    loop {
        if len % 2 == 0 {
            let mut rest = len;
            for factor in [2, 3, 5] {
                while rest % factor == 0 {
                    rest /= factor;
                }
            }
            if rest == 1 {
                return len;
            }
        }
        len += 1;
    }
}

/// Padded length of an axis of `n` cells: 1 for the single row of a 1D grid.
fn padded_length(n: usize) -> usize {
    if n == 1 {
        1
    } else {
        fft_length(2 * n - 1)
    }
}

/// Signed cell offset stored at index `index` of a padded axis of length
/// `padded` for an axis of `n` cells, `None` where no offset is stored.
fn offset_at(index: usize, n: usize, padded: usize) -> Option<i64> {
    if index < n {
        Some(index as i64)
    } else if index + n > padded {
        Some(index as i64 - padded as i64)
    } else {
        None
    }
}

/// FFT plans and the spectrum of the sampled potential for one grid and
/// kernel.
pub(crate) struct PotentialConvolution {
    rows: usize,
    cols: usize,
    padded_rows: usize,
    padded_cols: usize,
    row_forward: Arc<dyn RealToComplex<f64>>,
    row_inverse: Arc<dyn ComplexToReal<f64>>,
    column_forward: Arc<dyn Fft<f64>>,
    column_inverse: Arc<dyn Fft<f64>>,
    /// Spectrum of `W dV`, stored column by column: `[padded_cols / 2 + 1][padded_rows]`.
    kernel_spectrum: Vec<Complex<f64>>,
}

impl PotentialConvolution {
    /// Plans the FFTs and transforms the potential of `kernel` sampled on the
    /// offsets of `mesh`.
    ///
    /// # Errors
    /// [`MeanfieldError::NonFinitePotential`] when `U(r)` overflows at a
    /// distance between two cells.
    pub(crate) fn new(kernel: &Kernel, mesh: &Mesh) -> Result<Self> {
        let (rows, cols, row_spacing, col_spacing) = match mesh.dim() {
            1 => (1, mesh.shape[0], 0.0, mesh.spacing[0]),
            _ => (
                mesh.shape[0],
                mesh.shape[1],
                mesh.spacing[0],
                mesh.spacing[1],
            ),
        };
        let padded_rows = padded_length(rows);
        let padded_cols = padded_length(cols);

        let (row_forward, row_inverse, column_forward, column_inverse) =
            PLANNERS.with(|planners| {
                let mut planners = planners.borrow_mut();
                (
                    planners.real.plan_fft_forward(padded_cols),
                    planners.real.plan_fft_inverse(padded_cols),
                    planners.complex.plan_fft_forward(padded_rows),
                    planners.complex.plan_fft_inverse(padded_rows),
                )
            });
        let mut convolution = PotentialConvolution {
            rows,
            cols,
            padded_rows,
            padded_cols,
            row_forward,
            row_inverse,
            column_forward,
            column_inverse,
            kernel_spectrum: Vec::new(),
        };

        let mut table = vec![0.0; padded_rows * padded_cols];
        for i in 0..padded_rows {
            let Some(di) = offset_at(i, rows, padded_rows) else {
                continue;
            };
            for j in 0..padded_cols {
                let Some(dj) = offset_at(j, cols, padded_cols) else {
                    continue;
                };
                let distance = (di as f64 * row_spacing).hypot(dj as f64 * col_spacing);
                let value = kernel.potential(distance) * mesh.cell_volume;
                if !value.is_finite() {
                    return Err(MeanfieldError::NonFinitePotential {
                        formula: kernel.formula(),
                        distance,
                    });
                }
                table[i * padded_cols + j] = value;
            }
        }
        convolution.kernel_spectrum = convolution.forward(&mut table, padded_rows);
        Ok(convolution)
    }

    fn half_cols(&self) -> usize {
        self.padded_cols / 2 + 1
    }

    /// 2D real-to-complex transform of a padded C-order table whose rows
    /// from `data_rows` on are zero; the table is overwritten. Returns the
    /// spectrum column by column.
    fn forward(&self, table: &mut [f64], data_rows: usize) -> Vec<Complex<f64>> {
        let half = self.half_cols();
        let mut row_spectra = vec![Complex::new(0.0, 0.0); self.padded_rows * half];
        for (row, spectrum) in table
            .chunks_exact_mut(self.padded_cols)
            .zip(row_spectra.chunks_exact_mut(half))
            .take(data_rows)
        {
            self.row_forward
                .process(row, spectrum)
                .expect("buffer lengths match the plan");
        }

        let mut columns = vec![Complex::new(0.0, 0.0); self.padded_rows * half];
        for i in 0..self.padded_rows {
            for k in 0..half {
                columns[k * self.padded_rows + i] = row_spectra[i * half + k];
            }
        }
        if self.padded_rows > 1 {
            // One call transforms every column: the buffer is a whole number
            // of transforms of length `padded_rows`.
            self.column_forward.process(&mut columns);
        }
        columns
    }

    /// Writes `C = W conv rho`, including the cell volume, into `potential`.
    ///
    /// # Panics
    /// When `density` or `potential` does not have one value per cell.
    pub(crate) fn apply(&self, density: &[f64], potential: &mut [f64]) {
        let cells = self.rows * self.cols;
        assert_eq!(density.len(), cells, "density has one value per cell");
        assert_eq!(potential.len(), cells, "potential has one value per cell");

        let mut table = vec![0.0; self.padded_rows * self.padded_cols];
        for (i, row) in density.chunks_exact(self.cols).enumerate() {
            table[i * self.padded_cols..i * self.padded_cols + self.cols].copy_from_slice(row);
        }
        let mut columns = self.forward(&mut table, self.rows);
        for (value, weight) in columns.iter_mut().zip(&self.kernel_spectrum) {
            *value *= weight;
        }
        if self.padded_rows > 1 {
            self.column_inverse.process(&mut columns);
        }

        // Only the first `rows` rows hold cells, so only they go back.
        let half = self.half_cols();
        let scale = 1.0 / (self.padded_rows * self.padded_cols) as f64;
        let mut spectrum = vec![Complex::new(0.0, 0.0); half];
        let mut row = vec![0.0; self.padded_cols];
        for (i, output) in potential.chunks_exact_mut(self.cols).enumerate() {
            for (k, value) in spectrum.iter_mut().enumerate() {
                *value = columns[k * self.padded_rows + i];
            }
            // The spectrum of a real row is real at frequency 0 and, for an
            // even length, at the Nyquist frequency. Rounding in the column
            // transforms leaves a tiny imaginary part there, which is dropped.
            spectrum[0].im = 0.0;
            spectrum[half - 1].im = 0.0;
            self.row_inverse
                .process(&mut spectrum, &mut row)
                .expect("buffer lengths match the plan");
            for (out, value) in output.iter_mut().zip(&row) {
                *out = value * scale;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ips_core::{Axis, Grid, KernelTerm, Term};

    /// Deterministic values in [0, 1) from a linear congruential generator.
    fn pseudo_random(len: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect()
    }

    fn kernel(terms: &[(Term, f64)]) -> Kernel {
        Kernel {
            convention: Default::default(),
            terms: terms
                .iter()
                .map(|&(term, coefficient)| KernelTerm { term, coefficient })
                .collect(),
        }
    }

    fn kernels() -> Vec<Kernel> {
        vec![
            kernel(&[(Term::Power(2), 3.0)]),
            kernel(&[
                (Term::Power(1), 1.0),
                (Term::CutoffInverse { eps: 0.05 }, -1.0),
            ]),
            kernel(&[
                (Term::Indicator { lo: 0.2, hi: 0.9 }, 2.0),
                (Term::Power(5), -0.5),
            ]),
        ]
    }

    /// Computes the potential by the O(M^2) sum that the FFT path replaces.
    fn direct_potential(kernel: &Kernel, grid: &Grid, density: &[f64]) -> Vec<f64> {
        let points: Vec<Vec<f64>> = match grid.dim() {
            1 => grid.axes[0].points().into_iter().map(|x| vec![x]).collect(),
            _ => {
                let mut points = Vec::new();
                for x in grid.axes[0].points() {
                    for y in grid.axes[1].points() {
                        points.push(vec![x, y]);
                    }
                }
                points
            }
        };
        points
            .iter()
            .map(|x| {
                points
                    .iter()
                    .zip(density)
                    .map(|(y, rho)| {
                        let distance = x
                            .iter()
                            .zip(y)
                            .map(|(a, b)| (a - b).powi(2))
                            .sum::<f64>()
                            .sqrt();
                        kernel.potential(distance) * rho * grid.cell_volume()
                    })
                    .sum()
            })
            .collect()
    }

    fn assert_matches_direct(grid: &Grid, seed: u64) {
        let mesh = Mesh::new(grid);
        let density = pseudo_random(mesh.len(), seed);
        for kernel in kernels() {
            let convolution = PotentialConvolution::new(&kernel, &mesh).unwrap();
            let mut potential = vec![0.0; mesh.len()];
            convolution.apply(&density, &mut potential);
            let direct = direct_potential(&kernel, grid, &density);
            let scale = direct.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (m, (fast, slow)) in potential.iter().zip(&direct).enumerate() {
                assert!(
                    (fast - slow).abs() <= 1e-12 * scale,
                    "{}: cell {m}: FFT {fast}, direct {slow}, scale {scale}",
                    kernel.formula()
                );
            }
        }
    }

    #[test]
    fn fft_length_is_even_and_smooth() {
        assert_eq!(fft_length(201), 216);
        assert_eq!(fft_length(127), 128);
        assert_eq!(fft_length(7), 8);
        assert_eq!(fft_length(1), 2);
    }

    #[test]
    fn offsets_cover_both_signs() {
        let stored: Vec<_> = (0..8).map(|i| offset_at(i, 3, 8)).collect();
        assert_eq!(
            stored,
            vec![
                Some(0),
                Some(1),
                Some(2),
                None,
                None,
                None,
                Some(-2),
                Some(-1)
            ]
        );
    }

    #[test]
    fn fft_matches_direct_sum_1d() {
        let grid = Grid::new(vec![Axis::new(-3.0, 3.0, 100, "grid").unwrap()]).unwrap();
        assert_matches_direct(&grid, 7);
    }

    #[test]
    fn fft_matches_direct_sum_2d() {
        let grid = Grid::new(vec![
            Axis::new(-2.0, 2.0, 20, "grid.x").unwrap(),
            Axis::new(-1.0, 1.5, 13, "grid.y").unwrap(),
        ])
        .unwrap();
        assert_matches_direct(&grid, 11);
    }

    #[test]
    fn overflowing_potential_rejected() {
        let grid = Grid::new(vec![Axis::new(-1e30, 1e30, 10, "grid").unwrap()]).unwrap();
        let kernel = kernel(&[(Term::Power(12), 1.0)]);
        let err = PotentialConvolution::new(&kernel, &Mesh::new(&grid))
            .err()
            .unwrap();
        assert!(err.to_string().contains("not finite at distance"), "{err}");
    }
}
