//! Exact drift of 1D piecewise-polynomial kernels by a sweep over sorted
//! positions, `O(N log N)` per step.
//!
//! A piece is a polynomial `phi(r) = sum_q c_q r^q` on `lo <= r < hi` (`hi`
//! may be infinite). On sorted positions the particles `j` left of `x_i` at
//! a distance in `[lo, hi)` form one contiguous window, and those right of
//! it another; both windows only move right as `i` grows, so two pointers
//! each track them. Prefix sums of `y^0 .. y^p` over the sorted, centred
//! coordinates give the window sums of the binomial expansion of
//! `(y_i - y_j)^q`, as in [`crate::drift::PrefixSumDrift`].
//!
//! Window membership is decided with the same floating-point difference
//! `x_i - x_j` of the original coordinates as in the direct sum, so pairs
//! exactly at a window edge fall on the same side in both; only the sums
//! differ by rounding. Subtraction is monotone under rounding, which keeps
//! the windows contiguous. Pairs at distance zero add nothing.

use ips_core::{Kernel, KernelTerm, Term};

use crate::drift::binomials;
use crate::sorting::SortedOrder;

/// A polynomial `sum_q coefficients[q] r^q` on `lo <= r < hi`.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub lo: f64,
    pub hi: f64,
    pub coefficients: Vec<f64>,
}

/// Splits a kernel into its piecewise-polynomial pieces (powers on
/// `[0, inf)`, indicator terms on their intervals, merged by interval) and
/// the kernel of the remaining terms, whose `phi` the pieces leave out.
pub fn split_pieces(kernel: &Kernel) -> (Vec<Piece>, Kernel) {
    let shift = kernel.convention.extra_power() as usize;
    let mut pieces: Vec<Piece> = Vec::new();
    let mut rest = Kernel { convention: kernel.convention, terms: Vec::new() };
    for t in &kernel.terms {
        let (lo, hi, power) = match t.term {
            Term::Power(k) => (0.0, f64::INFINITY, k as usize + shift),
            Term::Indicator { lo, hi } => (lo, hi, shift),
            Term::RIndicator { lo, hi } => (lo, hi, shift + 1),
            Term::CutoffInverse { .. } => {
                rest.terms.push(KernelTerm { term: t.term, coefficient: t.coefficient });
                continue;
            }
        };
        let index = match pieces.iter().position(|p| p.lo == lo && p.hi == hi) {
            Some(index) => index,
            None => {
                pieces.push(Piece { lo, hi, coefficients: Vec::new() });
                pieces.len() - 1
            }
        };
        let coefficients = &mut pieces[index].coefficients;
        if coefficients.len() <= power {
            coefficients.resize(power + 1, 0.0);
        }
        coefficients[power] += t.coefficient;
    }
    (pieces, rest)
}

/// One piece with the coefficients of its Taylor shifts, see
/// [`crate::drift::PrefixSumDrift`]: `shifted[p][j] = c_(p+j) C(p+j, p)`.
#[derive(Debug, Clone)]
struct PreparedPiece {
    lo: f64,
    hi: f64,
    shifted: Vec<Vec<f64>>,
}

/// The sorted-sweep drift of a set of pieces. Buffers are kept between
/// calls so that a simulation allocates them once.
#[derive(Debug, Clone)]
pub struct SweepDrift {
    pieces: Vec<PreparedPiece>,
    /// Number of powers `y^0 ..` whose prefix sums are kept.
    powers: usize,
    order: SortedOrder,
    /// Sorted original coordinates, for window membership.
    sorted: Vec<f64>,
    /// Sorted centred coordinates, for the sums.
    centred: Vec<f64>,
    /// `prefix[s * powers + p]`: sum of `centred[t]^p` over `t < s`, `s = 0..=N`.
    prefix: Vec<f64>,
    values: Vec<f64>,
}

