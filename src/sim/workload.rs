//! The run's messages, made before the load starts (so the run measures the network, not the
//! prover): honest messages with real proofs from the embedded development keys, and each
//! attacker's spam.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::circuit::CircuitKeys;
use crate::field::{hash_to_field, Field};
use crate::relay::message::{gossip_id, WakuMessage};
use crate::relay::publisher::{PublishError, Publisher};
use crate::sim::config::{AttackKind, SimConfig};
use crate::tree::{MerkleTree, TreeError};
use crate::{Identity, Prover, UserMessageLimit};

/// How long after an honest message a replayer sends it again.
pub const REPLAY_DELAY: Duration = Duration::from_secs(3);

/// The content topic of the simulation's messages.
pub const CONTENT_TOPIC: &str = "/rlnkit/1/sim/proto";

/// What a node does in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An honest relay (publishing or not).
    Honest {
        /// It publishes honest load.
        publisher: bool,
    },
    /// An attacker of this kind.
    Attacker(AttackKind),
}

impl Role {
    /// Whether the node is honest (a relay or a publisher).
    pub fn is_honest(self) -> bool {
        matches!(self, Role::Honest { .. })
    }
}

/// One message to publish.
#[derive(Debug, Clone)]
pub struct Planned {
    /// When, from the start of the load.
    pub at: Duration,
    /// The node that publishes it.
    pub node: usize,
    /// The encoded message.
    pub bytes: Vec<u8>,
    /// Its gossipsub id (sha256 of the bytes).
    pub id: [u8; 32],
    /// `None` for honest messages.
    pub attack: Option<AttackKind>,
    /// Whether it is spam (a double signaller's first message is not).
    pub spam: bool,
    /// For a replay: the gossipsub id of the honest message it replays.
    pub replays: Option<[u8; 32]>,
}

