//! What a run measured: raw observations in, a [`SimReport`] (serializable, plotted by
//! [`crate::sim::plot`]) out.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::relay::rules::Verdict;
use crate::sim::config::{AttackKind, SimConfig};
use crate::sim::topology::Topology;
use crate::sim::workload::{Role, Workload};

/// One validation at a node.
#[derive(Debug, Clone)]
pub struct Validation {
    /// The node that judged the message.
    pub node: usize,
    /// When the verdict was reported.
    pub at: Instant,
    /// The gossipsub message id.
    pub id: [u8; 32],
    /// The node that sent it (None: not a node of the run).
    pub from: Option<usize>,
    /// The verdict.
    pub verdict: Verdict,
}

/// Everything a run recorded.
#[derive(Debug)]
pub struct Observations {
    /// The network.
    pub topology: Topology,
    /// Each node's role.
    pub roles: Vec<Role>,
    /// The messages published.
    pub workload: Workload,
    /// When the load began.
    pub load_start: Instant,
    /// From the load's start to the end of the settling time.
    pub window: Duration,
    /// When each message was handed to its node.
    pub published: HashMap<[u8; 32], Instant>,
    /// Messages their node could not publish (no peer left, or refused by its own validator).
    pub publish_failed: u64,
    /// Every verdict at every node.
    pub validations: Vec<Validation>,
    /// (node, when, the peer it disconnected).
    pub graylists: Vec<(usize, Instant, Option<usize>)>,
    /// Events the observers missed.
    pub lagged_events: u64,
    /// The quiet interval before the load, for the idle traffic rate.
    pub idle_window: Duration,
    /// Bytes (in, out) per node during the idle window and during the load window.
    pub idle_traffic: Vec<(u64, u64)>,
    /// Bytes (in, out) per node during the load window.
    pub traffic: Vec<(u64, u64)>,
    /// Process CPU time during the load window.
    pub cpu: Option<Duration>,
    /// RSS before the nodes were started.
    pub rss_before: Option<u64>,
    /// RSS once the nodes were meshed.
    pub rss_nodes: Option<u64>,
    /// RSS at the end of the load.
    pub rss_end: Option<u64>,
    /// Peak RSS of the process.
    pub peak_rss: Option<u64>,
    /// Seconds to start every node.
    pub start_seconds: f64,
    /// Seconds until the meshes formed (or the timeout).
    pub mesh_seconds: f64,
    /// Every node had a mesh peer before the timeout.
    pub mesh_complete: bool,
    /// Nodes whose mesh reached D_low.
    pub meshed_d_low: usize,
    /// Nodes without a mesh peer.
    pub no_mesh: usize,
}

/// Min, median, mean, max.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Spread {
    /// The least value.
    pub min: f64,
    /// The median.
    pub p50: f64,
    /// The mean.
    pub mean: f64,
    /// The greatest value.
    pub max: f64,
}

