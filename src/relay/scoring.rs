//! Gossipsub peer scoring with the Waku network's parameters (nwaku's `waku_relay/protocol.nim`,
//! SPEC §10), so that spam costs the peer that sends it.
//!
//! The score that matters here is P4, the invalid-message penalty: every Reject adds one to the
//! sender's counter `c` in the topic, and the peer's score falls by `100·c²` (weight −100; the
//! counter halves every 12 s). Ten invalid messages in quick succession put a peer at −10,000,
//! the graylist threshold: gossipsub then ignores it, and the node disconnects it (rust-libp2p
//! leaves disconnecting to the application). Scores are kept ten minutes after a disconnect, so a
//! graylisted peer that reconnects is dropped again.
//!
//! P6, the IP-colocation factor, punishes many peers behind one IP. On loopback every node shares
//! 127.0.0.1, so tests and the simulation turn it off ([`ScoringConfig::loopback`]); production
//! uses nwaku's weight −50 above 5 peers per IP ([`ScoringConfig::waku`]).
//!
//! Verdicts are fair to forwarders ([`FirstShares::acceptance`]): a forwarded invalid proof is a
//! Reject (the forwarder should have checked it), but the second half of a double signal is
//! individually valid, so it is a Reject only for the peer that also delivered the first half (an
//! honest relay that accepted one half rejects the other, so it never forwards both) and an
//! Ignore for anyone else.

use std::collections::HashMap;
use std::time::Duration;

use libp2p::gossipsub::{
    MessageAcceptance, PeerScoreParams, PeerScoreThresholds, TopicHash, TopicScoreParams,
};
use libp2p::PeerId;

use crate::relay::message::{RateLimitProof, WakuMessage};
use crate::relay::rules::{Reason, Verdict};

/// nwaku's gossip threshold: no gossip to or from peers below it.
pub const GOSSIP_THRESHOLD: f64 = -100.0;
/// nwaku's publish threshold: no self-published messages to peers below it.
pub const PUBLISH_THRESHOLD: f64 = -1_000.0;
/// nwaku's graylist threshold: every message of a peer below it is ignored, and the node
/// disconnects it.
pub const GRAYLIST_THRESHOLD: f64 = -10_000.0;
/// P4 weight: each invalid message costs `100·c²` for a counter `c`.
pub const INVALID_MESSAGE_WEIGHT: f64 = -100.0;
/// P4 decay: the counter is multiplied by this every [`DECAY_INTERVAL`].
pub const INVALID_MESSAGE_DECAY: f64 = 0.5;
/// How often the score counters decay (nwaku: 12 s).
pub const DECAY_INTERVAL: Duration = Duration::from_secs(12);

/// How a node scores its peers.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoringConfig {
    /// Peer scoring on (default) or off (then a Reject costs the sender nothing).
    pub enabled: bool,
    /// P6 weight (≤ 0): the penalty `weight·(peers_on_ip − threshold)²` for every peer that shares
    /// an IP with more than `threshold` others. 0 turns it off.
    pub ip_colocation_weight: f64,
    /// P6 threshold: how many peers one IP may hold before P6 applies.
    pub ip_colocation_threshold: f64,
    /// Disconnect peers whose score is below [`GRAYLIST_THRESHOLD`] (nwaku's
    /// `disconnectBadPeers`).
    pub disconnect_graylisted: bool,
}

impl ScoringConfig {
    /// Production: nwaku's parameters, P6 −50 above 5 peers per IP.
    pub fn waku() -> Self {
        ScoringConfig {
            enabled: true,
            ip_colocation_weight: -50.0,
            ip_colocation_threshold: 5.0,
            disconnect_graylisted: true,
        }
    }

    /// Nodes that share one IP (loopback tests, the simulation): nwaku's parameters with P6 off.
    pub fn loopback() -> Self {
        ScoringConfig { ip_colocation_weight: 0.0, ..Self::waku() }
    }

