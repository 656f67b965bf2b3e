//! The relay's RLN rules as pure functions: a message, its pubsub topic, the network's parameters,
//! the accepted roots and the time in; a [`Reason`] to reject it, or the checked proof out. No
//! state, no lock, no metrics: the [`Validator`](super::Validator) adds the nullifier log, the
//! pairing and the counting around them.
//!
//! Order (SPEC §5, nwaku's rules plus rlnkit's): size, decode, topic, proof present, canonical
//! fields, timestamp window, pinned rln_identifier, epoch == f(timestamp), x ==
//! hash_to_field(signal); whether the root is accepted is noted, not judged here. The validator
//! then asks the nullifier log (same share → Ignore), checks the curve points, runs the pairing
//! and settles the nullifier. A root this relay does not accept (not known yet, or past the
//! registry's window) is not the forwarding peer's fault: the message is ignored (no penalty)
//! unless its proof does not verify, which shows it invalid (rejected, penalized).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::epoch::{RlnIdentifier, WAKU_EPOCH_SECONDS};
use crate::field::hash_to_field;
use crate::relay::message::{
    epoch_of_timestamp, CheckedProof, MessageError, WakuMessage, MAX_MESSAGE_BYTES, MAX_META_BYTES,
};
use crate::roots::AcceptedRoots;

/// nwaku's maximum clock difference between a message's timestamp and the validator's clock.
pub const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::from_secs(20);

/// Why a message was rejected (gossipsub penalizes the peer that sent it). Each reason is one
/// `type` label of `waku_rln_invalid_messages_total` (spam counts in `waku_rln_spam_messages_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Reason {
    /// Larger than the network's message size limit.
    #[error("the message exceeds the size limit")]
    TooLarge,
    /// Not a `WakuMessage` protobuf (or its `meta` is too long).
    #[error("the bytes are not a WakuMessage")]
    Decode,
    /// Published on a pubsub topic this relay does not serve.
    #[error("the message was published on a pubsub topic this relay does not serve")]
    Topic,
    /// No `rate_limit_proof`.
    #[error("the message carries no rate limit proof")]
    MissingProof,
    /// The Groth16 proof is not 128 bytes.
    #[error("the Groth16 proof is not 128 bytes")]
    ProofLength,
    /// A proof field is not a canonical 32-byte field element.
    #[error("a proof field is not a canonical 32-byte field element")]
    NonCanonicalField,
    /// No timestamp (or a negative one).
    #[error("the message has no timestamp")]
    MissingTimestamp,
    /// Older than the allowed clock skew.
    #[error("the timestamp is too far in the past")]
    TimestampTooOld,
    /// Further ahead than the allowed clock skew.
    #[error("the timestamp is too far in the future")]
    TimestampInFuture,
    /// Another application's RLN identifier (its nullifiers would be fresh here).
    #[error("the rln_identifier is not this network's")]
    WrongRlnIdentifier,
    /// The proof's epoch is not the epoch of the timestamp.
    #[error("the proof's epoch is not the epoch of the message's timestamp")]
    EpochMismatch,
    /// x is not the hash of this message's signal.
    #[error("the share's x is not hash_to_field(signal): the proof is for another message")]
    SignalMismatch,
    /// The proof's curve points do not decode (off curve, wrong subgroup).
    #[error("the proof's curve points are invalid")]
    InvalidPoints,
    /// The pairing check failed.
    #[error("the proof does not verify")]
    InvalidProof,
    /// A verified second share for one nullifier in one epoch.
    #[error("double signal: a second message with one nullifier in one epoch")]
    DoubleSignal,
}

impl Reason {
    /// The `type` label of `waku_rln_invalid_messages_total`.
    pub fn label(self) -> &'static str {
        match self {
            Reason::TooLarge => "oversized",
            Reason::Decode => "decode",
            Reason::Topic => "topic",
            Reason::MissingProof => "missing_proof",
            Reason::ProofLength => "proof_length",
            Reason::NonCanonicalField => "non_canonical_field",
            Reason::MissingTimestamp => "missing_timestamp",
            Reason::TimestampTooOld | Reason::TimestampInFuture => "invalid_timestamp",
            Reason::WrongRlnIdentifier => "invalid_rln_identifier",
            Reason::EpochMismatch => "invalid_epoch",
            Reason::SignalMismatch => "invalid_signal",
            Reason::InvalidPoints | Reason::InvalidProof => "invalid_proof",
            Reason::DoubleSignal => "spam",
        }
    }

    pub(crate) fn from_message_error(e: &MessageError) -> Self {
        match e {
            MessageError::TooLarge { .. } => Reason::TooLarge,
            MessageError::Protobuf(_) | MessageError::MetaTooLarge { .. } => Reason::Decode,
            MessageError::MissingProof => Reason::MissingProof,
            MessageError::MissingTimestamp => Reason::MissingTimestamp,
            MessageError::Field { .. } => Reason::NonCanonicalField,
            MessageError::ProofLength { .. } => Reason::ProofLength,
            MessageError::ProofFormat(_) => Reason::InvalidPoints,
        }
    }
}

/// Why a message was ignored (not forwarded, no penalty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IgnoreReason {
    /// The same message (same nullifier, same share) was already accepted.
    Duplicate,
    /// The batch verifier is gone (the node is shutting down).
    Unavailable,
    /// The proof verifies, but against a root this relay does not accept now: newer than its last
    /// look at the chain, or superseded longer ago than the registry's window (a stale root).
    UnknownRoot,
    /// The node's validation queue was full: dropped unjudged (never forwarded, no penalty).
    Overloaded,
}

