//! The relay node: rust-libp2p (TCP + noise + yamux, identify, ping, gossipsub as Waku relay) on
//! tokio. Wiring only, no rule of its own: every gossipsub message goes to the
//! [`BatchValidator`], and its verdict is reported back to gossipsub (Accept forwards, Reject
//! penalizes, Ignore drops); an accepted message is delivered as the validator decoded it.
//! Most users start a node through [`RelayBuilder`](crate::service::RelayBuilder), which also wires the
//! roots, the nullifier log, metrics and slashing; [`spawn_node`] is the bare node.
//!
//! Peers are scored with the Waku network's parameters ([`crate::relay::scoring`]); graylisted
//! peers are disconnected, and a double signal's second share penalizes only the peer that sent
//! both halves ([`FirstShares`]). Connections are limited per peer and in total
//! ([`ConnectionLimits`]). The transport is TCP or in-memory ([`crate::relay::transport`]).
//! Bootstrap peers are kept connected: redialled with a backoff after a restart or a cut link
//! ([`crate::relay::peers`]).
//!
//! One task owns the `Swarm`; a cloneable [`NodeHandle`] sends it commands (mpsc in, oneshot
//! back). Validation runs on other tasks (pairings on blocking threads) and reports by channel,
//! so the swarm never waits for a pairing.
//!
//! A request-response service beside the relay (lightpush) is hosted without the node knowing
//! its format: requests go out on the service's channel and answers come back through
//! [`NodeHandle::respond`] ([`crate::relay::framed`]).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::gossipsub::{
    self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, ValidationMode,
};
use libp2p::request_response;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::SwarmEvent;
use libp2p::{connection_limits, identify, identity::Keypair, ping, Multiaddr, PeerId, Swarm};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::relay::batch::{BatchConfig, BatchValidator};
use crate::relay::framed::{self, InboundRequest, RequestService, Responder};
use crate::relay::intake::{Intake, Work};
use crate::relay::message::{gossip_id, WakuMessage, MAX_MESSAGE_BYTES};
use crate::relay::peers::StaticPeers;
use crate::relay::rules::{IgnoreReason, Verdict};
use crate::relay::scoring::{self, share_key, FirstShares, ScoringConfig, GRAYLIST_THRESHOLD};
use crate::relay::transport::{build_transport, Traffic, TransportConfig};
use crate::relay::validator::Validator;

/// The Waku relay protocol id (gossipsub v1.1 under Waku's name).
pub const RELAY_PROTOCOL: &str = "/vac/waku/relay/2.0.0";

/// Errors of the node. A publish that did not happen says why in its own variant
/// ([`Self::NoPeers`], [`Self::Duplicate`], [`Self::TooLarge`], [`Self::QueuesFull`],
/// [`Self::NotValid`], [`Self::Stopped`]), so callers branch on the cause, never on text.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// libp2p refused the transport or behaviour configuration.
    #[error("cannot build the libp2p transport or behaviour")]
    Setup(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// libp2p's error.
        #[source]
        source: libp2p::TransportError<std::io::Error>,
    },
    /// A peer address could not be dialled.
    #[error("cannot dial {addr}")]
    Dial {
        /// The address.
        addr: Multiaddr,
        /// libp2p's error.
        #[source]
        source: Box<libp2p::swarm::DialError>,
    },
    /// Gossipsub refused the subscription.
    #[error("cannot subscribe to {topic}")]
    Subscribe {
        /// The pubsub topic.
        topic: String,
        /// gossipsub's error.
        #[source]
        source: gossipsub::SubscriptionError,
    },
    /// No peer subscribed to the topic: the message went nowhere.
    #[error("no peer to publish to on {topic}")]
    NoPeers {
        /// The pubsub topic.
        topic: String,
    },
    /// Gossipsub has published these bytes already.
    #[error("the message was already published")]
    Duplicate,
    /// The message is above gossipsub's size limit.
    #[error("the message is above the size limit")]
    TooLarge,
    /// Every peer's send queue is full (the node is overloaded).
    #[error("every peer's send queue is full ({peers} peers)")]
    QueuesFull {
        /// Peers tried.
        peers: usize,
    },
    /// The node's own validator does not accept the message (its peers would penalize the node
    /// for it), so it was not published.
    #[error("not published: this node's validator judges the message {0:?}")]
    NotValid(Verdict),
    /// The node's task has stopped.
    #[error("the node has stopped")]
    Stopped,
}

