//! Reproducible Gaussian noise, independent of the number of threads.
//!
//! The noise of step `n` is drawn in blocks of [`BLOCK`] particles. Block `b`
//! uses its own PCG generator whose state is a hash of `(seed, n, b)`, so each
//! block's numbers depend only on the seed and its indices, never on which
//! thread draws them or in what order.

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64Mcg;
use rayon::prelude::*;

/// Particles per noise block. Changing it changes every seeded trajectory.
pub const BLOCK: usize = 4096;

/// SplitMix64 finaliser: a bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The generator of block `block` of step `step`.
pub fn stream(seed: u64, step: u64, block: u64) -> Pcg64Mcg {
    let a = mix(seed ^ 0x9e37_79b9_7f4a_7c15);
    let b = mix(a ^ step.wrapping_mul(0xd1b5_4a32_d192_ed03));
    let c = mix(b ^ block.wrapping_mul(0x8cb9_2ba7_2f3d_8dd7));
    let d = mix(c ^ 0x2545_f491_4f6c_dd1d);
    Pcg64Mcg::seed_from_u64(c ^ d.rotate_left(17))
}

/// Adds `scale * N(0, 1)` to each entry of `values` (`[N, d]` flattened),
/// block by block in parallel.
pub fn add_gaussian(values: &mut [f64], dim: usize, scale: f64, seed: u64, step: u64) {
    values
        .par_chunks_mut(BLOCK * dim)
        .enumerate()
        .for_each(|(block, chunk)| {
            let mut rng = stream(seed, step, block as u64);
            for v in chunk.iter_mut() {
                let z: f64 = StandardNormal.sample(&mut rng);
                *v += scale * z;
            }
        });
}

/// Applies one Euler–Maruyama update in place, `x += dt * b + scale * N(0, 1)`,
/// in one parallel pass over the noise blocks of [`add_gaussian`], which
/// it matches bit for bit. Returns the first value, in index order, that is
/// not finite afterwards.
pub fn euler_maruyama_update(
    positions: &mut [f64],
    drift: &[f64],
    dt: f64,
    dim: usize,
    scale: f64,
    seed: u64,
    step: u64,
) -> Option<f64> {
    positions
        .par_chunks_mut(BLOCK * dim)
        .zip(drift.par_chunks(BLOCK * dim))
        .enumerate()
        .map(|(block, (chunk, drift))| {
            for (x, b) in chunk.iter_mut().zip(drift) {
                *x += dt * b;
            }
            if scale > 0.0 {
                let mut rng = stream(seed, step, block as u64);
                for x in chunk.iter_mut() {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    *x += scale * z;
                }
            }
            chunk.iter().copied().find(|x| !x.is_finite())
        })
        .find_first(Option::is_some)
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn noise_has_unit_variance() {
        let mut v = vec![0.0; 200_000];
        add_gaussian(&mut v, 1, 1.0, 1, 0);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "variance {var}");
    }

    /// The fused update against the drift step followed by `add_gaussian`.
    #[test]
    fn fused_update_matches_separate_steps() {
        let n = 3 * BLOCK + 5;
        let mut rng = stream(8, 0, 0);
        let start: Vec<f64> = (0..2 * n).map(|_| rng.random::<f64>()).collect();
        let drift: Vec<f64> = (0..2 * n).map(|_| rng.random::<f64>() - 0.5).collect();
        for scale in [0.0, 0.03] {
            let mut separate = start.clone();
            for (x, b) in separate.iter_mut().zip(&drift) {
                *x += 1e-3 * b;
            }
            if scale > 0.0 {
                add_gaussian(&mut separate, 2, scale, 4, 9);
            }
            let mut fused = start.clone();
            let bad = euler_maruyama_update(&mut fused, &drift, 1e-3, 2, scale, 4, 9);
            assert_eq!(bad, None);
            assert!(fused == separate, "scale {scale}: fused and separate updates differ");
        }
    }

    #[test]
    fn fused_update_reports_first_non_finite() {
        let n = 2 * BLOCK;
        let mut positions = vec![0.0; n];
        let mut drift = vec![0.0; n];
        drift[BLOCK - 2] = f64::NAN;
        drift[n - 1] = f64::INFINITY;
        let bad = euler_maruyama_update(&mut positions, &drift, 1e-3, 1, 0.1, 1, 1);
        assert!(bad.is_some_and(f64::is_nan), "{bad:?}");
    }

    #[test]
    fn streams_differ_by_step_and_block() {
        let mut a = vec![0.0; 8];
        let mut b = vec![0.0; 8];
        add_gaussian(&mut a, 1, 1.0, 1, 0);
        add_gaussian(&mut b, 1, 1.0, 1, 1);
        assert_ne!(a, b);
    }
}
