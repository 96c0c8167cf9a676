//! Bandwidth rules of thumb, applied to each snapshot and axis.
//!
//! With `N` particles, sample standard deviation `sd` (divisor `N - 1`) and
//! interquartile range `IQR` (quartiles interpolated linearly between order
//! statistics, as numpy's default) of one coordinate:
//!
//! | rule      | 1D                                           | 2D, per axis                           |
//! |-----------|----------------------------------------------|----------------------------------------|
//! | Silverman | `0.9 min(sd, IQR / 1.349) N^(-1/5)`          | `min(sd_j, IQR_j / 1.349) N^(-1/6)`    |
//! | Scott     | `1.06 sd N^(-1/5)`                           | `sd_j N^(-1/6)`                        |
//!
//! In 2D the normal-reference factor `(4 / (d + 2))^(1 / (d + 4))` equals 1,
//! and Silverman's rule keeps only the robust spread `min(sd, IQR / 1.349)`.
//! When the interquartile range is zero but the standard deviation is not
//! (more than half the particles at one coordinate), Silverman's rule uses
//! the standard deviation alone.

use ndarray::ArrayView2;

use crate::config::{BandwidthRule, KdeConfig};
use crate::error::{KdeError, Result};

/// Ratio of the interquartile range to the standard deviation of a normal distribution.
const IQR_PER_SD: f64 = 1.349;

/// Computes the bandwidth of each axis of one snapshot of positions `[N, d]`.
///
/// # Errors
/// [`KdeError::DegenerateBandwidth`] naming `snapshot` when a rule of thumb
/// meets a single particle or a coordinate that is the same for all particles.
pub(crate) fn select_bandwidth(
    points: ArrayView2<f64>,
    config: &KdeConfig,
    snapshot: usize,
) -> Result<Vec<f64>> {
    let dim = points.ncols();
    if let Some(h) = config.fixed_bandwidth() {
        return Ok(vec![h; dim]);
    }

    let n = points.nrows();
    let rule = config.bandwidth;
    let degenerate = |axis: usize, reason: String| KdeError::DegenerateBandwidth {
        snapshot,
        rule: rule.name(),
        axis,
        reason,
    };

    let mut bandwidth = Vec::with_capacity(dim);
    for axis in 0..dim {
        if n < 2 {
            return Err(degenerate(
                axis,
                "the snapshot has a single particle, so the spread of the positions is undefined"
                    .to_string(),
            ));
        }
        let mut coordinates = points.column(axis).to_vec();
        let (sd, iqr) = spread(&mut coordinates);
        if sd == 0.0 {
            return Err(degenerate(
                axis,
                format!("all {n} particles have the coordinate {}", coordinates[0]),
            ));
        }

        let h = bandwidth_from_spread(rule, sd, iqr, n, dim);
        if !(h.is_finite() && h > 0.0) {
            return Err(degenerate(
                axis,
                format!("the spread of the positions gives h = {h} (standard deviation {sd})"),
            ));
        }
        bandwidth.push(h);
    }
    Ok(bandwidth)
}

/// Applies `rule` to one coordinate with standard deviation `sd` and
/// interquartile range `iqr` of `n` particles in dimension `dim`.
fn bandwidth_from_spread(rule: BandwidthRule, sd: f64, iqr: f64, n: usize, dim: usize) -> f64 {
    let n = n as f64;
    let (factor, rate) = match (rule, dim) {
        (BandwidthRule::Silverman, 1) => (0.9, n.powf(-0.2)),
        (BandwidthRule::Scott, 1) => (1.06, n.powf(-0.2)),
        _ => (1.0, n.powf(-1.0 / 6.0)),
    };
    let scale = match rule {
        BandwidthRule::Silverman => {
            let robust = sd.min(iqr / IQR_PER_SD);
            if robust > 0.0 {
                robust
            } else {
                sd
            }
        }
        _ => sd,
    };
    factor * scale * rate
}