pub use behaviour::{RelayBehaviour, RelayBehaviourEvent};

mod behaviour {
    // libp2p's `NetworkBehaviour` derive generates `RelayBehaviourEvent`, one undocumented
    // variant per field; this module exists only to scope the allow to that generated enum.
    #![allow(missing_docs)]

    use libp2p::swarm::behaviour::toggle::Toggle;
    use libp2p::swarm::NetworkBehaviour;
    use libp2p::{connection_limits, gossipsub, identify, ping, request_response};

    use crate::relay::framed::FramedCodec;

    /// The node's libp2p behaviours.
    #[derive(NetworkBehaviour)]
    pub struct RelayBehaviour {
        /// Waku relay (gossipsub v1.1 under `/vac/waku/relay/2.0.0`).
        pub gossipsub: gossipsub::Behaviour,
        /// libp2p identify.
        pub identify: identify::Behaviour,
        /// libp2p ping.
        pub ping: ping::Behaviour,
        /// A hosted request-response service, e.g. lightpush (on when
        /// [`NodeConfig::service`](super::NodeConfig::service) is set).
        pub service: Toggle<request_response::Behaviour<FramedCodec>>,
        /// Connection limits per peer and in total.
        pub limits: connection_limits::Behaviour,
    }
}

/// Connection limits (pending handshakes and established connections, per peer and in total).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Established connections to one peer.
    pub per_peer: u32,
    /// Established connections in total.
    pub total: u32,
    /// Incoming connections still in their handshake.
    pub pending_incoming: u32,
}

impl Default for ConnectionLimits {
    /// Two connections per peer (a simultaneous dial), 300 in total (nwaku's default
    /// `maxConnections` is 50 for a desktop node; a relay serving a shard takes more), 64
    /// handshakes at once.
    fn default() -> Self {
        ConnectionLimits { per_peer: 2, total: 300, pending_incoming: 64 }
    }
}

impl ConnectionLimits {
    fn behaviour(self) -> connection_limits::Behaviour {
        connection_limits::Behaviour::new(
            connection_limits::ConnectionLimits::default()
                .with_max_established_per_peer(Some(self.per_peer))
                .with_max_established(Some(self.total))
                .with_max_pending_incoming(Some(self.pending_incoming)),
        )
    }
}

/// What a node is started with.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start (bootstrap). Those whose address ends in `/p2p/<id>` are kept
    /// connected: redialled after a lost connection or a failed dial (see
    /// [`StaticPeers`]).
    pub peers: Vec<Multiaddr>,
    /// Pubsub topics to subscribe to at start.
    pub topics: Vec<String>,
    /// The node's libp2p key (default: a fresh ed25519 key).
    pub keypair: Option<Keypair>,
    /// Gossipsub heartbeat interval.
    pub heartbeat: Duration,
    /// How the validator batches pairings.
    pub batch: BatchConfig,
    /// A request-response service to host beside the relay (lightpush: see
    /// [`crate::lightpush::LightpushServer::spawn`]).
    pub service: Option<RequestService>,
    /// Peer scoring (default: the Waku network's, IP colocation on).
    pub scoring: ScoringConfig,
    /// Connection limits per peer and in total.
    pub limits: ConnectionLimits,
    /// TCP (default) or in-memory, with an optional emulated link latency.
    pub transport: TransportConfig,
    /// Capacity of the delivered / validated event channels (each preallocates its slots: small
    /// values keep a thousand nodes in one process light; slow subscribers lose the oldest).
    pub event_capacity: usize,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            listen: vec!["/ip4/0.0.0.0/tcp/60000".parse().expect("a multiaddr")],
            peers: Vec::new(),
            topics: Vec::new(),
            keypair: None,
            heartbeat: Duration::from_secs(1),
            batch: BatchConfig::default(),
            service: None,
            scoring: ScoringConfig::default(),
            limits: ConnectionLimits::default(),
            transport: TransportConfig::default(),
            event_capacity: 4096,
        }
    }
}

