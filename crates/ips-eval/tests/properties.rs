//! Metric properties of the exact 1D W2 on random grid densities.

use ips_eval::wasserstein::w2_1d;
use proptest::prelude::*;

/// A random density on 41 points of [-2, 2], normalised to mass one with
/// the cell-sum rule, with some cells empty.
fn density() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(prop_oneof![Just(0.0), 0.0f64..1.0], 41).prop_filter_map("zero mass", |v| {
        let mass: f64 = v.iter().sum::<f64>() * 0.1;
        (mass > 1e-3).then(|| v.iter().map(|x| x / mass).collect())
    })
}

fn points() -> Vec<f64> {
    (0..41).map(|i| -2.0 + 0.1 * i as f64).collect()
}

proptest! {
    #[test]
    fn w2_is_symmetric(a in density(), b in density()) {
        let x = points();
        let ab = w2_1d(&x, &a, &b).unwrap();
        let ba = w2_1d(&x, &b, &a).unwrap();
        prop_assert!((ab - ba).abs() <= 1e-12 * (1.0 + ab), "{ab} vs {ba}");
    }

    #[test]
    fn w2_satisfies_triangle_inequality(a in density(), b in density(), c in density()) {
        let x = points();
        let ab = w2_1d(&x, &a, &b).unwrap();
        let bc = w2_1d(&x, &b, &c).unwrap();
        let ac = w2_1d(&x, &a, &c).unwrap();
        prop_assert!(ac <= ab + bc + 1e-12, "{ac} > {ab} + {bc}");
    }

    #[test]
    fn w2_of_density_with_itself_is_zero(a in density()) {
        let x = points();
        prop_assert!(w2_1d(&x, &a, &a).unwrap() < 1e-12);
    }
}
