//! Evaluation of the interaction drift `b_i = -(1/N) sum_j phi(r_ij) (X_i - X_j)/r_ij`.
//!
//! Positions are `[N, d]` in C order, flattened. Pairs at distance zero
//! contribute nothing, as `x/|x|` is taken to be 0 at `x = 0`.

use ips_core::Kernel;
use rayon::prelude::*;

use crate::sorting::sort_positions;

/// Direct pairwise sum, `O(N^2)`, parallel over particles. Each particle's
/// sum runs over `j` in a fixed order, so the result does not depend on the
/// threads. Polynomial kernels take a branch-free path that the compiler
/// vectorises; other kernels call [`Kernel::phi`] for every pair.
pub fn direct(kernel: &Kernel, positions: &[f64], dim: usize, drift: &mut [f64]) {
    let n = positions.len() / dim;
    let scale = -1.0 / n as f64;
    let polynomial = kernel.polynomial();
    match (dim, polynomial) {
        (1, Some(p)) => direct_polynomial_1d(&p, positions, scale, drift),
        (2, Some(p)) => direct_polynomial_2d(&p, positions, scale, drift),
        (1, None) => drift.par_iter_mut().enumerate().for_each(|(i, out)| {
            let xi = positions[i];
            let mut sum = 0.0;
            for &xj in positions {
                let d = xi - xj;
                if d != 0.0 {
                    sum += kernel.phi(d.abs()) * d.signum();
                }
            }
            *out = scale * sum;
        }),
        _ => drift.par_chunks_mut(2).enumerate().for_each(|(i, out)| {
            let (xi, yi) = (positions[2 * i], positions[2 * i + 1]);
            let (mut sx, mut sy) = (0.0, 0.0);
            for pair in positions.chunks_exact(2) {
                let (dx, dy) = (xi - pair[0], yi - pair[1]);
                let r = dx.hypot(dy);
                if r > 0.0 {
                    let f = kernel.phi(r) / r;
                    sx += f * dx;
                    sy += f * dy;
                }
            }
            out[0] = scale * sx;
            out[1] = scale * sy;
        }),
    }
}

/// Lanes of independent partial sums: they let the compiler vectorise the
/// inner loops without reordering any single sum.
const LANES: usize = 4;

/// `phi(r) = sum_k p[k] r^k` by Horner's rule.
#[inline(always)]
fn horner(p: &[f64], r: f64) -> f64 {
    p.iter().rev().fold(0.0, |acc, &c| acc * r + c)
}

fn direct_polynomial_1d(p: &[f64], positions: &[f64], scale: f64, drift: &mut [f64]) {
    drift.par_iter_mut().enumerate().for_each(|(i, out)| {
        let xi = positions[i];
        let mut lanes = [0.0; LANES];
        let chunks = positions.chunks_exact(LANES);
        let tail = chunks.remainder();
        for chunk in chunks {
            for (lane, &xj) in lanes.iter_mut().zip(chunk) {
                let d = xi - xj;
                // sign(d) with sign(0) = 0: a pair at distance zero adds nothing.
                let sign = f64::from(u8::from(d > 0.0)) - f64::from(u8::from(d < 0.0));
                *lane += horner(p, d.abs()) * sign;
            }
        }
        let mut sum = lanes.iter().sum::<f64>();
        for &xj in tail {
            let d = xi - xj;
            let sign = f64::from(u8::from(d > 0.0)) - f64::from(u8::from(d < 0.0));
            sum += horner(p, d.abs()) * sign;
        }
        *out = scale * sum;
    });
}

