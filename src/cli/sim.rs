//! `rlnkit sim`: parses the run, shows its progress, prints the report (the work is in
//! `rlnkit::sim`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rlnkit::relay::TransportKind;
use rlnkit::sim::plot::write_plots;
use rlnkit::sim::{Attackers, SimConfig, SimReport};

use super::{GlobalOpts, Outcome};

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub(crate) enum TransportArg {
    /// libp2p's in-process memory transport (large runs).
    Memory,
    /// TCP on 127.0.0.1 (a realistic check at smaller sizes; needs file descriptors).
    Tcp,
}

/// Runs N real relay nodes in this process (noise + yamux, gossipsub with Waku's scoring, an RLN
/// validator and nullifier log each) on a random topology, with honest publishers and
/// attackers, and reports delivery, latency, spam per hop, graylisting, bandwidth,
/// amplification, CPU and memory. Proofs are made up front with the embedded development keys.
///
/// Example (the CI-sized run): `rlnkit sim --nodes 40 --attackers-each 1 --sybils 3`.
/// Large run: `rlnkit sim --nodes 1000 --rate 2 --duration 30 --plots target/sim`.
#[derive(clap::Args, Debug)]
pub(crate) struct SimArgs {
    /// Relay nodes in the process, attackers included.
    #[arg(long, default_value_t = 50)]
    nodes: usize,
    /// Average connections per node.
    #[arg(long, default_value_t = 8)]
    degree: usize,
    #[arg(long, value_enum, default_value = "memory")]
    transport: TransportArg,
    /// Emulated one-way latency per link, in milliseconds.
    #[arg(long, default_value_t = 0)]
    link_latency_ms: u64,
    /// Honest nodes that publish.
    #[arg(long, default_value_t = 10)]
    publishers: usize,
    /// Honest messages per second, whole network.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Payload bytes per honest message.
    #[arg(long, default_value_t = 1024)]
    message_bytes: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Seconds to wait after the load for the last deliveries.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// One attacker node of every kind but the sybil set (double signal, invalid proof, no
    /// proof, replay, wrong epoch), this many times.
    #[arg(long, default_value_t = 0)]
    attackers_each: usize,
    /// Double-signalling members (in addition to --attackers-each).
    #[arg(long, default_value_t = 0)]
    double_signallers: usize,
    /// Nodes sending invalid proofs.
    #[arg(long, default_value_t = 0)]
    invalid_provers: usize,
    /// Nodes sending messages without proofs.
    #[arg(long, default_value_t = 0)]
    no_proof: usize,
    /// Nodes replaying honest messages in new envelopes.
    #[arg(long, default_value_t = 0)]
    replayers: usize,
    /// Nodes sending proofs for the wrong epoch.
    #[arg(long, default_value_t = 0)]
    wrong_epoch: usize,
    /// Nodes of a sybil set flooding invalid proofs at ten times the attack rate.
    #[arg(long, default_value_t = 0)]
    sybils: usize,
    /// Spam messages per second per attacker.
    #[arg(long, default_value_t = 5.0)]
    attack_rate: f64,
    /// At most this many spam messages per attacker (sybils: ten times as many).
    #[arg(long, default_value_t = 20)]
    max_spam: usize,
    /// Milliseconds between starting two nodes.
    #[arg(long, default_value_t = 2)]
    stagger_ms: u64,
    /// Gossipsub heartbeat in milliseconds (Waku: 1000).
    #[arg(long, default_value_t = 1000)]
    heartbeat_ms: u64,
    /// Seed of the topology, roles and payloads.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write SVG plots (latency CDF, delivery over time, bandwidth per node, spam per hop) here.
    #[arg(long, value_name = "DIR")]
    plots: Option<PathBuf>,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

impl SimArgs {
    fn config(&self) -> SimConfig {
        let e = self.attackers_each;
        SimConfig {
            nodes: self.nodes,
            degree: self.degree,
            transport: match self.transport {
                TransportArg::Memory => TransportKind::Memory,
                TransportArg::Tcp => TransportKind::Tcp,
            },
            link_latency: Duration::from_millis(self.link_latency_ms),
            publishers: self.publishers,
            rate: self.rate,
            message_bytes: self.message_bytes,
            duration: Duration::from_secs_f64(self.duration.max(0.1)),
            settle: Duration::from_secs_f64(self.settle.max(0.0)),
            attackers: Attackers {
                double_signal: e + self.double_signallers,
                invalid_proof: e + self.invalid_provers,
                no_proof: e + self.no_proof,
                replay: e + self.replayers,
                wrong_epoch: e + self.wrong_epoch,
                sybil: self.sybils,
            },
            attack_rate: self.attack_rate,
            max_spam_per_attacker: self.max_spam,
            dial_stagger: Duration::from_millis(self.stagger_ms),
            heartbeat: Duration::from_millis(self.heartbeat_ms.max(10)),
            seed: self.seed,
            ..SimConfig::default()
        }
    }