/// Why the workload could not be made.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// The members did not fit the tree.
    #[error("membership tree: {0}")]
    Tree(#[from] TreeError),
    /// A message could not be proved.
    #[error("cannot build a message: {0}")]
    Publish(#[from] PublishError),
    /// The per-member message limit is out of range.
    #[error("invalid rate limit: {0}")]
    Limit(#[from] crate::identity::IdentityError),
}

/// The run's messages, sorted by time, and the membership root they prove against.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The membership root every proof is made against.
    pub root: Field,
    /// The messages, sorted by time.
    pub messages: Vec<Planned>,
    /// Proofs made, and how long it took.
    pub proofs: usize,
    /// How long making them took.
    pub proving: Duration,
}

impl Workload {
    /// Makes every message of the run; timestamps count from `start_unix_ns`.
    pub fn build(
        config: &SimConfig,
        roles: &[Role],
        keys: Arc<CircuitKeys>,
        start_unix_ns: u64,
        rng: &mut impl Rng,
    ) -> Result<Self, WorkloadError> {
        let t0 = Instant::now();
        let prover = Prover::new(keys);
        let publishers: Vec<usize> =
            (0..roles.len()).filter(|&i| roles[i] == Role::Honest { publisher: true }).collect();
        let honest_count = (config.rate * config.duration.as_secs_f64()).round() as usize;
        let per_member = honest_count.div_ceil(publishers.len().max(1)) as u64 + 1;
        let limit = UserMessageLimit::new(per_member.clamp(100, 65_535))?;
        let mut tree = MerkleTree::default();
        let mut member = |seed: String| -> Result<Publisher, WorkloadError> {
            let id = Identity::from_seed(seed.as_bytes());
            let i = tree.push(id.rate_commitment(limit))?;
            Ok(Publisher::new(prover.clone(), id, limit, tree.proof(i)?))
        };
        let mut honest: Vec<Publisher> = publishers
            .iter()
            .map(|p| member(format!("sim honest {p}")))
            .collect::<Result<_, _>>()?;
        let attackers: Vec<(usize, AttackKind)> = roles
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match r {
                Role::Attacker(k) => Some((i, *k)),
                _ => None,
            })
            .collect();
        let mut attacker_members = Vec::new();
        for (i, k) in &attackers {
            if matches!(k, AttackKind::DoubleSignal | AttackKind::WrongEpoch) {
                attacker_members.push((*i, member(format!("sim attacker {i}"))?));
            }
        }
        let forger = member("sim forger".into())?;
        // Tree paths change as members join: refresh every member's path to the final root.
        let root = tree.root();
        let mut index = 0u64;
        for p in honest.iter_mut() {
            p.set_merkle_proof(tree.proof(index)?);
            index += 1;
        }
        for (_, p) in attacker_members.iter_mut() {
            p.set_merkle_proof(tree.proof(index)?);
            index += 1;
        }
        let mut forger = forger;
        forger.set_merkle_proof(tree.proof(index)?);

        let ts = |at: Duration| start_unix_ns + at.as_nanos() as u64;
        let mut proofs = 0usize;
        let mut messages = Vec::new();
        let mut push = |at, node, bytes: Vec<u8>, attack, spam, replays| {
            let id = gossip_id(&bytes);
            messages.push(Planned { at, node, id, bytes, attack, spam, replays });
        };

        // Honest load: message k at k / rate from publisher k mod P.
        let mut honest_msgs: Vec<(Duration, WakuMessage)> = Vec::new();
        for k in 0..honest_count {
            let at = Duration::from_secs_f64(k as f64 / config.rate);
            let p = k % publishers.len().max(1);
            let mut payload = vec![0u8; config.message_bytes.max(16)];
            rng.fill(&mut payload[..]);
            payload[..8].copy_from_slice(&(k as u64).to_le_bytes());
            let m = honest[p].build(&payload, CONTENT_TOPIC, ts(at))?;
            proofs += 1;
            push(at, publishers[p], m.to_bytes(), None, false, None);
            honest_msgs.push((at, m));
        }

        // One valid proof, reused with a recomputed share x for every forged message.
        let base = forger.build_with_id(b"forger's base", CONTENT_TOPIC, ts(Duration::ZERO), 0)?;
        proofs += 1;
        let forge = |payload: Vec<u8>, ts_ns: u64| {
            let mut m = base.clone();
            m.payload = payload;
            m.timestamp = Some(ts_ns as i64);
            let x = hash_to_field(&m.rln_signal());
            if let Some(p) = m.rate_limit_proof.as_mut() {
                p.share_x = x.to_le_bytes().to_vec();
            }
            m
        };

        for (node, kind) in attackers {
            let (rate, cap) = match kind {
                AttackKind::SybilFlood => {
                    (config.attack_rate * 10.0, config.max_spam_per_attacker * 10)
                }
                _ => (config.attack_rate, config.max_spam_per_attacker),
            };
            let count = ((rate * config.duration.as_secs_f64()).ceil() as usize).min(cap).max(1);
            let at = |j: usize| Duration::from_secs_f64(j as f64 / rate.max(1e-9));
            let member = attacker_members.iter().find(|(i, _)| *i == node).map(|(_, p)| p);
            match kind {
                AttackKind::DoubleSignal => {
                    let p = member.expect("a double signaller has a membership");
                    // Message id 0 again and again: the first message of each epoch is a valid
                    // share, every other one a double signal (a run may cross an epoch boundary).
                    let mut first_epoch = None;
                    for j in 0..count {
                        let payload = format!("double signal {node} {j}").into_bytes();
                        let m = p.build_with_id(&payload, CONTENT_TOPIC, ts(at(j)), 0)?;
                        proofs += 1;
                        let epoch = crate::relay::message::epoch_of_timestamp(ts(at(j)), 600);
                        let spam = first_epoch == Some(epoch);
                        first_epoch = Some(epoch);
                        push(at(j), node, m.to_bytes(), Some(kind), spam, None);
                    }
                }
                AttackKind::InvalidProof | AttackKind::SybilFlood => {
                    for j in 0..count {
                        let m = forge(format!("forged {node} {j}").into_bytes(), ts(at(j)));
                        push(at(j), node, m.to_bytes(), Some(kind), true, None);
                    }
                }
                AttackKind::NoProof => {
                    for j in 0..count {
                        let m = WakuMessage {
                            payload: format!("no proof {node} {j}").into_bytes(),
                            content_topic: CONTENT_TOPIC.into(),
                            timestamp: Some(ts(at(j)) as i64),
                            ..Default::default()
                        };
                        push(at(j), node, m.to_bytes(), Some(kind), true, None);
                    }
                }
                AttackKind::Replay => {
                    // Honest messages again, in a new envelope, once the original has reached
                    // every node (REPLAY_DELAY later): a duplicate share wherever it arrives.
                    for (j, (t, m)) in honest_msgs.iter().take(count).enumerate() {
                        let mut r = m.clone();
                        r.meta = Some(format!("replay {node} {j}").into_bytes());
                        let original = Some(gossip_id(&m.to_bytes()));
                        push(*t + REPLAY_DELAY, node, r.to_bytes(), Some(kind), true, original);
                    }
                }
                AttackKind::WrongEpoch => {
                    let p = member.expect("a wrong-epoch attacker has a membership");
                    let valid = p.build_with_id(b"wrong epoch", CONTENT_TOPIC, ts(at(0)), 0)?;
                    proofs += 1;
                    for j in 0..count {
                        let mut m = valid.clone();
                        m.payload = format!("wrong epoch {node} {j}").into_bytes();
                        m.timestamp = Some(ts(at(j)) as i64);
                        if let Some(proof) = m.rate_limit_proof.as_mut() {
                            let e = crate::relay::message::epoch_of_timestamp(ts(at(j)), 600);
                            let next = e.index().unwrap_or(0) + 1;
                            proof.epoch = Field::from_u64(next).to_le_bytes().to_vec();
                        }
                        push(at(j), node, m.to_bytes(), Some(kind), true, None);
                    }
                }
            }
        }
        messages.sort_by_key(|m| m.at);
        Ok(Workload { root, messages, proofs, proving: t0.elapsed() })
    }
}