fn direct_polynomial_2d(p: &[f64], positions: &[f64], scale: f64, drift: &mut [f64]) {
    // Structure of arrays, so that the inner loop reads two contiguous streams.
    let xs: Vec<f64> = positions.iter().step_by(2).copied().collect();
    let ys: Vec<f64> = positions.iter().skip(1).step_by(2).copied().collect();
    drift.par_chunks_mut(2).enumerate().for_each(|(i, out)| {
        let (xi, yi) = (xs[i], ys[i]);
        // phi(r)/r = p_0/r + sum_{k>=1} p_k r^(k-1): the division is needed
        // only for a constant term, and the pair at distance zero gives 0.
        let constant = p.first().copied().unwrap_or(0.0);
        let rest = p.get(1..).unwrap_or(&[]);
        let pair_term = |xj: f64, yj: f64| {
            let (dx, dy) = (xi - xj, yi - yj);
            let r = (dx * dx + dy * dy).sqrt();
            let mut f = horner(rest, r);
            if constant != 0.0 {
                let inverse = if r > 0.0 { 1.0 / r } else { 0.0 };
                f += constant * inverse;
            }
            (f * dx, f * dy)
        };
        let (mut lanes_x, mut lanes_y) = ([0.0; LANES], [0.0; LANES]);
        let x_chunks = xs.chunks_exact(LANES);
        let y_chunks = ys.chunks_exact(LANES);
        let (x_tail, y_tail) = (x_chunks.remainder(), y_chunks.remainder());
        for (xc, yc) in x_chunks.zip(y_chunks) {
            for lane in 0..LANES {
                let (fx, fy) = pair_term(xc[lane], yc[lane]);
                lanes_x[lane] += fx;
                lanes_y[lane] += fy;
            }
        }
        let (mut sx, mut sy) = (lanes_x.iter().sum::<f64>(), lanes_y.iter().sum::<f64>());
        for (&xj, &yj) in x_tail.iter().zip(y_tail) {
            let (fx, fy) = pair_term(xj, yj);
            sx += fx;
            sy += fy;
        }
        out[0] = scale * sx;
        out[1] = scale * sy;
    });
}

/// Exact drift of a 1D polynomial kernel `phi(r) = sum_k p_k r^k` in
/// `O(N log N)`.
///
/// For sorted positions, `sum_j sign(x - x_j) |x - x_j|^k` splits into the
/// particles left of `x`, `sum_p C(k,p) x^(k-p) (-1)^p L_p`, minus those
/// right of it, `sum_p C(k,p) (-x)^(k-p) R_p`, with `L_p` and `R_p` the sums of
/// `x_j^p` on each side. Coordinates are centred first because the expansion
/// cancels catastrophically for large `|x|`. Particles at exactly the same
/// position are on neither side, as in the direct sum.
///
/// The buffers are kept between calls so a simulation allocates them once.
#[derive(Debug, Clone)]
pub struct PrefixSumDrift {
    coefficients: Vec<f64>,
    /// `shifted[p][j] = c_(p+j) C(p+j, p)`: the coefficients of
    /// `A_p(y) = phi^(p)(y) / p!`, so that the sum over particles is
    /// `sum_p (-1)^p L_p A_p(y) - R_p A_p(-y)`.
    shifted: Vec<Vec<f64>>,
    /// `(position, particle)` pairs in sorted order, and sorting buffers.
    keyed: Vec<(f64, u32)>,
    scratch: Vec<(f64, u32)>,
    counts: Vec<u32>,
    sorted: Vec<f64>,
    /// `left[s * powers + p]`: sum of `y^p` over sorted positions before `s`.
    left: Vec<f64>,
    /// `right[s * powers + p]`: sum of `y^p` over sorted positions after `s`.
    right: Vec<f64>,
}

impl PrefixSumDrift {
    /// Prepares the method for `phi(r) = sum_k coefficients[k] r^k`.
    pub fn new(coefficients: Vec<f64>) -> Self {
        let degree = coefficients.len().saturating_sub(1);
        let mut binomial = vec![vec![1.0; 1]; degree + 1];
        for k in 1..=degree {
            let mut row = vec![1.0; k + 1];
            for p in 1..k {
                row[p] = binomial[k - 1][p - 1] + binomial[k - 1][p];
            }
            binomial[k] = row;
        }
        let shifted = (0..=degree)
            .map(|p| (p..=degree).map(|k| coefficients[k] * binomial[k][p]).collect())
            .collect();
        PrefixSumDrift {
            coefficients,
            shifted,
            keyed: Vec::new(),
            scratch: Vec::new(),
            counts: Vec::new(),
            sorted: Vec::new(),
            left: Vec::new(),
            right: Vec::new(),
        }
    }

