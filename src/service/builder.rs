//! [`RelayBuilder`]: a rate-limited Waku relay assembled from its parts (the roots it accepts,
//! its data directory, the topics, metrics, slashing, lightpush and its claimer, listen
//! addresses and bootstrap peers) and started as one [`Relay`] handle. The CLI's `relay run`
//! (through [`RelayBuilder::from_config`]), the devnet and a library user plugging the relay into
//! their own node all start it this way.
//!
//! Nothing is global: every relay owns its validator, log, metrics registry and tasks, so one
//! process can run many (tests, simulations). The relay owns its claimer: it stops with the
//! relay and claims what was served on the way out.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use libp2p::identity::Keypair;
use libp2p::Multiaddr;
use tokio::sync::{mpsc, oneshot};

use super::data_dir::{DataDir, DataDirError};
use crate::credentials::{ClaimReceipt, Claimer};
use crate::epoch::RlnIdentifier;
use crate::incentives::{
    slash_spammers, JournalError, SlashBackend, SlashConfig, SlashJournal, SlashOutcome,
};
use crate::lightpush::LightpushServer;
use crate::relay::batch::BatchConfig;
use crate::relay::metrics::{self, RelayMetrics};
use crate::relay::node::{spawn_node, ConnectionLimits, NodeConfig, NodeError, NodeHandle};
use crate::relay::nullifier_log::{LogError, NullifierLog};
use crate::relay::rules::ValidatorConfig;
use crate::relay::scoring::ScoringConfig;
use crate::relay::transport::TransportConfig;
use crate::relay::validator::{SpamEvent, Validator};
use crate::roots::AcceptedRoots;
use crate::verifier::Verifier;

/// Why a relay did not start.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The nullifier log's directory or file could not be created or opened.
    #[error("nullifier log {path}: {source}")]
    NullifierLog {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: LogError,
    },
    /// The data directory or its node key failed.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The slash journal in the data directory is unreadable.
    #[error(transparent)]
    SlashJournal(#[from] JournalError),
    /// The libp2p node did not start.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The metrics server could not bind its address.
    #[error("metrics server on {addr}: {source}")]
    Metrics {
        /// The address.
        addr: SocketAddr,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
}

/// Where the nullifier log lives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NullifierLogLocation {
    /// In memory only (lost on restart, like nwaku's).
    #[default]
    Memory,
    /// `nullifiers.redb` in this directory (created if needed), kept across restarts.
    Dir(PathBuf),
}

/// Assembles a relay. Required: the verifier (the circuit's verifying key) and the roots accepted;
/// everything else has a default (memory log, any topic, Waku's rln identifier and epoch, listen on
/// `/ip4/0.0.0.0/tcp/60000`, no peers, no metrics server, no slashing).
pub struct RelayBuilder {
    verifier: Verifier,
    roots: Arc<dyn AcceptedRoots>,
    validator: ValidatorConfig,
    log: NullifierLogLocation,
    node: NodeConfig,
    metrics: Option<Arc<RelayMetrics>>,
    metrics_server: Option<SocketAddr>,
    memberships: Option<u64>,
    slashing: Option<(Arc<dyn SlashBackend>, SlashConfig)>,
    data_dir: Option<PathBuf>,
    lightpush: Option<LightpushServer>,
    claimer: Option<Claimer>,
}

impl std::fmt::Debug for RelayBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayBuilder")
            .field("validator", &self.validator)
            .field("log", &self.log)
            .field("node", &self.node)
            .field("metrics_server", &self.metrics_server)
            .field("slashing", &self.slashing.is_some())
            .finish_non_exhaustive()
    }
}

impl RelayBuilder {
    /// A relay that verifies proofs with `verifier` against `roots`.
    pub fn new(verifier: Verifier, roots: Arc<dyn AcceptedRoots>) -> Self {
        RelayBuilder {
            verifier,
            roots,
            validator: ValidatorConfig::default(),
            log: NullifierLogLocation::Memory,
            node: NodeConfig::default(),
            metrics: None,
            metrics_server: None,
            memberships: None,
            slashing: None,
            data_dir: None,
            lightpush: None,
            claimer: None,
        }
    }

