//! What a simulation run is made of: the network, the honest load and the attackers.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::relay::TransportKind;

/// A kind of attacker. Each attacker is a relay node of its own that publishes its spam there,
/// so its neighbours are the first hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum AttackKind {
    /// A member that reuses one message id in one epoch: every message after the first is a
    /// double signal (real proofs; the secret is recovered at the first hop).
    DoubleSignal,
    /// Valid curve points that do not verify: the share's x is recomputed for a new payload, so
    /// every cheap check passes and the first hop pays a pairing.
    InvalidProof,
    /// Messages without a rate limit proof.
    NoProof,
    /// Honest messages sent again in a new envelope (a changed `meta`: a new gossipsub id, the
    /// same share): the first hop ignores them as duplicates, nobody is penalized.
    Replay,
    /// A valid proof whose epoch is not the epoch of the message's timestamp.
    WrongEpoch,
    /// A sybil set: many nodes that each flood invalid proofs at ten times the attack rate.
    SybilFlood,
}

impl AttackKind {
    /// Every kind, in report order.
    pub const ALL: [AttackKind; 6] = [
        AttackKind::DoubleSignal,
        AttackKind::InvalidProof,
        AttackKind::NoProof,
        AttackKind::Replay,
        AttackKind::WrongEpoch,
        AttackKind::SybilFlood,
    ];

    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            AttackKind::DoubleSignal => "double_signal",
            AttackKind::InvalidProof => "invalid_proof",
            AttackKind::NoProof => "no_proof",
            AttackKind::Replay => "replay",
            AttackKind::WrongEpoch => "wrong_epoch",
            AttackKind::SybilFlood => "sybil_flood",
        }
    }

    /// Whether the first hop rejects this spam (and so scores the sender down); replays are
    /// ignored instead: their share is valid and was already seen.
    pub fn is_rejected(self) -> bool {
        self != AttackKind::Replay
    }
}

/// How many attacker nodes of each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attackers {
    /// Members that publish two messages under one message id in an epoch.
    pub double_signal: usize,
    /// Nodes that publish a valid proof reused for other payloads (the share no longer matches).
    pub invalid_proof: usize,
    /// Nodes that publish messages without a proof.
    pub no_proof: usize,
    /// Nodes that republish honest messages in a new envelope (same share).
    pub replay: usize,
    /// Members whose proofs name the next epoch instead of the current one.
    pub wrong_epoch: usize,
    /// Nodes in the sybil set.
    pub sybil: usize,
}

impl Attackers {
    /// One attacker of each kind and a sybil set of `sybil` nodes.
    pub fn one_of_each(sybil: usize) -> Self {
        Attackers {
            double_signal: 1,
            invalid_proof: 1,
            no_proof: 1,
            replay: 1,
            wrong_epoch: 1,
            sybil,
        }
    }

    /// The number of attacker nodes of `kind`.
    pub fn count(&self, kind: AttackKind) -> usize {
        match kind {
            AttackKind::DoubleSignal => self.double_signal,
            AttackKind::InvalidProof => self.invalid_proof,
            AttackKind::NoProof => self.no_proof,
            AttackKind::Replay => self.replay,
            AttackKind::WrongEpoch => self.wrong_epoch,
            AttackKind::SybilFlood => self.sybil,
        }
    }

    /// All attacker nodes.
    pub fn total(&self) -> usize {
        AttackKind::ALL.iter().map(|&k| self.count(k)).sum()
    }
}

/// A simulation run.
#[derive(Debug, Clone, Serialize)]
pub struct SimConfig {
    /// Relay nodes in the process, attackers included.
    pub nodes: usize,
    /// Average number of connections per node (each node dials `degree / 2` earlier nodes).
    pub degree: usize,
    /// In-memory (large runs) or TCP on loopback.
    #[serde(serialize_with = "transport_name")]
    pub transport: TransportKind,
    /// Emulated one-way latency per link (zero: none).
    #[serde(rename = "link_latency_ms", serialize_with = "millis")]
    pub link_latency: Duration,
    /// Honest nodes that publish.
    pub publishers: usize,
    /// Honest messages per second, whole network.
    pub rate: f64,
    /// Payload bytes of an honest message.
    pub message_bytes: usize,
    /// How long the load (honest and attack) runs.
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    /// How long to wait after the load for the last deliveries.
    #[serde(rename = "settle_ms", serialize_with = "millis")]
    pub settle: Duration,
    /// Attacker nodes of each kind.
    pub attackers: Attackers,
    /// Spam messages per second per attacker (sybils send ten times as many).
    pub attack_rate: f64,
    /// At most this many spam messages per attacker (double signals need a proof each).
    pub max_spam_per_attacker: usize,
    /// Pause between starting two nodes (staggered dials).
    #[serde(rename = "dial_stagger_ms", serialize_with = "millis")]
    pub dial_stagger: Duration,
    /// Gossipsub heartbeat.
    #[serde(rename = "heartbeat_ms", serialize_with = "millis")]
    pub heartbeat: Duration,
    /// How long to wait for the meshes to form.
    #[serde(rename = "mesh_timeout_ms", serialize_with = "millis")]
    pub mesh_timeout: Duration,
    /// Seed of the topology, the roles and the schedule.
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            nodes: 50,
            degree: 8,
            transport: TransportKind::Memory,
            link_latency: Duration::ZERO,
            publishers: 10,
            rate: 10.0,
            message_bytes: 1024,
            duration: Duration::from_secs(5),
            settle: Duration::from_secs(2),
            attackers: Attackers::default(),
            attack_rate: 5.0,
            max_spam_per_attacker: 20,
            dial_stagger: Duration::from_millis(2),
            heartbeat: Duration::from_secs(1),
            mesh_timeout: Duration::from_secs(30),
            seed: 1,
        }
    }
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e3)
}

fn transport_name<S: serde::Serializer>(t: &TransportKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match t {
        TransportKind::Tcp => "tcp",
        TransportKind::Memory => "memory",
    })
}