impl Spread {
    fn of(values: &[f64]) -> Self {
        if values.is_empty() {
            return Spread::default();
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        Spread {
            min: v[0],
            p50: quantile(&v, 0.5),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            max: v[v.len() - 1],
        }
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The network as built.
#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    /// Nodes in the run.
    pub nodes: usize,
    /// Honest nodes (publishers and relays).
    pub honest_nodes: usize,
    /// Attacker nodes.
    pub attacker_nodes: usize,
    /// Connections in the topology.
    pub links: usize,
    /// Mean connections per node.
    pub mean_degree: f64,
    /// Sampled over 32 sources.
    pub diameter: usize,
    /// Mean shortest-path length between nodes (same sample).
    pub mean_hops: f64,
    /// Seconds to start every node.
    pub start_seconds: f64,
    /// Seconds until the meshes formed (or the timeout).
    pub mesh_seconds: f64,
    /// Every node had a mesh peer before the timeout.
    pub mesh_complete: bool,
    /// Nodes whose mesh reached D_low (4), and nodes without a mesh peer.
    pub meshed_d_low: usize,
    /// Nodes without a mesh peer when the load began.
    pub no_mesh: usize,
    /// Proofs made for the workload.
    pub proofs: usize,
    /// Seconds the workload's proofs took.
    pub proving_seconds: f64,
    /// Events the observers missed (their channel overflowed); 0 for a sound run.
    pub lagged_events: u64,
}

/// Honest traffic delivered to honest nodes.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// Honest messages published.
    pub honest_messages: usize,
    /// Messages × (honest nodes − 1): every honest node but the publisher.
    pub expected: u64,
    /// (message, honest node) pairs where the node accepted the message.
    pub delivered: u64,
    /// delivered / expected.
    pub ratio: f64,
    /// Delivered within 2 s of the publish.
    pub within_2s_ratio: f64,
    /// (second of the load, delivery ratio of the messages published in it); seconds without
    /// an honest message are left out.
    pub over_time: Vec<(f64, f64)>,
}

/// Publish-to-delivery latency at honest nodes.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Deliveries measured.
    pub samples: usize,
    /// Median, milliseconds.
    pub p50_ms: f64,
    /// 95th percentile, milliseconds.
    pub p95_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
    /// Slowest delivery, milliseconds.
    pub max_ms: f64,
    /// Mean, milliseconds.
    pub mean_ms: f64,
    /// (ms, fraction of deliveries at or below), at most 200 points.
    pub cdf: Vec<(f64, f64)>,
}

/// One attack kind's spam and how the network dealt with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttackReport {
    /// The attack.
    pub kind: AttackKind,
    /// Attacker nodes of this kind.
    pub attackers: usize,
    /// Spam messages they published.
    pub spam_published: usize,
    /// Validations at the attackers' neighbours, received from the attacker. A replay counts only
    /// where its original was accepted before it, and beyond the first hop only if its
    /// forwarder had accepted the original first (elsewhere it is the honest signal's first
    /// copy, accepted and forwarded once).
    pub first_hop: u64,
    /// Validations anywhere else: spam that an honest node forwarded (goal 0).
    pub beyond_first_hop: u64,
    /// This kind's spam validations by hop distance from its attacker (index 1: the first hop;
    /// always at least up to hop 3, so the zeros beyond the first hop are shown). Empty in a
    /// report saved before it was counted per kind.
    #[serde(default)]
    pub spam_per_hop: Vec<u64>,
    /// Spam accepted by any node (goal 0).
    pub accepted: u64,
    /// (attacker, neighbour) links, and how many of those neighbours graylisted the attacker.
    pub links: usize,
    /// Neighbours that graylisted (and disconnected) their attacker.
    pub graylisted: usize,
    /// Invalid messages each neighbour validated from the attacker before graylisting it.
    pub invalid_until_graylist: Spread,
    /// Seconds from the attacker's first spam to the graylisting.
    pub seconds_until_graylist: Spread,
}

/// Bytes on the wire (noise + yamux framing included).
#[derive(Debug, Clone, Serialize)]
pub struct Traffic {
    /// Length of the load window, seconds.
    pub window_seconds: f64,
    /// Per node, bytes per second.
    pub in_per_node: Spread,
    /// Per node, bytes per second sent.
    pub out_per_node: Spread,
    /// Per node (index order), bytes per second in and out.
    pub per_node: Vec<(f64, f64)>,
    /// Bytes received by all nodes per byte of new message delivered (every delivery of every
    /// accepted message counts its encoded size once).
    pub amplification: f64,
    /// The same after subtracting the idle traffic rate (pings, heartbeats, gossip of nothing).
    pub amplification_net: f64,
    /// Idle traffic per node, bytes per second.
    pub idle_per_node: f64,
}

/// CPU of the whole process during the load window.
#[derive(Debug, Clone, Serialize)]
pub struct Cpu {
    /// Process CPU seconds in the window.
    pub process_seconds: f64,
    /// Verdicts reported in the window.
    pub validations: u64,
    /// Process CPU per validation (networking, crypto and bookkeeping of the whole run).
    pub us_per_validation: f64,
    /// Cores busy on average during the window.
    pub cores: f64,
}