/// A message the validator accepted, delivered to the local application.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The pubsub topic it came on.
    pub pubsub_topic: String,
    /// The message, as the validator decoded it.
    pub message: WakuMessage,
    /// Its deterministic message hash.
    pub message_hash: [u8; 32],
    /// The peer that forwarded it to us.
    pub from: PeerId,
}

/// One validation outcome (for observers: tests, the demo, logs).
#[derive(Debug, Clone)]
pub struct Validated {
    /// sha256 of the encoded message (the gossipsub message id, see
    /// [`gossip_id`]).
    pub gossip_id: [u8; 32],
    /// The pubsub topic it came on.
    pub pubsub_topic: String,
    /// The peer that forwarded it.
    pub from: PeerId,
    /// The validator's verdict.
    pub verdict: Verdict,
}

/// A peer this node disconnected because its score fell below the graylist threshold.
#[derive(Debug, Clone)]
pub struct Graylisted {
    /// The peer.
    pub peer: PeerId,
    /// Its score when it was disconnected.
    pub score: f64,
}

enum Command {
    Publish { topic: String, bytes: Vec<u8>, reply: oneshot::Sender<Result<[u8; 32], NodeError>> },
    Subscribe { topic: String, reply: oneshot::Sender<Result<(), NodeError>> },
    Dial { addr: Multiaddr, reply: oneshot::Sender<Result<(), NodeError>> },
    Peers { reply: oneshot::Sender<Vec<PeerId>> },
    MeshPeers { topic: String, reply: oneshot::Sender<Vec<PeerId>> },
    ListenAddrs { reply: oneshot::Sender<Vec<Multiaddr>> },
    Score { peer: PeerId, reply: oneshot::Sender<Option<f64>> },
    Respond { responder: Responder, bytes: Vec<u8> },
    Shutdown,
}

/// A handle to a running node (cheap to clone).
#[derive(Clone)]
pub struct NodeHandle {
    tx: mpsc::Sender<Command>,
    peer_id: PeerId,
    delivered: broadcast::Sender<Delivered>,
    validated: broadcast::Sender<Validated>,
    graylisted: broadcast::Sender<Graylisted>,
    disconnected: broadcast::Sender<PeerId>,
    validator: Arc<Validator>,
    traffic: Arc<Traffic>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle").field("peer_id", &self.peer_id).finish()
    }
}

/// Gossipsub as nwaku runs it (SPEC §10): D 6/4/8, D_out 3, flood publish, gossip factor 0.25,
/// history 6/3, fanout TTL 1 min, seen TTL 2 min, prune backoff 1 min, unsubscribe backoff 5 s.
///
/// IDONTWANT (gossipsub v1.2) is configured (sent for messages of 1,000 bytes or more, also after
/// our own publish) but rust-libp2p 0.57 sends it only to peers that negotiated a v1.2 protocol
/// id, and a custom id such as `/vac/waku/relay/2.0.0` can only be declared v1.0 or v1.1: on the
/// Waku protocol no IDONTWANT is exchanged until gossipsub lets a custom id be v1.2.
fn gossipsub_config(heartbeat: Duration) -> Result<gossipsub::Config, NodeError> {
    gossipsub::ConfigBuilder::default()
        .protocol_id(RELAY_PROTOCOL, gossipsub::Version::V1_1)
        .mesh_n(6)
        .mesh_n_low(4)
        .mesh_n_high(8)
        .mesh_outbound_min(3)
        .gossip_lazy(6)
        .gossip_factor(0.25)
        .history_length(6)
        .history_gossip(3)
        .fanout_ttl(Duration::from_secs(60))
        .duplicate_cache_time(Duration::from_secs(120))
        .prune_backoff(Duration::from_secs(60))
        .unsubscribe_backoff(Duration::from_secs(5))
        .flood_publish(true)
        .idontwant_message_size_threshold(1000)
        .idontwant_on_publish(true)
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| MessageId::from(gossip_id(&m.data).to_vec()))
        .max_transmit_size(MAX_MESSAGE_BYTES)
        .heartbeat_interval(heartbeat)
        .heartbeat_initial_delay(Duration::from_millis(100))
        .build()
        .map_err(|e| NodeError::Setup(e.into()))
}

