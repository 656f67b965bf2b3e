//! A local Waku RLN network of real parts, for demonstrations, end-to-end tests and trying
//! things out: `rlnkit devnet` and `make demo` run it.
//!
//! The devnet owns, for as long as its [`Devnet`] handle lives:
//! - an **anvil** chain ([`chain::start_anvil`](crate::chain::start_anvil)) with the membership
//!   registry ([`deploy_registry`]) and a ServiceCredentials contract deployed;
//! - the **memberships**: an honest publisher, a spammer, the lightpush operator and fillers,
//!   registered on chain and synced into a tree file ([`TreeSync`]), whose paths are checked
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

mod process;
mod summary;
mod traffic;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::watch;

use crate::chain::{
    deploy_registry, start_anvil, ChainError, DeployConfig, MembershipReader, SyncOptions,
    TreeSync, TOKEN_UNIT,
};
use crate::circuit::{CircuitKeys, KeysError};
use crate::credentials::{
    CredentialsConfig, CredentialsReader, CredentialsWriter, PaymentStream, LIGHTPUSH_SERVICE_ID,
};
use crate::identity::{Identity, IdentityError, UserMessageLimit};
use crate::prover::Prover;
use crate::relay::lightpush_client::{LightpushClient, PushError};
use crate::relay::node::NodeError;
use crate::relay::{shard_topic, Publisher, ReadyError, Relay, RelayBuilder, RelayError};
use crate::tree::TreeError;
use crate::verifier::Verifier;

use process::{RelayProcess, RelaySpec};
pub use summary::{
    tokens, PaymentSummary, RelayInfo, RelaySummary, Report, Setup, SlashSummary, StopReason,
    Summary,
};
pub use traffic::CONTENT_TOPIC;
use traffic::{lock, SharedCounters};

/// The most relays a devnet starts (anvil funds one operator account per relay).
pub const MAX_RELAYS: usize = 32;

/// Each relay dials up to this many of the relays started before it.
const DIALS_PER_RELAY: usize = 3;

/// Rate limits (messages per 600 s epoch) of the devnet's memberships.
const PUBLISHER_LIMIT: u32 = 600;
const SPAMMER_LIMIT: u32 = 20;
const FILLER_LIMIT: u32 = 20;

