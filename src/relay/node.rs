//! The relay node: rust-libp2p (TCP + noise + yamux, identify, ping, gossipsub as Waku relay) on
//! tokio. Wiring only, no rule of its own: every gossipsub message goes to the
//! [`BatchValidator`], and its verdict is reported back to gossipsub (Accept forwards, Reject
//! penalizes, Ignore drops); an accepted message is delivered as the validator decoded it.
//! Most users start a node through [`RelayBuilder`](super::RelayBuilder), which also wires the
//! roots, the nullifier log, metrics and slashing; [`spawn_node`] is the bare node.
//!
//! One task owns the `Swarm`; a cloneable [`NodeHandle`] sends it commands (mpsc in, oneshot
//! back). Validation runs on other tasks (pairings on blocking threads) and reports by channel,
//! so the swarm never waits for a pairing.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::gossipsub::{
    self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, ValidationMode,
};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{identify, identity::Keypair, noise, ping, tcp, yamux, Multiaddr, PeerId, Swarm};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::relay::batch::{BatchConfig, BatchValidator};
use crate::relay::message::{gossip_id, WakuMessage, MAX_MESSAGE_BYTES};
use crate::relay::rules::Verdict;
use crate::relay::validator::{Judgement, Validator};

/// The Waku relay protocol id (gossipsub v1.1 under Waku's name).
pub const RELAY_PROTOCOL: &str = "/vac/waku/relay/2.0.0";

/// Errors of the node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// libp2p refused the transport or behaviour configuration.
    #[error("cannot build the libp2p transport or behaviour: {0}")]
    Setup(String),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// libp2p's explanation.
        reason: String,
    },
    /// A peer address could not be dialled.
    #[error("cannot dial {addr}: {reason}")]
    Dial {
        /// The address.
        addr: Multiaddr,
        /// libp2p's explanation.
        reason: String,
    },
    /// Gossipsub refused the subscription.
    #[error("cannot subscribe to {topic}: {reason}")]
    Subscribe {
        /// The pubsub topic.
        topic: String,
        /// gossipsub's explanation.
        reason: String,
    },
    /// Gossipsub refused to publish (e.g. no peer on the topic).
    #[error("gossipsub did not publish the message: {0}")]
    Publish(String),
    /// The node's task has stopped.
    #[error("the node has stopped")]
    Stopped,
}

/// The node's libp2p behaviours.
#[derive(NetworkBehaviour)]
pub struct RelayBehaviour {
    /// Waku relay (gossipsub v1.1 under `/vac/waku/relay/2.0.0`).
    pub gossipsub: gossipsub::Behaviour,
    /// libp2p identify.
    pub identify: identify::Behaviour,
    /// libp2p ping.
    pub ping: ping::Behaviour,
}

/// What a node is started with.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start (bootstrap).
    pub peers: Vec<Multiaddr>,
    /// Pubsub topics to subscribe to at start.
    pub topics: Vec<String>,
    /// The node's libp2p key (default: a fresh ed25519 key).
    pub keypair: Option<Keypair>,
    /// Gossipsub heartbeat interval.
    pub heartbeat: Duration,
    /// How the validator batches pairings.
    pub batch: BatchConfig,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            listen: vec!["/ip4/0.0.0.0/tcp/60000".parse().expect("a multiaddr")],
            peers: Vec::new(),
            topics: Vec::new(),
            keypair: None,
            heartbeat: Duration::from_millis(700),
            batch: BatchConfig::default(),
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
    /// [`gossip_id`](crate::relay::message::gossip_id)).
    pub gossip_id: [u8; 32],
    /// The pubsub topic it came on.
    pub pubsub_topic: String,
    /// The peer that forwarded it.
    pub from: PeerId,
    /// The validator's verdict.
    pub verdict: Verdict,
}