    /// Writes the drift of every particle into `drift`.
    pub fn evaluate(&mut self, positions: &[f64], drift: &mut [f64]) {
        let n = positions.len();
        let powers = self.coefficients.len();
        if n == 0 || powers == 0 {
            drift.fill(0.0);
            return;
        }
        let centre = positions.iter().sum::<f64>() / n as f64;

        if self.keyed.len() != n {
            self.keyed = (0..n as u32).map(|i| (0.0, i)).collect();
        }
        for pair in self.keyed.iter_mut() {
            pair.0 = positions[pair.1 as usize];
        }
        sort_positions(&mut self.keyed, &mut self.scratch, &mut self.counts);
        self.sorted.clear();
        self.sorted
            .extend(self.keyed.iter().map(|&(x, _)| x - centre));

        self.left.resize(powers * n, 0.0);
        self.right.resize(powers * n, 0.0);
        self.accumulate_sides(n, powers);

        let scale = -1.0 / n as f64;
        let (sorted, left, right, shifted) = (&self.sorted, &self.left, &self.right, &self.shifted);
        let values: Vec<f64> = (0..n)
            .into_par_iter()
            .with_min_len(4096)
            .map(|s| {
                let y = sorted[s];
                let sides = s * powers..(s + 1) * powers;
                let (left, right) = (&left[sides.clone()], &right[sides]);
                let mut total = 0.0;
                for (p, a) in shifted.iter().enumerate() {
                    // Horner evaluation of A_p at y and at -y.
                    let (mut at_y, mut at_minus_y) = (0.0, 0.0);
                    for &coefficient in a.iter().rev() {
                        at_y = at_y * y + coefficient;
                        at_minus_y = -at_minus_y * y + coefficient;
                    }
                    let sign = if p % 2 == 0 { 1.0 } else { -1.0 };
                    total += sign * left[p] * at_y - right[p] * at_minus_y;
                }
                scale * total
            })
            .collect();
        for (s, &(_, i)) in self.keyed.iter().enumerate() {
            drift[i as usize] = values[s];
        }
    }

    /// Fills the strict left and right power sums, grouping tied positions.
    fn accumulate_sides(&mut self, n: usize, powers: usize) {
        let sorted = &self.sorted;
        let mut run_start = 0;
        let mut running = vec![0.0; powers];
        while run_start < n {
            let mut run_end = run_start + 1;
            while run_end < n && sorted[run_end] == sorted[run_start] {
                run_end += 1;
            }
            for s in run_start..run_end {
                // A plain loop: a slice copy of a few values calls memcpy.
                for (slot, &sum) in self.left[s * powers..(s + 1) * powers].iter_mut().zip(&running) {
                    *slot = sum;
                }
            }
            let y = sorted[run_start];
            let mut y_power = 1.0;
            for sum in running.iter_mut() {
                *sum += (run_end - run_start) as f64 * y_power;
                y_power *= y;
            }
            run_start = run_end;
        }

        let mut run_end = n;
        running.fill(0.0);
        while run_end > 0 {
            let mut run_start = run_end - 1;
            while run_start > 0 && sorted[run_start - 1] == sorted[run_end - 1] {
                run_start -= 1;
            }
            for s in run_start..run_end {
                // A plain loop: a slice copy of a few values calls memcpy.
                for (slot, &sum) in self.right[s * powers..(s + 1) * powers].iter_mut().zip(&running) {
                    *slot = sum;
                }
            }
            let y = sorted[run_start];
            let mut y_power = 1.0;
            for sum in running.iter_mut() {
                *sum += (run_end - run_start) as f64 * y_power;
                y_power *= y;
            }
            run_end = run_start;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::stream;
    use ips_core::{KernelTerm, Term};
    use rand::Rng;

    fn polynomial_kernel(coefficients: &[f64]) -> Kernel {
        Kernel {
            convention: Default::default(),
            terms: coefficients
                .iter()
                .enumerate()
                .map(|(k, &c)| KernelTerm { term: Term::Power(k as u32), coefficient: c })
                .collect(),
        }
    }

    fn max_relative_error(a: &[f64], b: &[f64]) -> f64 {
        let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs())) / scale
    }