impl SweepDrift {
    /// Prepares the sweep for `pieces`.
    pub fn new(pieces: &[Piece]) -> Self {
        let degree = pieces.iter().map(|p| p.coefficients.len()).max().unwrap_or(1).max(1) - 1;
        let binomial = binomials(degree);
        let pieces = pieces
            .iter()
            .map(|piece| {
                let c = &piece.coefficients;
                let top = c.len().saturating_sub(1);
                PreparedPiece {
                    lo: piece.lo,
                    hi: piece.hi,
                    shifted: (0..c.len()).map(|p| (p..=top).map(|k| c[k] * binomial[k][p]).collect()).collect(),
                }
            })
            .collect();
        SweepDrift {
            pieces,
            powers: degree + 1,
            order: SortedOrder::new(),
            sorted: Vec::new(),
            centred: Vec::new(),
            prefix: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Writes `-(1/N) sum_j phi(|x_i - x_j|) sign(x_i - x_j)` of every
    /// particle into `drift`.
    pub fn evaluate(&mut self, positions: &[f64], drift: &mut [f64]) {
        let n = positions.len();
        drift.fill(0.0);
        if n == 0 || self.pieces.is_empty() {
            return;
        }
        self.sort(positions);
        self.values.clear();
        self.values.resize(n, 0.0);
        for piece in &self.pieces {
            sweep_piece(piece, &self.sorted, &self.centred, &self.prefix, self.powers, &mut self.values);
        }
        self.scatter(drift);
    }

    /// Writes the drift of each piece on its own: `drifts[k]` receives the
    /// drift of piece `k` as [`SweepDrift::evaluate`] would for that piece
    /// alone, from one sort shared by all of them. `drifts` has one slice
    /// of length N per piece.
    pub fn evaluate_each(&mut self, positions: &[f64], drifts: &mut [&mut [f64]]) {
        assert_eq!(drifts.len(), self.pieces.len(), "one output per piece");
        let n = positions.len();
        if n == 0 {
            return;
        }
        self.sort(positions);
        for (k, drift) in drifts.iter_mut().enumerate() {
            self.values.clear();
            self.values.resize(n, 0.0);
            sweep_piece(&self.pieces[k], &self.sorted, &self.centred, &self.prefix, self.powers, &mut self.values);
            self.scatter(drift);
        }
    }

    /// Sorts the positions and fills the prefix sums of the centred powers.
    fn sort(&mut self, positions: &[f64]) {
        let n = positions.len();
        let centre = positions.iter().sum::<f64>() / n as f64;
        let keyed = self.order.sort(positions);
        self.sorted.clear();
        self.sorted.extend(keyed.iter().map(|&(x, _)| x));
        self.centred.clear();
        self.centred.extend(self.sorted.iter().map(|&x| x - centre));

        let powers = self.powers;
        self.prefix.clear();
        self.prefix.resize((n + 1) * powers, 0.0);
        for s in 0..n {
            let y = self.centred[s];
            let mut y_power = 1.0;
            for p in 0..powers {
                self.prefix[(s + 1) * powers + p] = self.prefix[s * powers + p] + y_power;
                y_power *= y;
            }
        }
    }

    /// Moves the sums of `values` (in sorted order) to the particles'
    /// order, scaled by `-1/N`.
    fn scatter(&self, drift: &mut [f64]) {
        let scale = -1.0 / self.values.len() as f64;
        for (s, &(_, i)) in self.order.pairs().iter().enumerate() {
            drift[i as usize] = scale * self.values[s];
        }
    }
}

/// Adds `sum_j phi_piece(|x_s - x_j|) sign(x_s - x_j)` to `values[s]`.
fn sweep_piece(piece: &PreparedPiece, sorted: &[f64], centred: &[f64], prefix: &[f64], powers: usize, values: &mut [f64]) {
    let n = sorted.len();
    let (lo, hi) = (piece.lo, piece.hi);
    // Left window [left_far, left_near): x_s - x_j in [lo, hi) and > 0.
    // Right window [right_near, right_far): x_j - x_s in [lo, hi) and > 0.
    let (mut left_far, mut left_near, mut right_near, mut right_far) = (0, 0, 0, 0);
    let terms = piece.shifted.len();
    let mut left_sums = vec![0.0; terms];
    let mut right_sums = vec![0.0; terms];
    for s in 0..n {
        let x = sorted[s];
        while left_far < n && x - sorted[left_far] >= hi {
            left_far += 1;
        }
        while left_near < n && {
            let d = x - sorted[left_near];
            d >= lo && d > 0.0
        } {
            left_near += 1;
        }
        while right_near < n && {
            let e = sorted[right_near] - x;
            !(e >= lo && e > 0.0)
        } {
            right_near += 1;
        }
        right_far = right_far.max(right_near);
        while right_far < n && sorted[right_far] - x < hi {
            right_far += 1;
        }
        let left_near = left_near.max(left_far);
        for p in 0..terms {
            left_sums[p] = prefix[left_near * powers + p] - prefix[left_far * powers + p];
            right_sums[p] = prefix[right_far * powers + p] - prefix[right_near * powers + p];
        }
        let y = centred[s];
        let mut total = 0.0;
        for (p, a) in piece.shifted.iter().enumerate() {
            let (mut at_y, mut at_minus_y) = (0.0, 0.0);
            for &coefficient in a.iter().rev() {
                at_y = at_y * y + coefficient;
                at_minus_y = -at_minus_y * y + coefficient;
            }
            let sign = if p % 2 == 0 { 1.0 } else { -1.0 };
            total += sign * left_sums[p] * at_y - right_sums[p] * at_minus_y;
        }
        values[s] += total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::direct;
    use crate::noise::stream;
    use ips_core::Convention;
    use rand::Rng;

    fn kernel(convention: Convention, terms: &[(&str, f64)]) -> Kernel {
        Kernel {
            convention,
            terms: terms
                .iter()
                .map(|&(name, coefficient)| KernelTerm { term: Term::parse(name).unwrap(), coefficient })
                .collect(),
        }
    }

    fn sweep(kernel: &Kernel, x: &[f64]) -> Vec<f64> {
        let (pieces, rest) = split_pieces(kernel);
        assert!(rest.terms.is_empty());
        let mut out = vec![0.0; x.len()];
        SweepDrift::new(&pieces).evaluate(x, &mut out);
        out
    }

    fn max_error_over_scale(a: &[f64], b: &[f64]) -> f64 {
        let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs())) / scale
    }

    fn cases() -> Vec<Kernel> {
        vec![
            kernel(Convention::Influence, &[("1[0,0.4)", 0.5), ("1[0.4,0.8)", 1.0)]),
            kernel(Convention::Influence, &[("1[0,0.7071067811865476)", 0.1), ("1[0.7071067811865476,1)", 1.0)]),
            kernel(Convention::Influence, &[("1[0,0.3)", 0.5), ("r*1[0,0.3)", -1.0), ("r*1[0.3,0.9)", 2.0), ("r^1", 0.2)]),
            kernel(Convention::Force, &[("1[0.1,0.5)", 1.5), ("r*1[0.2,0.6)", -0.7), ("r^2", 3.0), ("r^0", 0.1)]),
        ]
    }

    /// The sweep against the direct sum on random positions, off-centre and
    /// spread out, for indicator, r-indicator and power terms in both
    /// conventions.
    #[test]
    fn sweep_matches_direct() {
        let mut rng = stream(17, 0, 0);
        let n = 3000;
        for (offset, spread) in [(0.0, 1.0), (4.0, 2.0), (-1.0, 0.3)] {
            let x: Vec<f64> = (0..n).map(|_| offset + spread * (2.0 * rng.random::<f64>() - 1.0)).collect();
            for k in cases() {
                let mut expected = vec![0.0; n];
                direct(&k, &x, 1, &mut expected);
                let error = max_error_over_scale(&sweep(&k, &x), &expected);
                assert!(error < 1e-10, "{}, offset {offset}: relative error {error:e}", k.formula());
            }
        }
    }

    /// Positions on a lattice of step 0.1 put many pairs exactly at the
    /// interval edges 0.4 and 0.8 (as the direct sum computes the distance),
    /// and repeated positions give pairs at distance zero.
    #[test]
    fn sweep_matches_direct_at_window_edges_and_ties() {
        let mut rng = stream(19, 0, 0);
        let x: Vec<f64> = (0..2000).map(|_| (rng.random_range(0..30) as f64) * 0.1 - 1.0).collect();
        for k in cases() {
            let mut expected = vec![0.0; x.len()];
            direct(&k, &x, 1, &mut expected);
            let error = max_error_over_scale(&sweep(&k, &x), &expected);
            assert!(error < 1e-10, "{}: relative error {error:e}", k.formula());
        }
    }

    /// Two particles at distance 0.5: a 1 on [0.4, 0.8) in the influence
    /// convention gives phi = 0.5, and each moves by phi/N towards the other.
    #[test]
    fn two_particles_in_window() {
        let k = kernel(Convention::Influence, &[("1[0.4,0.8)", 1.0)]);
        let out = sweep(&k, &[0.0, 0.5]);
        assert_eq!(out, vec![0.25, -0.25]);
        let outside = sweep(&k, &[0.0, 0.9]);
        assert_eq!(outside, vec![0.0, 0.0]);
    }

    #[test]
    fn split_keeps_cutoff_terms_apart() {
        let k = kernel(Convention::Force, &[("r^1", 1.0), ("1/r[eps=0.1]", -1.0), ("r^3", 2.0)]);
        let (pieces, rest) = split_pieces(&k);
        assert_eq!(pieces, vec![Piece { lo: 0.0, hi: f64::INFINITY, coefficients: vec![0.0, 1.0, 0.0, 2.0] }]);
        assert_eq!(rest.terms.len(), 1);
    }
}
