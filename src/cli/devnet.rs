//! `rlnkit devnet`: parses the options, runs `rlnkit::devnet` and prints its summary.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use rlnkit::devnet::{tokens, ChaosConfig, Devnet, Report, StopReason};

use super::{GlobalOpts, Outcome};

/// Options of `rlnkit devnet`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
What runs: anvil with the membership registry and a ServiceCredentials contract; memberships \
registered and synced into a tree; N `rlnkit relay run` processes that dial each other, accept \
the registry's roots and slash double signallers; an honest publisher (enters at the last relay); \
a spammer that double-signals once (enters at relay 1, which recovers its secret and slashes it \
on chain: its operator is paid); a client paying the last relay for lightpush with vouchers (the \
relay claims them on chain).

The live line reads: relays #i accepted/expected messages (spam caught) | honest messages | spam \
messages, slash | lightpush pushes, tokens paid and claimed on chain.

Without --run-for it runs until Ctrl-C; `make demo` runs it for 20 s. --json prints one report \
at the end.

Examples:
  rlnkit devnet --run-for 10 --relays 2 --dir devnet-data   # keep the relays' data and logs
  rlnkit devnet --chaos --run-for 45 --relays 3

With --chaos, faults come on a seeded schedule (--chaos-seed; one every --chaos-every seconds on \
average): a relay killed with SIGKILL and restarted on its data, every link to a relay cut, the \
chain frozen for 10 s with the lightpush relay killed and restarted meanwhile (its claim in \
flight), the lightpush relay killed again. Afterwards the relays are stopped with SIGTERM and the \
report proves from the chain and the relays' stores: every honest message is in every relay's \
store or is counted lost with its cause; the operator collected on chain exactly what the client \
was served; only the spammer was slashed, once; no relay panicked. See docs/RELIABILITY.md.")]
pub(crate) struct DevnetArgs {
    /// Relay processes to start (1 to 32).
    #[arg(long, default_value_t = 3, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=rlnkit::devnet::MAX_RELAYS as u64))]
    relays: u64,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    run_for: Option<f64>,
    /// Seconds between the honest publisher's messages.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    publish_every: f64,
    /// Seconds between the paying client's pushes.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    push_every: f64,
    /// Seconds after the start when the spammer double-signals.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    spam_after: f64,
    /// Memberships registered besides the publishers' and the operator's.
    #[arg(long, default_value_t = 20, value_name = "N")]
    fillers: usize,
    /// Keep the relays' data and logs, the synced tree and the members file here (default: a
    /// temporary directory, removed at the end).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The anvil binary (default: the repository's node_modules/.bin/anvil, else `anvil`).
    #[arg(long, env = "RLNKIT_ANVIL", value_name = "FILE")]
    anvil: Option<PathBuf>,
    /// Run faults while the traffic runs, and audit what they cost (see below).
    #[arg(long)]
    chaos: bool,
    /// The chaos schedule's seed (the same seed, the same faults).
    #[arg(long, default_value_t = 1, value_name = "N", requires = "chaos")]
    chaos_seed: u64,
    /// Mean seconds between two faults.
    #[arg(long, default_value_t = 6.0, value_name = "SECONDS", requires = "chaos")]
    chaos_every: f64,
}

fn secs(s: f64, flag: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(s).with_context(|| format!("{flag} {s} is not a duration"))
}

impl DevnetArgs {
    pub(crate) fn run(self, g: &GlobalOpts) -> Result<Outcome> {
        let exe = std::env::current_exe().context("finding the rlnkit binary")?;
        let mut b = Devnet::builder(exe)
            .relays(self.relays as usize)
            .publish_every(secs(self.publish_every, "--publish-every")?)
            .push_every(secs(self.push_every, "--push-every")?)
            .spam_after(secs(self.spam_after, "--spam-after")?)
            .fillers(self.fillers);
        if let Some(a) = self.anvil {
            b = b.anvil(a);
        }
        if let Some(d) = self.dir {
            b = b.dir(d);
        }
        if let Some(k) = &g.keys {
            b = b.keys(k);
        }
        if self.chaos {
            b = b.chaos(ChaosConfig {
                seed: self.chaos_seed,
                every: secs(self.chaos_every, "--chaos-every")?,
                ..ChaosConfig::default()
            });
        }
        let run_for = self.run_for.map(|s| secs(s, "--run-for")).transpose()?;
        let quiet = g.json;
        let report = super::chain::block_on(async move {
            if !quiet {
                eprintln!(
                    "starting the devnet: anvil, contracts, memberships, {} relays…",
                    self.relays
                );
            }
            let devnet = tokio::select! {
                d = b.start() => d?,
                _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted while starting"),
            };
            if !quiet {
                println!("{}", setup_text(&devnet));
                let mut live = devnet.summary();
                let tty = std::io::stdout().is_terminal();
                tokio::spawn(async move {
                    let mut last_print = std::time::Instant::now();
                    while live.changed().await.is_ok() {
                        let line = live.borrow_and_update().to_string();
                        let mut out = std::io::stdout().lock();
                        if tty {
                            let _ = write!(out, "\r\x1b[K{line}");
                            let _ = out.flush();
                        } else if last_print.elapsed() >= Duration::from_secs(2) {
                            let _ = writeln!(out, "{line}");
                            last_print = std::time::Instant::now();
                        }
                    }
                });
            }
            let report = devnet.run(run_for).await?;
            if !quiet && std::io::stdout().is_terminal() {
                println!();
            }
            Ok(report)
        })??;
        let ok = checks_pass(&report);
        let mut outcome = Outcome::ok(report_text(&report), &report);
        outcome.accepted = ok;
        Ok(outcome)
    }
}

