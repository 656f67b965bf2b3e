//! Chaos for a devnet ([`DevnetBuilder::chaos`](super::DevnetBuilder::chaos)): faults on a seeded
//! schedule while the traffic runs, and the audit afterwards.
//!
//! The faults are the ones an operator meets: a relay killed with SIGKILL and restarted on its
//! data directory; the chain's RPC frozen (anvil stopped with SIGSTOP) for ten seconds, with the
//! lightpush operator killed while its calls to the chain hang (a claim in flight) and restarted
//! before the chain answers again; every link to a relay cut at once (its TCP forwarder,
//! [`LinkProxy`](super::proxy::LinkProxy), closes them), leaving the nodes to dial again.
//!
//! The audit ([`ChaosReport`]) proves from the chain and the relays' stores, not from counters a
//! restart resets: every honest message is in every relay's nullifier log, or is counted lost
//! with its cause (the relay was down or its links cut when it was published); the operator
//! collected on chain exactly what the paying client was served; no membership but the
//! spammer's was slashed (so no operator double-signalled: the other relays slash any double
//! signal), and the spammer once; no relay log holds a panic.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tokio::sync::watch;

use super::process::{self, Relays};
use super::proxy::LinkProxy;
use crate::field::Field;

/// How a chaos run is driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChaosConfig {
    /// The schedule's seed: the same seed, the same faults in the same order.
    pub seed: u64,
    /// The mean pause between two faults (each pause is 0.5 to 1.5 times this).
    pub every: Duration,
    /// How long the chain stays frozen.
    pub chain_stop: Duration,
}

impl Default for ChaosConfig {
    /// Seed 1, a fault every 6 s on average, the chain frozen for 10 s.
    fn default() -> Self {
        ChaosConfig { seed: 1, every: Duration::from_secs(6), chain_stop: Duration::from_secs(10) }
    }
}

/// One fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// A relay killed (SIGKILL) and started again on its data directory after `down_ms`.
    KillRelay {
        /// The relay (1-based).
        relay: usize,
        /// How long it stayed dead.
        down_ms: u64,
    },
    /// Every connection to a relay closed at once.
    CutLinks {
        /// The relay (1-based).
        relay: usize,
    },
    /// The chain frozen (SIGSTOP) for `for_ms`; while it was, the lightpush operator (relay
    /// `operator`) was killed with its chain calls hanging and started again.
    StopChain {
        /// How long the chain stayed frozen.
        for_ms: u64,
        /// The lightpush relay killed during it (1-based).
        operator: usize,
    },
}

impl Fault {
    /// The relay whose process the fault kills, if any.
    fn killed(&self) -> Option<usize> {
        match *self {
            Fault::KillRelay { relay, .. } => Some(relay),
            Fault::StopChain { operator, .. } => Some(operator),
            Fault::CutLinks { .. } => None,
        }
    }
}

/// A fault as it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultRecord {
    /// Milliseconds after the traffic started.
    pub at_ms: u64,
    /// The fault.
    pub fault: Fault,
    /// When everything it broke was back (the relay ready again, the chain answering).
    pub healed_ms: u64,
    /// Why it did not heal, if it did not (a restarted relay that never became ready).
    pub error: Option<String>,
}

/// How long after a fault healed a relay may still miss messages (its mesh forms again within
/// a few heartbeats).
const REJOIN_GRACE: Duration = Duration::from_secs(5);
/// How long before a kill a relay's last records may not have reached its disk.
const KILL_SLACK: Duration = Duration::from_secs(1);

/// Plans and applies the faults.
pub(super) struct Chaos {
    pub(super) config: ChaosConfig,
    pub(super) relays: Relays,
    pub(super) proxies: std::sync::Arc<Vec<LinkProxy>>,
    pub(super) anvil_pid: u32,
    pub(super) started: Instant,
}

/// The fault kinds, for the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cut,
    Kill,
    ChainStop,
    KillOperator,
}

/// The order of faults: each kind once first (a short run sees them all), then at random.
fn plan(rng: &mut ChaCha8Rng, n: usize) -> Kind {
    const FIRST: [Kind; 4] = [Kind::Cut, Kind::Kill, Kind::ChainStop, Kind::KillOperator];
    if n < FIRST.len() {
        return FIRST[n];
    }
    match rng.gen_range(0..10) {
        0..=3 => Kind::Cut,
        4..=6 => Kind::Kill,
        7 => Kind::ChainStop,
        _ => Kind::KillOperator,
    }
}