enum Command {
    Publish { topic: String, bytes: Vec<u8>, reply: oneshot::Sender<Result<[u8; 32], NodeError>> },
    Subscribe { topic: String, reply: oneshot::Sender<Result<(), NodeError>> },
    Dial { addr: Multiaddr, reply: oneshot::Sender<Result<(), NodeError>> },
    Peers { reply: oneshot::Sender<Vec<PeerId>> },
    MeshPeers { topic: String, reply: oneshot::Sender<Vec<PeerId>> },
    ListenAddrs { reply: oneshot::Sender<Vec<Multiaddr>> },
    Shutdown,
}

struct Report {
    id: MessageId,
    source: PeerId,
    topic: String,
    judgement: Judgement,
}

/// A handle to a running node (cheap to clone).
#[derive(Clone)]
pub struct NodeHandle {
    tx: mpsc::Sender<Command>,
    peer_id: PeerId,
    delivered: broadcast::Sender<Delivered>,
    validated: broadcast::Sender<Validated>,
    validator: Arc<Validator>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle").field("peer_id", &self.peer_id).finish()
    }
}

fn gossipsub_config(heartbeat: Duration) -> Result<gossipsub::Config, NodeError> {
    gossipsub::ConfigBuilder::default()
        .protocol_id(RELAY_PROTOCOL, gossipsub::Version::V1_1)
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| MessageId::from(gossip_id(&m.data).to_vec()))
        .max_transmit_size(MAX_MESSAGE_BYTES)
        .heartbeat_interval(heartbeat)
        .heartbeat_initial_delay(Duration::from_millis(100))
        .build()
        .map_err(|e| NodeError::Setup(e.to_string()))
}

/// Builds the swarm, listens, dials the peers, subscribes, and spawns the task that owns the
/// swarm (on the current tokio runtime). Every received message is judged by `validator`.
pub async fn spawn_node(
    config: NodeConfig,
    validator: Arc<Validator>,
) -> Result<NodeHandle, NodeError> {
    let keypair = config.keypair.clone().unwrap_or_else(Keypair::generate_ed25519);
    let gs_config = gossipsub_config(config.heartbeat)?;
    let mut swarm: Swarm<RelayBehaviour> = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| NodeError::Setup(e.to_string()))?
        .with_behaviour(|key| {
            let gossipsub = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gs_config)
                .map_err(|e| e.to_string())?;
            let identify = identify::Behaviour::new(
                identify::Config::new("/vac/waku/2.0.0".into(), key.public())
                    .with_agent_version(format!("rlnkit/{}", env!("CARGO_PKG_VERSION"))),
            );
            let ping = ping::Behaviour::new(ping::Config::new());
            Ok(RelayBehaviour { gossipsub, identify, ping })
        })
        .map_err(|e| NodeError::Setup(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    for addr in &config.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| NodeError::Listen { addr: addr.clone(), reason: e.to_string() })?;
    }
    for topic in &config.topics {
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&IdentTopic::new(topic))
            .map_err(|e| NodeError::Subscribe { topic: topic.clone(), reason: e.to_string() })?;
    }
    for addr in &config.peers {
        swarm
            .dial(addr.clone())
            .map_err(|e| NodeError::Dial { addr: addr.clone(), reason: e.to_string() })?;
    }
    let peer_id = *swarm.local_peer_id();
    let (tx, rx) = mpsc::channel(256);
    let (delivered, _) = broadcast::channel(4096);
    let (validated, _) = broadcast::channel(4096);
    let batch = BatchValidator::spawn(validator.clone(), config.batch);
    let handle = NodeHandle {
        tx,
        peer_id,
        delivered: delivered.clone(),
        validated: validated.clone(),
        validator: validator.clone(),
    };
    tokio::spawn(run(swarm, rx, batch, delivered, validated));
    Ok(handle)
}

