//! The one-dimensional Gaussian kernel and its truncation.

/// Distance in bandwidths beyond which the kernel is treated as zero.
///
/// At 8.5 bandwidths the kernel is `exp(-8.5^2 / 2) = 2.0e-16` of its peak.
pub(crate) const REACH: f64 = 8.5;

/// `1 / sqrt(2 pi)`.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Normal density with mean 0 and standard deviation `h` at `x`.
#[inline]
pub(crate) fn gaussian(x: f64, h: f64) -> f64 {
    let z = x / h;
    INV_SQRT_2PI / h * (-0.5 * z * z).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_peak_and_tail() {
        assert!((gaussian(0.0, 1.0) - INV_SQRT_2PI).abs() < 1e-16);
        assert!((gaussian(0.0, 0.5) - 2.0 * INV_SQRT_2PI).abs() < 1e-15);
        let tail = gaussian(REACH * 0.2, 0.2) / gaussian(0.0, 0.2);
        assert!(tail < 2.1e-16, "{tail}");
        assert!(tail > 1.9e-16, "{tail}");
    }
}
