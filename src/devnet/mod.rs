//! A local Waku RLN network of real parts, for demonstrations, end-to-end tests and trying
//! things out: `rlnkit devnet` and `make demo` run it.
//!
//! The devnet owns, for as long as its [`Devnet`] handle lives:
//! - an **anvil** chain ([`chain::start_anvil`](crate::chain::start_anvil)) with the membership
//!   registry ([`deploy_registry`](crate::chain::deploy_registry)) and a ServiceCredentials contract deployed;
//! - the **memberships**: an honest publisher, a spammer, the lightpush operator and fillers,
//!   registered on chain and synced into a tree file ([`TreeSync`](crate::chain::TreeSync)), whose paths are checked
//!   against the contract's `getMerkleProof`;
//! - **relay processes**: `rlnkit relay run` children (the binary is passed in), each with its own
//!   operator key, data directory, log and metrics, accepting the registry's recent roots and
//!   slashing double signallers through it; they dial each other, and the last one sells
//!   lightpush for vouchers and claims them;
//! - the **traffic**, in this process: an honest publisher (proofs from the synced path), a
//!   spammer that double-signals once (its relay recovers the secret, commits and reveals the
//!   slash on chain, and the operator is paid), and a client paying the lightpush relay;
//! - an **observer** that scrapes every relay's `/metrics` and reads the chain into [`Summary`]
//!   snapshots ([`Devnet::summary`]).
//!
//! [`Devnet::run`] runs until a duration passes or Ctrl-C, then [`Devnet::shutdown`] stops the
//! traffic, lets the network settle (deliveries, the slash, the last claim) and returns a
//! [`Report`]. Dropping the handle also kills every child and anvil and removes the temporary
//! directory.
//!
//! ```no_run
//! # async fn f() -> Result<(), rlnkit::devnet::DevnetError> {
//! use std::time::Duration;
//! let devnet = rlnkit::devnet::Devnet::builder("target/debug/rlnkit").relays(3).start().await?;
//! let mut live = devnet.summary();
//! tokio::spawn(async move {
//!     while live.changed().await.is_ok() {
//!         println!("{}", *live.borrow());
//!     }
//! });
//! let report = devnet.run(Some(Duration::from_secs(10))).await?;
//! assert!(report.summary.slash.is_some());
//! # Ok(()) }
//! ```

mod chaos;
mod observer;
mod process;
mod proxy;
mod start;
mod summary;
mod traffic;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use alloy::node_bindings::AnvilInstance;
use alloy::primitives::U256;
use tokio::sync::watch;

use crate::chain::{
    DeployError, DevChainError, MembershipReader, RegistryError, SyncError, TOKEN_UNIT,
};
use crate::circuit::KeysError;
use crate::credentials::{CredentialsError, CredentialsReader};
use crate::identity::IdentityError;
use crate::lightpush::PushError;
use crate::relay::node::NodeError;
use crate::service::{ReadyError, Relay, RelayError};
use crate::tree::TreeError;

pub use chaos::{
    ChaosConfig, ChaosReport, Fault, FaultRecord, LossCause, PanicLine, RelayDeliveries,
};
use process::Relays;
pub use summary::{
    tokens, PaymentSummary, RelayInfo, RelaySummary, Report, Setup, SlashSummary, StopReason,
    Summary,
};
pub use traffic::CONTENT_TOPIC;

/// The most relays a devnet starts (anvil funds one operator account per relay).
pub const MAX_RELAYS: usize = 32;