fn setup_text(d: &Devnet) -> String {
    let s = d.setup();
    let mut t = format!(
        "anvil {} (chain {}): registry {}, ServiceCredentials {}, {} memberships (root {}); ready in {:.1} s\n",
        s.rpc,
        s.chain_id,
        s.registry,
        s.credentials,
        s.members,
        s.root.to_hex(),
        s.startup_ms as f64 / 1e3
    );
    for r in &s.relays {
        let role = match (r.index, r.lightpush) {
            (_, true) => "sells lightpush; the honest publisher enters here",
            (1, _) => "the spammer enters here",
            _ => "relay",
        };
        t += &format!(
            "  relay {} (pid {}, operator {}): {} [{role}]\n",
            r.index, r.pid, r.operator, r.addr
        );
    }
    t += &format!("  relay logs: {}/relay-*/relay.log (Ctrl-C stops everything)", s.dir.display());
    t
}

/// What the devnet promises: every relay got every message, the spammer was slashed and the
/// catcher paid, every paid push was claimed.
/// Not checked after Ctrl-C (the chain stops with it).
fn checks_pass(r: &Report) -> bool {
    if r.stopped_by == StopReason::CtrlC {
        return true;
    }
    // Under chaos the audit decides (the relays' counters restart with them).
    if let Some(c) = &r.chaos {
        return c.passed();
    }
    let s = &r.summary;
    let slashed = s.spam_sent < 2 || s.slash.as_ref().is_some_and(|x| x.catcher.is_some());
    s.all_delivered() && s.all_claimed() && slashed
}

fn report_text(r: &Report) -> String {
    let s = &r.summary;
    let by = match r.stopped_by {
        StopReason::RunFor => "--run-for",
        StopReason::CtrlC => "Ctrl-C",
        StopReason::Shutdown => "shutdown",
    };
    let mut t = format!(
        "ran {:.1} s (stopped by {by}; start-up {:.1} s, shutdown {:.1} s)\n",
        r.ran_ms as f64 / 1e3,
        r.setup.startup_ms as f64 / 1e3,
        r.shutdown_ms as f64 / 1e3
    );
    t += &format!(
        "honest publisher: {} messages ({} held back at the rate limit)\n",
        s.honest_published, s.honest_held_back
    );
    for x in &s.relays {
        t += &format!(
            "  relay {}: accepted {} of {} expected, rejected {} invalid, double signals caught {}, peers {}\n",
            x.index, x.valid, x.expected, x.invalid, x.spam, x.peers
        );
    }
    t += &match (&s.slash, s.spam_sent) {
        (Some(x), _) => format!(
            "spammer: double-signalled; slashed in block {} (tx {}): relay {}'s operator {} paid {} tokens (withdrawable {}), treasury {}\n",
            x.block,
            x.tx.map(|h| h.to_string()).unwrap_or_default(),
            x.catcher.map_or("?".into(), |c| c.to_string()),
            x.reward_receiver,
            tokens(x.reward),
            tokens(x.withdrawable),
            tokens(x.treasury_amount)
        ),
        (None, n) if n >= 2 => "spammer: double-signalled, but no slash reached the chain\n".into(),
        (None, _) => "spammer: stopped before it double-signalled\n".into(),
    };
    let p = &s.payments;
    t += &format!(
        "lightpush: {} paid pushes ({} failed), vouchers total {} tokens; claimed on chain {}, operator received {} (the rest is the fee)",
        p.pushes_ok,
        p.pushes_failed,
        tokens(p.paid),
        tokens(p.collected),
        tokens(p.operator_received)
    );
    if let Some(c) = &r.chaos {
        t += &format!("\n{c}");
    }
    if !checks_pass(r) {
        t += "\nNOT everything landed: see the relay logs (rerun with --dir to keep them)";
    }
    t
}
