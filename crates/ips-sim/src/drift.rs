//! Evaluation of the interaction drift `b_i = -(1/N) sum_j phi(r_ij) (X_i - X_j)/r_ij`.
//!
//! Positions are `[N, d]` in C order, flattened. Pairs at distance zero
//! contribute nothing, as `x/|x|` is taken to be 0 at `x = 0`.

use ips_core::Kernel;
use rayon::prelude::*;

use crate::sorting::SortedOrder;

/// Direct pairwise sum, `O(N^2)`, parallel over particles. Each particle's
/// sum runs over `j` in a fixed order, so the result does not depend on the
/// threads. Polynomial kernels take a branch-free path that the compiler
/// vectorises, and other kernels call [`Kernel::phi`] for every pair.
///
/// The sums use no fused multiply-adds and no CPU-specific copy, so the
/// drift, and with it a seeded trajectory, is the same on every x86-64
/// machine. A copy compiled for AVX2 and FMA was tried and dropped: fused
/// multiply-adds round differently, and AVX2 alone gave no clear gain,
/// because the vector square root limits the loop.
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
    // phi(r)/r = p_0/r + sum_{k>=1} p_k r^(k-1): the division is needed
    // only for a constant term, and the pair at distance zero gives 0.
    let pair_factor = PairFactor {
        constant: p.first().copied().unwrap_or(0.0),
        rest: p.get(1..).unwrap_or(&[]),
    };
    drift.par_chunks_mut(2).enumerate().for_each(|(i, out)| {
        let (sx, sy) = pair_sums_2d::<LANES>(&pair_factor, &xs, &ys, xs[i], ys[i]);
        out[0] = scale * sx;
        out[1] = scale * sy;
    });
}

/// `phi(r)/r` of a polynomial kernel, split into `p_0/r` and a polynomial.
struct PairFactor<'a> {
    constant: f64,
    rest: &'a [f64],
}

impl PairFactor<'_> {
    /// Evaluates `phi(r)/r`, 0 at `r = 0`.
    #[inline(always)]
    fn at(&self, r: f64) -> f64 {
        let mut f = self.rest.iter().rev().fold(0.0, |acc: f64, &c| acc * r + c);
        if self.constant != 0.0 {
            let inverse = if r > 0.0 { 1.0 / r } else { 0.0 };
            f += self.constant * inverse;
        }
        f
    }
}

/// `sum_j phi(r_ij)/r_ij (x_i - x_j)` for one particle `(xi, yi)`, in
/// `WIDTH` independent partial sums that the compiler maps to vector lanes.
#[inline(always)]
fn pair_sums_2d<const WIDTH: usize>(
    pair_factor: &PairFactor,
    xs: &[f64],
    ys: &[f64],
    xi: f64,
    yi: f64,
) -> (f64, f64) {
    let pair_term = |xj: f64, yj: f64| {
        let (dx, dy) = (xi - xj, yi - yj);
        let f = pair_factor.at((dx * dx + dy * dy).sqrt());
        (f * dx, f * dy)
    };
    let (mut lanes_x, mut lanes_y) = ([0.0; WIDTH], [0.0; WIDTH]);
    let x_chunks = xs.chunks_exact(WIDTH);
    let y_chunks = ys.chunks_exact(WIDTH);
    let (x_tail, y_tail) = (x_chunks.remainder(), y_chunks.remainder());
    for (xc, yc) in x_chunks.zip(y_chunks) {
        // Each step runs across all lanes, so the lane loops become vector
        // instructions, but the same terms in a per-pair loop stay scalar.
        let (mut dx, mut dy, mut r) = ([0.0f64; WIDTH], [0.0f64; WIDTH], [0.0f64; WIDTH]);
        for lane in 0..WIDTH {
            dx[lane] = xi - xc[lane];
            dy[lane] = yi - yc[lane];
            r[lane] = (dx[lane] * dx[lane] + dy[lane] * dy[lane]).sqrt();
        }
        let mut f = [0.0f64; WIDTH];
        for &c in pair_factor.rest.iter().rev() {
            for lane in 0..WIDTH {
                f[lane] = f[lane] * r[lane] + c;
            }
        }
        if pair_factor.constant != 0.0 {
            for lane in 0..WIDTH {
                let inverse = if r[lane] > 0.0 { 1.0 / r[lane] } else { 0.0 };
                f[lane] += pair_factor.constant * inverse;
            }
        }
        for lane in 0..WIDTH {
            lanes_x[lane] += f[lane] * dx[lane];
            lanes_y[lane] += f[lane] * dy[lane];
        }
    }
    let (mut sx, mut sy) = (lanes_x.iter().sum::<f64>(), lanes_y.iter().sum::<f64>());
    for (&xj, &yj) in x_tail.iter().zip(y_tail) {
        let (fx, fy) = pair_term(xj, yj);
        sx += fx;
        sy += fy;
    }
    (sx, sy)
}