impl Chaos {
    fn ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Applies faults until `stop` is raised; a fault under way is finished (the chain resumed,
    /// the relay restarted) before it returns what happened.
    pub(super) async fn run(self, mut stop: watch::Receiver<bool>) -> Vec<FaultRecord> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        let relays = self.proxies.len();
        let operator = relays; // the last relay sells lightpush
        let mut done = Vec::new();
        for n in 0.. {
            let pause = self.config.every.mul_f64(rng.gen_range(0.5..1.5));
            if *stop.borrow() {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => break,
            }
            let pick = |rng: &mut ChaCha8Rng, but: Option<usize>| loop {
                let r = rng.gen_range(1..=relays);
                if relays == 1 || Some(r) != but {
                    break r;
                }
            };
            let fault = match plan(&mut rng, n) {
                Kind::Cut => Fault::CutLinks { relay: pick(&mut rng, None) },
                Kind::Kill => Fault::KillRelay {
                    relay: pick(&mut rng, Some(operator)),
                    down_ms: rng.gen_range(500..3000),
                },
                Kind::KillOperator => {
                    Fault::KillRelay { relay: operator, down_ms: rng.gen_range(500..3000) }
                }
                Kind::ChainStop => {
                    Fault::StopChain { for_ms: self.config.chain_stop.as_millis() as u64, operator }
                }
            };
            let at_ms = self.ms();
            tracing::info!(?fault, at_ms, "chaos");
            let error = self.apply(fault).await.err().map(|e| e.to_string());
            if let Some(e) = &error {
                tracing::warn!(?fault, error = %e, "a fault did not heal");
            }
            done.push(FaultRecord { at_ms, fault, healed_ms: self.ms(), error });
        }
        done
    }

    async fn apply(&self, fault: Fault) -> Result<(), super::DevnetError> {
        match fault {
            Fault::CutLinks { relay } => {
                self.proxies[relay - 1].cut();
                Ok(())
            }
            Fault::KillRelay { relay, down_ms } => {
                process::lock(&self.relays)[relay - 1].kill();
                tokio::time::sleep(Duration::from_millis(down_ms)).await;
                self.restart(relay).await
            }
            Fault::StopChain { for_ms, operator } => {
                let resume_at = tokio::time::Instant::now() + Duration::from_millis(for_ms);
                self.freeze_chain(true);
                // Its claimer and book sync are now waiting on the chain: kill it there, and
                // start it again at once (its start-up waits for the chain too).
                tokio::time::sleep(Duration::from_millis(for_ms / 4)).await;
                let respawned = {
                    let mut all = process::lock(&self.relays);
                    all[operator - 1].respawn()
                };
                tokio::time::sleep_until(resume_at).await;
                self.freeze_chain(false);
                respawned?;
                self.ready(operator).await
            }
        }
    }

    fn freeze_chain(&self, frozen: bool) {
        #[cfg(unix)]
        process::signal(
            self.anvil_pid,
            if frozen { process::Signal::Stop } else { process::Signal::Cont },
        );
    }

    async fn restart(&self, relay: usize) -> Result<(), super::DevnetError> {
        process::lock(&self.relays)[relay - 1].respawn()?;
        self.ready(relay).await
    }

    /// Waits for the restarted relay and points its forwarder at its new port.
    async fn ready(&self, relay: usize) -> Result<(), super::DevnetError> {
        process::wait_ready(&self.relays, relay - 1).await?;
        if let Some(addr) = process::lock(&self.relays)[relay - 1].socket_addr() {
            self.proxies[relay - 1].retarget(addr);
        }
        Ok(())
    }
}

/// An honest message as its publisher sent it: when, and the (epoch, nullifier) every relay
/// records when it accepts it.
#[derive(Debug, Clone, Copy)]
pub(super) struct SentMessage {
    pub(super) at_ms: u64,
    pub(super) epoch: u64,
    pub(super) nullifier: Field,
}

/// Why a relay's store lacks an honest message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LossCause {
    /// The relay was dead (or just restarted, its mesh not formed yet) when it was published.
    RelayDown,
    /// Its links had just been cut.
    LinksCut,
    /// Older than the log keeps (the current and the previous epoch).
    BeyondRetention,
    /// No fault explains it.
    Unexplained,
}