/// Builds the swarm, listens, dials the peers, subscribes, and spawns the task that owns the
/// swarm (on the current tokio runtime). Every received message is judged by `validator`.
pub async fn spawn_node(
    config: NodeConfig,
    validator: Arc<Validator>,
) -> Result<NodeHandle, NodeError> {
    let keypair = config.keypair.clone().unwrap_or_else(Keypair::generate_ed25519);
    let gs_config = gossipsub_config(config.heartbeat)?;
    let traffic = Arc::new(Traffic::default());
    let transport = build_transport(&keypair, config.transport, traffic.clone())
        .map_err(|e| NodeError::Setup(e.into()))?;
    let topic_hashes: Vec<_> = config.topics.iter().map(|t| IdentTopic::new(t).hash()).collect();
    let scoring_config = config.scoring.clone();
    let limits = config.limits.behaviour();
    let mut swarm: Swarm<RelayBehaviour> = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_other_transport(|_| transport)
        .map_err(|e| NodeError::Setup(e.into()))?
        .with_behaviour(|key| {
            let mut gossipsub =
                gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gs_config)
                    .map_err(Box::<dyn std::error::Error + Send + Sync>::from)?;
            if scoring_config.enabled {
                gossipsub.with_peer_score(
                    scoring::peer_score_params(&scoring_config, &topic_hashes),
                    scoring::peer_score_thresholds(),
                )?;
            }
            let identify = identify::Behaviour::new(
                identify::Config::new("/vac/waku/2.0.0".into(), key.public())
                    .with_agent_version(format!("rlnkit/{}", env!("CARGO_PKG_VERSION"))),
            );
            let ping = ping::Behaviour::new(ping::Config::new());
            let service = Toggle::from(
                config
                    .service
                    .as_ref()
                    .map(|s| framed::behaviour(s.protocol, true, Duration::from_secs(30))),
            );
            Ok(RelayBehaviour { gossipsub, identify, ping, service, limits })
        })
        .map_err(|e| NodeError::Setup(e.into()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    for addr in &config.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|source| NodeError::Listen { addr: addr.clone(), source })?;
    }
    for topic in &config.topics {
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&IdentTopic::new(topic))
            .map_err(|source| NodeError::Subscribe { topic: topic.clone(), source })?;
    }
    for addr in &config.peers {
        swarm
            .dial(addr.clone())
            .map_err(|e| NodeError::Dial { addr: addr.clone(), source: Box::new(e) })?;
    }
    let peer_id = *swarm.local_peer_id();
    let (tx, rx) = mpsc::channel(256);
    let capacity = config.event_capacity.max(1);
    let (delivered, _) = broadcast::channel(capacity);
    let (validated, _) = broadcast::channel(capacity);
    let (graylisted, _) = broadcast::channel(capacity.min(256));
    let (disconnected, _) = broadcast::channel(capacity.min(256));
    let batch = BatchValidator::spawn(validator.clone(), config.batch);
    let handle = NodeHandle {
        tx,
        peer_id,
        delivered: delivered.clone(),
        validated: validated.clone(),
        graylisted: graylisted.clone(),
        disconnected: disconnected.clone(),
        validator: validator.clone(),
        traffic,
    };
    let outputs = Outputs { delivered, validated, graylisted, disconnected };
    let keep = StaticPeers::new(&config.peers, tokio::time::Instant::now());
    tokio::spawn(run(swarm, rx, batch, outputs, config.scoring, config.service, keep));
    Ok(handle)
}

