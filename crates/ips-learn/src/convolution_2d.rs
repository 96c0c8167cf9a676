//! 2D grid convolutions of a density with radial vector fields,
//! `(G conv rho)(x_ij) = dx dy sum_ab G(x_ij - x_ab) rho_ab`, by zero-padded
//! FFT.
//!
//! A field `G(x) = psi(|x|) x/|x|` is sampled at every offset between two
//! grid points, `-(n-1) ..= n-1` per axis, and stored as one complex array
//! with the x-component as the real part and the y-component as the
//! imaginary part. The density is real, so one inverse transform of the
//! product of the two spectra returns both components of the convolution.
//! Each axis is padded to at least `2n - 1` points, which makes the circular
//! convolution equal the linear one at the grid points.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

/// Smallest even number of the form `2^a 3^b 5^c` that is at least `min_len`.
fn fft_length(min_len: usize) -> usize {
    let mut len = min_len.max(2);
    loop {
        let mut rest = len;
        for factor in [2, 3, 5] {
            while rest % factor == 0 {
                rest /= factor;
            }
        }
        if rest == 1 && len % 2 == 0 {
            return len;
        }
        len += 1;
    }
}

/// Convolutions of `nx x ny` densities with a fixed set of radial fields.
pub struct GridConvolution2d {
    nx: usize,
    ny: usize,
    px: usize,
    py: usize,
    forward_x: Arc<dyn Fft<f64>>,
    forward_y: Arc<dyn Fft<f64>>,
    inverse_x: Arc<dyn Fft<f64>>,
    inverse_y: Arc<dyn Fft<f64>>,
    /// Spectra of the fields in the transposed layout `[py, px]`, scaled by
    /// `dx dy / (px py)`.
    fields: Vec<Vec<Complex<f64>>>,
}

/// Per-thread work buffers of [`GridConvolution2d::apply`].
pub struct Workspace2d {
    signal: Vec<Complex<f64>>,
    spectrum: Vec<Complex<f64>>,
    product: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

/// Both components of one convolution, each `[nx * ny]` in C order.
#[derive(Debug, Clone, Default)]
pub struct VectorField {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl GridConvolution2d {
    /// Prepares convolutions of `nx x ny` densities with spacing `(dx, dy)`
    /// with each radial profile `psi_k`: `G_k(v) = psi_k(|v|) v/|v|`, 0 at 0.
    pub fn new(nx: usize, ny: usize, dx: f64, dy: f64, profiles: &[&dyn Fn(f64) -> f64]) -> Self {
        let (px, py) = (fft_length(2 * nx - 1), fft_length(2 * ny - 1));
        let mut planner = FftPlanner::new();
        let forward_x = planner.plan_fft_forward(px);
        let forward_y = planner.plan_fft_forward(py);
        let inverse_x = planner.plan_fft_inverse(px);
        let inverse_y = planner.plan_fft_inverse(py);
        let mut convolution =
            GridConvolution2d { nx, ny, px, py, forward_x, forward_y, inverse_x, inverse_y, fields: Vec::new() };
        let mut workspace = convolution.workspace();
        let scale = dx * dy / (px * py) as f64;
        let offset = |index: usize, n: usize, padded: usize| -> Option<f64> {
            if index < n {
                Some(index as f64)
            } else if index + n > padded {
                Some(index as f64 - padded as f64)
            } else {
                None
            }
        };
        for psi in profiles {
            let mut field = vec![Complex::default(); px * py];
            for a in 0..px {
                for b in 0..py {
                    if let (Some(ox), Some(oy)) = (offset(a, nx, px), offset(b, ny, py)) {
                        let (vx, vy) = (ox * dx, oy * dy);
                        let r = vx.hypot(vy);
                        if r > 0.0 {
                            let f = psi(r) / r;
                            field[a * py + b] = Complex::new(f * vx, f * vy);
                        }
                    }
                }
            }
            convolution.forward(&mut field, &mut workspace);
            convolution.fields.push(field.iter().map(|c| c * scale).collect());
        }
        convolution
    }

    /// Buffers for [`GridConvolution2d::apply`]; one per thread.
    pub fn workspace(&self) -> Workspace2d {
        let scratch = [&self.forward_x, &self.forward_y, &self.inverse_x, &self.inverse_y]
            .iter()
            .map(|f| f.get_inplace_scratch_len())
            .max()
            .unwrap_or(0);
        let size = self.px * self.py;
        Workspace2d {
            signal: vec![Complex::default(); size],
            spectrum: vec![Complex::default(); size],
            product: vec![Complex::default(); size],
            scratch: vec![Complex::default(); scratch],
        }
    }

