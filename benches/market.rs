//! The market simulation at the Waku Network's scale: 1M clients over 90 days (target: under
//! a minute), and one sweep point of docs/INCENTIVES.md (1M clients as 20,000 agents, 90 days).
//! `cargo bench --locked --bench market`; BENCHMARKS.md has the numbers.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use rlnkit::sim::market::{simulate, Calibration, CalibrationPaths, MarketConfig};

fn market(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cal = Calibration::load(&CalibrationPaths::committed(&root)).expect("the calibration");
    let mut g = c.benchmark_group("market");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(60))
        .warm_up_time(Duration::from_secs(1));
    let million = MarketConfig {
        users: 1_000_000,
        agents: 1_000_000,
        days: 90,
        ..MarketConfig::calibrated(&cal)
    };
    g.bench_function("1M clients, 90 days", |b| {
        b.iter(|| simulate(&million, &cal).expect("a valid scenario"))
    });
    let point = MarketConfig { agents: 20_000, days: 90, ..MarketConfig::calibrated(&cal) };
    g.bench_function("1M clients as 20k agents, 90 days (one sweep point)", |b| {
        b.iter(|| simulate(&point, &cal).expect("a valid scenario"))
    });
    g.finish();
}

criterion_group!(benches, market);
criterion_main!(benches);