/// One relay's deliveries, from its nullifier log.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RelayDeliveries {
    /// 1-based.
    pub relay: usize,
    /// Times its process was started.
    pub starts: u32,
    /// Honest messages in its store.
    pub delivered: u64,
    /// Honest messages missing, by cause.
    pub lost: Vec<(LossCause, u64)>,
}

impl RelayDeliveries {
    /// Messages lost to `cause`.
    pub fn lost_to(&self, cause: LossCause) -> u64 {
        self.lost.iter().find(|(c, _)| *c == cause).map_or(0, |(_, n)| *n)
    }
}

/// A panic found in a relay's log.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PanicLine {
    /// 1-based.
    pub relay: usize,
    /// The log line.
    pub line: String,
}

/// What a chaos run proved (see the module doc).
#[derive(Debug, Clone, Serialize)]
pub struct ChaosReport {
    /// The configuration.
    pub config: ChaosConfig,
    /// The faults, in order.
    pub faults: Vec<FaultRecord>,
    /// Honest messages the publisher published.
    pub honest_published: u64,
    /// Per relay, from its store.
    pub deliveries: Vec<RelayDeliveries>,
    /// What the paying client was served (the cumulative amount of its last answered voucher).
    pub served: U256,
    /// What the operator collected from the escrow on chain.
    pub collected: U256,
    /// Messages the spammer sent (its double signal is the second).
    pub spam_sent: u64,
    /// Slashes of the spammer on chain.
    pub spammer_slashes: u64,
    /// Slashes of any other membership on chain (an operator's double signal would be one).
    pub other_slashes: u64,
    /// Panics in the relays' logs.
    pub panics: Vec<PanicLine>,
    /// Everything that does not hold; empty when the run passed.
    pub failures: Vec<String>,
}

impl ChaosReport {
    /// Whether every property held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// Fills `failures` from the figures.
    fn judge(&mut self, price: U256, last_push_failed: bool) {
        let mut f = Vec::new();
        for r in &self.deliveries {
            let n = r.lost_to(LossCause::Unexplained);
            if n > 0 {
                f.push(format!(
                    "relay {}: {n} honest messages lost with no fault to explain it",
                    r.relay
                ));
            }
        }
        if self.collected != self.served {
            // The one case that is not a fault of the claims: the operator served the last push
            // but its answer was lost, so the client never counted it.
            let lost_answer = last_push_failed && self.collected == self.served + price;
            if !lost_answer {
                f.push(format!(
                    "collected {} on chain for {} served (claimed {})",
                    self.collected,
                    self.served,
                    if self.collected > self.served { "more" } else { "less" }
                ));
            }
        }
        if self.spam_sent < 2 {
            f.push("the spammer never double-signalled: the run proves nothing of slashing".into());
        } else if self.spammer_slashes != 1 {
            f.push(format!("the spammer was slashed {} times, not once", self.spammer_slashes));
        }
        if self.other_slashes != 0 {
            f.push(format!("{} other memberships were slashed", self.other_slashes));
        }
        for e in self.faults.iter().filter_map(|x| x.error.as_ref().map(|e| (x.fault, e))) {
            f.push(format!("{:?} did not heal: {}", e.0, e.1));
        }
        for p in &self.panics {
            f.push(format!("relay {} panicked: {}", p.relay, p.line));
        }
        for r in &self.deliveries {
            if r.lost_to(LossCause::Unexplained) == 0
                && r.delivered == 0
                && self.honest_published > 0
            {
                f.push(format!("relay {} holds no honest message", r.relay));
            }
        }
        self.failures = f;
    }
}

/// The windows in which a relay may miss messages, from the faults.
fn loss_windows(faults: &[FaultRecord], relay: usize) -> Vec<(u64, u64, LossCause)> {
    let slack = KILL_SLACK.as_millis() as u64;
    let grace = REJOIN_GRACE.as_millis() as u64;
    faults
        .iter()
        .filter_map(|x| match x.fault {
            Fault::CutLinks { relay: r } if r == relay => {
                Some((x.at_ms, x.at_ms + grace, LossCause::LinksCut))
            }
            f if f.killed() == Some(relay) => {
                Some((x.at_ms.saturating_sub(slack), x.healed_ms + grace, LossCause::RelayDown))
            }
            _ => None,
        })
        .collect()
}

