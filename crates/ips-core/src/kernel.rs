//! Interaction kernels as weighted sums of dictionary terms.
//!
//! A particle feels the force `-(1/N) sum_j phi(|X_i - X_j|) (X_i - X_j)/|X_i - X_j|`.
//! The kernel `phi` is written as `sum_k c_k f_k(r)` with terms `f_k` from a
//! small family ([`Term`]). In the force convention `phi(r) = sum c_k f_k(r)`;
//! in the influence convention of opinion dynamics the sum is the influence
//! function `a(r)` and `phi(r) = r a(r)`.
//!
//! Term names, used in experiment files and in `model.json`:
//!
//! | name              | f(r)                                             |
//! |-------------------|--------------------------------------------------|
//! | `r^k`             | `r^k`, k = 0..=12                                |
//! | `1/r[eps=E]`      | `1/r` for `r >= E`, `r/E^2` below (continuous)   |
//! | `1[A,B)`          | 1 on `A <= r < B`, else 0                        |
//! | `r*1[A,B)`        | `r` on `A <= r < B`, else 0                      |

use serde::{Deserialize, Serialize};

use crate::{CoreError, Result};

/// Highest power accepted in a power term. The prefix-sum drift and the
/// binomial expansions lose accuracy beyond it.
pub const MAX_POWER: u32 = 12;

/// How the sum of terms is turned into the force kernel `phi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Convention {
    /// The sum is `phi(r)` itself.
    #[default]
    Force,
    /// The sum is the influence function `a(r)`, and `phi(r) = r a(r)`.
    Influence,
}

impl Convention {
    /// Power of `r` that multiplies the term sum to give `phi`.
    pub fn extra_power(self) -> u32 {
        match self {
            Convention::Force => 0,
            Convention::Influence => 1,
        }
    }
}

/// One dictionary term `f(r)` of a kernel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Term {
    /// `r^k`.
    Power(u32),
    /// `1/r`, made linear below the cutoff radius `eps` so that it is
    /// continuous and zero at `r = 0`.
    CutoffInverse { eps: f64 },
    /// The indicator of `[lo, hi)`.
    Indicator { lo: f64, hi: f64 },
    /// `r` times the indicator of `[lo, hi)`.
    RIndicator { lo: f64, hi: f64 },
}

impl Term {
    /// Parses a term name such as `r^2`, `1/r[eps=0.1]`, `1[0,0.5)` or
    /// `r*1[0.5,1)`.
    ///
    /// # Errors
    /// [`CoreError::Term`] naming the text and the accepted forms.
    pub fn parse(text: &str) -> Result<Self> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let fail = |reason: &str| CoreError::Term {
            text: text.to_string(),
            reason: reason.to_string(),
        };

