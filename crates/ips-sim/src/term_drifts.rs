//! The drift of each dictionary term at each particle, for the regressions
//! on particles (weak form and labelled increments):
//! `f_k(X_i) = -(1/N) sum_j G_k(X_i - X_j)` with `G_k(x) = g_k(|x|) x/|x|`,
//! where `g_k` is the term in the force convention (`r f_k(r)` in the
//! influence convention).
//!
//! In 1D every power term comes from one sort and one set of prefix sums of
//! `y^0 .. y^p` (as in [`crate::drift::PrefixSumDrift`], which serves one
//! polynomial): `sum_j sign(y - y_j) |y - y_j|^k = sum_p C(k,p) [(-1)^p
//! y^(k-p) L_p - (-y)^(k-p) R_p]`, with `L_p`, `R_p` the power sums of the
//! particles strictly left and right of `y`. Indicator terms (`1[a,b)`,
//! `r*1[a,b)`) come from the simulator's sorted sweep
//! ([`crate::sweep::SweepDrift`]), one sort for all of them; it is exact up
//! to rounding and `O(N log N)`. The cut-off `1/r` term uses the direct sum
//! of a one-term kernel. In 2D, up to [`MESH_MIN_PARTICLES`] particles
//! use the direct sum too. More particles use the simulator's particle–mesh
//! method ([`ParticleMeshDrift`] with [`DEFAULT_MESH_CELLS`] cells per axis).
//! Its error is about 1e-4 of the largest drift for fields smooth away from
//! 0, and first order, a few per cent, for fields that jump at 0 (the `r^0`
//! term and indicators).

use ips_core::{Convention, Kernel, KernelTerm, Term};

use crate::drift::{binomials, direct};
use crate::particle_mesh::{ParticleMeshDrift, DEFAULT_MESH_CELLS};
use crate::sorting::SortedOrder;
use crate::sweep::{split_pieces, SweepDrift};

/// Reusable buffers; one per thread.
#[derive(Debug, Default, Clone)]
pub struct TermDrifts {
    order: SortedOrder,
    sorted: Vec<f64>,
    left: Vec<f64>,
    right: Vec<f64>,
    /// Made on the first 2D call with more than [`MESH_MIN_PARTICLES`].
    mesh: Option<ParticleMeshDrift>,
    /// The sweep of the 1D indicator terms, with the terms and convention
    /// it was prepared for.
    sweep: Option<(Vec<Term>, Convention, SweepDrift)>,
}

/// Particle count from which the 2D term drifts come from the particle
/// mesh. Below it the exact direct sum is kept. By estimate, not by
/// benchmark, it costs about as much there: 4e6 pair evaluations per term
/// at 2000 particles against the three FFTs of a 128-cell mesh.
pub const MESH_MIN_PARTICLES: usize = 2000;