/// What the devnet hands the audit.
pub(super) struct AuditInput {
    pub(super) faults: Vec<FaultRecord>,
    pub(super) sent: Vec<SentMessage>,
    /// Per relay (in order): its data directory, log and starts.
    pub(super) relays: Vec<(PathBuf, PathBuf, u32)>,
    pub(super) served: U256,
    pub(super) collected: U256,
    pub(super) price: U256,
    pub(super) last_push_failed: bool,
    pub(super) slashed: Vec<Field>,
    pub(super) spammer: Field,
    /// Messages the spammer sent (2: it double-signalled).
    pub(super) spam_sent: u64,
    /// Why the chain could not be read, if it could not.
    pub(super) chain_error: Option<String>,
}

/// Audits a finished chaos run (the relays stopped, so their stores can be opened).
pub(super) fn audit(config: ChaosConfig, input: AuditInput) -> ChaosReport {
    let newest_epoch = input.sent.iter().map(|m| m.epoch).max().unwrap_or(0);
    let mut deliveries = Vec::new();
    let mut panics = Vec::new();
    for (i, (dir, log, starts)) in input.relays.iter().enumerate() {
        let relay = i + 1;
        let windows = loss_windows(&input.faults, relay);
        let store = crate::relay::NullifierLog::open(
            dir.join(crate::service::data_dir::NULLIFIER_LOG_FILE),
        );
        let mut lost: HashMap<LossCause, u64> = HashMap::new();
        let mut delivered = 0;
        for m in &input.sent {
            let held = store.as_ref().is_ok_and(|s| s.get(m.epoch, &m.nullifier).is_some());
            if held {
                delivered += 1;
                continue;
            }
            let cause = if m.epoch + 1 < newest_epoch {
                LossCause::BeyondRetention
            } else {
                windows
                    .iter()
                    .find(|(from, to, _)| (*from..=*to).contains(&m.at_ms))
                    .map_or(LossCause::Unexplained, |w| w.2)
            };
            *lost.entry(cause).or_default() += 1;
        }
        let mut lost: Vec<_> = lost.into_iter().collect();
        lost.sort_by_key(|(c, _)| *c as u8);
        deliveries.push(RelayDeliveries { relay, starts: *starts, delivered, lost });
        if let Ok(text) = std::fs::read_to_string(log) {
            panics.extend(
                text.lines()
                    .filter(|l| l.contains("panicked at"))
                    .map(|l| PanicLine { relay, line: l.to_string() }),
            );
        }
    }
    let spammer_slashes = input.slashed.iter().filter(|c| **c == input.spammer).count() as u64;
    let mut report = ChaosReport {
        config,
        faults: input.faults,
        honest_published: input.sent.len() as u64,
        deliveries,
        served: input.served,
        collected: input.collected,
        spam_sent: input.spam_sent,
        spammer_slashes,
        other_slashes: input.slashed.len() as u64 - spammer_slashes,
        panics,
        failures: Vec::new(),
    };
    report.judge(input.price, input.last_push_failed);
    if let Some(e) = input.chain_error {
        report.failures.push(format!("the chain could not be read for the audit: {e}"));
    }
    report
}

