//! `rlnkit sim`: parses the run, shows its progress, prints the report (the work is in
//! `rlnkit::sim`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rlnkit::relay::TransportKind;
use rlnkit::sim::market::sweep::{self, Sweep, Sweeps};
use rlnkit::sim::market::{
    self as market, Calibration, CalibrationPaths, MarketConfig, MarketReport,
};
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
/// `rlnkit sim market` simulates the market for the relays' services instead. Large runs (1,000
/// relays) are benchmarks: BENCHMARKS.md has their commands and figures.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  rlnkit sim --nodes 30 --rate 1 --duration 5 --plots sim-plots/
  rlnkit sim --nodes 30 --attackers-each 1 --sybils 3 --duration 5")]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct SimArgs {
    #[command(subcommand)]
    cmd: Option<SimCmd>,
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

#[derive(clap::Subcommand, Debug)]
enum SimCmd {
    Market(MarketArgs),
    SpamPlot(SpamPlotArgs),
}

/// Redraws the spam-per-hop plot of a saved run (the JSON of `rlnkit sim --report FILE`)
/// without running it again: one bar per attack kind at each hop, a legend, the zeros.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example (the 1,000-relay attack run of docs/CAPACITY.md):
  rlnkit sim spam-plot --report docs/capacity/attack_1000.json --out sim-plots/spam_per_hop.svg")]
struct SpamPlotArgs {
    /// The saved report.
    #[arg(long, value_name = "FILE")]
    report: PathBuf,
    /// The SVG to write.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

impl SpamPlotArgs {
    fn run(self) -> Result<Outcome> {
        let json = std::fs::read_to_string(&self.report)
            .with_context(|| format!("reading {}", self.report.display()))?;
        let svg = rlnkit::sim::plot::spam_per_hop_of_saved(&json)
            .with_context(|| format!("plotting {}", self.report.display()))?;
        std::fs::write(&self.out, svg)
            .with_context(|| format!("writing {}", self.out.display()))?;
        let text = format!("plot: {}\n", self.out.display());
        Ok(Outcome::ok(text, serde_json::json!({ "plot": self.out })))
    }
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
        match self.cmd {
            Some(SimCmd::Market(m)) => return m.run(g),
            Some(SimCmd::SpamPlot(p)) => return p.run(),
            None => {}
        }
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

/// Simulates the market for the relays' paid lightpush over days: operators whose costs come
/// from the capacity model enter while profit is expected and leave after repeated losses;
/// clients pick operators by price and past service and pay per push; operators claim their
/// vouchers in batches at the day's gas price, a fee going to the treasury; spammers take
/// their cheapest route (paid pushes, memberships of their own, double signals). Calibrated
/// from committed files (a devnet run, the forge gas report, the capacity simulation's reports
/// and a price list: docs/market/README.md); deterministic from --seed.
///
/// Sweeps and their recommendations: docs/INCENTIVES.md; the 1M-agent run: BENCHMARKS.md.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  rlnkit sim market --agents 20000 --plots out/market
  rlnkit sim market --sweeps --agents 2000 --plots out/sweeps")]
struct MarketArgs {
    /// Light clients paying for lightpush (the network's users the run stands for).
    #[arg(long, default_value_t = 1_000_000)]
    users: u32,
    /// Client agents simulated, each a cohort of users / agents clients (default: the users,
    /// at most 100,000).
    #[arg(long)]
    agents: Option<u32>,
    /// Days to simulate.
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// List price of one push, tokens (default: the devnet's price).
    #[arg(long)]
    price: Option<f64>,
    /// Protocol fee rate on claims, 0 to 0.1 (default: the devnet's fee).
    #[arg(long)]
    fee: Option<f64>,
    /// An operator claims once its unclaimed vouchers are worth this many tokens each (mean).
    #[arg(long)]
    claim_threshold: Option<f64>,
    /// Median gas price, gwei.
    #[arg(long)]
    gas_gwei: Option<f64>,
    /// Registry deposit per message slot, tokens (default: the devnet's).
    #[arg(long)]
    deposit_per_slot: Option<f64>,
    /// Share of a slashed deposit paid to the slasher, 0 to 0.5 (default: the devnet's).
    #[arg(long)]
    slash_reward_share: Option<f64>,
    /// Operators at day 0.
    #[arg(long)]
    initial_operators: Option<u32>,
    /// Spammer agents.
    #[arg(long)]
    spammers: Option<u32>,
    /// Median messages per client per day.
    #[arg(long)]
    demand: Option<f64>,
    /// Median price a client will pay per message, tokens.
    #[arg(long)]
    willingness: Option<f64>,
    /// Run every sweep (price, fee, claim threshold at several gas prices, deposit and slash
    /// reward share) around this scenario and print the recommended values.
    #[arg(long)]
    sweeps: bool,
    /// Repository root holding the calibration files (docs/market/, docs/capacity/).
    #[arg(long, value_name = "DIR", default_value = ".")]
    calibration_root: PathBuf,
    /// Write SVG plots here (per day, or the sweeps').
    #[arg(long, value_name = "DIR")]
    plots: Option<PathBuf>,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

impl MarketArgs {
    fn config(&self, cal: &Calibration) -> MarketConfig {
        let mut c = MarketConfig::calibrated(cal);
        c.users = self.users;
        c.agents = self.agents.unwrap_or(self.users.min(100_000));
        c.days = self.days;
        c.seed = self.seed;
        let set = |v: Option<f64>, d: &mut f64| {
            if let Some(v) = v {
                *d = v;
            }
        };
        set(self.price, &mut c.price_per_push);
        set(self.fee, &mut c.fee_rate);
        set(self.claim_threshold, &mut c.claim_threshold);
        set(self.gas_gwei, &mut c.gas_gwei);
        set(self.deposit_per_slot, &mut c.deposit_per_slot);
        set(self.slash_reward_share, &mut c.slash_reward_share);
        set(self.demand, &mut c.demand_median);
        set(self.willingness, &mut c.willingness_median);
        if let Some(v) = self.initial_operators {
            c.initial_operators = v;
        }
        if let Some(v) = self.spammers {
            c.spammers = v;
        }
        c
    }