/// Sorted positions per chunk of the parallel passes of [`PrefixSumDrift`].
/// A chunk is extended past this length to the end of a run of tied
/// positions, so its boundaries depend on N and on the positions but never
/// on the number of threads, and neither does the drift.
const CHUNK: usize = 4096;

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
/// The sums are streamed. Each chunk of sorted positions starts from the
/// power sums of the chunks before and after it. It adds its left terms in
/// one pass and its right terms in a reverse pass, so memory stays at a
/// few values per particle. The buffers are kept between calls so a
/// simulation allocates them once.
#[derive(Debug, Clone)]
pub struct PrefixSumDrift {
    coefficients: Vec<f64>,
    /// `shifted[p * powers + j] = c_(p+j) C(p+j, p)`, zero for
    /// `p + j > degree`: the coefficients of `A_p(y) = phi^(p)(y) / p!`, so
    /// that the sum over particles is `sum_p (-1)^p L_p A_p(y) - R_p A_p(-y)`.
    shifted: Vec<f64>,
    /// `(position, particle)` pairs in sorted order, and sorting buffers.
    order: SortedOrder,
    /// Centred positions in sorted order.
    sorted: Vec<f64>,
    /// Drift of the particle at each sorted index.
    sorted_drift: Vec<f64>,
    /// First sorted index of each chunk, and N at the end.
    boundaries: Vec<usize>,
    /// `chunk_sums[c * powers + p]`: sum of `y^p` over chunk `c`.
    chunk_sums: Vec<f64>,
}

/// Binomial coefficients `C(k, p)` for `k <= degree`, by Pascal's rule
/// (exact in `f64` far beyond the degrees of any dictionary).
pub(crate) fn binomials(degree: usize) -> Vec<Vec<f64>> {
    let mut rows: Vec<Vec<f64>> = Vec::with_capacity(degree + 1);
    for k in 0..=degree {
        let mut row = vec![1.0; k + 1];
        for p in 1..k {
            row[p] = rows[k - 1][p - 1] + rows[k - 1][p];
        }
        rows.push(row);
    }
    rows
}

