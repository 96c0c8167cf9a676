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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_has_unit_variance() {
        let mut v = vec![0.0; 200_000];
        add_gaussian(&mut v, 1, 1.0, 1, 0);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "variance {var}");
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