impl TermDrifts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes the drift of term `k` at particle `i`, component `c`, into
    /// `out[k][i * dim + c]`. `positions` is `[N, dim]` flattened.
    pub fn evaluate(&mut self, terms: &[Term], convention: Convention, positions: &[f64], dim: usize, out: &mut [Vec<f64>]) {
        let n = positions.len() / dim;
        for column in out.iter_mut() {
            column.clear();
            column.resize(n * dim, 0.0);
        }
        let extra = convention.extra_power();
        let mut powers: Vec<(usize, u32)> = Vec::new();
        let mut indicators: Vec<usize> = Vec::new();
        for (k, term) in terms.iter().enumerate() {
            match (dim, term.power(), term) {
                (1, Some(p), _) => powers.push((k, p + extra)),
                (1, None, Term::Indicator { .. } | Term::RIndicator { .. }) => indicators.push(k),
                _ => {
                    let kernel = Kernel {
                        convention,
                        terms: vec![KernelTerm { term: *term, coefficient: 1.0 }],
                    };
                    if dim == 2 && n > MESH_MIN_PARTICLES {
                        let mesh = self.mesh.get_or_insert_with(|| ParticleMeshDrift::new(DEFAULT_MESH_CELLS));
                        mesh.evaluate(&kernel, positions, &mut out[k]);
                    } else {
                        direct(&kernel, positions, dim, &mut out[k]);
                    }
                }
            }
        }
        if !powers.is_empty() && n > 0 {
            self.powers_1d(&powers, positions, out);
        }
        if !indicators.is_empty() {
            self.indicators_1d(terms, &indicators, convention, positions, out);
        }
    }

    /// Writes the drifts of the indicator terms `terms[k]`, `k` in
    /// `indicators`, by one sorted sweep.
    fn indicators_1d(&mut self, terms: &[Term], indicators: &[usize], convention: Convention, positions: &[f64], out: &mut [Vec<f64>]) {
        let indicator_terms: Vec<Term> = indicators.iter().map(|&k| terms[k]).collect();
        let prepared = matches!(&self.sweep, Some((t, c, _)) if *t == indicator_terms && *c == convention);
        if !prepared {
            // One piece per term: split_pieces merges terms only when they
            // share an interval, so each term is split on its own.
            let pieces: Vec<_> = indicator_terms
                .iter()
                .map(|&term| {
                    let kernel = Kernel { convention, terms: vec![KernelTerm { term, coefficient: 1.0 }] };
                    let (mut pieces, rest) = split_pieces(&kernel);
                    debug_assert!(rest.terms.is_empty() && pieces.len() == 1);
                    pieces.remove(0)
                })
                .collect();
            self.sweep = Some((indicator_terms, convention, SweepDrift::new(&pieces)));
        }
        let (_, _, sweep) = self.sweep.as_mut().expect("prepared above");
        let mut columns: Vec<&mut [f64]> = Vec::with_capacity(indicators.len());
        let mut rest: &mut [Vec<f64>] = out;
        let mut offset = 0;
        // Borrows the indicator_terms columns of `out` one by one (indices increase).
        for &k in indicators {
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(k - offset);
            let (column, tail) = tail.split_first_mut().expect("index within out");
            columns.push(column.as_mut_slice());
            rest = tail;
            offset = k + 1;
        }
        sweep.evaluate_each(positions, &mut columns);
    }

    fn powers_1d(&mut self, powers: &[(usize, u32)], positions: &[f64], out: &mut [Vec<f64>]) {
        let n = positions.len();
        let degree = powers.iter().map(|&(_, p)| p as usize).max().unwrap_or(0);
        let width = degree + 1;
        // Centring keeps the binomial expansion from cancelling.
        let centre = positions.iter().sum::<f64>() / n as f64;
        let keyed = self.order.sort(positions);
        self.sorted.clear();
        self.sorted.extend(keyed.iter().map(|&(x, _)| x - centre));
        self.left.clear();
        self.left.resize(n * width, 0.0);
        self.right.clear();
        self.right.resize(n * width, 0.0);
        power_sums(&self.sorted, width, &mut self.left, &mut self.right);

        let binomial = binomials(degree);
        let scale = -1.0 / n as f64;
        let mut y_powers = vec![0.0; width];
        let mut minus_y_powers = vec![0.0; width];
        for (s, &(_, particle)) in self.order.pairs().iter().enumerate() {
            let y = self.sorted[s];
            let (mut a, mut b) = (1.0, 1.0);
            for q in 0..width {
                y_powers[q] = a;
                minus_y_powers[q] = b;
                a *= y;
                b *= -y;
            }
            let left = &self.left[s * width..(s + 1) * width];
            let right = &self.right[s * width..(s + 1) * width];
            for &(k, power) in powers {
                let power = power as usize;
                let mut total = 0.0;
                for p in 0..=power {
                    let sign = if p % 2 == 0 { 1.0 } else { -1.0 };
                    total += binomial[power][p]
                        * (sign * y_powers[power - p] * left[p] - minus_y_powers[power - p] * right[p]);
                }
                out[k][particle as usize] = scale * total;
            }
        }
    }
}

