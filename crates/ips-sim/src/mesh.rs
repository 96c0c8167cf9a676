//! Particle-mesh drift of 1D kernels that have no exact sweep, such as the
//! cut-off `1/r` of case B.
//!
//! Each step deposits the particles on a uniform mesh with linear (cloud in
//! cell) weights, convolves the mesh charges with the kernel
//! `K(d) = phi(|d|) sign(d)` sampled at the mesh offsets (zero-padded FFT),
//! and interpolates the result back with the same weights. Deposit and
//! interpolation use the same weights and `K` is odd with `K(0) = 0`, so a
//! particle exerts no force on itself and the total drift is zero, as in
//! the direct sum.
//!
//! The error is that of replacing `K` by its mesh sampling smoothed by the
//! two hat functions: second order in the spacing `h` where `K` is smooth,
//! first order in `h` at a kink (the cut-off radius of `1/r[eps]`). The
//! spacing is a fraction of the smallest cut-off radius, see
//! [`MESH_CELLS_PER_CUTOFF`]; the measured error against the direct sum is
//! in the tests and in docs/benchmarks.md.

use std::collections::HashMap;
use std::sync::Arc;

use ips_core::{Kernel, Term};
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// Mesh cells per cut-off radius `eps`: `h = eps / MESH_CELLS_PER_CUTOFF`.
/// At 128, the drift of case B errs by about 3e-5 of its largest value
/// (test `mesh_error_case_b`).
pub const MESH_CELLS_PER_CUTOFF: f64 = 128.0;

/// Spacing for `kernel`: a fraction of its smallest cut-off radius, or of
/// 0.1 when it has none.
pub fn mesh_spacing(kernel: &Kernel) -> f64 {
    let eps = kernel
        .terms
        .iter()
        .filter_map(|t| match t.term {
            Term::CutoffInverse { eps } => Some(eps),
            _ => None,
        })
        .fold(0.1f64, f64::min);
    eps / MESH_CELLS_PER_CUTOFF
}

/// FFT plans and the kernel spectrum for one padded length.
struct Plan {
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
    /// Spectrum of the sampled kernel, divided by the length.
    kernel: Vec<Complex<f64>>,
}

/// The particle-mesh drift of one kernel. Plans are cached by padded length,
/// which is a power of two, so a spreading cloud replans rarely.
pub struct MeshDrift {
    kernel: Kernel,
    spacing: f64,
    planner: RealFftPlanner<f64>,
    plans: HashMap<usize, Plan>,
    charges: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    field: Vec<f64>,
}

impl std::fmt::Debug for MeshDrift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshDrift").field("kernel", &self.kernel).field("spacing", &self.spacing).finish()
    }
}

impl MeshDrift {
    /// Prepares the method for `kernel` with mesh spacing `spacing > 0`.
    pub fn new(kernel: Kernel, spacing: f64) -> Self {
        MeshDrift {
            kernel,
            spacing,
            planner: RealFftPlanner::new(),
            plans: HashMap::new(),
            charges: Vec::new(),
            spectrum: Vec::new(),
            field: Vec::new(),
        }
    }

