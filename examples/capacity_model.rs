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
    // Accept the bare report or the CLI's JSON envelope.
    let r = if v.get("data").is_some() { &v["data"] } else { &v };
    let f = |path: &[&str]| -> f64 { path.iter().fold(r, |v, k| &v[*k]).as_f64().unwrap_or(0.0) };
    let hops = f(&["setup", "mean_hops"]).max(1.0);
    let inputs = ModelInputs {
        users: 1e6,
        // 1 KiB payload + the proof and envelope (~360 bytes).
        message_bytes: 1024.0 + 360.0,
        amplification: f(&["traffic", "amplification_net"]),
        idle_bytes_per_second: f(&["traffic", "idle_per_node"]),
        cpu_us_per_message: f(&["cpu", "us_per_validation"]),
        ms_per_hop: f(&["latency", "p50_ms"]) / hops,
        link_ms: 100.0,
        relays_per_shard: 1000.0,
        mesh_degree: 6.0,
        shard_cap_bps: 10e6,
        // BENCHMARKS.md: 169 B per nullifier log entry in memory.
        log_entry_bytes: 169.0,
        epoch_seconds: 600.0,
        limit_per_epoch: 100.0,
    };
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