    /// Scoring off: gossipsub never penalizes a peer (rust-libp2p's default).
    pub fn off() -> Self {
        ScoringConfig { enabled: false, disconnect_graylisted: false, ..Self::waku() }
    }
}

impl Default for ScoringConfig {
    fn default() -> Self {
        Self::waku()
    }
}

/// nwaku's per-topic parameters: P1 (time in mesh) and P2 (first deliveries) reward good peers a
/// little, P3/P3b are off, P4 punishes invalid messages hard.
pub fn topic_score_params() -> TopicScoreParams {
    TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 10.0,
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: 0.5,
        first_message_deliveries_cap: 10.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_message_deliveries_decay: 0.0,
        mesh_message_deliveries_cap: 0.0,
        mesh_message_deliveries_threshold: 0.0,
        mesh_message_deliveries_window: Duration::from_millis(10),
        mesh_message_deliveries_activation: Duration::from_secs(1),
        mesh_failure_penalty_weight: 0.0,
        mesh_failure_penalty_decay: 0.0,
        invalid_message_deliveries_weight: INVALID_MESSAGE_WEIGHT,
        invalid_message_deliveries_decay: INVALID_MESSAGE_DECAY,
    }
}

/// nwaku's peer parameters (P5 off, P6 from `config`, P7 −10 decaying 0.986) with
/// [`topic_score_params`] for each of `topics`.
pub fn peer_score_params<'a>(
    config: &ScoringConfig,
    topics: impl IntoIterator<Item = &'a TopicHash>,
) -> PeerScoreParams {
    let topics: HashMap<TopicHash, TopicScoreParams> =
        topics.into_iter().map(|t| (t.clone(), topic_score_params())).collect();
    PeerScoreParams {
        topics,
        topic_score_cap: 0.0,
        app_specific_weight: 0.0,
        ip_colocation_factor_weight: config.ip_colocation_weight,
        ip_colocation_factor_threshold: config.ip_colocation_threshold,
        behaviour_penalty_weight: -10.0,
        behaviour_penalty_decay: 0.986,
        decay_interval: DECAY_INTERVAL,
        decay_to_zero: 0.01,
        retain_score: Duration::from_secs(600),
        ..PeerScoreParams::default()
    }
}

/// nwaku's thresholds (gossip −100, publish −1,000, graylist −10,000; opportunistic grafting and
/// peer exchange unused).
pub fn peer_score_thresholds() -> PeerScoreThresholds {
    PeerScoreThresholds {
        gossip_threshold: GOSSIP_THRESHOLD,
        publish_threshold: PUBLISH_THRESHOLD,
        graylist_threshold: GRAYLIST_THRESHOLD,
        accept_px_threshold: 10.0,
        opportunistic_graft_threshold: 0.0,
    }
}

/// How many invalid messages in quick succession (no decay in between) bring a peer with score
/// `start` below the graylist threshold: the least `c` with `start − 100·c² < −10,000`.
pub fn invalid_messages_to_graylist(start: f64) -> u32 {
    let mut c = 0u32;
    while start + INVALID_MESSAGE_WEIGHT * f64::from(c) * f64::from(c) >= GRAYLIST_THRESHOLD {
        c += 1;
    }
    c
}

/// The key of a share in the nullifier log: its proof's epoch and nullifier (32 bytes each).
pub type ShareKey = [u8; 64];

/// The [`ShareKey`] of a message's proof (`None` if the fields are not 32 bytes).
pub fn share_key(proof: &RateLimitProof) -> Option<ShareKey> {
    let mut k = [0u8; 64];
    k[..32].copy_from_slice(proof.epoch.get(..32)?);
    k[32..].copy_from_slice(proof.nullifier.get(..32)?);
    Some(k)
}

/// The [`ShareKey`] of an encoded message, decoded only for a double signal's verdict.
pub fn encoded_share_key(bytes: &[u8]) -> Option<ShareKey> {
    share_key(WakuMessage::decode_checked(bytes).ok()?.rate_limit_proof.as_ref()?)
}