    /// Adds `-(1/N) sum_j phi(|x_i - x_j|) sign(x_i - x_j)`, approximated on
    /// the mesh, to `drift[i]`.
    pub fn add(&mut self, positions: &[f64], drift: &mut [f64]) {
        let n = positions.len();
        if n < 2 {
            return;
        }
        let (lo, hi) = positions
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let h = self.spacing;
        // Nodes lo + g h for g = 0..nodes; the last particle lies below the
        // last node.
        let nodes = ((hi - lo) / h).floor() as usize + 2;
        let length = (2 * nodes).next_power_of_two();
        let locate = |x: f64| {
            let u = (x - lo) / h;
            let g = (u.floor() as usize).min(nodes - 2);
            (g, u - g as f64)
        };

        self.charges.clear();
        self.charges.resize(length, 0.0);
        for &x in positions {
            let (g, w) = locate(x);
            self.charges[g] += 1.0 - w;
            self.charges[g + 1] += w;
        }

        let (kernel, planner) = (&self.kernel, &mut self.planner);
        let plan = self.plans.entry(length).or_insert_with(|| {
            let forward = planner.plan_fft_forward(length);
            let inverse = planner.plan_fft_inverse(length);
            // Circular layout: offset o at index o, offset -o at length - o.
            let mut sampled = vec![0.0; length];
            for o in 1..length / 2 {
                let value = kernel.phi(o as f64 * h);
                sampled[o] = value;
                sampled[length - o] = -value;
            }
            let mut spectrum = forward.make_output_vec();
            forward.process(&mut sampled, &mut spectrum).expect("buffer lengths match the plan");
            let scale = 1.0 / length as f64;
            Plan { forward, inverse, kernel: spectrum.iter().map(|c| c * scale).collect() }
        });
        self.spectrum.resize(length / 2 + 1, Complex::new(0.0, 0.0));
        plan.forward
            .process(&mut self.charges, &mut self.spectrum)
            .expect("buffer lengths match the plan");
        for (value, k) in self.spectrum.iter_mut().zip(&plan.kernel) {
            *value *= k;
        }
        // The imaginary parts of the end bins are rounding noise of an odd
        // real kernel; the inverse transform requires them to be zero.
        self.spectrum[0].im = 0.0;
        self.spectrum[length / 2].im = 0.0;
        self.field.resize(length, 0.0);
        plan.inverse
            .process(&mut self.spectrum, &mut self.field)
            .expect("buffer lengths match the plan");

        let scale = -1.0 / n as f64;
        for (&x, out) in positions.iter().zip(drift.iter_mut()) {
            let (g, w) = locate(x);
            *out += scale * ((1.0 - w) * self.field[g] + w * self.field[g + 1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::direct;
    use crate::noise::stream;
    use ips_core::KernelTerm;
    use rand_distr::{Distribution, Normal};

    fn cutoff_kernel() -> Kernel {
        Kernel {
            convention: Default::default(),
            terms: vec![KernelTerm { term: Term::CutoffInverse { eps: 0.1 }, coefficient: -1.0 }],
        }
    }

    /// Case B's repulsive part on case B's initial condition and on a
    /// tighter cloud, against the direct sum: the error stays below 1e-4 of
    /// the largest drift (measured 2.9e-5 and 1.8e-5).
    #[test]
    fn mesh_error_case_b() {
        let mut rng = stream(23, 0, 0);
        let kernel = cutoff_kernel();
        for sd in [0.5, 0.1] {
            let normal = Normal::new(0.0, sd).unwrap();
            let x: Vec<f64> = (0..6000)
                .map(|i| normal.sample(&mut rng) + if i % 2 == 0 { -1.0 } else { 1.0 })
                .collect();
            let mut expected = vec![0.0; x.len()];
            direct(&kernel, &x, 1, &mut expected);
            let mut mesh = vec![0.0; x.len()];
            MeshDrift::new(kernel.clone(), mesh_spacing(&kernel)).add(&x, &mut mesh);
            let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let error = mesh.iter().zip(&expected).fold(0.0f64, |m, (a, b)| m.max((a - b).abs())) / scale;
            eprintln!("sd {sd}: max mesh error / max drift = {error:e}");
            assert!(error < 1e-4, "sd {sd}: relative error {error:e}");
            let total: f64 = mesh.iter().sum();
            assert!(total.abs() < 1e-9 * scale * x.len() as f64, "total drift {total}");
        }
    }

    /// A lone pair at a mesh-node distance feels the exact kernel value.
    #[test]
    fn pair_on_nodes_is_exact() {
        let kernel = cutoff_kernel();
        let h = mesh_spacing(&kernel);
        let x = [0.0, 20.0 * h];
        let mut drift = [0.0; 2];
        MeshDrift::new(kernel.clone(), h).add(&x, &mut drift);
        let expected = 0.5 * kernel.phi(20.0 * h);
        assert!((drift[0] - expected).abs() < 1e-12, "{drift:?} vs {expected}");
        assert!((drift[1] + expected).abs() < 1e-12, "{drift:?}");
    }
}
