//! Times the parts of one Euler–Maruyama step of case A (N = 20 000).
use std::time::Instant;

use ips_sim::drift::PrefixSumDrift;
use ips_sim::noise::add_gaussian;

fn main() {
    let n = 20_000;
    let mut x: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.618_033_988_7).fract() * 4.0 - 2.0).collect();
    let mut drift = vec![0.0; n];
    let mut method = PrefixSumDrift::new(vec![0.0, 0.0, 3.0]);
    let steps = 1000;

    let start = Instant::now();
    for step in 0..steps {
        method.evaluate(&x, &mut drift);
        for (v, b) in x.iter_mut().zip(&drift) {
            *v += 1e-3 * b;
        }
        add_gaussian(&mut x, 1, (2.0f64 * 0.1 * 1e-3).sqrt(), 1, step);
    }
    println!("full steps: {:.3} ms/step", start.elapsed().as_secs_f64() * 1e3 / steps as f64);

    let start = Instant::now();
    for _ in 0..steps {
        method.evaluate(&x, &mut drift);
    }
    println!("drift: {:.3} ms/step", start.elapsed().as_secs_f64() * 1e3 / steps as f64);

    let mut keyed: Vec<(u64, u32)> = (0..n as u32).map(|i| (x[i as usize].to_bits(), i)).collect();
    let start = Instant::now();
    for _ in 0..steps {
        keyed.sort_unstable();
    }
    println!("sort of sorted pairs: {:.3} ms/step", start.elapsed().as_secs_f64() * 1e3 / steps as f64);

    let start = Instant::now();
    for step in 0..steps {
        add_gaussian(&mut x, 1, 1e-9, 1, step);
    }
    println!("noise: {:.3} ms/step", start.elapsed().as_secs_f64() * 1e3 / steps as f64);
}
