//! The whole case A as one process, as a user runs it: simulation of
//! N = 20 000 particles for 1000 steps with every frame written, the KDE of
//! the 1001 snapshots, Phase I and Phase II
//! (`ips run data/experiments/cubic.toml --until learn`), and the same up
//! to the simulation alone and up to the KDE, to split the time by stage.
//!
//! Run with `cargo bench -p ips-cli --bench case_a`. Each sample starts a
//! fresh output folder, so no stage is skipped as up to date.

use std::path::PathBuf;
use std::process::Command;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn experiment() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/experiments/cubic.toml")
}

fn run_until(stage: &str, out: &std::path::Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_ips"))
        .args(["--quiet", "run"])
        .arg(experiment())
        .arg("--out")
        .arg(out)
        .args(["--until", stage])
        .status()
        .expect("the ips binary starts");
    assert!(status.success(), "ips run --until {stage} failed");
}

fn case_a(c: &mut Criterion) {
    let mut group = c.benchmark_group("case_a");
    group.sample_size(10);
    let scratch = tempfile::tempdir().expect("a temporary folder");
    for stage in ["simulate", "kde", "learn"] {
        let mut round = 0;
        group.bench_with_input(BenchmarkId::new("until", stage), &stage, |b, stage| {
            b.iter(|| {
                round += 1;
                let out = scratch.path().join(format!("{stage}-{round}"));
                run_until(stage, &out);
                // The 160 MB of trajectories would fill the disk over many samples.
                std::fs::remove_dir_all(&out).expect("the run folder is removed");
            });
        });
    }
    group.finish();
}

criterion_group!(benches, case_a);
criterion_main!(benches);