/// Who delivered the accepted share of each (epoch, nullifier), to judge whether a second share
/// is its forwarder's fault. Two generations, rotated every epoch length, so entries live one to
/// two epochs (past the validator's epoch window).
#[derive(Debug, Default)]
pub struct FirstShares {
    current: HashMap<ShareKey, PeerId>,
    previous: HashMap<ShareKey, PeerId>,
}

impl FirstShares {
    /// Records that `from` delivered the accepted share `key` (the first delivery wins).
    pub fn record(&mut self, key: ShareKey, from: PeerId) {
        if !self.previous.contains_key(&key) {
            self.current.entry(key).or_insert(from);
        }
    }

    /// The peer that delivered the accepted share `key`, if it is still remembered.
    pub fn first(&self, key: &ShareKey) -> Option<PeerId> {
        self.current.get(key).or_else(|| self.previous.get(key)).copied()
    }

    /// Starts a new generation, forgetting the one before the current.
    pub fn rotate(&mut self) {
        self.previous = std::mem::take(&mut self.current);
    }

    /// What gossipsub is told about a message from `source` judged `verdict`; `key` is the
    /// message's share key (only needed for a double signal). A double signal's second share is
    /// a Reject only if `source` also delivered the first: a forwarder that could not know gets
    /// an Ignore (no penalty); the spammer's secret is recovered and slashed either way.
    pub fn acceptance(
        &self,
        verdict: Verdict,
        source: &PeerId,
        key: Option<&ShareKey>,
    ) -> MessageAcceptance {
        match verdict {
            Verdict::Accept => MessageAcceptance::Accept,
            Verdict::Reject(Reason::DoubleSignal) => {
                if key.and_then(|k| self.first(k)) == Some(*source) {
                    MessageAcceptance::Reject
                } else {
                    MessageAcceptance::Ignore
                }
            }
            Verdict::Reject(_) => MessageAcceptance::Reject,
            Verdict::Ignore(_) => MessageAcceptance::Ignore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::gossipsub::IdentTopic;

    #[test]
    fn params_are_valid_for_gossipsub() {
        let t = IdentTopic::new("/waku/2/rs/1/0").hash();
        for c in [ScoringConfig::waku(), ScoringConfig::loopback()] {
            peer_score_params(&c, [&t]).validate().unwrap();
        }
        peer_score_thresholds().validate().unwrap();
        topic_score_params().validate().unwrap();
    }

    #[test]
    fn a_spammer_is_graylisted_within_sixteen_invalid_messages() {
        // A fresh peer after 10, a peer at the positive score cap (P1 0.1 + P2 10) after 11.
        assert_eq!(invalid_messages_to_graylist(0.0), 11);
        assert_eq!(invalid_messages_to_graylist(10.1), 11);
        assert!(invalid_messages_to_graylist(10.1) <= 16);
    }

    #[test]
    fn a_second_share_is_the_fault_of_the_peer_that_sent_both() {
        let (spammer, forwarder) = (PeerId::random(), PeerId::random());
        let mut firsts = FirstShares::default();
        let key = [7u8; 64];
        firsts.record(key, spammer);
        firsts.record(key, forwarder); // a later delivery of the same share does not replace it
        let double = Verdict::Reject(Reason::DoubleSignal);
        assert_eq!(firsts.acceptance(double, &spammer, Some(&key)), MessageAcceptance::Reject);
        assert_eq!(firsts.acceptance(double, &forwarder, Some(&key)), MessageAcceptance::Ignore);
        assert_eq!(firsts.acceptance(double, &spammer, None), MessageAcceptance::Ignore);
        let invalid = Verdict::Reject(Reason::InvalidProof);
        assert_eq!(firsts.acceptance(invalid, &forwarder, None), MessageAcceptance::Reject);
        // Remembered for one more generation, then forgotten.
        firsts.rotate();
        assert_eq!(firsts.first(&key), Some(spammer));
        firsts.rotate();
        assert_eq!(firsts.first(&key), None);
    }
}