/// Power sums of the sorted values strictly left and right of each one;
/// tied values are on neither side of each other, as in the direct sum.
fn power_sums(sorted: &[f64], width: usize, left: &mut [f64], right: &mut [f64]) {
    let n = sorted.len();
    let mut running = vec![0.0; width];
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && sorted[end] == sorted[start] {
            end += 1;
        }
        for s in start..end {
            left[s * width..(s + 1) * width].copy_from_slice(&running);
        }
        add_powers(&mut running, sorted[start], (end - start) as f64);
        start = end;
    }
    running.fill(0.0);
    let mut end = n;
    while end > 0 {
        let mut start = end - 1;
        while start > 0 && sorted[start - 1] == sorted[end - 1] {
            start -= 1;
        }
        for s in start..end {
            right[s * width..(s + 1) * width].copy_from_slice(&running);
        }
        add_powers(&mut running, sorted[start], (end - start) as f64);
        end = start;
    }
}

fn add_powers(sums: &mut [f64], y: f64, count: f64) {
    let mut power = count;
    for sum in sums.iter_mut() {
        *sum += power;
        power *= y;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::stream;
    use rand::Rng;

    fn one_term_direct(term: Term, convention: Convention, positions: &[f64], dim: usize) -> Vec<f64> {
        let kernel = Kernel { convention, terms: vec![KernelTerm { term, coefficient: 1.0 }] };
        let mut out = vec![0.0; positions.len()];
        direct(&kernel, positions, dim, &mut out);
        out
    }

    #[test]
    fn one_dimensional_terms_match_the_direct_sum() {
        let mut rng = stream(3, 0, 0);
        // Off-centre data with ties, where an uncentred expansion cancels.
        let mut positions: Vec<f64> = (0..700).map(|_| 4.0 + rng.random::<f64>() * 3.0).collect();
        positions[10] = positions[20];
        positions[30] = positions[20];
        let terms: Vec<Term> = (0..8)
            .map(Term::Power)
            .chain([
                Term::CutoffInverse { eps: 0.1 },
                Term::Indicator { lo: 0.0, hi: 0.7 },
                Term::RIndicator { lo: 0.2, hi: 0.9 },
                Term::Indicator { lo: 0.7, hi: 1.5 },
            ])
            .collect();
        // One set of buffers for both conventions: the sweep is prepared again
        // when the convention changes.
        let mut drifts = TermDrifts::new();
        for convention in [Convention::Force, Convention::Influence] {
            let mut out = vec![Vec::new(); terms.len()];
            drifts.evaluate(&terms, convention, &positions, 1, &mut out);
            for (k, term) in terms.iter().enumerate() {
                let expected = one_term_direct(*term, convention, &positions, 1);
                let scale = expected.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
                for (a, b) in out[k].iter().zip(&expected) {
                    assert!((a - b).abs() <= 1e-10 * scale, "{} {convention:?}: {a} vs {b}", term.name());
                }
            }
        }
    }

    /// Above [`MESH_MIN_PARTICLES`] the 2D drifts come from the particle
    /// mesh: within 1e-3 of the largest drift for a field smooth away from
    /// 0, within 5 % for the unit field of `r^0`, which jumps there.
    #[test]
    fn two_dimensional_mesh_drifts_match_direct_sum() {
        let mut rng = stream(5, 0, 0);
        let n = MESH_MIN_PARTICLES + 500;
        let positions: Vec<f64> = (0..2 * n).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
        let terms = [Term::Power(2), Term::Power(0)];
        let mut out = vec![Vec::new(); 2];
        TermDrifts::new().evaluate(&terms, Convention::Force, &positions, 2, &mut out);
        for (k, (term, tolerance)) in terms.iter().zip([1e-3, 0.05]).enumerate() {
            let expected = one_term_direct(*term, Convention::Force, &positions, 2);
            let scale = expected.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            let error = out[k].iter().zip(&expected).fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(error <= tolerance * scale, "{}: error {error:e} of largest drift {scale:e}", term.name());
        }
    }

    #[test]
    fn two_dimensional_terms_are_the_direct_sum() {
        let mut rng = stream(4, 0, 0);
        let positions: Vec<f64> = (0..200).map(|_| rng.random::<f64>() - 0.5).collect();
        let terms = [Term::Power(2), Term::Power(0)];
        let mut out = vec![Vec::new(); 2];
        TermDrifts::new().evaluate(&terms, Convention::Force, &positions, 2, &mut out);
        for (k, term) in terms.iter().enumerate() {
            assert_eq!(out[k], one_term_direct(*term, Convention::Force, &positions, 2));
        }
    }
}