        if let Some(power) = compact.strip_prefix("r^") {
            let k: u32 = power
                .parse()
                .map_err(|_| fail("the power in 'r^k' must be a whole number"))?;
            if k > MAX_POWER {
                return Err(fail(&format!("powers above {MAX_POWER} are not supported")));
            }
            return Ok(Term::Power(k));
        }
        if compact == "1" {
            return Ok(Term::Power(0));
        }
        if compact == "r" {
            return Ok(Term::Power(1));
        }
        if let Some(rest) = compact.strip_prefix("1/r[eps=") {
            let eps: f64 = rest
                .strip_suffix(']')
                .and_then(|value| value.parse().ok())
                .ok_or_else(|| fail("write the cutoff term as '1/r[eps=0.1]'"))?;
            if !(eps.is_finite() && eps > 0.0) {
                return Err(fail("the cutoff radius eps must be positive"));
            }
            return Ok(Term::CutoffInverse { eps });
        }
        if compact == "1/r" {
            return Err(fail(
                "1/r is undefined at r = 0: give a cutoff radius, as in '1/r[eps=0.1]'",
            ));
        }
        let (scaled, interval) = if let Some(rest) = compact.strip_prefix("r*1[") {
            (true, rest)
        } else if let Some(rest) = compact.strip_prefix("1[") {
            (false, rest)
        } else {
            return Err(fail(
                "expected one of 'r^k', '1/r[eps=E]', '1[A,B)' or 'r*1[A,B)'",
            ));
        };
        let bounds = interval
            .strip_suffix(')')
            .ok_or_else(|| fail("an interval is written half-open, as in '1[0.4,0.8)'"))?;
        let (lo, hi) = bounds
            .split_once(',')
            .and_then(|(a, b)| Some((a.parse::<f64>().ok()?, b.parse::<f64>().ok()?)))
            .ok_or_else(|| fail("an interval needs two numbers, as in '1[0.4,0.8)'"))?;
        if !(lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo < hi) {
            return Err(fail("an interval needs 0 <= A < B"));
        }
        Ok(if scaled {
            Term::RIndicator { lo, hi }
        } else {
            Term::Indicator { lo, hi }
        })
    }

    /// Canonical name, which [`Term::parse`] reads back.
    pub fn name(&self) -> String {
        match *self {
            Term::Power(k) => format!("r^{k}"),
            Term::CutoffInverse { eps } => format!("1/r[eps={eps}]"),
            Term::Indicator { lo, hi } => format!("1[{lo},{hi})"),
            Term::RIndicator { lo, hi } => format!("r*1[{lo},{hi})"),
        }
    }

    /// Value `f(r)` for `r >= 0`.
    pub fn eval(&self, r: f64) -> f64 {
        match *self {
            Term::Power(k) => r.powi(k as i32),
            Term::CutoffInverse { eps } => {
                if r >= eps {
                    1.0 / r
                } else {
                    r / (eps * eps)
                }
            }
            Term::Indicator { lo, hi } => {
                if lo <= r && r < hi {
                    1.0
                } else {
                    0.0
                }
            }
            Term::RIndicator { lo, hi } => {
                if lo <= r && r < hi {
                    r
                } else {
                    0.0
                }
            }
        }
    }

    /// The integral `int_0^r s^m f(s) ds` for `m` in `{0, 1}`, in closed form.
    /// With `m` the convention's extra power this is the potential `U(r)` of
    /// the term, which the free energy needs.
    pub fn antiderivative(&self, r: f64, m: u32) -> f64 {
        let mf = m as f64;
        match *self {
            Term::Power(k) => r.powi((k + m + 1) as i32) / (k + m + 1) as f64,
            Term::CutoffInverse { eps } => {
                // Below eps the integrand is s^(m+1)/eps^2.
                let inner = |s: f64| s.powi((m + 2) as i32) / ((mf + 2.0) * eps * eps);
                if r < eps {
                    inner(r)
                } else if m == 0 {
                    inner(eps) + (r / eps).ln()
                } else {
                    inner(eps) + (r - eps)
                }
            }
            Term::Indicator { lo, hi } => {
                let s = r.clamp(lo, hi);
                (s.powi((m + 1) as i32) - lo.powi((m + 1) as i32)) / (mf + 1.0)
            }
            Term::RIndicator { lo, hi } => {
                let s = r.clamp(lo, hi);
                (s.powi((m + 2) as i32) - lo.powi((m + 2) as i32)) / (mf + 2.0)
            }
        }
    }

    /// The power `k` when the term is `r^k`.
    pub fn power(&self) -> Option<u32> {
        match *self {
            Term::Power(k) => Some(k),
            _ => None,
        }
    }

    /// Largest `r` at which the term is non-zero, `None` when unbounded.
    pub fn support_radius(&self) -> Option<f64> {
        match *self {
            Term::Indicator { hi, .. } | Term::RIndicator { hi, .. } => Some(hi),
            _ => None,
        }
    }

    /// Radii where the term jumps or has a kink, so that quadratures can
    /// split there.
    pub fn breaks(&self) -> Vec<f64> {
        match *self {
            Term::Power(_) => Vec::new(),
            Term::CutoffInverse { eps } => vec![eps],
            Term::Indicator { lo, hi } | Term::RIndicator { lo, hi } => vec![lo, hi],
        }
    }
}

impl Serialize for Term {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for Term {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Term::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// One term of a kernel with its coefficient.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelTerm {
    pub term: Term,
    pub coefficient: f64,
}

/// An interaction kernel: a weighted sum of terms in a convention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Kernel {
    #[serde(default)]
    pub convention: Convention,
    pub terms: Vec<KernelTerm>,
}

impl Kernel {
    /// Force kernel `phi(r)`.
    pub fn phi(&self, r: f64) -> f64 {
        let sum: f64 = self.terms.iter().map(|t| t.coefficient * t.term.eval(r)).sum();
        match self.convention {
            Convention::Force => sum,
            Convention::Influence => r * sum,
        }
    }

    /// Potential `U(r) = int_0^r phi(s) ds`, so that `W(x) = U(|x|)`.
    pub fn potential(&self, r: f64) -> f64 {
        let m = self.convention.extra_power();
        self.terms
            .iter()
            .map(|t| t.coefficient * t.term.antiderivative(r, m))
            .sum()
    }

