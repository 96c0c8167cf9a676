//! Linear convolution with a sampled Gaussian through real FFTs.
//!
//! FFT plans are cached per length in one table shared by all threads, and
//! each length is planned by a fresh planner. A planner reused across
//! lengths may pick a different algorithm for the same length depending on
//! what it planned before, which made the estimate depend on the order in
//! which a thread met the snapshots: results then differed by about 1e-15
//! between runs and thread counts. With one plan per length the bytes are
//! the same whatever the threads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::gaussian::gaussian;

type Plans = (Arc<dyn RealToComplex<f64>>, Arc<dyn ComplexToReal<f64>>);

/// The forward and inverse plans of `size`, planned once per process.
fn plans(size: usize) -> Plans {
    static TABLE: OnceLock<Mutex<HashMap<usize, Plans>>> = OnceLock::new();
    let table = TABLE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut table = table.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    table
        .entry(size)
        .or_insert_with(|| {
            let mut planner = RealFftPlanner::new();
            (planner.plan_fft_forward(size), planner.plan_fft_inverse(size))
        })
        .clone()
}

/// Convolution of signals of a fixed length with a Gaussian sampled at the
/// signal spacing and truncated at `half_width` samples from its center.
///
/// The FFT length is at least the signal length, and no longer, so the
/// circular convolution wraps around. Outputs at indices from `half_width`
/// to `len - 1 - half_width` are still exact linear convolutions: a signal
/// sample at most `len - 1 - half_width` indices away wraps to an offset of
/// more than `half_width`, where the truncated kernel is zero. Callers pad
/// the signal with `half_width` samples on each side and read only those
/// outputs.
pub(crate) struct GaussianConvolution {
    len: usize,
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
    /// Spectrum of the kernel divided by the FFT length; real because the
    /// kernel is symmetric.
    kernel_spectrum: Vec<f64>,
    buffer: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

impl GaussianConvolution {
    /// Prepares the convolution of signals of `len` samples spaced `delta`
    /// with the normal density of standard deviation `sd`, sampled at
    /// `m delta` for `|m| <= half_width`.
    ///
    /// # Panics
    /// If `len < 2 * half_width + 1`.
    pub(crate) fn new(len: usize, delta: f64, sd: f64, half_width: usize) -> Self {
        assert!(
            len > 2 * half_width,
            "signal of {len} samples is too short for a kernel of half-width {half_width}"
        );
        let size = fft_length(len);
        let (forward, inverse) = plans(size);
        let scratch_len = forward.get_scratch_len().max(inverse.get_scratch_len());

        let mut kernel = vec![0.0; size];
        kernel[0] = gaussian(0.0, sd);
        for m in 1..=half_width {
            let value = gaussian(m as f64 * delta, sd);
            kernel[m] = value;
            kernel[size - m] = value;
        }
        let mut spectrum = forward.make_output_vec();
        let mut scratch = vec![Complex::default(); scratch_len];
        forward
            .process_with_scratch(&mut kernel, &mut spectrum, &mut scratch)
            .expect("buffer lengths come from the plan");
        let scale = 1.0 / size as f64;
        let kernel_spectrum = spectrum.iter().map(|c| c.re * scale).collect();

        GaussianConvolution {
            len,
            forward,
            inverse,
            kernel_spectrum,
            buffer: vec![0.0; size],
            spectrum,
            scratch,
        }
    }

    /// Convolves `signal` (of the length given to [`GaussianConvolution::new`])
    /// and returns the result, valid at the indices given there.
    pub(crate) fn apply(&mut self, signal: &[f64]) -> &[f64] {
        assert_eq!(
            signal.len(),
            self.len,
            "signal length differs from the planned length"
        );
        self.buffer[..self.len].copy_from_slice(signal);
        self.buffer[self.len..].fill(0.0);

        self.forward
            .process_with_scratch(&mut self.buffer, &mut self.spectrum, &mut self.scratch)
            .expect("buffer lengths come from the plan");
        for (c, &k) in self.spectrum.iter_mut().zip(&self.kernel_spectrum) {
            *c *= k;
        }
        // The inverse real FFT rejects a nonzero imaginary part at frequency
        // 0 and, for even lengths, at the Nyquist frequency. Rounding can
        // leave a tiny one there, so it is cleared.
        self.spectrum[0].im = 0.0;
        if self.buffer.len() % 2 == 0 {
            self.spectrum.last_mut().expect("spectrum is not empty").im = 0.0;
        }
        self.inverse
            .process_with_scratch(&mut self.spectrum, &mut self.buffer, &mut self.scratch)
            .expect("buffer lengths come from the plan");
        &self.buffer[..self.len]
    }
}

/// Smallest length of the form `2^a 3^b 5^c` that is at least `n`, for which
/// FFTs are fast.
fn fft_length(n: usize) -> usize {
    let mut best = n.next_power_of_two();
    let mut power_of_5 = 1;
    while power_of_5 < best {
        let mut power_of_3 = power_of_5;
        while power_of_3 < best {
            let mut candidate = power_of_3;
            while candidate < n {
                candidate *= 2;
            }
            best = best.min(candidate);
            power_of_3 *= 3;
        }
        power_of_5 *= 5;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Naive linear convolution with the same truncated kernel.
    fn naive(signal: &[f64], delta: f64, sd: f64, half_width: usize) -> Vec<f64> {
        let len = signal.len() as isize;
        let reach = half_width as isize;
        (0..len)
            .map(|j| {
                let mut sum = 0.0;
                for l in (j - reach).max(0)..=(j + reach).min(len - 1) {
                    sum += signal[l as usize] * gaussian((j - l) as f64 * delta, sd);
                }
                sum
            })
            .collect()
    }

    #[test]
    fn fft_lengths_are_smooth() {
        assert_eq!(fft_length(1), 1);
        assert_eq!(fft_length(7), 8);
        assert_eq!(fft_length(11), 12);
        assert_eq!(fft_length(1000), 1000);
        assert_eq!(fft_length(1001), 1024);
        assert_eq!(fft_length(6145), 6250);
    }

    #[test]
    fn convolution_matches_naive_sum() {
        // A signal with mass at both ends, where a wrap-around would show.
        let len = 61;
        let half_width = 12;
        let signal: Vec<f64> = (0..len).map(|j| ((j * 7919) % 13) as f64).collect();
        let delta = 0.05;
        let sd = 0.15;

        let expected = naive(&signal, delta, sd, half_width);
        let mut convolution = GaussianConvolution::new(len, delta, sd, half_width);
        let found = convolution.apply(&signal).to_vec();
        let scale = expected.iter().cloned().fold(0.0, f64::max);
        for j in half_width..len - half_width {
            let error = (found[j] - expected[j]).abs();
            assert!(
                error < 1e-13 * scale,
                "index {j}: {} vs {}",
                found[j],
                expected[j]
            );
        }
    }

    #[test]
    fn convolution_is_reusable() {
        let signal = vec![1.0; 40];
        let mut convolution = GaussianConvolution::new(40, 0.1, 0.2, 17);
        let first = convolution.apply(&signal).to_vec();
        let second = convolution.apply(&signal).to_vec();
        assert_eq!(first, second);
    }
}