/// Where the swarm task sends what it sees.
struct Outputs {
    delivered: broadcast::Sender<Delivered>,
    validated: broadcast::Sender<Validated>,
    graylisted: broadcast::Sender<Graylisted>,
    disconnected: broadcast::Sender<PeerId>,
}

/// Disconnects `peer` if its score is below the graylist threshold.
fn drop_if_graylisted(
    swarm: &mut Swarm<RelayBehaviour>,
    peer: &PeerId,
    graylisted: &broadcast::Sender<Graylisted>,
) {
    let Some(score) = swarm.behaviour().gossipsub.peer_score(peer) else { return };
    if score < GRAYLIST_THRESHOLD && swarm.is_connected(peer) {
        tracing::info!(%peer, score, "graylisted peer disconnected");
        let _ = swarm.disconnect_peer_id(*peer);
        let _ = graylisted.send(Graylisted { peer: *peer, score });
    }
}

/// Dials the static peers that are due (see [`StaticPeers`]).
fn redial_static_peers(swarm: &mut Swarm<RelayBehaviour>, keep: &mut StaticPeers) {
    let due = {
        let s = &*swarm;
        let graylisted = |p: &PeerId| {
            s.behaviour().gossipsub.peer_score(p).is_some_and(|x| x < GRAYLIST_THRESHOLD)
        };
        keep.due(tokio::time::Instant::now(), |p| s.is_connected(p), graylisted)
    };
    for (peer, addr) in due {
        tracing::debug!(%peer, %addr, "redialling a static peer");
        let opts = DialOpts::peer_id(peer)
            .addresses(vec![addr])
            .condition(PeerCondition::DisconnectedAndNotDialing)
            .build();
        if let Err(e) = swarm.dial(opts) {
            tracing::debug!(%peer, error = %e, "redial not started");
        }
    }
}