/// How long a shutdown waits for deliveries, the slash and the last claim to land.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the relays have to stop gracefully (claims included) before a chaos audit.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the devnet did not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// The relay count is out of range.
    #[error("a devnet has 1 to {MAX_RELAYS} relays, not {0}")]
    RelayCount(usize),
    /// The `rlnkit` binary to run the relays with does not exist.
    #[error("the rlnkit binary {0} does not exist (build it: cargo build)")]
    NoBinary(PathBuf),
    /// Anvil did not start, or a bulk registration failed.
    #[error(transparent)]
    DevChain(#[from] DevChainError),
    /// The registry's deployment failed.
    #[error(transparent)]
    Deploy(#[from] DeployError),
    /// A registry call failed (registration, reads).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The tree sync failed.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// A ServiceCredentials call failed (deployment, deposit, reads).
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The circuit keys did not load.
    #[error(transparent)]
    Keys(#[from] KeysError),
    /// An identity or limit was refused.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The synced tree has no path for a member.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// The synced tree's path differs from the contract's `getMerkleProof`.
    #[error("the synced tree's path for member {index} differs from the contract's")]
    PathMismatch {
        /// The member index.
        index: u32,
    },
    /// A file or directory could not be written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// A relay process could not be spawned.
    #[error("cannot run relay {index} ({bin}): {source}")]
    Spawn {
        /// The relay (1-based).
        index: usize,
        /// The binary.
        bin: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// A relay's link forwarder could not listen.
    #[error("cannot start relay {index}'s link forwarder: {source}")]
    Forwarder {
        /// The relay (1-based).
        index: usize,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// A relay process exited before it was ready.
    #[error("relay {index} exited before it was ready ({status}); its log: {}", log.display())]
    RelayExited {
        /// The relay (1-based).
        index: usize,
        /// Its exit status.
        status: String,
        /// Its log file.
        log: PathBuf,
    },
    /// A relay process did not report ready in time.
    #[error("relay {index} was not ready within {waited:?}; its log: {}", log.display())]
    RelayNotReady {
        /// The relay (1-based).
        index: usize,
        /// How long the devnet waited.
        waited: Duration,
        /// Its log file.
        log: PathBuf,
    },
    /// A relay reported no address to dial it at.
    #[error("relay {index} reported no dialable address; its log: {}", log.display())]
    NoAddress {
        /// The relay (1-based).
        index: usize,
        /// Its log file.
        log: PathBuf,
    },
    /// A relay's ready file was unreadable.
    #[error(transparent)]
    Ready(#[from] ReadyError),
    /// An in-process node (publisher) did not start.
    #[error(transparent)]
    Relay(#[from] RelayError),
    /// An in-process node stopped.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// An in-process node found no relay to publish through.
    #[error("the {who} found no relay in its mesh within {waited:?}")]
    NoMesh {
        /// Which node.
        who: &'static str,
        /// How long it waited.
        waited: Duration,
    },
    /// The lightpush client did not start.
    #[error(transparent)]
    Push(#[from] PushError),
}

/// Options of a devnet (see [`Devnet::builder`]).
#[derive(Debug, Clone)]
pub struct DevnetBuilder {
    rlnkit: PathBuf,
    anvil: PathBuf,
    relays: usize,
    dir: Option<PathBuf>,
    keys: Option<PathBuf>,
    publish_every: Duration,
    push_every: Duration,
    spam_after: Duration,
    fillers: usize,
    price: U256,
    chaos: Option<ChaosConfig>,
}

impl DevnetBuilder {
    /// Number of relay processes (default 3, at most [`MAX_RELAYS`]).
    pub fn relays(mut self, n: usize) -> Self {
        self.relays = n;
        self
    }

    /// The anvil binary (default: [`anvil_path`](crate::chain::anvil_path)).
    pub fn anvil(mut self, bin: impl Into<PathBuf>) -> Self {
        self.anvil = bin.into();
        self
    }

    /// Keep the relays' data, logs and the synced tree in this directory (default: a temporary
    /// directory, removed at shutdown). What an earlier devnet left there (`relay-N/`,
    /// `tree.redb`, `members.txt`, `lightpush-operator.json`) is removed at start; nothing else.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Circuit keys directory for every part (default: the embedded development keys).
    pub fn keys(mut self, dir: impl Into<PathBuf>) -> Self {
        self.keys = Some(dir.into());
        self
    }

    /// The honest publisher's interval (default 1 s).
    pub fn publish_every(mut self, every: Duration) -> Self {
        self.publish_every = every;
        self
    }

    /// The paying client's interval (default 1 s).
    pub fn push_every(mut self, every: Duration) -> Self {
        self.push_every = every;
        self
    }

    /// When the spammer double-signals, after the traffic starts (default 2 s).
    pub fn spam_after(mut self, after: Duration) -> Self {
        self.spam_after = after;
        self
    }

    /// Memberships registered besides the devnet's own three (default 20).
    pub fn fillers(mut self, n: usize) -> Self {
        self.fillers = n;
        self
    }

    /// The lightpush price per request, token base units (default 0.001 token).
    pub fn price(mut self, price: U256) -> Self {
        self.price = price;
        self
    }

    /// Runs faults while the traffic runs (see [`ChaosConfig`]): relays killed and restarted,
    /// the chain frozen with the lightpush operator killed meanwhile, links cut. The report then
    /// holds a [`ChaosReport`]: what the faults cost, proved from the chain and the relays'
    /// stores.
    pub fn chaos(mut self, config: ChaosConfig) -> Self {
        self.chaos = Some(config);
        self
    }

    /// Starts everything on the current tokio runtime and starts the traffic. Dropping the
    /// future (or an error) kills whatever was started; the working directory stays, so the
    /// relay logs an error points at can be read.
    pub async fn start(self) -> Result<Devnet, DevnetError> {
        start::start(self).await
    }
}

/// A running devnet. Dropping it kills the relays and anvil and removes its temporary directory.
pub struct Devnet {
    setup: Setup,
    summary: watch::Receiver<Summary>,
    stop: watch::Sender<bool>,
    traffic: Vec<tokio::task::JoinHandle<()>>,
    observer: Option<tokio::task::JoinHandle<()>>,
    nodes: Vec<Relay>,
    relays: Relays,
    proxies: std::sync::Arc<Vec<proxy::LinkProxy>>,
    chaos: Option<(ChaosConfig, tokio::task::JoinHandle<Vec<FaultRecord>>)>,
    chain: ChainView,
    counters: traffic::SharedCounters,
    sent: traffic::SharedSent,
    anvil: Option<AnvilInstance>,
    remove_dir: bool,
    started: Instant,
}

/// What the chaos audit reads from the chain.
struct ChainView {
    reader: MembershipReader,
    credentials: CredentialsReader,
    payer: alloy::primitives::Address,
    lp_operator: alloy::primitives::Address,
    token: alloy::primitives::Address,
    from_block: u64,
}

impl std::fmt::Debug for Devnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devnet").field("setup", &self.setup).finish_non_exhaustive()
    }
}

impl Devnet {
    /// A devnet whose relays run `rlnkit` (the binary: `std::env::current_exe()` from the CLI,
    /// `env!("CARGO_BIN_EXE_rlnkit")` from an integration test).
    pub fn builder(rlnkit: impl Into<PathBuf>) -> DevnetBuilder {
        DevnetBuilder {
            rlnkit: rlnkit.into(),
            anvil: crate::chain::anvil_path(),
            relays: 3,
            dir: None,
            keys: None,
            publish_every: Duration::from_secs(1),
            push_every: Duration::from_secs(1),
            spam_after: Duration::from_secs(2),
            fillers: 20,
            price: U256::from(TOKEN_UNIT / 1000),
            chaos: None,
        }
    }

    /// How it was set up.
    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    /// Live snapshots (a new one about every 500 ms).
    pub fn summary(&self) -> watch::Receiver<Summary> {
        self.summary.clone()
    }

    /// The process ids of every child (anvil and the relays).
    pub fn child_pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = process::lock(&self.relays).iter().map(|r| r.pid()).collect();
        pids.extend(self.anvil.as_ref().map(|a| a.child().id()));
        pids
    }

    /// Runs until `run_for` passes (`None`: forever), then shuts down like [`Self::shutdown`];
    /// or until Ctrl-C, then stops at once (a terminal's Ctrl-C also stops anvil, which runs in
    /// this process's group) and reports the last snapshot.
    pub async fn run(self, run_for: Option<Duration>) -> Result<Report, DevnetError> {
        let timer = async {
            match run_for {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        let reason = tokio::select! {
            _ = timer => StopReason::RunFor,
            _ = tokio::signal::ctrl_c() => StopReason::CtrlC,
        };
        self.stop_with(reason).await
    }

    /// Stops the traffic, waits (up to 15 s) until every relay has what was published, the spam
    /// is slashed and the payments are claimed, then stops every process.
    pub async fn shutdown(self) -> Result<Report, DevnetError> {
        self.stop_with(StopReason::Shutdown).await
    }

    async fn stop_with(mut self, reason: StopReason) -> Result<Report, DevnetError> {
        let ran_ms = self.started.elapsed().as_millis() as u64;
        let t = Instant::now();
        let _ = self.stop.send(true);
        for task in self.traffic.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        // The chaos finishes the fault under way: the chain answers, every relay runs.
        let chaos = match self.chaos.take() {
            Some((config, task)) => Some((config, task.await.unwrap_or_default())),
            None => None,
        };
        let mut live = self.summary.clone();
        // A terminal's Ctrl-C reaches anvil too (alloy starts it in our process group), so
        // there is no chain left to settle against: report what was seen.
        if reason != StopReason::CtrlC {
            let end = tokio::time::Instant::now() + SETTLE_TIMEOUT;
            let stopped_ms = self.started.elapsed().as_millis() as u64;
            loop {
                let settled = {
                    let s = live.borrow_and_update();
                    // Under chaos the relays' counters restart with them: the audit counts
                    // deliveries from their stores instead.
                    s.elapsed_ms >= stopped_ms
                        && (chaos.is_some() || s.all_delivered())
                        && s.all_claimed()
                        && (s.spam_sent < 2 || s.slash.is_some())
                };
                if settled || tokio::time::timeout_at(end, live.changed()).await.is_err() {
                    break;
                }
            }
            // One more round, so the report holds what the chain and relays have now.
            let _ = tokio::time::timeout(Duration::from_secs(3), live.changed()).await;
        }
        let summary = live.borrow().clone();
        let chaos = match chaos {
            Some((config, faults)) if reason != StopReason::CtrlC => {
                Some(self.audit(config, faults).await)
            }
            _ => None,
        };
        self.teardown().await;
        Ok(Report {
            setup: self.setup.clone(),
            summary,
            ran_ms,
            shutdown_ms: t.elapsed().as_millis() as u64,
            stopped_by: reason,
            chaos,
        })
    }

    /// Stops the relays as an operator does (SIGTERM: each claims what is due and closes its
    /// stores), then proves what the faults cost from the chain and the relays' stores.
    async fn audit(&mut self, config: ChaosConfig, faults: Vec<FaultRecord>) -> ChaosReport {
        for r in process::lock(&self.relays).iter_mut() {
            r.terminate();
        }
        let end = tokio::time::Instant::now() + STOP_TIMEOUT;
        while !process::lock(&self.relays).iter_mut().all(|r| r.exited())
            && tokio::time::Instant::now() < end
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let relays: Vec<_> = process::lock(&self.relays)
            .iter_mut()
            .map(|r| {
                r.kill(); // whatever did not stop in time
                (r.data_dir().to_path_buf(), r.log.clone(), r.starts)
            })
            .collect();
        let c = &self.chain;
        let (collected, slashed, chain_error) = match (
            c.credentials.escrow(c.payer, c.lp_operator, c.token).await,
            c.reader.slashes(c.from_block, None).await,
        ) {
            (Ok(e), Ok(s)) => (e.collected, s.into_iter().map(|x| x.id_commitment).collect(), None),
            (Err(e), _) => (U256::ZERO, Vec::new(), Some(e.to_string())),
            (_, Err(e)) => (U256::ZERO, Vec::new(), Some(e.to_string())),
        };
        let counters = traffic::lock(&self.counters).clone();
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone();
        chaos::audit(
            config,
            chaos::AuditInput {
                faults,
                sent,
                relays,
                served: counters.paid,
                collected,
                price: self.setup.price,
                last_push_failed: counters.last_push_failed,
                slashed,
                spammer: self.setup.spammer,
                spam_sent: counters.spam_sent,
                chain_error,
            },
        )
    }

    async fn teardown(&mut self) {
        for node in self.nodes.drain(..) {
            node.shutdown().await;
        }
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.stop.send(true);
        for t in self.traffic.drain(..) {
            t.abort();
        }
        if let Some(o) = self.observer.take() {
            o.abort();
        }
        if let Some((_, c)) = self.chaos.take() {
            c.abort();
        }
        for r in process::lock(&self.relays).iter_mut() {
            r.kill();
        }
        self.proxies = Default::default();
        self.anvil.take();
        if self.remove_dir {
            let _ = std::fs::remove_dir_all(&self.setup.dir);
            self.remove_dir = false;
        }
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        self.kill();
    }
}
