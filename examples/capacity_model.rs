//! The 1M-user capacity model of docs/CAPACITY.md, fed by a simulation report.
//!
//! ```text
//! rlnkit --json sim --nodes 1000 --rate 2 --duration 30 --report target/sim1000.json
//! cargo run --release --example capacity_model -- target/sim1000.json docs/capacity_model.svg
//! ```
//! Prints the model's inputs and a markdown table, and writes the plot (shards needed and
//! bandwidth per relay against messages per user per day).

use rlnkit::sim::model::ModelInputs;
use rlnkit::sim::plot::line_chart;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(report), Some(svg)) = (args.next(), args.next()) else {
        eprintln!("usage: capacity_model <sim report.json> <plot.svg>");
        std::process::exit(2);
    };
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report)?)?;
    // 1 KiB payloads, as in the simulation runs.
    let inputs = ModelInputs::from_sim_report(&v, 1e6, 1024.0)?;
    println!("inputs: {}", serde_json::to_string_pretty(&inputs)?);
    println!("hops to the farthest relay of a 1,000-relay shard: {}", inputs.hops());
    println!();
    println!("| messages / user / day | network msg/s | shards (10 Mbps) | msg/s per shard | Mbps per relay | CPU per relay | nullifier log | latency (100 ms links) |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for m in [1.0, 10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 14_400.0] {
        let row = inputs.row(m);
        println!(
            "| {} | {:.0} | {} | {:.1} | {:.2} | {:.1}% | {:.1} MiB | {:.0} ms |",
            m,
            row.messages_per_second,
            row.shards,
            row.per_shard_messages_per_second,
            row.per_relay_bps / 1e6,
            row.per_relay_cpu_cores * 100.0,
            row.log_bytes / (1024.0 * 1024.0),
            row.latency_ms
        );
    }
    let nwaku = ModelInputs { amplification: 10.0, ..inputs.clone() };
    let xs: Vec<f64> = (0..=50).map(|i| i as f64 * 10.0).collect();
    let ours: Vec<(f64, f64)> = xs.iter().map(|&m| (m, inputs.row(m).shards)).collect();
    let theirs: Vec<(f64, f64)> = xs.iter().map(|&m| (m, nwaku.row(m).shards)).collect();
    let ours_label = format!("shards, measured A = {:.1}", inputs.amplification);
    let plot = line_chart(
        "capacity model",
        "1M users: shards needed at 10 Mbps per relay per shard",
        "messages per user per day",
        "shards",
        &[(ours_label.as_str(), ours), ("shards, A = 10 (Vac's nwaku figure)", theirs)],
    )?;
    std::fs::write(&svg, plot)?;
    println!("\nplot: {svg}");
    Ok(())
}