    /// 2D forward transform of `data` (`[px, py]`), leaving the spectrum in
    /// the transposed layout `[py, px]`.
    fn forward(&self, data: &mut Vec<Complex<f64>>, workspace: &mut Workspace2d) {
        self.forward_y.process_with_scratch(data, &mut workspace.scratch);
        transpose(data, &mut workspace.spectrum, self.px, self.py);
        std::mem::swap(data, &mut workspace.spectrum);
        self.forward_x.process_with_scratch(data, &mut workspace.scratch);
    }

    /// Writes the convolution of `density` (`[nx * ny]`, C order) with every
    /// field into `out[k]`.
    pub fn apply(&self, density: &[f64], workspace: &mut Workspace2d, out: &mut [VectorField]) {
        let (nx, ny, px, py) = (self.nx, self.ny, self.px, self.py);
        let mut signal = std::mem::take(&mut workspace.signal);
        signal.fill(Complex::default());
        for i in 0..nx {
            for j in 0..ny {
                signal[i * py + j].re = density[i * ny + j];
            }
        }
        self.forward(&mut signal, workspace);
        for (field, target) in self.fields.iter().zip(out.iter_mut()) {
            for ((p, f), d) in workspace.product.iter_mut().zip(field).zip(&signal) {
                *p = f * d;
            }
            // Inverse: along x in the transposed layout, back to [px, py],
            // then along y.
            self.inverse_x.process_with_scratch(&mut workspace.product, &mut workspace.scratch);
            transpose(&workspace.product, &mut workspace.spectrum, py, px);
            self.inverse_y.process_with_scratch(&mut workspace.spectrum, &mut workspace.scratch);
            target.x.resize(nx * ny, 0.0);
            target.y.resize(nx * ny, 0.0);
            for i in 0..nx {
                for j in 0..ny {
                    let value = workspace.spectrum[i * py + j];
                    target.x[i * ny + j] = value.re;
                    target.y[i * ny + j] = value.im;
                }
            }
        }
        workspace.signal = signal;
    }
}

/// Writes the transpose of `input` (`[rows, cols]`) into `output` (`[cols, rows]`).
fn transpose(input: &[Complex<f64>], output: &mut [Complex<f64>], rows: usize, cols: usize) {
    for r in 0..rows {
        for c in 0..cols {
            output[c * rows + r] = input[r * cols + c];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The FFT path against the direct grid sum on an irregular density and
    /// a non-square grid with unequal spacings.
    #[test]
    fn fft_matches_direct_grid_sum() {
        let (nx, ny, dx, dy) = (13, 9, 0.3, 0.45);
        let profiles: [&dyn Fn(f64) -> f64; 3] = [&|_| 1.0, &|r| 3.0 * r * r, &|r| r.powi(5) - 0.5 * r];
        let density: Vec<f64> = (0..nx * ny).map(|k| ((k as f64 * 0.37).sin() + 1.2) * (k % 5) as f64).collect();
        let convolution = GridConvolution2d::new(nx, ny, dx, dy, &profiles);
        let mut workspace = convolution.workspace();
        let mut out = vec![VectorField::default(); profiles.len()];
        convolution.apply(&density, &mut workspace, &mut out);

        for (k, psi) in profiles.iter().enumerate() {
            let scale = out[k].x.iter().chain(&out[k].y).fold(0.0f64, |m, v| m.max(v.abs()));
            for i in 0..nx {
                for j in 0..ny {
                    let (mut sx, mut sy) = (0.0, 0.0);
                    for a in 0..nx {
                        for b in 0..ny {
                            let (vx, vy) = ((i as f64 - a as f64) * dx, (j as f64 - b as f64) * dy);
                            let r = vx.hypot(vy);
                            if r > 0.0 {
                                let w = psi(r) / r * density[a * ny + b] * dx * dy;
                                sx += w * vx;
                                sy += w * vy;
                            }
                        }
                    }
                    let index = i * ny + j;
                    assert!((out[k].x[index] - sx).abs() < 1e-12 * scale, "term {k} x at ({i}, {j})");
                    assert!((out[k].y[index] - sy).abs() < 1e-12 * scale, "term {k} y at ({i}, {j})");
                }
            }
        }
    }
}