impl IgnoreReason {
    /// The `type` label of `rlnkit_relay_ignored_messages_total`.
    pub fn label(self) -> &'static str {
        match self {
            IgnoreReason::Duplicate => "duplicate",
            IgnoreReason::Unavailable => "unavailable",
            IgnoreReason::UnknownRoot => "unknown_root",
            IgnoreReason::Overloaded => "overloaded",
        }
    }
}

/// What gossipsub should do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Valid: forward it and deliver it.
    Accept,
    /// Invalid: drop it and penalize the peer that sent it.
    Reject(Reason),
    /// Drop it without a penalty.
    Ignore(IgnoreReason),
}

/// The network's parameters.
#[derive(Debug, Clone)]
pub struct ValidatorConfig {
    /// The only rln_identifier accepted (nwaku accepts any: a rate-limit bypass).
    pub rln_identifier: RlnIdentifier,
    /// Length of an epoch (600 s on the Waku network).
    pub epoch_seconds: u64,
    /// Largest accepted difference between a message's timestamp and the validator's clock.
    pub max_clock_skew: Duration,
    /// Pubsub topics served; empty: any.
    pub pubsub_topics: Vec<String>,
    /// Largest encoded message accepted.
    pub max_message_bytes: usize,
}

impl Default for ValidatorConfig {
    fn default() -> Self {
        ValidatorConfig {
            rln_identifier: RlnIdentifier::waku(),
            epoch_seconds: WAKU_EPOCH_SECONDS,
            max_clock_skew: DEFAULT_MAX_CLOCK_SKEW,
            pubsub_topics: Vec::new(),
            max_message_bytes: MAX_MESSAGE_BYTES,
        }
    }
}

/// Unix time in nanoseconds.
pub fn unix_now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// Size, then decode: the message behind gossipsub's bytes.
pub fn decode(config: &ValidatorConfig, bytes: &[u8]) -> Result<WakuMessage, Reason> {
    if bytes.len() > config.max_message_bytes {
        return Err(Reason::TooLarge);
    }
    WakuMessage::decode_checked(bytes).map_err(|e| Reason::from_message_error(&e))
}

/// A message's proof after every rule that needs neither state nor curve math.
#[derive(Debug, Clone)]
pub struct RulesPassed {
    /// The proof's fields (lengths and canonical encodings checked).
    pub proof: CheckedProof,
    /// The epoch index of the message's timestamp (= the proof's epoch).
    pub epoch: u64,
    /// Whether the proof's root is among the accepted roots now.
    pub root_accepted: bool,
}

/// Every rule of a decoded message that needs no state: topic, meta size, proof fields, timestamp
/// window, rln identifier, epoch, signal; and whether the root is accepted (not a rule: see the
/// module's doc). `now_ns`: the validator's clock (ns since the Unix epoch).
pub fn check_message(
    config: &ValidatorConfig,
    roots: &(impl AcceptedRoots + ?Sized),
    msg: &WakuMessage,
    pubsub_topic: &str,
    now_ns: u64,
) -> Result<RulesPassed, Reason> {
    use Reason::*;
    let c = config;
    if !c.pubsub_topics.is_empty() && !c.pubsub_topics.iter().any(|t| t == pubsub_topic) {
        return Err(Topic);
    }
    if msg.meta.as_ref().is_some_and(|m| m.len() > MAX_META_BYTES) {
        return Err(Decode);
    }
    let rlp = msg.rate_limit_proof.as_ref().ok_or(MissingProof)?;
    let proof = rlp.check().map_err(|e| Reason::from_message_error(&e))?;
    let ts = msg.timestamp_ns().ok_or(MissingTimestamp)?;
    let skew = c.max_clock_skew.as_nanos() as u64;
    if ts.saturating_add(skew) < now_ns {
        return Err(TimestampTooOld);
    }
    if ts > now_ns.saturating_add(skew) {
        return Err(TimestampInFuture);
    }
    if proof.rln_identifier != c.rln_identifier {
        return Err(WrongRlnIdentifier);
    }
    let epoch = epoch_of_timestamp(ts, c.epoch_seconds);
    if proof.epoch != epoch {
        return Err(EpochMismatch);
    }
    // A u64 timestamp over a nonzero epoch length always fits.
    let epoch = epoch.index().ok_or(EpochMismatch)?;
    let root_accepted = roots.contains_root(&proof.root);
    if proof.x != hash_to_field(&msg.rln_signal()) {
        return Err(SignalMismatch);
    }
    Ok(RulesPassed { proof, epoch, root_accepted })
}

/// The shard of `/waku/2/rs/<cluster>/<shard>` (or the whole topic): the `shard` label of
/// `waku_rln_valid_messages_total`.
pub fn shard_label(topic: &str) -> &str {
    topic.strip_prefix("/waku/2/rs/").and_then(|r| r.split('/').nth(1)).unwrap_or(topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_labels() {
        assert_eq!(shard_label("/waku/2/rs/1/7"), "7");
        assert_eq!(shard_label("/my/topic"), "/my/topic");
    }

    #[test]
    fn rules_reject_without_state() {
        let c = ValidatorConfig { pubsub_topics: vec!["/a".into()], ..Default::default() };
        let m = WakuMessage { payload: b"x".to_vec(), ..Default::default() };
        let roots: [crate::Field; 0] = [];
        assert_eq!(check_message(&c, &roots, &m, "/b", 0).unwrap_err(), Reason::Topic);
        assert_eq!(check_message(&c, &roots, &m, "/a", 0).unwrap_err(), Reason::MissingProof);
        let big = vec![0u8; c.max_message_bytes + 1];
        assert_eq!(decode(&c, &big).unwrap_err(), Reason::TooLarge);
    }
}