/// Returns the sample standard deviation (divisor `n - 1`) and the
/// interquartile range of at least two values, reordering them.
fn spread(values: &mut [f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sum_of_squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    let sd = (sum_of_squares / (n - 1.0)).sqrt();

    let iqr = quantile(values, 0.75) - quantile(values, 0.25);
    (sd, iqr)
}

/// Quantile `q` of the values, interpolated linearly between order
/// statistics; selection instead of sorting keeps it linear in their number.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    let position = q * (values.len() - 1) as f64;
    let below = position.floor() as usize;
    let fraction = position - below as f64;

    let (_, &mut lower, above) = values.select_nth_unstable_by(below, f64::total_cmp);
    let upper = above.iter().copied().fold(f64::INFINITY, f64::min);
    if fraction == 0.0 || above.is_empty() {
        return lower;
    }
    lower + fraction * (upper - lower)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KdeMethod;
    use ndarray::{array, Array2};

    fn config(rule: BandwidthRule) -> KdeConfig {
        KdeConfig {
            lo: vec![-3.0],
            hi: vec![3.0],
            intervals: vec![100],
            bandwidth: rule,
            bandwidth_value: None,
            method: KdeMethod::Fft,
            refinement: None,
        }
    }

    fn assert_close(found: f64, expected: f64) {
        assert!(
            (found - expected).abs() < 1e-12 * expected.abs(),
            "found {found}, expected {expected}"
        );
    }

    // Sample 1, 2, 3, 4, 10: mean 4, sd = sqrt(50 / 4) = 3.5355339059327378,
    // quartiles 2 and 4, so IQR / 1.349 = 1.4825796886582654 < sd, and
    // 5^(-1/5) = 0.7247796636776955.

    #[test]
    fn silverman_1d_hand_computed() {
        let points = array![[1.0], [2.0], [3.0], [4.0], [10.0]];
        let h = select_bandwidth(points.view(), &config(BandwidthRule::Silverman), 0).unwrap();
        assert_close(
            h[0],
            0.9 * 1.482_579_688_658_265_4 * 0.724_779_663_677_695_5,
        );
        assert_close(h[0], 0.967_089_247_309_008_1);
    }

    #[test]
    fn scott_1d_hand_computed() {
        let points = array![[1.0], [2.0], [3.0], [4.0], [10.0]];
        let h = select_bandwidth(points.view(), &config(BandwidthRule::Scott), 0).unwrap();
        assert_close(
            h[0],
            1.06 * 3.535_533_905_932_737_8 * 0.724_779_663_677_695_5,
        );
        assert_close(h[0], 2.716_232_059_778_8);
    }

    #[test]
    fn interpolated_quartiles() {
        // Quartile positions 1.25 and 3.75 of 0, 1, 2, 4, 8, 16 give 1.25 and 7.
        let mut values = vec![16.0, 0.0, 4.0, 1.0, 8.0, 2.0];
        let (_, iqr) = spread(&mut values);
        assert_close(iqr, 7.0 - 1.25);
    }

    #[test]
    fn rules_2d_use_sixth_root() {
        // Axis 0: 0, 1, 2, 3: sd = sqrt(5 / 3), quartiles 0.75 and 2.25.
        // Axis 1: 0, 0, 0, 4: sd = 2, IQR = 1.
        let points = array![[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 4.0]];
        let rate = 4f64.powf(-1.0 / 6.0);

        let h = select_bandwidth(points.view(), &config(BandwidthRule::Scott), 0).unwrap();
        assert_close(h[0], (5.0f64 / 3.0).sqrt() * rate);
        assert_close(h[1], 2.0 * rate);

        let h = select_bandwidth(points.view(), &config(BandwidthRule::Silverman), 0).unwrap();
        assert_close(h[0], 1.5 / IQR_PER_SD * rate);
        assert_close(h[1], 1.0 / IQR_PER_SD * rate);
    }

    #[test]
    fn zero_iqr_falls_back_to_sd() {
        // Three of five particles at 0: the quartiles are both 0.
        let points = array![[0.0], [0.0], [0.0], [1.0], [-1.0]];
        let h = select_bandwidth(points.view(), &config(BandwidthRule::Silverman), 0).unwrap();
        let sd = (2.0f64 / 4.0).sqrt();
        assert_close(h[0], 0.9 * sd * 5f64.powf(-0.2));
    }

    #[test]
    fn identical_positions_name_snapshot() {
        let points = Array2::from_elem((10, 1), 0.5);
        let err = select_bandwidth(points.view(), &config(BandwidthRule::Silverman), 7)
            .unwrap_err()
            .to_string();
        assert!(err.contains("snapshot 7"), "{err}");
        assert!(
            err.contains("all 10 particles have the coordinate 0.5"),
            "{err}"
        );
        assert!(err.contains("kde.bandwidth = \"fixed\""), "{err}");
        assert!(err.contains("kde.bandwidth_value"), "{err}");
    }

    #[test]
    fn identical_axis_in_2d_named() {
        let points = array![[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]];
        let err = select_bandwidth(points.view(), &config(BandwidthRule::Scott), 3)
            .unwrap_err()
            .to_string();
        assert!(err.contains("snapshot 3"), "{err}");
        assert!(err.contains("axis 1"), "{err}");
        assert!(err.contains("scott"), "{err}");
    }

    #[test]
    fn single_particle_rejected() {
        let points = array![[0.5]];
        let err = select_bandwidth(points.view(), &config(BandwidthRule::Silverman), 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("snapshot 2"), "{err}");
        assert!(err.contains("single particle"), "{err}");
    }

    #[test]
    fn fixed_rule_accepts_single_particle() {
        let mut config = config(BandwidthRule::Fixed);
        config.bandwidth_value = Some(0.2);
        let h = select_bandwidth(array![[0.5, 1.0]].view(), &config, 0).unwrap();
        assert_eq!(h, vec![0.2, 0.2]);
    }
}