    /// Keeps the relay's state in `dir` across restarts: the node key (same peer id), the
    /// nullifier log ([`DataDir`] names the files).
    pub fn data_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.data_dir = Some(dir.as_ref().to_path_buf());
        self.log = NullifierLogLocation::Dir(dir.as_ref().to_path_buf());
        self
    }

    /// The pubsub topics to subscribe to and serve (messages on others are rejected). Default:
    /// none subscribed, any accepted.
    pub fn topics(mut self, topics: impl IntoIterator<Item = String>) -> Self {
        let topics: Vec<String> = topics.into_iter().collect();
        self.validator.pubsub_topics = topics.clone();
        self.node.topics = topics;
        self
    }

    /// The network's parameters (rln identifier, epoch length, clock skew, size limit). Its
    /// `pubsub_topics` are replaced by [`Self::topics`] if that is called after.
    pub fn validator_config(mut self, config: ValidatorConfig) -> Self {
        self.validator = config;
        self
    }

    /// The only RLN identifier accepted (default: the Waku network's).
    pub fn rln_identifier(mut self, id: RlnIdentifier) -> Self {
        self.validator.rln_identifier = id;
        self
    }

    /// The epoch length in seconds (default 600).
    pub fn epoch_seconds(mut self, seconds: u64) -> Self {
        self.validator.epoch_seconds = seconds;
        self
    }

    /// Where the nullifier log lives (default: memory).
    pub fn nullifier_log(mut self, location: NullifierLogLocation) -> Self {
        self.log = location;
        self
    }

    /// Addresses to listen on (default `/ip4/0.0.0.0/tcp/60000`; `/tcp/0` picks a free port).
    pub fn listen(mut self, addrs: impl IntoIterator<Item = Multiaddr>) -> Self {
        self.node.listen = addrs.into_iter().collect();
        self
    }

    /// Peers to dial at start.
    pub fn bootstrap_peers(mut self, addrs: impl IntoIterator<Item = Multiaddr>) -> Self {
        self.node.peers = addrs.into_iter().collect();
        self
    }

    /// The node's libp2p key (default: the data directory's, else a fresh ed25519 key).
    pub fn keypair(mut self, keypair: Keypair) -> Self {
        self.node.keypair = Some(keypair);
        self
    }

    /// Gossipsub's heartbeat interval (default 1 s, as nwaku).
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.node.heartbeat = every;
        self
    }

    /// How pairings are batched.
    pub fn batching(mut self, batch: BatchConfig) -> Self {
        self.node.batch = batch;
        self
    }

    /// Peer scoring (default [`ScoringConfig::waku`]: nwaku's parameters, graylisted peers
    /// disconnected; use [`ScoringConfig::loopback`] when every node shares one IP).
    pub fn scoring(mut self, scoring: ScoringConfig) -> Self {
        self.node.scoring = scoring;
        self
    }

    /// Connection limits per peer and in total (default [`ConnectionLimits::default`]).
    pub fn connection_limits(mut self, limits: ConnectionLimits) -> Self {
        self.node.limits = limits;
        self
    }

    /// TCP (default) or the in-process memory transport, with an optional emulated latency.
    pub fn transport(mut self, transport: TransportConfig) -> Self {
        self.node.transport = transport;
        self
    }

    /// Capacity of the node's delivered / validated event channels (default 4,096).
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.node.event_capacity = capacity;
        self
    }

    /// Counts into these metrics (default: a registry of the relay's own).
    pub fn metrics(mut self, metrics: Arc<RelayMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Serves `/metrics` and `/health` on this address (default: no server; port 0 picks one).
    pub fn metrics_server(mut self, addr: SocketAddr) -> Self {
        self.metrics_server = Some(addr);
        self
    }

    /// The number of registered memberships to report (`waku_rln_number_registered_memberships`).
    pub fn memberships(mut self, n: u64) -> Self {
        self.memberships = Some(n);
        self
    }

    /// Slashes every double signaller through `backend` (commit, then reveal), once per member;
    /// outcomes come from [`Relay::slash_outcomes`].
    pub fn slashing(mut self, backend: Arc<dyn SlashBackend>, config: SlashConfig) -> Self {
        self.slashing = Some((backend, config));
        self
    }

    /// Serves lightpush v3 (`/vac/waku/lightpush/3.0.0`) with `server` (paid or free) beside the
    /// relay; its metrics are served with the relay's. A double signal of the membership it
    /// proves with is never slashed by this relay.
    pub fn lightpush(mut self, server: LightpushServer) -> Self {
        self.lightpush = Some(server);
        self
    }

    /// Runs the paid service's claimer while the relay runs; [`Relay::shutdown`] stops it after
    /// one last claim of everything served.
    pub fn claimer(mut self, claimer: Claimer) -> Self {
        self.claimer = Some(claimer);
        self
    }

    /// Opens the log, starts the node (listening, dialling, subscribed), the metrics server and
    /// the slasher on the current tokio runtime.
    pub async fn start(mut self) -> Result<Relay, RelayError> {
        if let (None, Some(dir)) = (&self.node.keypair, &self.data_dir) {
            self.node.keypair = Some(DataDir::open(dir)?.node_key()?);
        }
        let log = match &self.log {
            NullifierLogLocation::Memory => NullifierLog::in_memory(),
            NullifierLogLocation::Dir(dir) => {
                let path = DataDir::open(dir)?.nullifier_log();
                NullifierLog::open(&path)
                    .map_err(|source| RelayError::NullifierLog { path, source })?
            }
        };
        let lightpush = self.lightpush.take().map(|server| {
            let (service, requests) = LightpushServer::service();
            self.node.service = Some(service);
            (Arc::new(server), requests)
        });
        let metrics = self.metrics.unwrap_or_default();
        if let Some(n) = self.memberships {
            metrics.memberships.set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        if let Some((server, _)) = &lightpush {
            metrics.add_registry(server.metrics().registry());
        }
        let validator = Arc::new(
            Validator::new(self.validator, self.verifier, self.roots, log)
                .with_metrics(metrics.clone()),
        );
        let mut tasks = Vec::new();
        let own = lightpush.as_ref().and_then(|(s, _)| s.operator_member());
        // In the data directory, the slashes a crash interrupted are resumed at start.
        let journal = match (&self.slashing, &self.data_dir) {
            (Some(_), Some(dir)) => {
                Some(Arc::new(SlashJournal::open(DataDir::open(dir)?.slash_journal())?))
            }
            _ => None,
        };
        let slash_outcomes = self.slashing.map(|(backend, mut config)| {
            if let Some(member) = own {
                config = config.spare(member);
            }
            if let Some(j) = journal {
                config.journal = j;
            }
            let (task, outcomes) = slash_spammers(backend, config, validator.subscribe_spam());
            tasks.push(task);
            outcomes
        });
        let node = spawn_node(self.node, validator.clone()).await?;
        if let Some((server, requests)) = lightpush {
            tasks.push(server.spawn(node.clone(), requests));
        }
        let claimer = self.claimer.map(|c| {
            let (stop, stopped) = oneshot::channel();
            (stop, tokio::spawn(c.run_until(stopped)))
        });
        let metrics_addr = match self.metrics_server {
            None => None,
            Some(addr) => {
                let m = metrics.clone();
                let health = Arc::new(
                    move || serde_json::json!({ "status": "ok", "peers": m.peers.get(), "messages": m.messages.get() }),
                );
                let (bound, task) = metrics::serve(addr, metrics.clone(), health)
                    .await
                    .map_err(|source| RelayError::Metrics { addr, source })?;
                tasks.push(task);
                Some(bound)
            }
        };
        Ok(Relay { node, validator, metrics_addr, slash_outcomes, tasks, claimer })
    }
}

/// A running relay: its node, validator and background tasks. Dropping it stops the metrics
/// server and the slasher; [`Relay::shutdown`] also stops the node.
#[derive(Debug)]
pub struct Relay {
    node: NodeHandle,
    validator: Arc<Validator>,
    metrics_addr: Option<SocketAddr>,
    slash_outcomes: Option<mpsc::UnboundedReceiver<SlashOutcome>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Stops the claimer (which then claims once more) and its task.
    claimer: Option<(oneshot::Sender<()>, tokio::task::JoinHandle<Option<ClaimReceipt>>)>,
}

impl Relay {
    /// The libp2p node (publish, subscribe, dial, delivered messages, verdicts).
    pub fn node(&self) -> &NodeHandle {
        &self.node
    }

    /// The validator (its config, roots, spam events).
    pub fn validator(&self) -> &Arc<Validator> {
        &self.validator
    }

    /// The relay's metrics.
    pub fn metrics(&self) -> &Arc<RelayMetrics> {
        self.validator.metrics()
    }

    /// Where `/metrics` and `/health` are served (if asked for).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Verified double signals, as they are found (each call subscribes anew).
    pub fn spam_events(&self) -> mpsc::UnboundedReceiver<SpamEvent> {
        self.validator.subscribe_spam()
    }

    /// The slasher's outcomes, one per slashed member (only with [`RelayBuilder::slashing`];
    /// the first call takes the stream).
    pub fn slash_outcomes(&mut self) -> Option<mpsc::UnboundedReceiver<SlashOutcome>> {
        self.slash_outcomes.take()
    }

    /// Stops the node and the relay's tasks; with a claimer, waits for its last claim of
    /// everything served (its receipt, if anything was left to claim).
    pub async fn shutdown(mut self) -> Option<ClaimReceipt> {
        self.node.shutdown().await;
        let (stop, task) = self.claimer.take()?;
        let _ = stop.send(());
        task.await.ok().flatten()
    }
}

impl Drop for Relay {
    /// Stops the relay's tasks. A claimer left running sees its stop signal dropped and makes
    /// its last claim on its own (while the runtime lives).
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