    pub(crate) fn run(self, g: &GlobalOpts) -> Result<Outcome> {
        let config = self.config();
        let bar = if g.json { ProgressBar::hidden() } else { ProgressBar::new_spinner() };
        bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("a template"));
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let report = rt.block_on(rlnkit::sim::run(&config, |p| {
            bar.set_message(format!(
                "{} {:>5.1}s  nodes {}  published {}  accepted {}  rejected {}  graylisted {}",
                p.phase.name(),
                p.elapsed,
                p.nodes_started,
                p.published,
                p.accepted,
                p.rejected,
                p.graylisted
            ));
            bar.tick();
        }))?;
        bar.finish_and_clear();
        rt.shutdown_timeout(Duration::from_secs(2));
        let mut text = summary(&report);
        if let Some(dir) = &self.plots {
            for p in write_plots(&report, dir)? {
                let _ = writeln!(text, "plot: {}", p.display());
            }
        }
        if let Some(path) = &self.report {
            std::fs::write(path, serde_json::to_string_pretty(&report)?)
                .with_context(|| format!("writing {}", path.display()))?;
            let _ = writeln!(text, "report: {}", path.display());
        }
        Ok(Outcome::ok(text, &report))
    }
}

fn summary(r: &SimReport) -> String {
    let mut s = String::new();
    let st = &r.setup;
    let _ = writeln!(
        s,
        "network: {} nodes ({} attackers), {} links, mean degree {:.1}, diameter ~{}, mean {:.2} hops; started in {:.1} s, meshes in {:.1} s{}",
        st.nodes,
        st.attacker_nodes,
        st.links,
        st.mean_degree,
        st.diameter,
        st.mean_hops,
        st.start_seconds,
        st.mesh_seconds,
        if st.mesh_complete { "" } else { " (incomplete)" }
    );
    let _ = writeln!(s, "proofs: {} made up front in {:.1} s", st.proofs, st.proving_seconds);
    let d = &r.delivery;
    let _ = writeln!(
        s,
        "delivery: {}/{} = {:.4}% ({:.4}% within 2 s) of {} honest messages",
        d.delivered,
        d.expected,
        d.ratio * 100.0,
        d.within_2s_ratio * 100.0,
        d.honest_messages
    );
    let l = &r.latency;
    let _ = writeln!(
        s,
        "latency: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms
    );
    for a in &r.attacks {
        let _ = writeln!(
            s,
            "attack {}: {} nodes, {} spam, {} validated at the first hop, {} beyond, {} accepted; graylisted by {}/{} neighbours (max {} invalid, max {:.2} s)",
            a.kind.name(),
            a.attackers,
            a.spam_published,
            a.first_hop,
            a.beyond_first_hop,
            a.accepted,
            a.graylisted,
            a.links,
            a.invalid_until_graylist.max,
            a.seconds_until_graylist.max
        );
    }
    if !r.attacks.is_empty() {
        let _ = writeln!(s, "honest peers graylisted by honest nodes: {}", r.honest_graylisted);
    }
    let t = &r.traffic;
    let _ = writeln!(
        s,
        "traffic per node: in {:.1} KiB/s (max {:.1}), out {:.1} KiB/s (max {:.1}); amplification A {:.2} (net of idle {:.2}); idle {:.2} KiB/s",
        t.in_per_node.mean / 1024.0,
        t.in_per_node.max / 1024.0,
        t.out_per_node.mean / 1024.0,
        t.out_per_node.max / 1024.0,
        t.amplification,
        t.amplification_net,
        t.idle_per_node / 1024.0
    );
    let c = &r.cpu;
    let _ = writeln!(
        s,
        "cpu: {:.1} s over {} validations = {:.0} µs each (whole process), {:.2} cores busy",
        c.process_seconds, c.validations, c.us_per_validation, c.cores
    );
    let m = &r.memory;
    let _ = writeln!(
        s,
        "memory: RSS {:.0} MB before, {:.0} MB with the nodes, {:.0} MB at the end, peak {:.0} MB; {:.0} KiB per node",
        m.rss_before_mb, m.rss_nodes_started_mb, m.rss_end_mb, m.peak_mb, m.per_node_kb
    );
    s
}