impl PrefixSumDrift {
    /// Prepares the method for `phi(r) = sum_k coefficients[k] r^k`.
    pub fn new(coefficients: Vec<f64>) -> Self {
        let degree = coefficients.len().saturating_sub(1);
        let binomial = binomials(degree);
        let powers = degree + 1;
        let mut shifted = vec![0.0; powers * powers];
        for p in 0..powers {
            for k in p..powers {
                shifted[p * powers + k - p] = coefficients[k] * binomial[k][p];
            }
        }
        PrefixSumDrift {
            coefficients,
            shifted,
            order: SortedOrder::new(),
            sorted: Vec::new(),
            sorted_drift: Vec::new(),
            boundaries: Vec::new(),
            chunk_sums: Vec::new(),
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

        let keyed = self.order.sort(positions);
        self.sorted.resize(n, 0.0);
        self.sorted
            .par_iter_mut()
            .zip(keyed.par_iter())
            .with_min_len(CHUNK)
            .for_each(|(y, &(x, _))| *y = x - centre);

        self.find_chunks();
        self.sum_chunks(powers);
        self.sum_sides(powers, -1.0 / n as f64);

        for (&(_, i), &value) in self.order.pairs().iter().zip(&self.sorted_drift) {
            drift[i as usize] = value;
        }
    }

    /// Splits the sorted positions into chunks of [`CHUNK`], each extended
    /// to the end of its last run of tied positions so no run is split.
    fn find_chunks(&mut self) {
        let (sorted, n) = (&self.sorted, self.sorted.len());
        self.boundaries.clear();
        self.boundaries.push(0);
        let mut start = CHUNK;
        while start < n {
            while start < n && sorted[start] == sorted[start - 1] {
                start += 1;
            }
            if start < n {
                self.boundaries.push(start);
            }
            start += CHUNK;
        }
        self.boundaries.push(n);
    }

    /// Fills `chunk_sums` with the power sums of each chunk.
    fn sum_chunks(&mut self, powers: usize) {
        let chunks = self.boundaries.len() - 1;
        self.chunk_sums.clear();
        self.chunk_sums.resize(chunks * powers, 0.0);
        let (sorted, boundaries) = (&self.sorted, &self.boundaries);
        self.chunk_sums
            .par_chunks_mut(powers)
            .enumerate()
            .for_each(|(c, sums)| {
                for &y in &sorted[boundaries[c]..boundaries[c + 1]] {
                    add_powers(sums, y, 1.0);
                }
            });
    }

    /// Fills `sorted_drift` chunk by chunk: a forward pass writes the terms
    /// of the particles to the left, a backward pass adds those to the right.
    fn sum_sides(&mut self, powers: usize, scale: f64) {
        let chunks = self.boundaries.len() - 1;
        // Power sums of all chunks before and after each chunk, summed in a
        // fixed order.
        let mut before = vec![0.0; chunks * powers];
        let mut after = vec![0.0; chunks * powers];
        for c in 1..chunks {
            for p in 0..powers {
                before[c * powers + p] = before[(c - 1) * powers + p] + self.chunk_sums[(c - 1) * powers + p];
            }
        }
        for c in (0..chunks.saturating_sub(1)).rev() {
            for p in 0..powers {
                after[c * powers + p] = after[(c + 1) * powers + p] + self.chunk_sums[(c + 1) * powers + p];
            }
        }

        self.sorted_drift.resize(self.sorted.len(), 0.0);
        let mut outputs = Vec::with_capacity(chunks);
        let mut rest = self.sorted_drift.as_mut_slice();
        for c in 0..chunks {
            let (head, tail) = rest.split_at_mut(self.boundaries[c + 1] - self.boundaries[c]);
            outputs.push(head);
            rest = tail;
        }
        let (sorted, boundaries, shifted) = (&self.sorted, &self.boundaries, &self.shifted);
        outputs.into_par_iter().enumerate().for_each(|(c, out)| {
            let ys = &sorted[boundaries[c]..boundaries[c + 1]];
            let mut left = before[c * powers..(c + 1) * powers].to_vec();
            let mut right = after[c * powers..(c + 1) * powers].to_vec();
            sum_chunk(shifted, ys, &mut left, &mut right, out, scale);
        });
    }
}

/// Writes the drift of one chunk of sorted positions `ys` into `out`.
/// `left` and `right` enter with the power sums of the positions before
/// and after the chunk. Kernels of up to 12 powers run a copy compiled for
/// their number of powers, because the unrolled loops are faster.
fn sum_chunk(shifted: &[f64], ys: &[f64], left: &mut [f64], right: &mut [f64], out: &mut [f64], scale: f64) {
    macro_rules! dispatch {
        ($($powers:literal)*) => {
            match left.len() {
                $($powers => sum_chunk_fixed::<$powers>(shifted, ys, left, right, out, scale),)*
                _ => sum_chunk_generic(shifted, ys, left, right, out, scale),
            }
        };
    }
    dispatch!(1 2 3 4 5 6 7 8 9 10 11 12);
}

fn sum_chunk_fixed<const POWERS: usize>(
    shifted: &[f64],
    ys: &[f64],
    left: &mut [f64],
    right: &mut [f64],
    out: &mut [f64],
    scale: f64,
) {
    // Local copies, so the sums stay in registers.
    let mut left: [f64; POWERS] = (&*left).try_into().expect("one left sum per power");
    let mut right: [f64; POWERS] = (&*right).try_into().expect("one right sum per power");
    sum_chunk_generic(&shifted[..POWERS * POWERS], ys, &mut left, &mut right, out, scale);
}

#[inline(always)]
fn sum_chunk_generic(shifted: &[f64], ys: &[f64], left: &mut [f64], right: &mut [f64], out: &mut [f64], scale: f64) {
    add_left_terms(shifted, ys, left, out);
    add_right_terms(shifted, ys, right, out);
    for value in out.iter_mut() {
        *value *= scale;
    }
}

/// Adds `count * y^p` to `sums[p]` for every power `p`.
#[inline(always)]
fn add_powers(sums: &mut [f64], y: f64, count: f64) {
    let mut y_power = count;
    for sum in sums.iter_mut() {
        *sum += y_power;
        y_power *= y;
    }
}

/// Length of the run of positions equal to `ys[0]`.
#[inline(always)]
fn run_length(ys: &[f64]) -> usize {
    ys.iter().take_while(|&&y| y == ys[0]).count()
}

/// Writes `sum_p (-1)^p L_p A_p(y)` for each sorted position `y` of a
/// chunk into `out`, where `left` enters with the power sums of everything
/// before the chunk. Tied positions share their left sums.
#[inline(always)]
fn add_left_terms(shifted: &[f64], ys: &[f64], left: &mut [f64], out: &mut [f64]) {
    let powers = left.len();
    let mut s = 0;
    while s < ys.len() {
        let run = run_length(&ys[s..]);
        let y = ys[s];
        let mut total = 0.0;
        for (p, a) in shifted.chunks_exact(powers).enumerate() {
            let at_y = a[..powers - p].iter().rev().fold(0.0, |acc, &coefficient| acc * y + coefficient);
            let sign = if p % 2 == 0 { 1.0 } else { -1.0 };
            total += sign * left[p] * at_y;
        }
        out[s..s + run].fill(total);
        add_powers(left, y, run as f64);
        s += run;
    }
}

/// Subtracts `sum_p R_p A_p(-y)` from `out` for each sorted position `y`
/// of a chunk, from the last to the first, where `right` enters with the
/// power sums of everything after the chunk.
#[inline(always)]
fn add_right_terms(shifted: &[f64], ys: &[f64], right: &mut [f64], out: &mut [f64]) {
    let powers = right.len();
    let mut end = ys.len();
    while end > 0 {
        let y = ys[end - 1];
        let run = ys[..end].iter().rev().take_while(|&&v| v == y).count();
        let mut total = 0.0;
        for (p, a) in shifted.chunks_exact(powers).enumerate() {
            let at_minus_y = a[..powers - p].iter().rev().fold(0.0, |acc, &coefficient| -acc * y + coefficient);
            total += right[p] * at_minus_y;
        }
        for value in &mut out[end - run..end] {
            *value -= total;
        }
        add_powers(right, y, run as f64);
        end -= run;
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

    /// Returns the largest error of the prefix-sum drift against the direct
    /// sum at `x`, relative to the largest direct drift.
    fn prefix_sum_error(coefficients: &[f64], x: &[f64]) -> f64 {
        let mut expected = vec![0.0; x.len()];
        direct(&polynomial_kernel(coefficients), x, 1, &mut expected);
        let mut fast = vec![0.0; x.len()];
        PrefixSumDrift::new(coefficients.to_vec()).evaluate(x, &mut fast);
        max_relative_error(&fast, &expected)
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
                let error = prefix_sum_error(&coefficients, &x);
                assert!(error < 1e-10, "coefficients {coefficients:?}, offset {offset}: relative error {error:e}");
            }
        }
    }