async fn run(
    mut swarm: Swarm<RelayBehaviour>,
    mut commands: mpsc::Receiver<Command>,
    batch: BatchValidator,
    out: Outputs,
    scoring: ScoringConfig,
    service: Option<RequestService>,
    mut keep: StaticPeers,
) {
    let (intake, mut reports) = {
        let c = batch.config();
        Intake::spawn(batch.clone(), c.workers, c.queue)
    };
    let mut listen_addrs: Vec<Multiaddr> = Vec::new();
    let metrics = batch.validator().metrics().clone();
    let mut firsts = FirstShares::default();
    let epoch = Duration::from_secs(batch.validator().config().epoch_seconds.max(1));
    let mut rotate = tokio::time::interval_at(tokio::time::Instant::now() + epoch, epoch);
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    let disconnect = scoring.enabled && scoring.disconnect_graylisted;
    let mut redial = tokio::time::interval(Duration::from_millis(500));
    redial.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            cmd = commands.recv() => match cmd {
                None | Some(Command::Shutdown) => break,
                Some(cmd) => handle_command(&mut swarm, cmd, &listen_addrs),
            },
            _ = rotate.tick() => firsts.rotate(),
            _ = redial.tick(), if !keep.is_empty() => redial_static_peers(&mut swarm, &mut keep),
            _ = sweep.tick(), if disconnect => {
                let peers: Vec<PeerId> = swarm.connected_peers().copied().collect();
                for p in peers {
                    drop_if_graylisted(&mut swarm, &p, &out.graylisted);
                }
            }
            Some(r) = reports.recv() => {
                let verdict = r.judgement.verdict();
                let acceptance = firsts.acceptance(verdict, &r.source, r.double_signal.as_ref());
                let cached = swarm.behaviour_mut().gossipsub.report_message_validation_result(&r.id, &r.source, acceptance);
                if !cached {
                    tracing::debug!(id = %r.id, "validated message was no longer in gossipsub's cache");
                }
                let gossip_id: [u8; 32] = r.id.0.as_slice().try_into().unwrap_or([0; 32]);
                match r.judgement.into_accepted() {
                    Some(a) => {
                        if let Some(k) = a.message.rate_limit_proof.as_ref().and_then(share_key) {
                            firsts.record(k, r.source);
                        }
                        let _ = out.delivered.send(Delivered { pubsub_topic: a.pubsub_topic, message: a.message, message_hash: a.message_hash, from: r.source });
                    }
                    None => {
                        tracing::debug!(from = %r.source, ?verdict, "message not forwarded");
                        if disconnect && acceptance == MessageAcceptance::Reject {
                            drop_if_graylisted(&mut swarm, &r.source, &out.graylisted);
                        }
                    }
                }
                let _ = out.validated.send(Validated { gossip_id, pubsub_topic: r.topic, from: r.source, verdict });
            }
            ev = swarm.select_next_some() => match ev {
                SwarmEvent::Behaviour(RelayBehaviourEvent::Gossipsub(gossipsub::Event::Message { propagation_source, message_id, message })) => {
                    let work = Work { id: message_id, source: propagation_source, topic: message.topic.into_string(), data: message.data };
                    if let Err(w) = intake.submit(work) {
                        // The queue is full: dropped unjudged, not forwarded, no penalty.
                        let verdict = Verdict::Ignore(IgnoreReason::Overloaded);
                        swarm.behaviour_mut().gossipsub.report_message_validation_result(&w.id, &w.source, MessageAcceptance::Ignore);
                        metrics.validation_dropped.inc();
                        metrics.ignored(IgnoreReason::Overloaded.label());
                        let gossip_id: [u8; 32] = w.id.0.as_slice().try_into().unwrap_or([0; 32]);
                        let _ = out.validated.send(Validated { gossip_id, pubsub_topic: w.topic, from: w.source, verdict });
                    }
                }
                SwarmEvent::Behaviour(RelayBehaviourEvent::Service(request_response::Event::Message {
                    peer, message: request_response::Message::Request { request, channel, .. }, ..
                })) => {
                    if let Some(s) = &service {
                        let request = InboundRequest { peer, frame: request, responder: Responder(channel) };
                        if let Err(full) = s.requests.try_send(request) {
                            // Backpressure: the service is saturated (or stopped); answer at once.
                            metrics.service_requests_dropped.inc();
                            let (mpsc::error::TrySendError::Full(r) | mpsc::error::TrySendError::Closed(r)) = full;
                            if let Some(b) = swarm.behaviour_mut().service.as_mut() {
                                let _ = b.send_response(r.responder.0, s.busy.clone());
                            }
                        }
                    }
                }
                SwarmEvent::Behaviour(RelayBehaviourEvent::Service(request_response::Event::InboundFailure { peer, error, .. })) => {
                    tracing::debug!(%peer, %error, "service request failed");
                }
                SwarmEvent::NewListenAddr { address, .. } => {
                    tracing::info!(%address, "listening");
                    listen_addrs.push(address);
                }
                SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                    tracing::debug!(%peer_id, "connected");
                    metrics.peers.set(swarm.connected_peers().count() as i64);
                    // A graylisted peer's score is kept for ten minutes: it cannot come back.
                    if disconnect {
                        drop_if_graylisted(&mut swarm, &peer_id, &out.graylisted);
                    }
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established, .. } => {
                    tracing::debug!(%peer_id, "disconnected");
                    metrics.peers.set(swarm.connected_peers().count() as i64);
                    if num_established == 0 {
                        let _ = out.disconnected.send(peer_id);
                    }
                }
                SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                    tracing::debug!(?peer_id, %error, "dial failed");
                }
                _ => {}
            },
        }
    }
}