    fn run(self, _g: &GlobalOpts) -> Result<Outcome> {
        let paths = CalibrationPaths::committed(&self.calibration_root);
        let cal = Calibration::load(&paths).with_context(|| {
            format!(
                "reading the calibration under {} (run from the repository root or pass --calibration-root)",
                self.calibration_root.display()
            )
        })?;
        let config = self.config(&cal);
        config.check()?;
        if self.sweeps {
            let sweeps = sweep::all(&config, &cal)?;
            let mut text = sweeps_text(&sweeps);
            if let Some(dir) = &self.plots {
                for p in market::plot::write(dir, market::plot::sweep_plots(&sweeps)?)? {
                    let _ = writeln!(text, "plot: {}", p.display());
                }
            }
            if let Some(path) = &self.report {
                std::fs::write(path, serde_json::to_string_pretty(&sweeps)?)
                    .with_context(|| format!("writing {}", path.display()))?;
                let _ = writeln!(text, "report: {}", path.display());
            }
            return Ok(Outcome::ok(text, &sweeps));
        }
        let report = market::simulate(&config, &cal)?;
        let mut text = market_text(&report);
        if let Some(dir) = &self.plots {
            for p in market::plot::write(dir, market::plot::run_plots(&report)?)? {
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

fn market_text(r: &MarketReport) -> String {
    let mut s = String::new();
    let c = &r.config;
    let m = &r.summary;
    let _ = writeln!(
        s,
        "scenario: {} clients ({} agents), {} days, seed {}; price {} tokens per push, fee {:.1}%, claim at {} tokens per voucher, gas ~{} gwei, deposit {} per slot, slash reward {:.0}%",
        c.users,
        c.agents,
        c.days,
        c.seed,
        c.price_per_push,
        c.fee_rate * 100.0,
        c.claim_threshold,
        c.gas_gwei,
        c.deposit_per_slot,
        c.slash_reward_share * 100.0
    );
    let _ = writeln!(
        s,
        "operators: {} at the end (peak {}), {} joined, {} left; {:.0}% of those active at day {} stayed",
        m.operators_end,
        m.operators_peak,
        m.operators_joined,
        m.operators_exited,
        m.retained * 100.0,
        c.days / 3
    );
    let _ = writeln!(
        s,
        "operator per month (last 30 days): profit median {:.2}, 10th percentile {:.2}; revenue median {:.2} tokens",
        m.operator_profit_month_p50, m.operator_profit_month_p10, m.operator_revenue_month_p50
    );
    let _ = writeln!(
        s,
        "client: {:.6} tokens per message, {:.4} tokens per month; {:.1}% of demand served",
        m.client_cost_per_message,
        m.client_cost_per_month,
        m.served_share * 100.0
    );
    let _ = writeln!(
        s,
        "treasury: {:.1} tokens a year at the last 30 days' rate ({:.1} over the run)",
        m.treasury_per_year,
        r.treasury_total()
    );
    let _ = writeln!(
        s,
        "claims: gas {:.3}% of what was claimed, {:.3}% of payments forfeited",
        m.claim_gas_share * 100.0,
        m.forfeited_share * 100.0
    );
    let _ = writeln!(
        s,
        "spam: {:.0} delivered per day, costing spammers {:.2e} tokens per message; {} memberships slashed",
        m.spam_delivered_per_day, m.spam_cost_per_message, m.slashes
    );
    let _ = writeln!(s, "money: every balance sums to {} (conserved)", r.balances.total);
    s
}

fn fmt_rec(v: Option<f64>) -> String {
    v.map_or("none on the grid".into(), |v| format!("{v}"))
}

fn sweep_lines(s: &mut String, name: &str, sw: &Sweep) {
    if sw.series_parameter.is_empty() {
        let _ = writeln!(
            s,
            "{name}: {} = {} ({})",
            sw.parameter,
            fmt_rec(sw.recommended[0].1),
            sw.rule
        );
    } else {
        let _ = writeln!(s, "{name}: {}", sw.rule);
        for (k, v) in &sw.recommended {
            let _ =
                writeln!(s, "  {} {k}: {} = {}", sw.series_parameter, sw.parameter, fmt_rec(*v));
        }
    }
}

fn sweeps_text(w: &Sweeps) -> String {
    let mut s = String::new();
    sweep_lines(&mut s, "price", &w.price);
    sweep_lines(&mut s, "fee", &w.fee);
    sweep_lines(&mut s, "claim threshold", &w.claim_threshold);
    sweep_lines(&mut s, "deposit (measured double-signal reach)", &w.deposit_measured);
    sweep_lines(&mut s, "deposit (double signals split across the network)", &w.deposit_split);
    s
}