async fn run(
    mut swarm: Swarm<RelayBehaviour>,
    mut commands: mpsc::Receiver<Command>,
    batch: BatchValidator,
    delivered: broadcast::Sender<Delivered>,
    validated: broadcast::Sender<Validated>,
) {
    let (report_tx, mut reports) = mpsc::unbounded_channel::<Report>();
    let mut listen_addrs: Vec<Multiaddr> = Vec::new();
    let metrics = batch.validator().metrics().clone();
    loop {
        tokio::select! {
            cmd = commands.recv() => match cmd {
                None | Some(Command::Shutdown) => break,
                Some(cmd) => handle_command(&mut swarm, cmd, &listen_addrs),
            },
            Some(r) = reports.recv() => {
                let verdict = r.judgement.verdict();
                let acceptance = match verdict {
                    Verdict::Accept => MessageAcceptance::Accept,
                    Verdict::Reject(_) => MessageAcceptance::Reject,
                    Verdict::Ignore(_) => MessageAcceptance::Ignore,
                };
                let cached = swarm.behaviour_mut().gossipsub.report_message_validation_result(&r.id, &r.source, acceptance);
                if !cached {
                    tracing::debug!(id = %r.id, "validated message was no longer in gossipsub's cache");
                }
                let gossip_id: [u8; 32] = r.id.0.as_slice().try_into().unwrap_or([0; 32]);
                match r.judgement.into_accepted() {
                    Some(a) => {
                        let _ = delivered.send(Delivered { pubsub_topic: a.pubsub_topic, message: a.message, message_hash: a.message_hash, from: r.source });
                    }
                    None => tracing::info!(from = %r.source, ?verdict, "message not forwarded"),
                }
                let _ = validated.send(Validated { gossip_id, pubsub_topic: r.topic, from: r.source, verdict });
            }
            ev = swarm.select_next_some() => match ev {
                SwarmEvent::Behaviour(RelayBehaviourEvent::Gossipsub(gossipsub::Event::Message { propagation_source, message_id, message })) => {
                    let (batch, report_tx) = (batch.clone(), report_tx.clone());
                    tokio::spawn(async move {
                        let topic = message.topic.into_string();
                        let judgement = batch.validate(&message.data, &topic).await;
                        let _ = report_tx.send(Report { id: message_id, source: propagation_source, topic, judgement });
                    });
                }
                SwarmEvent::NewListenAddr { address, .. } => {
                    tracing::info!(%address, "listening");
                    listen_addrs.push(address);
                }
                SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                    tracing::debug!(%peer_id, "connected");
                    metrics.peers.set(swarm.connected_peers().count() as i64);
                }
                SwarmEvent::ConnectionClosed { peer_id, .. } => {
                    tracing::debug!(%peer_id, "disconnected");
                    metrics.peers.set(swarm.connected_peers().count() as i64);
                }
                SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                    tracing::warn!(?peer_id, %error, "dial failed");
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
            let r = swarm
                .behaviour_mut()
                .gossipsub
                .publish(IdentTopic::new(topic), bytes)
                .map(|_| id)
                .map_err(|e| NodeError::Publish(e.to_string()));
            let _ = reply.send(r);
        }
        Command::Subscribe { topic, reply } => {
            let r = swarm
                .behaviour_mut()
                .gossipsub
                .subscribe(&IdentTopic::new(&topic))
                .map(|_| ())
                .map_err(|e| NodeError::Subscribe { topic, reason: e.to_string() });
            let _ = reply.send(r);
        }
        Command::Dial { addr, reply } => {
            let r = swarm
                .dial(addr.clone())
                .map_err(|e| NodeError::Dial { addr, reason: e.to_string() });
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

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NodeError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// Publishes an encoded message as is (no local validation: the publisher is trusted to have
    /// attached a proof). Returns the gossipsub message id.
    pub async fn publish_bytes(&self, topic: &str, bytes: Vec<u8>) -> Result<[u8; 32], NodeError> {
        self.ask(|reply| Command::Publish { topic: topic.to_string(), bytes, reply }).await?
    }

    /// Publishes a message. Returns the gossipsub message id (sha256 of the encoding).
    pub async fn publish(&self, topic: &str, message: &WakuMessage) -> Result<[u8; 32], NodeError> {
        self.publish_bytes(topic, message.to_bytes()).await
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