    /// Coefficients `p_k` of `phi(r) = sum_k p_k r^k` when `phi` is a
    /// polynomial in `r`, `None` otherwise.
    pub fn polynomial(&self) -> Option<Vec<f64>> {
        let shift = self.convention.extra_power() as usize;
        let mut coefficients = Vec::new();
        for t in &self.terms {
            let k = t.term.power()? as usize + shift;
            if coefficients.len() <= k {
                coefficients.resize(k + 1, 0.0);
            }
            coefficients[k] += t.coefficient;
        }
        Some(coefficients)
    }

    /// Largest `r` at which `phi` is non-zero, `None` when unbounded.
    pub fn support_radius(&self) -> Option<f64> {
        let mut radius: f64 = 0.0;
        for t in &self.terms {
            radius = radius.max(t.term.support_radius()?);
        }
        Some(radius)
    }

    /// Checks that every coefficient is finite.
    ///
    /// # Errors
    /// [`CoreError::InvalidValue`] naming `field` and the term.
    pub fn validate(&self, field: &str) -> Result<()> {
        if self.terms.is_empty() {
            return Err(CoreError::invalid(field, "[]", "a kernel needs at least one term"));
        }
        for t in &self.terms {
            if !t.coefficient.is_finite() {
                return Err(CoreError::invalid(
                    format!("{field} coefficient of {}", t.term.name()),
                    t.coefficient,
                    "coefficients must be finite",
                ));
            }
        }
        Ok(())
    }

    /// A readable formula such as `3*r^2 - 1*1/r[eps=0.1]`.
    pub fn formula(&self) -> String {
        let body = self
            .terms
            .iter()
            .map(|t| format!("{}*{}", t.coefficient, t.term.name()))
            .collect::<Vec<_>>()
            .join(" + ");
        match self.convention {
            Convention::Force => format!("phi(r) = {body}"),
            Convention::Influence => format!("a(r) = {body}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_terms() -> Vec<Term> {
        vec![
            Term::Power(0),
            Term::Power(3),
            Term::CutoffInverse { eps: 0.1 },
            Term::Indicator { lo: 0.4, hi: 0.8 },
            Term::RIndicator { lo: 0.0, hi: 0.7 },
        ]
    }

    #[test]
    fn names_parse_back() {
        for term in all_terms() {
            assert_eq!(Term::parse(&term.name()).unwrap(), term);
        }
    }

    #[test]
    fn parse_rejects_bare_inverse() {
        let err = Term::parse("1/r").unwrap_err().to_string();
        assert!(err.contains("cutoff"), "{err}");
    }

    #[test]
    fn parse_rejects_unknown_form() {
        let err = Term::parse("exp(-r)").unwrap_err().to_string();
        assert!(err.contains("exp(-r)"), "{err}");
    }

    #[test]
    fn cutoff_inverse_is_continuous() {
        let t = Term::CutoffInverse { eps: 0.1 };
        assert!((t.eval(0.1 - 1e-12) - t.eval(0.1)).abs() < 1e-9);
        assert_eq!(t.eval(0.0), 0.0);
    }

    /// The closed-form antiderivatives against a fine midpoint rule.
    #[test]
    fn antiderivatives_match_quadrature() {
        for term in all_terms() {
            for m in 0..=1u32 {
                for &r in &[0.05, 0.3, 0.65, 1.2, 2.5] {
                    let n = 200_000;
                    let h = r / n as f64;
                    let quadrature: f64 = (0..n)
                        .map(|i| {
                            let s = (i as f64 + 0.5) * h;
                            s.powi(m as i32) * term.eval(s) * h
                        })
                        .sum();
                    let exact = term.antiderivative(r, m);
                    // The midpoint rule is second order on smooth pieces and
                    // errs by at most h * |jump| at each of the two jumps of
                    // an indicator.
                    let tolerance = 1e-8 * (1.0 + exact.abs()) + 2.0 * h * (1.0 + r);
                    assert!(
                        (quadrature - exact).abs() < tolerance,
                        "{} m={m} r={r}: quadrature {quadrature}, closed form {exact}",
                        term.name()
                    );
                }
            }
        }
    }

    #[test]
    fn influence_kernel_is_polynomial_shifted() {
        let kernel = Kernel {
            convention: Convention::Influence,
            terms: vec![KernelTerm { term: Term::Power(1), coefficient: 2.0 }],
        };
        assert_eq!(kernel.polynomial().unwrap(), vec![0.0, 0.0, 2.0]);
        assert!((kernel.phi(0.5) - 0.5).abs() < 1e-15);
    }
}
