//! Compares the bucket sort of `ips_sim::sorting` with the standard
//! comparison sort on positions like those of one simulation step.
use std::time::Instant;

use ips_sim::noise::add_gaussian;
use ips_sim::sorting::sort_positions;

fn main() {
    for n in [20_000usize, 1_000_000] {
        let mut x: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.618_033_988_7).fract() * 4.0 - 2.0).collect();
        x.sort_by(f64::total_cmp);
        add_gaussian(&mut x, 1, 0.014, 3, 0);
        let keyed: Vec<(f64, u32)> = x.iter().enumerate().map(|(i, &v)| (v, i as u32)).collect();
        let reps = if n > 100_000 { 20 } else { 500 };

        let mut work = keyed.clone();
        let start = Instant::now();
        for _ in 0..reps {
            work.copy_from_slice(&keyed);
            work.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        }
        println!("n {n}: comparison sort {:.3} ms", start.elapsed().as_secs_f64() * 1e3 / reps as f64);

        let (mut scratch, mut counts) = (Vec::new(), Vec::new());
        let start = Instant::now();
        for _ in 0..reps {
            work.copy_from_slice(&keyed);
            sort_positions(&mut work, &mut scratch, &mut counts);
        }
        println!("n {n}: bucket sort {:.3} ms", start.elapsed().as_secs_f64() * 1e3 / reps as f64);
    }
}