    /// The prefix-sum method against the direct sum on random data, for
    /// every power up to 7 and a dense mix, off-centre and spread out.
    #[test]
    fn prefix_sum_matches_direct() {
        let mut rng = stream(11, 0, 0);
        let n = 3000;
        for (offset, spread) in [(0.0, 1.0), (5.0, 2.0), (-2.0, 0.3)] {
            let x: Vec<f64> = (0..n).map(|_| offset + spread * (2.0 * rng.random::<f64>() - 1.0)).collect();
            let mut cases: Vec<Vec<f64>> = (0..8)
                .map(|k| {
                    let mut c = vec![0.0; k + 1];
                    c[k] = 1.0;
                    c
                })
                .collect();
            cases.push(vec![0.3, -1.0, 3.0, 0.5, -0.2, 0.1, -0.05, 0.01]);
            for coefficients in cases {
                let kernel = polynomial_kernel(&coefficients);
                let mut expected = vec![0.0; n];
                direct(&kernel, &x, 1, &mut expected);
                let mut fast = vec![0.0; n];
                PrefixSumDrift::new(coefficients.clone()).evaluate(&x, &mut fast);
                let error = max_relative_error(&fast, &expected);
                assert!(error < 1e-10, "coefficients {coefficients:?}, offset {offset}: relative error {error:e}");
            }
        }
    }

    /// The vectorised polynomial path against a term-by-term evaluation of
    /// the same kernel written with a non-polynomial zero term.
    #[test]
    fn polynomial_direct_matches_generic() {
        let mut rng = stream(5, 0, 0);
        for dim in [1, 2] {
            let x: Vec<f64> = (0..1003 * dim).map(|_| 4.0 * rng.random::<f64>() - 2.0).collect();
            let fast_kernel = polynomial_kernel(&[0.5, -1.0, 3.0, 0.2]);
            let mut generic_kernel = fast_kernel.clone();
            generic_kernel.terms.push(KernelTerm { term: Term::Indicator { lo: 10.0, hi: 11.0 }, coefficient: 1.0 });
            assert!(generic_kernel.polynomial().is_none());
            let mut fast = vec![0.0; x.len()];
            let mut generic = vec![0.0; x.len()];
            direct(&fast_kernel, &x, dim, &mut fast);
            direct(&generic_kernel, &x, dim, &mut generic);
            let error = max_relative_error(&fast, &generic);
            assert!(error < 1e-12, "dim {dim}: relative error {error:e}");
        }
    }

    /// Tied positions contribute nothing to each other, as in the direct sum.
    #[test]
    fn prefix_sum_handles_ties() {
        let x = vec![0.5, 0.5, -1.0, 0.5, 2.0, -1.0];
        let coefficients = vec![1.0, 2.0, 3.0];
        let kernel = polynomial_kernel(&coefficients);
        let mut expected = vec![0.0; x.len()];
        direct(&kernel, &x, 1, &mut expected);
        let mut fast = vec![0.0; x.len()];
        PrefixSumDrift::new(coefficients).evaluate(&x, &mut fast);
        assert!(max_relative_error(&fast, &expected) < 1e-13, "{fast:?} vs {expected:?}");
    }

    /// Newton's third law: the total drift vanishes.
    #[test]
    fn total_drift_is_zero_in_2d() {
        let mut rng = stream(3, 0, 0);
        let x: Vec<f64> = (0..400).map(|_| rng.random::<f64>()).collect();
        let kernel = polynomial_kernel(&[0.0, 1.0, 3.0]);
        let mut drift = vec![0.0; 400];
        direct(&kernel, &x, 2, &mut drift);
        let sx: f64 = drift.iter().step_by(2).sum();
        let sy: f64 = drift.iter().skip(1).step_by(2).sum();
        assert!(sx.abs() < 1e-12, "total x drift {sx}");
        assert!(sy.abs() < 1e-12, "total y drift {sy}");
    }

    /// Two particles attract along the line joining them.
    #[test]
    fn two_particles_attract() {
        let kernel = polynomial_kernel(&[0.0, 0.0, 3.0]);
        let x = vec![0.0, 0.0, 1.0, 0.0];
        let mut drift = vec![0.0; 4];
        direct(&kernel, &x, 2, &mut drift);
        // b_0 = -(1/2) * 3 * 1^2 * (0 - 1)/1 = 1.5 towards the other particle.
        assert!((drift[0] - 1.5).abs() < 1e-15);
        assert!((drift[2] + 1.5).abs() < 1e-15);
        assert_eq!(drift[1], 0.0);
    }
}
