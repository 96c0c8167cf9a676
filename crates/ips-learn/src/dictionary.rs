//! The dictionary: the kernel terms among which the regression chooses.

use ips_core::{Convention, Kernel, KernelTerm, Term};
use serde::{Deserialize, Serialize};

/// Candidate terms `psi_k`, in a convention (see [`ips_core::kernel`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dictionary {
    pub convention: Convention,
    pub terms: Vec<Term>,
}

impl Dictionary {
    /// Number of terms.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// True when there are no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Force kernel of term `k` alone: `phi_k(r)`.
    pub fn phi(&self, k: usize, r: f64) -> f64 {
        let value = self.terms[k].eval(r);
        match self.convention {
            Convention::Force => value,
            Convention::Influence => r * value,
        }
    }

    /// The kernel `sum_k c_k psi_k`, skipping zero coefficients.
    pub fn kernel(&self, coefficients: &[f64]) -> Kernel {
        Kernel {
            convention: self.convention,
            terms: self
                .terms
                .iter()
                .zip(coefficients)
                .filter(|(_, &c)| c != 0.0)
                .map(|(&term, &coefficient)| KernelTerm { term, coefficient })
                .collect(),
        }
    }

    /// Coefficients of `kernel` on this dictionary, matched by term, or the
    /// names of the kernel's terms that the dictionary lacks.
    pub fn project(&self, kernel: &Kernel) -> (Vec<f64>, Vec<String>) {
        let mut coefficients = vec![0.0; self.len()];
        let mut missing = Vec::new();
        for t in &kernel.terms {
            match self.terms.iter().position(|d| *d == t.term) {
                Some(k) if kernel.convention == self.convention => coefficients[k] += t.coefficient,
                _ => missing.push(t.term.name()),
            }
        }
        (coefficients, missing)
    }
}