fn handle_command(swarm: &mut Swarm<RelayBehaviour>, cmd: Command, listen_addrs: &[Multiaddr]) {
    match cmd {
        Command::Publish { topic, bytes, reply } => {
            let id = gossip_id(&bytes);
            let topic_name = topic.clone();
            let r = swarm
                .behaviour_mut()
                .gossipsub
                .publish(IdentTopic::new(topic), bytes)
                .map(|_| id)
                .map_err(|e| match e {
                    gossipsub::PublishError::Duplicate => NodeError::Duplicate,
                    gossipsub::PublishError::MessageTooLarge => NodeError::TooLarge,
                    gossipsub::PublishError::AllQueuesFull(peers) => {
                        NodeError::QueuesFull { peers }
                    }
                    // No subscribed peer, or a signing/transform failure (neither is configured
                    // here): either way nobody got it.
                    _ => NodeError::NoPeers { topic: topic_name },
                });
            let _ = reply.send(r);
        }
        Command::Subscribe { topic, reply } => {
            let gs = &mut swarm.behaviour_mut().gossipsub;
            // Scored like the topics given at start (an error only means scoring is off).
            let _ = gs.set_topic_params(IdentTopic::new(&topic), scoring::topic_score_params());
            let r = gs
                .subscribe(&IdentTopic::new(&topic))
                .map(|_| ())
                .map_err(|source| NodeError::Subscribe { topic, source });
            let _ = reply.send(r);
        }
        Command::Dial { addr, reply } => {
            let r =
                swarm.dial(addr.clone()).map_err(|e| NodeError::Dial { addr, source: Box::new(e) });
            let _ = reply.send(r);
        }
        Command::Peers { reply } => {
            let _ = reply.send(swarm.connected_peers().copied().collect());
        }
        Command::MeshPeers { topic, reply } => {
            let hash = IdentTopic::new(topic).hash();
            let _ = reply.send(swarm.behaviour().gossipsub.mesh_peers(&hash).copied().collect());
        }
        Command::ListenAddrs { reply } => {
            let _ = reply.send(listen_addrs.to_vec());
        }
        Command::Score { peer, reply } => {
            let _ = reply.send(swarm.behaviour().gossipsub.peer_score(&peer));
        }
        Command::Respond { responder, bytes } => {
            if swarm
                .behaviour_mut()
                .service
                .as_mut()
                .map(|b| b.send_response(responder.0, bytes))
                .is_some_and(|r| r.is_err())
            {
                tracing::debug!("the service's client left before the response");
            }
        }
        Command::Shutdown => {}
    }
}

impl NodeHandle {
    /// The node's libp2p peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The validator that judges the node's messages.
    pub fn validator(&self) -> &Arc<Validator> {
        &self.validator
    }

    /// Raw bytes this node sent and received.
    pub fn traffic(&self) -> &Arc<Traffic> {
        &self.traffic
    }

    /// Peers this node disconnected for a graylisted score, as it happens.
    pub fn graylisted(&self) -> broadcast::Receiver<Graylisted> {
        self.graylisted.subscribe()
    }

    /// Peers whose last connection to this node closed, as it happens.
    pub fn disconnected(&self) -> broadcast::Receiver<PeerId> {
        self.disconnected.subscribe()
    }

