//! Running a simulation: start the nodes (staggered, each dialing earlier nodes of the
//! topology), wait for the meshes, make the workload, publish it on schedule, and record every
//! validation and graylisting with its time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libp2p::{Multiaddr, PeerId};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use crate::circuit::{CircuitKeys, KeysError};
use crate::relay::node::{spawn_node, NodeConfig, NodeError, NodeHandle};
use crate::relay::rules::{unix_now_ns, ValidatorConfig, Verdict};
use crate::relay::scoring::ScoringConfig;
use crate::relay::transport::{TransportConfig, TransportKind};
use crate::relay::validator::Validator;
use crate::relay::{shard_topic, NullifierLog};
use crate::roots::StaticRoots;
use crate::sim::config::{AttackKind, SimConfig};
use crate::sim::report::{Observations, SimReport, Validation};
use crate::sim::sys;
use crate::sim::topology::Topology;
use crate::sim::workload::{Role, Workload, WorkloadError};
use crate::Verifier;

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The configuration leaves too few honest nodes or publishers.
    #[error("the run needs at least 2 nodes, 2 honest ones and 1 publisher; got {nodes} nodes ({honest} honest, {attackers} attackers) and {publishers} publishers")]
    TooSmall {
        /// Nodes configured.
        nodes: usize,
        /// Of which honest.
        honest: usize,
        /// Of which attackers.
        attackers: usize,
        /// Publishers configured.
        publishers: usize,
    },
    /// The circuit keys could not be loaded.
    #[error("keys: {0}")]
    Keys(#[from] KeysError),
    /// A node could not be started or stopped answering.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The workload could not be made.
    #[error("workload: {0}")]
    Workload(#[from] WorkloadError),
    /// The workload's blocking task panicked.
    #[error("the workload task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// A live view of the run, for a progress line.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// The phase.
    pub phase: Phase,
    /// Seconds since the phase started.
    pub elapsed: f64,
    /// Nodes started (or meshed, while meshing).
    pub nodes_started: usize,
    /// Messages published so far.
    pub published: u64,
    /// Accept verdicts so far, all nodes.
    pub accepted: u64,
    /// Reject verdicts so far, all nodes.
    pub rejected: u64,
    /// Graylistings so far.
    pub graylisted: u64,
}

/// Where the run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Starting the nodes and dialling.
    Starting,
    /// Waiting for the gossipsub meshes.
    Meshing,
    /// Making the workload's proofs.
    Proving,
    /// Publishing the load.
    Load,
    /// Waiting for the last deliveries.
    Settling,
}

impl Phase {
    /// A short human name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Starting => "starting nodes",
            Phase::Meshing => "forming meshes",
            Phase::Proving => "making proofs",
            Phase::Load => "load",
            Phase::Settling => "settling",
        }
    }
}

/// The pubsub topic of the run (cluster 1, shard 0).
pub fn sim_topic() -> String {
    shard_topic(1, 0)
}

/// Who plays what: attackers are spread over the node indices at random, publishers are
/// chosen among the honest nodes.
pub fn assign_roles(config: &SimConfig, rng: &mut impl rand::Rng) -> Vec<Role> {
    let mut roles = vec![Role::Honest { publisher: false }; config.nodes];
    let mut order: Vec<usize> = (0..config.nodes).collect();
    order.shuffle(rng);
    let mut it = order.into_iter();
    for kind in AttackKind::ALL {
        for _ in 0..config.attackers.count(kind) {
            if let Some(i) = it.next() {
                roles[i] = Role::Attacker(kind);
            }
        }
    }
    for i in it.take(config.publishers) {
        roles[i] = Role::Honest { publisher: true };
    }
    roles
}

enum Event {
    Validated { node: usize, at: Instant, id: [u8; 32], from: PeerId, verdict: Verdict },
    Graylisted { node: usize, at: Instant, peer: PeerId },
}