    /// Several chunks, with runs of tied positions across the nominal chunk
    /// boundaries and one run longer than a chunk, against the direct sum.
    #[test]
    fn prefix_sum_chunks_match_direct() {
        let mut rng = stream(13, 0, 0);
        let n = 3 * CHUNK + 517;
        // Positions on a grid of 1/1000, so about 12 particles share each.
        let mut x: Vec<f64> = (0..n).map(|_| (rng.random::<f64>() * 1000.0).floor() / 1000.0 - 0.3).collect();
        x[..CHUNK + 50].fill(0.25);
        for coefficients in [vec![1.0, 2.0, 3.0], vec![0.3, -1.0, 3.0, 0.5, -0.2, 0.1, -0.05, 0.01]] {
            let error = prefix_sum_error(&coefficients, &x);
            assert!(error < 1e-10, "coefficients {coefficients:?}: relative error {error:e}");
        }
    }

    /// Kernels of more powers than the unrolled copies take the generic path.
    #[test]
    fn prefix_sum_high_degree_matches_direct() {
        let mut rng = stream(17, 0, 0);
        let n = CHUNK + 300;
        let x: Vec<f64> = (0..n).map(|_| 0.6 * rng.random::<f64>() - 0.3).collect();
        let coefficients: Vec<f64> = (0..14).map(|k| 1.0 / (k as f64 + 1.0)).collect();
        let error = prefix_sum_error(&coefficients, &x);
        assert!(error < 1e-10, "relative error {error:e}");
    }

    /// The chunks do not depend on the thread count, so neither does the
    /// drift, bit for bit.
    #[test]
    fn prefix_sum_independent_of_threads() {
        let mut rng = stream(19, 0, 0);
        let n = 5 * CHUNK + 11;
        let x: Vec<f64> = (0..n).map(|_| 4.0 * rng.random::<f64>() - 2.0).collect();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut drift = vec![0.0; n];
            pool.install(|| PrefixSumDrift::new(vec![0.2, 1.0, 3.0, -0.5]).evaluate(&x, &mut drift));
            drift
        };
        let one = run(1);
        assert!(one == run(2), "1 and 2 threads differ");
        assert!(one == run(3), "1 and 3 threads differ");
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