/// Memory of the process.
#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// RSS before the nodes were started, MiB.
    pub rss_before_mb: f64,
    /// RSS once the nodes were meshed, MiB.
    pub rss_nodes_started_mb: f64,
    /// RSS at the end of the load, MiB.
    pub rss_end_mb: f64,
    /// Peak RSS of the process, MiB.
    pub peak_mb: f64,
    /// (end RSS − RSS before the nodes) / nodes.
    pub per_node_kb: f64,
}

/// A run's results.
#[derive(Debug, Clone, Serialize)]
pub struct SimReport {
    /// The configuration of the run.
    pub config: SimConfig,
    /// The network as built.
    pub setup: Setup,
    /// Honest traffic delivered.
    pub delivery: Delivery,
    /// Publish-to-delivery latency.
    pub latency: Latency,
    /// Each attack kind and how the network dealt with it.
    pub attacks: Vec<AttackReport>,
    /// Spam validations by hop distance from the attacker (index 1: the first hop).
    pub spam_per_hop: Vec<u64>,
    /// Spam validated beyond the first hop, all kinds (goal 0).
    pub spam_beyond_first_hop: u64,
    /// Times an honest node graylisted (and disconnected) an honest peer (goal 0).
    pub honest_graylisted: usize,
    /// Messages their node could not publish.
    pub publish_failed: u64,
    /// Bytes on the wire.
    pub traffic: Traffic,
    /// CPU of the load window.
    pub cpu: Cpu,
    /// Memory of the process.
    pub memory: Memory,
    /// Validation verdicts over all nodes, by name.
    pub verdicts: BTreeMap<String, u64>,
}

/// Spam per hop is reported at least up to this hop, so that hops 2 and beyond show their zeros.
pub const MIN_HOPS_SHOWN: usize = 3;

fn verdict_name(v: &Verdict) -> String {
    match v {
        Verdict::Accept => "accept".into(),
        Verdict::Reject(r) => format!("reject:{}", r.label()),
        Verdict::Ignore(r) => format!("ignore:{}", r.label()),
    }
}

fn mb(b: Option<u64>) -> f64 {
    b.unwrap_or(0) as f64 / (1024.0 * 1024.0)
}