    /// This node's gossipsub score of `peer` (`None` with scoring off or for an unknown peer).
    pub async fn peer_score(&self, peer: PeerId) -> Result<Option<f64>, NodeError> {
        self.ask(|reply| Command::Score { peer, reply }).await
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NodeError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// Publishes an encoded message as is, without judging it first: for tests and simulations
    /// that play a misbehaving peer. Returns the gossipsub message id.
    pub async fn publish_unchecked(
        &self,
        topic: &str,
        bytes: Vec<u8>,
    ) -> Result<[u8; 32], NodeError> {
        self.ask(|reply| Command::Publish { topic: topic.to_string(), bytes, reply }).await?
    }

    /// Judges an encoded message as a peer would (the pairing on a blocking thread), recording
    /// its share in the nullifier log, and publishes it only if accepted: the node never sends
    /// what its peers would penalize it for, and a copy of its own message coming back (or
    /// replayed in a new envelope) is a duplicate. Returns the gossipsub message id.
    pub async fn publish_encoded(
        &self,
        topic: &str,
        bytes: Vec<u8>,
    ) -> Result<[u8; 32], NodeError> {
        let (validator, t, b) = (self.validator.clone(), topic.to_string(), bytes.clone());
        let judgement = tokio::task::spawn_blocking(move || {
            validator.validate_encoded_at(&b, &t, crate::relay::rules::unix_now_ns())
        })
        .await
        .map_err(|_| NodeError::Stopped)?;
        match judgement.verdict() {
            Verdict::Accept => self.publish_unchecked(topic, bytes).await,
            v => Err(NodeError::NotValid(v)),
        }
    }

    /// Judges and publishes a message ([`Self::publish_encoded`]). Returns the gossipsub message
    /// id (sha256 of the encoding).
    pub async fn publish(&self, topic: &str, message: &WakuMessage) -> Result<[u8; 32], NodeError> {
        self.publish_encoded(topic, message.to_bytes()).await
    }

    /// Answers a request of the hosted service ([`NodeConfig::service`]).
    pub async fn respond(&self, responder: Responder, bytes: Vec<u8>) -> Result<(), NodeError> {
        self.tx.send(Command::Respond { responder, bytes }).await.map_err(|_| NodeError::Stopped)
    }

    /// Subscribes to a pubsub topic.
    pub async fn subscribe(&self, topic: &str) -> Result<(), NodeError> {
        self.ask(|reply| Command::Subscribe { topic: topic.to_string(), reply }).await?
    }

    /// Dials a peer.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), NodeError> {
        self.ask(|reply| Command::Dial { addr, reply }).await?
    }

    /// Connected peers.
    pub async fn peers(&self) -> Result<Vec<PeerId>, NodeError> {
        self.ask(|reply| Command::Peers { reply }).await
    }

    /// Peers in this node's gossipsub mesh for the topic.
    pub async fn mesh_peers(&self, topic: &str) -> Result<Vec<PeerId>, NodeError> {
        self.ask(|reply| Command::MeshPeers { topic: topic.to_string(), reply }).await
    }

    /// The addresses the node listens on (waits up to 5 s for the first).
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NodeError> {
        for _ in 0..100 {
            let a = self.ask(|reply| Command::ListenAddrs { reply }).await?;
            if !a.is_empty() {
                return Ok(a);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Vec::new())
    }

    /// An address to dial this node at, with its peer id.
    pub async fn dial_addr(&self) -> Result<Multiaddr, NodeError> {
        let a = self.listen_addrs().await?.into_iter().next().ok_or(NodeError::Stopped)?;
        Ok(a.with(libp2p::multiaddr::Protocol::P2p(self.peer_id)))
    }

    /// Accepted messages, as they arrive.
    pub fn delivered(&self) -> broadcast::Receiver<Delivered> {
        self.delivered.subscribe()
    }

    /// Every validation outcome, as it happens.
    pub fn validated(&self) -> broadcast::Receiver<Validated> {
        self.validated.subscribe()
    }

    /// Waits until the topic's mesh has at least `n` peers (or the timeout passes).
    pub async fn wait_for_mesh(
        &self,
        topic: &str,
        n: usize,
        timeout: Duration,
    ) -> Result<bool, NodeError> {
        let end = tokio::time::Instant::now() + timeout;
        loop {
            if self.mesh_peers(topic).await?.len() >= n {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= end {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the node's task.
    pub async fn shutdown(&self) {
        let _ = self.tx.send(Command::Shutdown).await;
    }
}