impl std::fmt::Display for ChaosReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "chaos (seed {}): {} faults", self.config.seed, self.faults.len())?;
        for x in &self.faults {
            let what = match x.fault {
                Fault::KillRelay { relay, down_ms } => {
                    format!("relay {relay} killed (SIGKILL), restarted after {down_ms} ms")
                }
                Fault::CutLinks { relay } => format!("every link to relay {relay} cut"),
                Fault::StopChain { for_ms, operator } => format!(
                    "chain frozen {:.0} s, lightpush relay {operator} killed and restarted meanwhile",
                    for_ms as f64 / 1e3
                ),
            };
            let healed = (x.healed_ms - x.at_ms) as f64 / 1e3;
            write!(f, "  {:>6.1}s {what}; whole again after {healed:.1} s", x.at_ms as f64 / 1e3)?;
            match &x.error {
                Some(e) => writeln!(f, " -- NOT HEALED: {e}")?,
                None => writeln!(f)?,
            }
        }
        writeln!(f, "honest messages published: {}", self.honest_published)?;
        for r in &self.deliveries {
            write!(f, "  relay {} ({} starts): {} in its store", r.relay, r.starts, r.delivered)?;
            for (cause, n) in &r.lost {
                write!(f, ", {n} lost ({cause:?})")?;
            }
            writeln!(f)?;
        }
        writeln!(
            f,
            "served {} / collected on chain {}; slashes: spammer {}, others {}; panics {}",
            super::tokens(self.served),
            super::tokens(self.collected),
            self.spammer_slashes,
            self.other_slashes,
            self.panics.len()
        )?;
        if self.failures.is_empty() {
            write!(f, "PASSED: every property held")
        } else {
            write!(f, "FAILED:")?;
            for x in &self.failures {
                write!(f, "\n  - {x}")?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at_ms: u64, healed_ms: u64, fault: Fault) -> FaultRecord {
        FaultRecord { at_ms, fault, healed_ms, error: None }
    }

    #[test]
    fn the_plan_starts_with_every_kind_and_is_seeded() {
        let kinds = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..20).map(|n| plan(&mut rng, n)).collect::<Vec<_>>()
        };
        assert_eq!(&kinds(1)[..4], &[Kind::Cut, Kind::Kill, Kind::ChainStop, Kind::KillOperator]);
        assert_eq!(kinds(7), kinds(7));
        assert_ne!(kinds(7), kinds(8));
    }

    #[test]
    fn a_loss_is_explained_only_inside_a_fault_window_of_that_relay() {
        let faults = vec![
            record(10_000, 12_000, Fault::KillRelay { relay: 2, down_ms: 1500 }),
            record(20_000, 20_000, Fault::CutLinks { relay: 1 }),
            record(30_000, 41_000, Fault::StopChain { for_ms: 10_000, operator: 3 }),
        ];
        let w2 = loss_windows(&faults, 2);
        assert_eq!(w2, vec![(9_000, 17_000, LossCause::RelayDown)]);
        assert_eq!(loss_windows(&faults, 1), vec![(20_000, 25_000, LossCause::LinksCut)]);
        assert_eq!(loss_windows(&faults, 3), vec![(29_000, 46_000, LossCause::RelayDown)]);
    }

    fn report(collected: u64, served: u64) -> ChaosReport {
        ChaosReport {
            config: ChaosConfig::default(),
            faults: vec![],
            honest_published: 1,
            deliveries: vec![RelayDeliveries { relay: 1, starts: 1, delivered: 1, lost: vec![] }],
            served: U256::from(served),
            collected: U256::from(collected),
            spam_sent: 2,
            spammer_slashes: 1,
            other_slashes: 0,
            panics: vec![],
            failures: vec![],
        }
    }

    #[test]
    fn money_must_match_to_the_unit_but_for_a_lost_last_answer() {
        let price = U256::from(10u64);
        let mut ok = report(100, 100);
        ok.judge(price, false);
        assert!(ok.passed(), "{:?}", ok.failures);
        let mut over = report(110, 100);
        over.judge(price, false);
        assert!(!over.passed(), "claimed more than served");
        let mut lost_answer = report(110, 100);
        lost_answer.judge(price, true);
        assert!(lost_answer.passed(), "the last push was served but its answer lost");
        let mut under = report(90, 100);
        under.judge(price, true);
        assert!(!under.passed(), "served but never claimed");
    }

    #[test]
    fn slashes_panics_and_unexplained_losses_fail_the_run() {
        let price = U256::from(1u64);
        let mut r = report(1, 1);
        r.other_slashes = 1;
        r.judge(price, false);
        assert_eq!(r.failures.len(), 1);
        let mut r = report(1, 1);
        r.spammer_slashes = 0;
        r.panics.push(PanicLine { relay: 1, line: "thread 'x' panicked at src/a.rs".into() });
        r.deliveries[0].lost.push((LossCause::Unexplained, 2));
        r.judge(price, false);
        assert_eq!(r.failures.len(), 3, "{:?}", r.failures);
        let mut r = report(1, 1);
        r.spam_sent = 1;
        r.spammer_slashes = 0;
        r.judge(price, false);
        assert_eq!(r.failures.len(), 1, "no double signal, no proof of slashing: {:?}", r.failures);
    }
}