/// How long a shutdown waits for deliveries, the slash and the last claim to land.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the devnet did not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// The relay count is out of range.
    #[error("a devnet has 1 to {MAX_RELAYS} relays, not {0}")]
    RelayCount(usize),
    /// The `rlnkit` binary to run the relays with does not exist.
    #[error("the rlnkit binary {0} does not exist (build it: cargo build)")]
    NoBinary(PathBuf),
    /// The chain failed (anvil, deployment, registration, reads).
    #[error(transparent)]
    Chain(#[from] ChainError),
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

    /// Starts everything on the current tokio runtime and starts the traffic. Dropping the
    /// future (or an error) kills whatever was started; the working directory stays, so the
    /// relay logs an error points at can be read.
    pub async fn start(self) -> Result<Devnet, DevnetError> {
        start(self).await
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
    relays: Vec<RelayProcess>,
    anvil: Option<AnvilInstance>,
    remove_dir: bool,
    started: Instant,
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
        let mut pids: Vec<u32> = self.relays.iter().map(|r| r.pid()).collect();
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
        let mut live = self.summary.clone();
        // A terminal's Ctrl-C reaches anvil too (alloy starts it in our process group), so
        // there is no chain left to settle against: report what was seen.
        if reason != StopReason::CtrlC {
            let end = tokio::time::Instant::now() + SETTLE_TIMEOUT;
            let stopped_ms = self.started.elapsed().as_millis() as u64;
            loop {
                let settled = {
                    let s = live.borrow_and_update();
                    s.elapsed_ms >= stopped_ms
                        && s.all_delivered()
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
        self.teardown().await;
        Ok(Report {
            setup: self.setup.clone(),
            summary,
            ran_ms,
            shutdown_ms: t.elapsed().as_millis() as u64,
            stopped_by: reason,
        })
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
        for r in &mut self.relays {
            r.stop();
        }
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

/// The devnet's working directory: given, or a fresh temporary one.
fn work_dir(given: Option<PathBuf>) -> Result<(PathBuf, bool), DevnetError> {
    let (dir, temp) = match given {
        Some(d) => (d, false),
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let name = format!("rlnkit-devnet-{}-{nanos}", std::process::id());
            (std::env::temp_dir().join(name), true)
        }
    };
    std::fs::create_dir_all(&dir).map_err(|source| DevnetError::Io {
        what: "creating",
        path: dir.clone(),
        source,
    })?;
    if !temp {
        clear_previous_run(&dir)?;
    }
    Ok((dir, temp))
}

/// Removes what an earlier devnet left in `dir` (and nothing else): a new chain starts from
/// block 0, so an old tree file or ready file would be wrong, and an old nullifier log would
/// take this run's first messages (same seeded identities, same epoch) for double signals.
fn clear_previous_run(dir: &Path) -> Result<(), DevnetError> {
    let entries = std::fs::read_dir(dir).map_err(|source| DevnetError::Io {
        what: "reading",
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = matches!(name.as_str(), "tree.redb" | "members.txt" | "lightpush-operator.json")
            || name.strip_prefix("relay-").is_some_and(|n| n.parse::<usize>().is_ok());
        if !ours {
            continue;
        }
        let path = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|source| DevnetError::Io { what: "removing", path, source })?;
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), DevnetError> {
    std::fs::write(path, bytes).map_err(|source| DevnetError::Io {
        what: "writing",
        path: path.to_path_buf(),
        source,
    })
}

/// Anvil accounts by role.
const DEPLOYER: usize = 0;
const PAYER: usize = 1;
const TREASURY: usize = 2;
const FIRST_OPERATOR: usize = 3;

async fn start(b: DevnetBuilder) -> Result<Devnet, DevnetError> {
    if b.relays == 0 || b.relays > MAX_RELAYS {
        return Err(DevnetError::RelayCount(b.relays));
    }
    if !b.rlnkit.exists() {
        return Err(DevnetError::NoBinary(b.rlnkit.clone()));
    }
    let t0 = Instant::now();
    let (dir, remove_dir) = work_dir(b.dir.clone())?;
    let keys = match &b.keys {
        Some(d) => CircuitKeys::load(d)?,
        None => CircuitKeys::embedded()?,
    };
    let prover = Prover::new(keys.clone());
    let prepare = {
        let p = prover.clone();
        tokio::task::spawn_blocking(move || p.prepare())
    };

    // The chain: anvil, the registry, the memberships.
    let accounts = (FIRST_OPERATOR + b.relays).max(10).to_string();
    let anvil = start_anvil(&b.anvil, &["--accounts", &accounts])?;
    let rpc = anvil.endpoint();
    let key = |i: usize| PrivateKeySigner::from(anvil.keys()[i].clone());
    let operators: Vec<PrivateKeySigner> = (0..b.relays).map(|i| key(FIRST_OPERATOR + i)).collect();
    tracing::info!(rpc = %rpc, "anvil started");
    let (writer, deployment) =
        deploy_registry(&rpc, key(DEPLOYER), Some(anvil.chain_id()), &DeployConfig::default())
            .await?;
    tracing::info!(registry = %deployment.registry, "registry deployed");
    let honest_id = Identity::from_seed(b"rlnkit devnet: honest publisher");
    let spammer_id = Identity::from_seed(b"rlnkit devnet: spammer");
    let operator_id = Identity::from_seed(b"rlnkit devnet: lightpush operator");
    let honest = writer.register(honest_id.commitment(), PUBLISHER_LIMIT, &[]).await?;
    let spam = writer.register(spammer_id.commitment(), SPAMMER_LIMIT, &[]).await?;
    writer.register(operator_id.commitment(), PUBLISHER_LIMIT, &[]).await?;
    let fillers: Vec<_> = (0..b.fillers)
        .map(|i| Identity::from_seed(format!("rlnkit devnet: member {i}").as_bytes()).commitment())
        .collect();
    writer.dev().register_many(&fillers, FILLER_LIMIT).await?;

    // The tree, synced from the registry's events; its paths must be the contract's.
    let reader: MembershipReader = writer.reader().clone();
    let mut sync =
        TreeSync::open(reader.clone(), dir.join("tree.redb"), SyncOptions::default()).await?;
    let synced = sync.sync(|_| {}).await?;
    let tree = sync.tree();
    let path_of = |index: u32| -> Result<_, DevnetError> { Ok(tree.proof(index as u64)?) };
    for index in [honest.index, spam.index] {
        if path_of(index)? != reader.merkle_proof(index).await? {
            return Err(DevnetError::PathMismatch { index });
        }
    }
    let members_file = dir.join("members.txt");
    let leaves: Vec<String> = (0..tree.next_index())
        .map(|i| tree.leaf(i).map(|l| l.to_hex()))
        .collect::<Result<_, _>>()?;
    write(&members_file, (leaves.join("\n") + "\n").as_bytes())?;
    let operator_file = dir.join("lightpush-operator.json");
    write(&operator_file, &serde_json::to_vec(&operator_id).expect("serializable"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&operator_file, std::fs::Permissions::from_mode(0o600));
    }
    let (honest_path, spam_path) = (path_of(honest.index)?, path_of(spam.index)?);
    let members = tree.next_index();
    tracing::info!(members, root = %synced.root.to_hex(), "memberships registered and synced");
    drop(sync);

    // Service credentials: the contract, the payer's tokens and its escrow for the operator of
    // the last relay (before that relay starts, so its claimer sees the deposit at once).
    let payer_key = key(PAYER);
    let lp_operator = operators[b.relays - 1].address();
    let credentials = CredentialsWriter::deploy(
        &rpc,
        key(DEPLOYER),
        CredentialsConfig {
            owner: key(DEPLOYER).address(),
            treasury: key(TREASURY).address(),
            fee_bps: 250,
            thaw_period: 3600,
            signer_thaw_period: 600,
        },
    )
    .await?;
    let deposit = b.price * U256::from(100_000u64);
    writer.dev().mint_test_tokens(deployment.token, payer_key.address(), deposit).await?;
    let payer_client =
        CredentialsWriter::connect(&rpc, payer_key.clone(), credentials.address(), None).await?;
    payer_client.deposit(lp_operator, deployment.token, deposit).await?;
    let received_before = reader.token_balance(deployment.token, lp_operator).await?;

    // The relays, each dialling up to three started before it.
    let topic = shard_topic(1, 0);
    let mut relays: Vec<RelayProcess> = Vec::with_capacity(b.relays);
    for i in 1..=b.relays {
        let rdir = dir.join(format!("relay-{i}"));
        let operator = &operators[i - 1];
        let mut args: Vec<String> = Vec::new();
        if let Some(k) = &b.keys {
            args.extend(["--keys".into(), k.display().to_string()]);
        }
        let s = |x: &str| x.to_string();
        args.extend([
            s("relay"),
            s("run"),
            s("--listen"),
            s("/ip4/127.0.0.1/tcp/0"),
            s("--contract"),
            deployment.registry.to_string(),
            s("--rpc"),
            rpc.clone(),
            s("--slash"),
            s("--reward-address"),
            operator.address().to_string(),
            s("--data-dir"),
            rdir.display().to_string(),
            s("--metrics-port"),
            s("0"),
            s("--ready-file"),
            RelaySpec::ready_file(&rdir).display().to_string(),
            s("--members"),
            members_file.display().to_string(),
        ]);
        for earlier in relays.iter().rev().take(DIALS_PER_RELAY) {
            args.extend([s("--peer"), earlier.dial_addr().to_string()]);
        }
        if i == b.relays {
            args.extend([
                s("--lightpush"),
                s("--price"),
                b.price.to_string(),
                s("--credentials"),
                credentials.address().to_string(),
                s("--price-token"),
                deployment.token.to_string(),
                s("--lightpush-identity"),
                operator_file.display().to_string(),
                s("--lightpush-limit"),
                PUBLISHER_LIMIT.to_string(),
                s("--claim-above"),
                b.price.to_string(),
            ]);
        }
        let env = vec![(s("RLNKIT_PRIVATE_KEY"), hex::encode(operator.to_bytes()))];
        tracing::info!(relay = i, "starting relay process");
        relays.push(
            RelayProcess::start(&b.rlnkit, RelaySpec { index: i, dir: rdir, args, env }).await?,
        );
    }
    let relay_infos: Vec<RelayInfo> = relays
        .iter()
        .map(|r| RelayInfo {
            index: r.index,
            peer_id: r.ready.peer_id.clone(),
            addr: r.dial_addr().to_string(),
            metrics: r.metrics_addr(),
            operator: operators[r.index - 1].address(),
            pid: r.pid(),
            lightpush: r.index == b.relays,
            log: r.log.clone(),
        })
        .collect();

    // The in-process traffic: the spammer enters at relay 1, the honest publisher at the last.
    let verifier = Verifier::new(keys.verifying_key());
    let roots =
        crate::chain::ContractRoots::polling(reader.clone(), Duration::from_secs(2)).await?;
    let entry = |r: &RelayProcess| vec![r.dial_addr().clone()];
    let node = |peers| {
        RelayBuilder::new(verifier.clone(), roots.clone())
            .listen(["/ip4/127.0.0.1/tcp/0".parse().expect("a multiaddr")])
            .topics([topic.clone()])
            .heartbeat(Duration::from_millis(200))
            .bootstrap_peers(peers)
            .start()
    };
    let spammer_node = node(entry(&relays[0])).await?;
    let honest_node = node(entry(&relays[b.relays - 1])).await?;
    let wait = Duration::from_secs(20);
    for (who, n) in [("spammer", &spammer_node), ("honest publisher", &honest_node)] {
        if !n.node().wait_for_mesh(&topic, 1, wait).await? {
            return Err(DevnetError::NoMesh { who, waited: wait });
        }
    }
    let terms = payer_client.service(lp_operator, LIGHTPUSH_SERVICE_ID).await?;
    let stream = PaymentStream::new(terms, payer_key.address(), payer_key.clone(), U256::ZERO);
    let lp_client = LightpushClient::spawn()?;
    let _ = prepare.await;

    let setup = Setup {
        dir: dir.clone(),
        rpc: rpc.clone(),
        chain_id: anvil.chain_id(),
        anvil_pid: anvil.child().id(),
        registry: deployment.registry,
        token: deployment.token,
        credentials: credentials.address(),
        members,
        root: synced.root,
        topic: topic.clone(),
        relays: relay_infos,
        honest_index: honest.index,
        spammer_index: spam.index,
        spammer: spammer_id.commitment(),
        payer: payer_key.address(),
        price: b.price,
        startup_ms: t0.elapsed().as_millis() as u64,
    };
    let counters: SharedCounters = Arc::new(Mutex::new(traffic::Counters::default()));
    let (stop, stop_rx) = watch::channel(false);
    let (summary_tx, summary) = watch::channel(Summary::default());
    let started = Instant::now();
    let limit = |n: u32| UserMessageLimit::new(n as u64);
    let traffic = vec![
        tokio::spawn(traffic::honest(
            Publisher::new(prover.clone(), honest_id, limit(PUBLISHER_LIMIT)?, honest_path),
            honest_node.node().clone(),
            topic.clone(),
            b.publish_every,
            counters.clone(),
            stop_rx.clone(),
        )),
        tokio::spawn(traffic::spammer(
            Publisher::new(prover, spammer_id, limit(SPAMMER_LIMIT)?, spam_path),
            spammer_node.node().clone(),
            topic.clone(),
            b.spam_after,
            counters.clone(),
            stop_rx.clone(),
        )),
        tokio::spawn(traffic::payer(
            lp_client,
            relays[b.relays - 1].dial_addr().clone(),
            stream,
            topic,
            b.push_every,
            counters.clone(),
            stop_rx,
        )),
    ];
    let observer = Observer {
        metrics: relays.iter().map(|r| r.metrics_addr()).collect(),
        operators: operators.iter().map(|o| o.address()).collect(),
        reader,
        credentials: credentials.reader().clone(),
        token: deployment.token,
        payer: payer_key.address(),
        lp_operator,
        received_before,
        spammer: setup.spammer,
        from_block: deployment.deployed_block,
        counters,
        started,
    };
    let observer = tokio::spawn(observer.run(summary_tx));
    tracing::info!(startup_ms = setup.startup_ms, "devnet running");
    Ok(Devnet {
        setup,
        summary,
        stop,
        traffic,
        observer: Some(observer),
        nodes: vec![spammer_node, honest_node],
        relays,
        anvil: Some(anvil),
        remove_dir,
        started,
    })
}

/// Reads the relays' metrics and the chain into snapshots.
struct Observer {
    metrics: Vec<Option<SocketAddr>>,
    operators: Vec<Address>,
    reader: MembershipReader,
    credentials: CredentialsReader,
    token: Address,
    payer: Address,
    lp_operator: Address,
    received_before: U256,
    spammer: crate::field::Field,
    from_block: u64,
    counters: SharedCounters,
    started: Instant,
}

impl Observer {
    async fn run(self, tx: watch::Sender<Summary>) {
        let mut last = Summary::default();
        loop {
            let next = self.observe(&last).await;
            last = next.clone();
            if tx.send(next).is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn observe(&self, last: &Summary) -> Summary {
        // The time first: a snapshot stamped after the traffic stopped has its final counts.
        let elapsed_ms = self.started.elapsed().as_millis() as u64;
        let c = lock(&self.counters).clone();
        let mut s = Summary {
            elapsed_ms,
            honest_published: c.honest_published,
            honest_held_back: c.honest_held_back,
            spam_sent: c.spam_sent,
            slash: last.slash.clone(),
            block: last.block,
            payments: PaymentSummary {
                pushes_ok: c.pushes_ok,
                pushes_failed: c.pushes_failed,
                paid: c.paid,
                ..last.payments.clone()
            },
            relays: Vec::with_capacity(self.metrics.len()),
        };
        // Every relay accepts each of these once (the lightpush relay judges its own publishes
        // like any other message).
        let published = c.honest_published + c.spam_sent.min(1) + c.pushes_ok;
        for (i, addr) in self.metrics.iter().enumerate() {
            let index = i + 1;
            let mut r = RelaySummary { index, expected: published, ..Default::default() };
            if let Some(m) = match addr {
                Some(a) => process::scrape(*a).await,
                None => None,
            } {
                r.up = true;
                r.peers = m.get("rlnkit_relay_peers");
                r.valid = m.get("waku_rln_valid_messages_total");
                r.invalid = m.get("waku_rln_invalid_messages_total");
                r.spam = m.get("waku_rln_spam_messages_total");
            }
            s.relays.push(r);
        }
        if let Ok(b) = self.reader.block_number().await {
            s.block = b;
        }
        if s.slash.is_none() && c.spam_sent > 1 {
            if let Ok(slashes) = self.reader.slashes(self.from_block, None).await {
                if let Some(x) = slashes.into_iter().find(|x| x.id_commitment == self.spammer) {
                    let withdrawable =
                        self.reader.withdrawable(x.reward_receiver, self.token).await;
                    s.slash = Some(SlashSummary {
                        catcher: self
                            .operators
                            .iter()
                            .position(|o| *o == x.reward_receiver)
                            .map(|i| i + 1),
                        reward_receiver: x.reward_receiver,
                        reward: x.reward,
                        withdrawable: withdrawable.unwrap_or_default(),
                        treasury_amount: x.treasury_amount,
                        tx: x.tx,
                        block: x.block,
                    });
                }
            }
        }
        if let Ok(e) = self.credentials.escrow(self.payer, self.lp_operator, self.token).await {
            s.payments.collected = e.collected;
        }
        if let Ok(b) = self.reader.token_balance(self.token, self.lp_operator).await {
            s.payments.operator_received = b.saturating_sub(self.received_before);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::clear_previous_run;

    #[test]
    fn a_reused_dir_loses_the_previous_run_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join("relay-1")).unwrap();
        std::fs::write(d.join("relay-1/ready.json"), "{}").unwrap();
        std::fs::create_dir_all(d.join("relay-notes")).unwrap();
        for f in ["tree.redb", "members.txt", "lightpush-operator.json", "keep.txt"] {
            std::fs::write(d.join(f), "x").unwrap();
        }
        clear_previous_run(d).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["keep.txt", "relay-notes"]);
    }
}
