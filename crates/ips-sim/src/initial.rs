//! Initial particle positions: Gaussian mixtures, uniform boxes and rings.

use ndarray::Array2;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::noise::stream;
use crate::{Result, SimError};

/// One component of a Gaussian mixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixtureComponent {
    /// Relative weight, > 0; weights need not sum to one.
    pub weight: f64,
    /// Mean, one value per axis.
    pub mean: Vec<f64>,
    /// Standard deviation, the same on every axis, > 0.
    pub sd: f64,
}

/// The `[initial]` section of an experiment file, chosen by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum InitialCondition {
    /// Isotropic Gaussians. Component `k` receives `round(N w_k / sum w)`
    /// particles (largest remainders fill up to N), not a random number.
    GaussianMixture { components: Vec<MixtureComponent> },
    /// Uniform in the box `[lo, hi]`, one bound per axis.
    Uniform { lo: Vec<f64>, hi: Vec<f64> },
    /// 2D ring: radius `radius + sd * normal`, angle uniform, around `center`.
    Ring { center: Vec<f64>, radius: f64, sd: f64 },
}

fn check_len(key: &str, values: &[f64], dim: usize) -> Result<()> {
    if values.len() != dim {
        return Err(SimError::config(
            key,
            format!("{values:?}"),
            format!("needs {dim} value(s), one per axis, as model.dim = {dim}"),
        ));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(SimError::config(key, format!("{values:?}"), "values must be finite"));
    }
    Ok(())
}

/// Particle counts per weight by largest remainders, summing to `n`.
fn apportion(weights: &[f64], n: usize) -> Vec<usize> {
    let total: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| w / total * n as f64).collect();
    let mut counts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let missing = n - counts.iter().sum::<usize>();
    for &k in order.iter().take(missing) {
        counts[k] += 1;
    }
    counts
}

impl InitialCondition {
    /// Checks the parameters against the dimension.
    ///
    /// # Errors
    /// [`SimError::Config`] naming the `initial.*` key.
    pub fn validate(&self, dim: usize) -> Result<()> {
        match self {
            InitialCondition::GaussianMixture { components } => {
                if components.is_empty() {
                    return Err(SimError::config("initial.components", "[]", "give at least one component"));
                }
                for (k, c) in components.iter().enumerate() {
                    check_len(&format!("initial.components[{k}].mean"), &c.mean, dim)?;
                    if !(c.weight.is_finite() && c.weight > 0.0) {
                        return Err(SimError::config(
                            &format!("initial.components[{k}].weight"),
                            c.weight,
                            "weights must be positive",
                        ));
                    }
                    if !(c.sd.is_finite() && c.sd > 0.0) {
                        return Err(SimError::config(
                            &format!("initial.components[{k}].sd"),
                            c.sd,
                            "standard deviations must be positive",
                        ));
                    }
                }
            }
            InitialCondition::Uniform { lo, hi } => {
                check_len("initial.lo", lo, dim)?;
                check_len("initial.hi", hi, dim)?;
                if lo.iter().zip(hi).any(|(a, b)| a >= b) {
                    return Err(SimError::config("initial.hi", format!("{hi:?}"), "needs lo < hi on every axis"));
                }
            }
            InitialCondition::Ring { center, radius, sd } => {
                if dim != 2 {
                    return Err(SimError::config("initial.kind", "ring", "a ring needs model.dim = 2"));
                }
                check_len("initial.center", center, 2)?;
                if !(radius.is_finite() && *radius > 0.0) {
                    return Err(SimError::config("initial.radius", radius, "the radius must be positive"));
                }
                if !(sd.is_finite() && *sd >= 0.0) {
                    return Err(SimError::config("initial.sd", sd, "the radial spread must be >= 0"));
                }
            }
        }
        Ok(())
    }

    /// Draws `n` positions, `[n, dim]`, from the generator stream of `seed`.
    pub fn sample(&self, n: usize, dim: usize, seed: u64) -> Array2<f64> {
        // The initial condition uses its own stream, apart from the step noise.
        let mut rng = stream(seed, u64::MAX, 0);
        let mut positions = Array2::<f64>::zeros((n, dim));
        match self {
            InitialCondition::GaussianMixture { components } => {
                let weights: Vec<f64> = components.iter().map(|c| c.weight).collect();
                let counts = apportion(&weights, n);
                let mut i = 0;
                for (c, &count) in components.iter().zip(&counts) {
                    for _ in 0..count {
                        for a in 0..dim {
                            let z: f64 = StandardNormal.sample(&mut rng);
                            positions[[i, a]] = c.mean[a] + c.sd * z;
                        }
                        i += 1;
                    }
                }
            }
            InitialCondition::Uniform { lo, hi } => {
                for i in 0..n {
                    for a in 0..dim {
                        positions[[i, a]] = lo[a] + (hi[a] - lo[a]) * rng.random::<f64>();
                    }
                }
            }
            InitialCondition::Ring { center, radius, sd } => {
                for i in 0..n {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    let angle = std::f64::consts::TAU * rng.random::<f64>();
                    let r = radius + sd * z;
                    positions[[i, 0]] = center[0] + r * angle.cos();
                    positions[[i, 1]] = center[1] + r * angle.sin();
                }
            }
        }
        positions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_sums_to_n() {
        assert_eq!(apportion(&[1.0, 1.0], 20_001), vec![10_001, 10_000]);
        assert_eq!(apportion(&[1.0, 2.0, 1.0], 10).iter().sum::<usize>(), 10);
    }

    #[test]
    fn mixture_moments() {
        let init = InitialCondition::GaussianMixture {
            components: vec![
                MixtureComponent { weight: 0.5, mean: vec![-1.0], sd: 0.3 },
                MixtureComponent { weight: 0.5, mean: vec![1.0], sd: 0.3 },
            ],
        };
        let x = init.sample(100_000, 1, 7);
        let mean = x.mean().unwrap();
        let second = x.mapv(|v| v * v).mean().unwrap();
        assert!(mean.abs() < 0.01, "mean {mean}");
        // E[X^2] = 1 + 0.09 for the symmetric mixture.
        assert!((second - 1.09).abs() < 0.01, "second moment {second}");
    }

    #[test]
    fn mean_of_wrong_length_is_named() {
        let init = InitialCondition::GaussianMixture {
            components: vec![MixtureComponent { weight: 1.0, mean: vec![0.0, 0.0], sd: 0.3 }],
        };
        let err = init.validate(1).unwrap_err().to_string();
        assert!(err.contains("initial.components[0].mean"), "{err}");
    }

    #[test]
    fn uniform_stays_in_box() {
        let init = InitialCondition::Uniform { lo: vec![-1.0, 0.0], hi: vec![1.0, 0.5] };
        let x = init.sample(1000, 2, 3);
        assert!(x.column(0).iter().all(|&v| (-1.0..1.0).contains(&v)));
        assert!(x.column(1).iter().all(|&v| (0.0..0.5).contains(&v)));
    }
}
