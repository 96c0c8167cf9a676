//! Grid convolutions `(G conv rho)(x_m) = dx sum_l G(x_m - x_l) rho_l` by
//! zero-padded FFT.
//!
//! The stencil `G(o dx)` for offsets `o = -(M-1) ..= M-1` and the density
//! are padded to a length of at least `3M - 2`, so the circular convolution
//! equals the linear one at the `M` grid points. The stencils' transforms
//! are computed once; each density costs one forward transform and one
//! inverse transform per stencil.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// Convolutions of M-point densities with a fixed set of stencils.
pub struct GridConvolution {
    points: usize,
    length: usize,
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
    /// Transforms of the stencils, scaled by `dx / length`.
    stencils: Vec<Vec<Complex<f64>>>,
}

/// Per-thread work buffers of [`GridConvolution::apply`].
pub struct Workspace {
    signal: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    product: Vec<Complex<f64>>,
    output: Vec<f64>,
}

impl GridConvolution {
    /// Prepares convolutions of `points`-point densities with each stencil
    /// (`2 points - 1` values, offsets `-(points-1) ..= points-1`).
    pub fn new(points: usize, dx: f64, stencils: &[Vec<f64>]) -> Self {
        let length = (3 * points - 2).next_power_of_two();
        let mut planner = RealPlanner::new();
        let forward = planner.planner.plan_fft_forward(length);
        let inverse = planner.planner.plan_fft_inverse(length);
        let scale = dx / length as f64;
        let transformed = stencils
            .iter()
            .map(|stencil| {
                assert_eq!(stencil.len(), 2 * points - 1, "a stencil has 2M - 1 offsets");
                let mut padded = vec![0.0; length];
                padded[..stencil.len()].copy_from_slice(stencil);
                let mut spectrum = forward.make_output_vec();
                forward
                    .process(&mut padded, &mut spectrum)
                    .expect("buffer lengths match the plan");
                spectrum.iter().map(|c| c * scale).collect()
            })
            .collect();
        GridConvolution { points, length, forward, inverse, stencils: transformed }
    }

    /// Buffers for [`GridConvolution::apply`]; one per thread.
    pub fn workspace(&self) -> Workspace {
        Workspace {
            signal: vec![0.0; self.length],
            spectrum: self.forward.make_output_vec(),
            product: self.forward.make_output_vec(),
            output: vec![0.0; self.length],
        }
    }

    /// Writes the convolution of `density` with every stencil into `out[k]`.
    pub fn apply(&self, density: &[f64], workspace: &mut Workspace, out: &mut [Vec<f64>]) {
        let m = self.points;
        workspace.signal.fill(0.0);
        workspace.signal[..m].copy_from_slice(density);
        self.forward
            .process(&mut workspace.signal, &mut workspace.spectrum)
            .expect("buffer lengths match the plan");
        for (stencil, target) in self.stencils.iter().zip(out.iter_mut()) {
            for ((p, s), d) in workspace.product.iter_mut().zip(stencil).zip(&workspace.spectrum) {
                *p = s * d;
            }
            // The inverse of a real signal's spectrum has zero imaginary parts
            // at the ends; rounding leaves tiny ones that realfft rejects.
            workspace.product[0].im = 0.0;
            if let Some(last) = workspace.product.last_mut() {
                last.im = 0.0;
            }
            self.inverse
                .process(&mut workspace.product, &mut workspace.output)
                .expect("buffer lengths match the plan");
            // Offset o of the stencil sits at index o + m - 1, so grid point i
            // of the linear convolution is at index i + m - 1.
            target[..m].copy_from_slice(&workspace.output[m - 1..2 * m - 1]);
        }
    }
}

struct RealPlanner {
    planner: RealFftPlanner<f64>,
}

impl RealPlanner {
    fn new() -> Self {
        RealPlanner { planner: RealFftPlanner::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The FFT path against the direct sum on an irregular density.
    #[test]
    fn fft_matches_direct_sum() {
        let m = 101;
        let dx = 0.06;
        let stencil: Vec<f64> = (0..2 * m - 1)
            .map(|i| {
                let o = i as f64 - (m - 1) as f64;
                let r = (o * dx).abs();
                o.signum() * (3.0 * r * r - 0.5 * r.powi(5)) * f64::from(u8::from(o != 0.0))
            })
            .collect();
        let density: Vec<f64> = (0..m).map(|i| ((i as f64 * 0.37).sin() + 1.2) * (i % 7) as f64).collect();
        let convolution = GridConvolution::new(m, dx, std::slice::from_ref(&stencil));
        let mut workspace = convolution.workspace();
        let mut out = vec![vec![0.0; m]];
        convolution.apply(&density, &mut workspace, &mut out);

        let scale = out[0].iter().fold(0.0f64, |a, v| a.max(v.abs()));
        for i in 0..m {
            let direct: f64 = (0..m).map(|l| stencil[i + m - 1 - l] * density[l]).sum::<f64>() * dx;
            assert!((out[0][i] - direct).abs() < 1e-12 * scale, "point {i}: {} vs {direct}", out[0][i]);
        }
    }
}