impl SimReport {
    /// Computes the report of a run.
    pub fn from_observations(config: &SimConfig, o: Observations) -> Self {
        let n = o.roles.len();
        let honest: Vec<bool> = o.roles.iter().map(|r| r.is_honest()).collect();
        let honest_nodes = honest.iter().filter(|&&h| h).count();
        let by_id: HashMap<[u8; 32], usize> =
            o.workload.messages.iter().enumerate().map(|(i, m)| (m.id, i)).collect();
        let mut verdicts: BTreeMap<String, u64> = BTreeMap::new();
        for v in &o.validations {
            *verdicts.entry(verdict_name(&v.verdict)).or_default() += 1;
        }

        // Delivery and latency of honest messages at honest nodes (first acceptance per node).
        let honest_msgs: Vec<usize> = (0..o.workload.messages.len())
            .filter(|&i| o.workload.messages[i].attack.is_none())
            .collect();
        let mut first_accept: HashMap<(usize, usize), Instant> = HashMap::new();
        for v in &o.validations {
            if v.verdict != Verdict::Accept || !honest[v.node] {
                continue;
            }
            if let Some(&m) = by_id.get(&v.id) {
                if o.workload.messages[m].attack.is_none() {
                    first_accept.entry((m, v.node)).or_insert(v.at);
                }
            }
        }
        let mut latencies = Vec::new();
        let mut within_2s = 0u64;
        let secs = config.duration.as_secs_f64().ceil().max(1.0) as usize;
        let mut per_second = vec![(0u64, 0u64); secs];
        for &m in &honest_msgs {
            let msg = &o.workload.messages[m];
            let bucket = (msg.at.as_secs_f64() as usize).min(secs - 1);
            per_second[bucket].1 += honest_nodes.saturating_sub(1) as u64;
            let Some(&t0) = o.published.get(&msg.id) else { continue };
            for (node, _) in honest.iter().enumerate().filter(|&(i, &h)| h && i != msg.node) {
                if let Some(&t) = first_accept.get(&(m, node)) {
                    let l = t.saturating_duration_since(t0);
                    latencies.push(l.as_secs_f64() * 1e3);
                    per_second[bucket].0 += 1;
                    if l <= Duration::from_secs(2) {
                        within_2s += 1;
                    }
                }
            }
        }
        let expected = honest_msgs.len() as u64 * honest_nodes.saturating_sub(1) as u64;
        let delivered = latencies.len() as u64;
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        latencies.sort_by(f64::total_cmp);
        let cdf: Vec<(f64, f64)> = if latencies.is_empty() {
            Vec::new()
        } else {
            let step = (latencies.len() / 200).max(1);
            let mut c: Vec<(f64, f64)> = (0..latencies.len())
                .step_by(step)
                .map(|i| (latencies[i], (i + 1) as f64 / latencies.len() as f64))
                .collect();
            c.push((latencies[latencies.len() - 1], 1.0));
            c
        };

        // Spam: where it was validated, by hop distance from its attacker.
        let mut dist_cache: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut per_hop: Vec<u64> = Vec::new();
        let mut kinds: BTreeMap<AttackKind, AttackReport> = BTreeMap::new();
        for kind in AttackKind::ALL {
            let c = config.attackers.count(kind);
            if c > 0 {
                kinds.insert(
                    kind,
                    AttackReport {
                        kind,
                        attackers: c,
                        spam_published: 0,
                        first_hop: 0,
                        beyond_first_hop: 0,
                        spam_per_hop: vec![0; MIN_HOPS_SHOWN + 1],
                        accepted: 0,
                        links: 0,
                        graylisted: 0,
                        invalid_until_graylist: Spread::default(),
                        seconds_until_graylist: Spread::default(),
                    },
                );
            }
        }
        for m in &o.workload.messages {
            if let (Some(k), true) = (m.attack, m.spam) {
                if let Some(r) = kinds.get_mut(&k) {
                    r.spam_published += 1;
                }
            }
        }
        // Where each message was first accepted, to tell a replay (the original share seen
        // before: spam) from a copy that beat its original (the honest signal's first arrival,
        // accepted once: not spam).
        let mut accepted_at: HashMap<([u8; 32], usize), Instant> = HashMap::new();
        for v in &o.validations {
            if v.verdict == Verdict::Accept {
                accepted_at.entry((v.id, v.node)).or_insert(v.at);
            }
        }
        for v in &o.validations {
            let Some(&m) = by_id.get(&v.id) else { continue };
            let msg = &o.workload.messages[m];
            let (Some(kind), true) = (msg.attack, msg.spam) else { continue };
            if let Some(original) = msg.replays {
                // Spam where it arrives after its original; beyond the first hop only if the
                // node that forwarded it had accepted the original first (it should have known).
                let seen_before =
                    |node: usize| accepted_at.get(&(original, node)).is_some_and(|&t| t <= v.at);
                let forwarder_knew = v.from.is_none_or(|f| f == msg.node || seen_before(f));
                if !seen_before(v.node) || !forwarder_knew {
                    continue;
                }
            }
            let d = dist_cache.entry(msg.node).or_insert_with(|| o.topology.distances(msg.node))
                [v.node];
            let d = if d == usize::MAX { 0 } else { d };
            if per_hop.len() <= d {
                per_hop.resize(d + 1, 0);
            }
            per_hop[d] += 1;
            let r = kinds.get_mut(&kind).expect("a configured kind");
            if r.spam_per_hop.len() <= d {
                r.spam_per_hop.resize(d + 1, 0);
            }
            r.spam_per_hop[d] += 1;
            if v.from == Some(msg.node) {
                r.first_hop += 1;
            } else {
                r.beyond_first_hop += 1;
            }
            if v.verdict == Verdict::Accept {
                r.accepted += 1;
            }
        }

        // Graylisting: for each (attacker, neighbour) link, the rejections before it.
        let mut first_spam: HashMap<usize, Instant> = HashMap::new();
        for m in o.workload.messages.iter().filter(|m| m.spam) {
            if let Some(&t) = o.published.get(&m.id) {
                let e = first_spam.entry(m.node).or_insert(t);
                if t < *e {
                    *e = t;
                }
            }
        }
        let graylist_at: HashMap<(usize, usize), Instant> = o
            .graylists
            .iter()
            .filter_map(|&(node, at, peer)| peer.map(|p| ((node, p), at)))
            .fold(HashMap::new(), |mut acc, (k, at)| {
                acc.entry(k).or_insert(at);
                acc
            });
        let mut rejects: HashMap<(usize, usize), Vec<Instant>> = HashMap::new();
        for v in &o.validations {
            if let (Verdict::Reject(_), Some(from)) = (v.verdict, v.from) {
                if !honest[from] {
                    rejects.entry((v.node, from)).or_default().push(v.at);
                }
            }
        }
        for (a, role) in o.roles.iter().enumerate() {
            let Role::Attacker(kind) = role else { continue };
            let r = kinds.get_mut(kind).expect("a configured kind");
            for &nb in &o.topology.neighbours[a] {
                if honest[nb] {
                    r.links += 1;
                    r.graylisted += usize::from(graylist_at.contains_key(&(nb, a)));
                }
            }
        }
        // Spreads over all links of each kind.
        for (kind, r) in kinds.iter_mut() {
            let mut counts = Vec::new();
            let mut times = Vec::new();
            for (a, role) in o.roles.iter().enumerate() {
                if *role != Role::Attacker(*kind) {
                    continue;
                }
                for &nb in o.topology.neighbours[a].iter().filter(|&&nb| honest[nb]) {
                    if let Some(&at) = graylist_at.get(&(nb, a)) {
                        let count = rejects
                            .get(&(nb, a))
                            .map(|ts| ts.iter().filter(|&&t| t <= at).count())
                            .unwrap_or(0);
                        counts.push(count as f64);
                        if let Some(&t) = first_spam.get(&a) {
                            times.push(at.saturating_duration_since(t).as_secs_f64());
                        }
                    }
                }
            }
            r.invalid_until_graylist = Spread::of(&counts);
            r.seconds_until_graylist = Spread::of(&times);
        }
        if !kinds.is_empty() && per_hop.len() <= MIN_HOPS_SHOWN {
            per_hop.resize(MIN_HOPS_SHOWN + 1, 0);
        }
        let attacks: Vec<AttackReport> = kinds.into_values().collect();
        let spam_beyond = attacks.iter().map(|a| a.beyond_first_hop).sum();

        // Traffic and amplification.
        let w = o.window.as_secs_f64().max(1e-9);
        let per_node: Vec<(f64, f64)> =
            o.traffic.iter().map(|&(i, out)| (i as f64 / w, out as f64 / w)).collect();
        let bytes_in: u64 = o.traffic.iter().map(|t| t.0).sum();
        let idle_in: u64 = o.idle_traffic.iter().map(|t| t.0).sum();
        let idle_rate = idle_in as f64 / o.idle_window.as_secs_f64().max(1e-9);
        let mut accepted_at: HashMap<[u8; 32], u64> = HashMap::new();
        for v in o.validations.iter().filter(|v| v.verdict == Verdict::Accept) {
            *accepted_at.entry(v.id).or_default() += 1;
        }
        let useful: f64 = o
            .workload
            .messages
            .iter()
            .map(|m| accepted_at.get(&m.id).copied().unwrap_or(0) as f64 * m.bytes.len() as f64)
            .sum();
        let amplification = if useful > 0.0 { bytes_in as f64 / useful } else { 0.0 };
        let amplification_net =
            if useful > 0.0 { (bytes_in as f64 - idle_rate * w).max(0.0) / useful } else { 0.0 };
        let validations = o.validations.len() as u64;
        let cpu_s = o.cpu.map(|d| d.as_secs_f64()).unwrap_or(0.0);
        let (before, end) = (o.rss_before.unwrap_or(0), o.rss_end.unwrap_or(0));
        SimReport {
            config: config.clone(),
            setup: Setup {
                nodes: n,
                honest_nodes,
                attacker_nodes: n - honest_nodes,
                links: o.topology.neighbours.iter().map(Vec::len).sum::<usize>() / 2,
                mean_degree: o.topology.neighbours.iter().map(Vec::len).sum::<usize>() as f64
                    / n.max(1) as f64,
                diameter: o.topology.diameter_estimate(32),
                mean_hops: o.topology.mean_distance(32),
                start_seconds: o.start_seconds,
                mesh_seconds: o.mesh_seconds,
                mesh_complete: o.mesh_complete,
                meshed_d_low: o.meshed_d_low,
                no_mesh: o.no_mesh,
                proofs: o.workload.proofs,
                proving_seconds: o.workload.proving.as_secs_f64(),
                lagged_events: o.lagged_events,
            },
            delivery: Delivery {
                honest_messages: honest_msgs.len(),
                expected,
                delivered,
                ratio: ratio(delivered, expected),
                within_2s_ratio: ratio(within_2s, expected),
                over_time: per_second
                    .iter()
                    .enumerate()
                    .filter(|(_, &(_, e))| e > 0)
                    .map(|(s, &(d, e))| (s as f64, ratio(d, e)))
                    .collect(),
            },
            latency: Latency {
                samples: latencies.len(),
                p50_ms: quantile(&latencies, 0.5),
                p95_ms: quantile(&latencies, 0.95),
                p99_ms: quantile(&latencies, 0.99),
                max_ms: latencies.last().copied().unwrap_or(0.0),
                mean_ms: if latencies.is_empty() {
                    0.0
                } else {
                    latencies.iter().sum::<f64>() / latencies.len() as f64
                },
                cdf,
            },
            attacks,
            spam_per_hop: per_hop,
            spam_beyond_first_hop: spam_beyond,
            honest_graylisted: o
                .graylists
                .iter()
                .filter(|&&(node, _, peer)| {
                    honest[node] && peer.is_some_and(|p| honest.get(p).copied().unwrap_or(false))
                })
                .count(),
            publish_failed: o.publish_failed,
            traffic: Traffic {
                window_seconds: w,
                in_per_node: Spread::of(&per_node.iter().map(|p| p.0).collect::<Vec<_>>()),
                out_per_node: Spread::of(&per_node.iter().map(|p| p.1).collect::<Vec<_>>()),
                per_node,
                amplification,
                amplification_net,
                idle_per_node: idle_rate / n.max(1) as f64,
            },
            cpu: Cpu {
                process_seconds: cpu_s,
                validations,
                us_per_validation: if validations == 0 {
                    0.0
                } else {
                    cpu_s * 1e6 / validations as f64
                },
                cores: cpu_s / w,
            },
            memory: Memory {
                rss_before_mb: mb(o.rss_before),
                rss_nodes_started_mb: mb(o.rss_nodes),
                rss_end_mb: mb(o.rss_end),
                peak_mb: mb(o.peak_rss),
                per_node_kb: end.saturating_sub(before) as f64 / 1024.0 / n.max(1) as f64,
            },
            verdicts,
        }
    }

    /// The attack report of `kind`, if it was in the run.
    pub fn attack(&self, kind: AttackKind) -> Option<&AttackReport> {
        self.attacks.iter().find(|a| a.kind == kind)
    }

    /// Honest nodes adjacent to an attacker of a rejected kind that never graylisted it.
    pub fn missed_graylists(&self) -> usize {
        self.attacks.iter().filter(|a| a.kind.is_rejected()).map(|a| a.links - a.graylisted).sum()
    }
}