/// Runs the simulation; `progress` is called about once a second.
pub async fn run(
    config: &SimConfig,
    mut progress: impl FnMut(&Progress),
) -> Result<SimReport, SimError> {
    let n = config.nodes;
    let honest = n.saturating_sub(config.attackers.total());
    if n < 2 || honest < 2 || config.publishers == 0 || config.publishers > honest {
        return Err(SimError::TooSmall {
            nodes: n,
            honest,
            attackers: config.attackers.total(),
            publishers: config.publishers,
        });
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(config.seed);
    let topology = Topology::random(n, config.degree, &mut rng);
    let roles = assign_roles(config, &mut rng);
    let topic = sim_topic();
    let keys = CircuitKeys::embedded()?;
    let verifier = Verifier::new(keys.verifying_key());
    let roots = Arc::new(StaticRoots::new([]));
    let rss_before = sys::rss_bytes();

    // Start the nodes one after another, each dialing its earlier neighbours.
    let t_start = Instant::now();
    let listen: Multiaddr = match config.transport {
        TransportKind::Memory => "/memory/0".parse().expect("a multiaddr"),
        TransportKind::Tcp => "/ip4/127.0.0.1/tcp/0".parse().expect("a multiaddr"),
    };
    let mut nodes: Vec<NodeHandle> = Vec::with_capacity(n);
    let mut addrs: Vec<Multiaddr> = Vec::with_capacity(n);
    let mut last_progress = Instant::now();
    for i in 0..n {
        let validator = Arc::new(Validator::new(
            ValidatorConfig { pubsub_topics: vec![topic.clone()], ..ValidatorConfig::default() },
            verifier.clone(),
            roots.clone(),
            NullifierLog::in_memory(),
        ));
        let node_config = NodeConfig {
            listen: vec![listen.clone()],
            topics: vec![topic.clone()],
            heartbeat: config.heartbeat,
            scoring: ScoringConfig::loopback(),
            transport: TransportConfig {
                kind: config.transport,
                link_latency: config.link_latency,
            },
            event_capacity: 1024,
            ..NodeConfig::default()
        };
        let node = spawn_node(node_config, validator).await?;
        addrs.push(node.dial_addr().await?);
        for &j in &topology.dials[i] {
            node.dial(addrs[j].clone()).await?;
        }
        nodes.push(node);
        if !config.dial_stagger.is_zero() {
            tokio::time::sleep(config.dial_stagger).await;
        }
        if last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            progress(&Progress {
                phase: Phase::Starting,
                elapsed: t_start.elapsed().as_secs_f64(),
                nodes_started: i + 1,
                published: 0,
                accepted: 0,
                rejected: 0,
                graylisted: 0,
            });
        }
    }
    let start_seconds = t_start.elapsed().as_secs_f64();
    let peer_index: HashMap<PeerId, usize> =
        nodes.iter().enumerate().map(|(i, h)| (h.peer_id(), i)).collect();

    // Wait (up to the timeout) until every node has a mesh peer. Gossipsub prunes oversubscribed
    // meshes to D and backs off for a minute, so not every node reaches D_low in a random
    // topology; the report counts both.
    let t_mesh = Instant::now();
    let mut mesh_sizes = vec![0usize; n];
    loop {
        for (i, node) in nodes.iter().enumerate() {
            mesh_sizes[i] = node.mesh_peers(&topic).await?.len();
        }
        let done = mesh_sizes.iter().all(|&m| m >= 1);
        if done || t_mesh.elapsed() >= config.mesh_timeout {
            break;
        }
        progress(&Progress {
            phase: Phase::Meshing,
            elapsed: t_mesh.elapsed().as_secs_f64(),
            nodes_started: mesh_sizes.iter().filter(|&&m| m >= 1).count(),
            published: 0,
            accepted: 0,
            rejected: 0,
            graylisted: 0,
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mesh_complete = mesh_sizes.iter().all(|&m| m >= 1);
    let meshed_d_low = mesh_sizes.iter().filter(|&&m| m >= 4).count();
    let no_mesh = mesh_sizes.iter().filter(|&&m| m == 0).count();
    let mesh_seconds = t_mesh.elapsed().as_secs_f64();
    let rss_nodes = sys::rss_bytes();

    // Observers: one forwarding task per node into one channel.
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Event>();
    let lagged = Arc::new(AtomicU64::new(0));
    let mut observers = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let (mut v, mut g, tx, lagged) =
            (node.validated(), node.graylisted(), ev_tx.clone(), lagged.clone());
        observers.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    r = v.recv() => match r {
                        Ok(x) => { let _ = tx.send(Event::Validated { node: i, at: Instant::now(), id: x.gossip_id, from: x.from, verdict: x.verdict }); }
                        Err(broadcast::error::RecvError::Lagged(k)) => { lagged.fetch_add(k, Ordering::Relaxed); }
                        Err(broadcast::error::RecvError::Closed) => break,
                    },
                    r = g.recv() => match r {
                        Ok(x) => { let _ = tx.send(Event::Graylisted { node: i, at: Instant::now(), peer: x.peer }); }
                        Err(broadcast::error::RecvError::Lagged(k)) => { lagged.fetch_add(k, Ordering::Relaxed); }
                        Err(broadcast::error::RecvError::Closed) => break,
                    },
                }
            }
        }));
    }
    drop(ev_tx);

    // The workload, timed to start once it is made (at least one idle second later).
    let planned_proofs = (config.rate * config.duration.as_secs_f64()).round() as usize
        + config.attackers.double_signal * config.max_spam_per_attacker
        + config.attackers.wrong_epoch
        + 1;
    // Time two proofs (the first builds the prover's tables) to plan the load's start: every
    // message's timestamp must be within the validators' 20 s of the time it is published.
    let probe_keys = keys.clone();
    let per_proof = tokio::task::spawn_blocking(move || -> Result<Duration, WorkloadError> {
        let id = crate::Identity::from_seed(b"sim probe");
        let limit = crate::UserMessageLimit::new(2)?;
        let mut tree = crate::tree::MerkleTree::default();
        let i = tree.push(id.rate_commitment(limit))?;
        let p =
            crate::relay::Publisher::new(crate::Prover::new(probe_keys), id, limit, tree.proof(i)?);
        p.build_with_id(b"probe", "/rlnkit/1/probe/proto", unix_now_ns(), 0)?;
        let t = std::time::Instant::now();
        p.build_with_id(b"probe", "/rlnkit/1/probe/proto", unix_now_ns(), 1)?;
        Ok(t.elapsed())
    })
    .await??;
    let proving_estimate = per_proof.mul_f64(planned_proofs as f64 * 1.3) + Duration::from_secs(2);
    let start_unix_ns = unix_now_ns() + proving_estimate.as_nanos() as u64;
    let t_prove = Instant::now();
    let (cfg, roles2, keys2, seed) = (config.clone(), roles.clone(), keys.clone(), config.seed);
    let mut workload_task = tokio::task::spawn_blocking(move || {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
        Workload::build(&cfg, &roles2, keys2, start_unix_ns, &mut rng)
    });
    let workload = loop {
        tokio::select! {
            r = &mut workload_task => break r??,
            _ = tokio::time::sleep(Duration::from_secs(1)) => progress(&Progress {
                phase: Phase::Proving,
                elapsed: t_prove.elapsed().as_secs_f64(),
                nodes_started: n,
                published: 0,
                accepted: 0,
                rejected: 0,
                graylisted: 0,
            }),
        }
    };
    roots.push(workload.root);
    let idle_from = Instant::now();
    let idle_traffic: Vec<(u64, u64)> =
        nodes.iter().map(|h| (h.traffic().bytes_in(), h.traffic().bytes_out())).collect();
    let wait_ns = start_unix_ns.saturating_sub(unix_now_ns());
    tokio::time::sleep(Duration::from_nanos(wait_ns).max(Duration::from_secs(1))).await;
    let idle_window = idle_from.elapsed();
    let idle_end: Vec<(u64, u64)> =
        nodes.iter().map(|h| (h.traffic().bytes_in(), h.traffic().bytes_out())).collect();

    // Load: publish on schedule, observe.
    let load_start = Instant::now();
    let cpu_start = sys::cpu_time();
    let traffic_start = idle_end.clone();
    let published: Arc<Mutex<HashMap<[u8; 32], Instant>>> = Arc::default();
    let publish_failed = Arc::new(AtomicU64::new(0));
    let published_count = Arc::new(AtomicU64::new(0));
    let scheduler = {
        let (nodes, topic, published, failed, count) = (
            nodes.clone(),
            topic.clone(),
            published.clone(),
            publish_failed.clone(),
            published_count.clone(),
        );
        let plan = workload.messages.clone();
        tokio::spawn(async move {
            for m in plan {
                let (at, node, bytes, id, attack) =
                    (m.at, m.node, m.bytes, m.id, m.attack.is_some());
                tokio::time::sleep_until(load_start + at).await;
                published.lock().expect("lock").insert(id, Instant::now());
                count.fetch_add(1, Ordering::Relaxed);
                // Honest nodes judge their own messages (recording the share), attackers do not.
                let sent = if attack {
                    nodes[node].publish_unchecked(&topic, bytes).await
                } else {
                    nodes[node].publish_encoded(&topic, bytes).await
                };
                if sent.is_err() {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let mut validations: Vec<Validation> = Vec::new();
    let mut graylists: Vec<(usize, Instant, Option<usize>)> = Vec::new();
    let (mut accepted, mut rejected) = (0u64, 0u64);
    let load_end = load_start + config.duration;
    let end = load_end + config.settle;
    let mut tick =
        tokio::time::interval_at(load_start + Duration::from_secs(1), Duration::from_secs(1));
    loop {
        tokio::select! {
            ev = ev_rx.recv() => match ev {
                Some(Event::Validated { node, at, id, from, verdict }) => {
                    match verdict {
                        Verdict::Accept => accepted += 1,
                        Verdict::Reject(_) => rejected += 1,
                        Verdict::Ignore(_) => {}
                    }
                    validations.push(Validation { node, at, id, from: peer_index.get(&from).copied(), verdict });
                }
                Some(Event::Graylisted { node, at, peer }) => graylists.push((node, at, peer_index.get(&peer).copied())),
                None => break,
            },
            _ = tick.tick() => {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                progress(&Progress {
                    phase: if now < load_end { Phase::Load } else { Phase::Settling },
                    elapsed: (now - load_start).as_secs_f64(),
                    nodes_started: n,
                    published: published_count.load(Ordering::Relaxed),
                    accepted,
                    rejected,
                    graylisted: graylists.len() as u64,
                });
            }
        }
    }
    let window = load_start.elapsed();
    let cpu_end = sys::cpu_time();
    let traffic_end: Vec<(u64, u64)> =
        nodes.iter().map(|h| (h.traffic().bytes_in(), h.traffic().bytes_out())).collect();
    let rss_end = sys::rss_bytes();
    let peak = sys::peak_rss_bytes();
    scheduler.abort();
    for o in &observers {
        o.abort();
    }
    for node in &nodes {
        node.shutdown().await;
    }
    let published = std::mem::take(&mut *published.lock().expect("lock"));
    let obs = Observations {
        topology,
        roles,
        workload,
        load_start,
        window,
        published,
        publish_failed: publish_failed.load(Ordering::Relaxed),
        validations,
        graylists,
        lagged_events: lagged.load(Ordering::Relaxed),
        idle_window,
        idle_traffic: idle_traffic
            .iter()
            .zip(&idle_end)
            .map(|(a, b)| (b.0 - a.0, b.1 - a.1))
            .collect(),
        traffic: traffic_start
            .iter()
            .zip(&traffic_end)
            .map(|(a, b)| (b.0 - a.0, b.1 - a.1))
            .collect(),
        cpu: match (cpu_start, cpu_end) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        },
        rss_before,
        rss_nodes,
        rss_end,
        peak_rss: peak,
        start_seconds,
        mesh_seconds,
        mesh_complete,
        meshed_d_low,
        no_mesh,
    };
    Ok(SimReport::from_observations(config, obs))
}
