//! Waku messages on the wire (14/WAKU2-MESSAGE, 17/WAKU2-RLN-RELAY): the `WakuMessage` and
//! `RateLimitProof` protobufs, checked decoding, the RLN signal, the deterministic message hash
//! and the Waku epoch of a timestamp.
//!
//! Decoding never panics: the size is checked before prost sees the bytes, and every proof field
//! is length-checked and canonical-checked before it becomes a [`Field`].

use prost::Message as _;
use sha2::{Digest, Sha256};

use crate::epoch::{Epoch, RlnIdentifier};
use crate::field::{Field, FieldError};
use crate::proof::{Groth16Proof, ProofFormatError, PublicValues, RlnProof, GROTH16_PROOF_BYTES};

/// Largest message a relay accepts (gossipsub max transmit size): 150 KiB.
pub const MAX_MESSAGE_BYTES: usize = 150 * 1024;
/// Largest `meta` field (14/WAKU2-MESSAGE).
pub const MAX_META_BYTES: usize = 64;

/// The Waku message (14/WAKU2-MESSAGE), proto3 field numbers of SPEC §4.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WakuMessage {
    /// The application payload.
    #[prost(bytes = "vec", tag = "1")]
    pub payload: Vec<u8>,
    /// The application's content topic (`/app/1/name/proto`).
    #[prost(string, tag = "2")]
    pub content_topic: String,
    /// Payload version (encryption scheme; 0 or absent: none).
    #[prost(uint32, optional, tag = "3")]
    pub version: Option<u32>,
    /// Unix time in nanoseconds.
    #[prost(sint64, optional, tag = "10")]
    pub timestamp: Option<i64>,
    /// Application metadata (at most 64 bytes), part of the message hash.
    #[prost(bytes = "vec", optional, tag = "11")]
    pub meta: Option<Vec<u8>>,
    /// The RLN proof (required by a rate-limited relay).
    #[prost(message, optional, tag = "21")]
    pub rate_limit_proof: Option<RateLimitProof>,
    /// Whether stores should not keep the message.
    #[prost(bool, optional, tag = "31")]
    pub ephemeral: Option<bool>,
}

/// The RLN proof attached to a relayed message (17/WAKU2-RLN-RELAY). Every field but `proof`
/// is a 32-byte little-endian field element.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RateLimitProof {
    /// The 128-byte compressed Groth16 proof.
    #[prost(bytes = "vec", tag = "1")]
    pub proof: Vec<u8>,
    /// The membership root the proof was made against.
    #[prost(bytes = "vec", tag = "2")]
    pub merkle_root: Vec<u8>,
    /// The epoch (as a field element).
    #[prost(bytes = "vec", tag = "3")]
    pub epoch: Vec<u8>,
    /// x = hash_to_field(signal).
    #[prost(bytes = "vec", tag = "4")]
    pub share_x: Vec<u8>,
    /// y = a0 + a1·x.
    #[prost(bytes = "vec", tag = "5")]
    pub share_y: Vec<u8>,
    /// The internal nullifier: one per member, epoch and message id.
    #[prost(bytes = "vec", tag = "6")]
    pub nullifier: Vec<u8>,
    /// The application's RLN identifier.
    #[prost(bytes = "vec", tag = "7")]
    pub rln_identifier: Vec<u8>,
}

/// Why bytes are not a usable Waku message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The encoded message exceeds the size limit.
    #[error("message is {got} bytes, the limit is {limit}")]
    TooLarge {
        /// The message's size in bytes.
        got: usize,
        /// The size limit in bytes.
        limit: usize,
    },
    /// The bytes are not a WakuMessage protobuf.
    #[error("not a WakuMessage protobuf: {0}")]
    Protobuf(String),
    /// The `meta` field is longer than 64 bytes.
    #[error("meta is {got} bytes, the limit is {MAX_META_BYTES}")]
    MetaTooLarge {
        /// The `meta` field's size in bytes.
        got: usize,
    },
    /// No `rate_limit_proof`.
    #[error("the message has no rate limit proof")]
    MissingProof,
    /// No timestamp, or a negative one.
    #[error("the message has no timestamp (or a negative one)")]
    MissingTimestamp,
    /// A proof field is not a canonical 32-byte field element.
    #[error("rate limit proof field `{name}`: {source}")]
    Field {
        /// The proof field's name.
        name: &'static str,
        /// Why it is not a field element.
        source: FieldError,
    },
    /// The Groth16 proof is not 128 bytes.
    #[error("the Groth16 proof is {got} bytes, expected {GROTH16_PROOF_BYTES}")]
    ProofLength {
        /// The proof's length in bytes.
        got: usize,
    },
    /// The proof's points do not decode.
    #[error(transparent)]
    ProofFormat(#[from] ProofFormatError),
}

impl WakuMessage {
    /// Decodes a message of at most [`MAX_MESSAGE_BYTES`]; checks `meta`'s size.
    pub fn decode_checked(bytes: &[u8]) -> Result<Self, MessageError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(MessageError::TooLarge { got: bytes.len(), limit: MAX_MESSAGE_BYTES });
        }
        let msg = WakuMessage::decode(bytes).map_err(|e| MessageError::Protobuf(e.to_string()))?;
        if let Some(meta) = &msg.meta {
            if meta.len() > MAX_META_BYTES {
                return Err(MessageError::MetaTooLarge { got: meta.len() });
            }
        }
        Ok(msg)
    }

    /// The protobuf encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    /// The timestamp in nanoseconds, if present and not negative.
    pub fn timestamp_ns(&self) -> Option<u64> {
        self.timestamp.and_then(|t| u64::try_from(t).ok())
    }

    /// The RLN signal: payload || utf8(content_topic) || timestamp as u64 little-endian.
    pub fn rln_signal(&self) -> Vec<u8> {
        let mut s = Vec::with_capacity(self.payload.len() + self.content_topic.len() + 8);
        s.extend_from_slice(&self.payload);
        s.extend_from_slice(self.content_topic.as_bytes());
        s.extend_from_slice(&(self.timestamp.unwrap_or(0) as u64).to_le_bytes());
        s
    }

    /// The deterministic message hash (14/WAKU2-MESSAGE): sha256(pubsub_topic || payload ||
    /// content_topic || meta || timestamp as 8 bytes big-endian).
    pub fn message_hash(&self, pubsub_topic: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(pubsub_topic.as_bytes());
        h.update(&self.payload);
        h.update(self.content_topic.as_bytes());
        h.update(self.meta.as_deref().unwrap_or_default());
        h.update(self.timestamp.unwrap_or(0).to_be_bytes());
        h.finalize().into()
    }
}

/// The gossipsub message id of an encoded message: sha256(bytes).
pub fn gossip_id(encoded: &[u8]) -> [u8; 32] {
    Sha256::digest(encoded).into()
}

/// The Waku epoch (`floor(unix_seconds / epoch_seconds)`) of a nanosecond timestamp.
pub fn epoch_of_timestamp(timestamp_ns: u64, epoch_seconds: u64) -> Epoch {
    Epoch::from_unix_seconds(timestamp_ns / 1_000_000_000, epoch_seconds)
}

/// A rate limit proof whose field elements have been decoded and checked (cheap: no curve
/// points yet). Point decompression and the subgroup checks happen in [`CheckedProof::to_rln_proof`],
/// after the cheap rules have had their chance to reject the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedProof {
    /// The compressed Groth16 proof.
    pub proof: [u8; GROTH16_PROOF_BYTES],
    /// The membership root.
    pub root: Field,
    /// The epoch.
    pub epoch: Epoch,
    /// The share's x.
    pub x: Field,
    /// The share's y.
    pub y: Field,
    /// The internal nullifier.
    pub nullifier: Field,
    /// The RLN identifier.
    pub rln_identifier: RlnIdentifier,
}

fn field(name: &'static str, bytes: &[u8]) -> Result<Field, MessageError> {
    Field::from_le_slice(bytes).map_err(|source| MessageError::Field { name, source })
}

impl RateLimitProof {
    /// Checks lengths and canonical encodings of every field (no curve arithmetic).
    pub fn check(&self) -> Result<CheckedProof, MessageError> {
        let proof: [u8; GROTH16_PROOF_BYTES] = self
            .proof
            .as_slice()
            .try_into()
            .map_err(|_| MessageError::ProofLength { got: self.proof.len() })?;
        Ok(CheckedProof {
            proof,
            root: field("merkle_root", &self.merkle_root)?,
            epoch: Epoch::from_field(field("epoch", &self.epoch)?),
            x: field("share_x", &self.share_x)?,
            y: field("share_y", &self.share_y)?,
            nullifier: field("nullifier", &self.nullifier)?,
            rln_identifier: RlnIdentifier::from_field(field(
                "rln_identifier",
                &self.rln_identifier,
            )?),
        })
    }

    /// The wire form of an RLN proof made for `epoch` and `rln_identifier` (the proof itself
    /// carries only their Poseidon hash, the external nullifier).
    pub fn from_rln_proof(p: &RlnProof, epoch: Epoch, rln_identifier: RlnIdentifier) -> Self {
        let v = &p.values;
        RateLimitProof {
            proof: p.proof.to_bytes().to_vec(),
            merkle_root: v.root.to_le_bytes().to_vec(),
            epoch: epoch.as_field().to_le_bytes().to_vec(),
            share_x: v.x.to_le_bytes().to_vec(),
            share_y: v.y.to_le_bytes().to_vec(),
            nullifier: v.nullifier.to_le_bytes().to_vec(),
            rln_identifier: rln_identifier.as_field().to_le_bytes().to_vec(),
        }
    }

    /// Full conversion to an [`RlnProof`] (fields checked, points decompressed and
    /// subgroup-checked); computes the external nullifier with Poseidon.
    pub fn to_rln_proof(&self) -> Result<RlnProof, MessageError> {
        let c = self.check()?;
        let ext = crate::epoch::ExternalNullifier::new(c.epoch, c.rln_identifier);
        c.to_rln_proof(ext.as_field())
    }
}

impl CheckedProof {
    /// Decompresses the Groth16 points (on-curve and subgroup checks) and assembles the proof with
    /// the given external nullifier (Poseidon(epoch, rln_identifier), cached by the validator).
    pub fn to_rln_proof(&self, external_nullifier: Field) -> Result<RlnProof, MessageError> {
        let proof = Groth16Proof::from_bytes(&self.proof)?;
        Ok(RlnProof {
            proof,
            values: PublicValues {
                root: self.root,
                external_nullifier,
                x: self.x,
                y: self.y,
                nullifier: self.nullifier,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> WakuMessage {
        WakuMessage {
            payload: b"hi".to_vec(),
            content_topic: "/app/1/chat/proto".into(),
            version: Some(0),
            timestamp: Some(1_700_000_000_123_456_789),
            meta: Some(vec![1, 2, 3]),
            rate_limit_proof: Some(RateLimitProof {
                proof: vec![0; 128],
                merkle_root: vec![0; 32],
                epoch: vec![0; 32],
                share_x: vec![1; 32],
                share_y: vec![2; 32],
                nullifier: vec![3; 32],
                rln_identifier: vec![4; 32],
            }),
            ephemeral: Some(false),
        }
    }

    #[test]
    fn field_numbers_match_the_spec() {
        // payload=1 (0x0a), content_topic=2 (0x12), version=3 (0x18), timestamp=10 sint64 (0x50),
        // meta=11 (0x5a), rate_limit_proof=21 (0xaa 0x01), ephemeral=31 (0xf8 0x01).
        let m = WakuMessage {
            payload: vec![7],
            content_topic: "t".into(),
            version: Some(1),
            timestamp: Some(-1),
            meta: Some(vec![9]),
            rate_limit_proof: None,
            ephemeral: Some(true),
        };
        assert_eq!(
            m.to_bytes(),
            vec![0x0a, 1, 7, 0x12, 1, b't', 0x18, 1, 0x50, 1, 0x5a, 1, 9, 0xf8, 1, 1]
        );
        let p = RateLimitProof { rln_identifier: vec![5], ..Default::default() };
        assert_eq!(p.encode_to_vec(), vec![0x3a, 1, 5]);
        let m = WakuMessage { rate_limit_proof: Some(p), ..Default::default() };
        assert_eq!(m.to_bytes(), vec![0xaa, 1, 3, 0x3a, 1, 5]);
    }

    #[test]
    fn signal_hash_and_epoch() {
        let m = sample();
        let mut s = b"hi/app/1/chat/proto".to_vec();
        s.extend_from_slice(&1_700_000_000_123_456_789u64.to_le_bytes());
        assert_eq!(m.rln_signal(), s);
        let mut h = Sha256::new();
        h.update(b"/waku/2/rs/1/0hi/app/1/chat/proto");
        h.update([1, 2, 3]);
        h.update(1_700_000_000_123_456_789i64.to_be_bytes());
        assert_eq!(m.message_hash("/waku/2/rs/1/0"), <[u8; 32]>::from(h.finalize()));
        assert_eq!(epoch_of_timestamp(1_700_000_000_123_456_789, 600).index(), Some(2_833_333));
    }

    #[test]
    fn decode_limits() {
        assert!(matches!(
            WakuMessage::decode_checked(&vec![0u8; MAX_MESSAGE_BYTES + 1]),
            Err(MessageError::TooLarge { .. })
        ));
        let mut m = sample();
        m.meta = Some(vec![0; 65]);
        assert_eq!(
            WakuMessage::decode_checked(&m.to_bytes()),
            Err(MessageError::MetaTooLarge { got: 65 })
        );
        assert!(matches!(
            WakuMessage::decode_checked(&[0xff, 0xff, 0xff]),
            Err(MessageError::Protobuf(_))
        ));
        assert_eq!(WakuMessage::decode_checked(&sample().to_bytes()).unwrap(), sample());
    }

    #[test]
    fn proof_field_checks() {
        let p = sample().rate_limit_proof.unwrap();
        assert!(p.check().is_ok());
        let mut bad = p.clone();
        bad.proof.pop();
        assert_eq!(bad.check(), Err(MessageError::ProofLength { got: 127 }));
        let mut bad = p.clone();
        bad.share_y = vec![0xff; 32];
        assert!(matches!(
            bad.check(),
            Err(MessageError::Field { name: "share_y", source: FieldError::NonCanonical { .. } })
        ));
        let mut bad = p.clone();
        bad.nullifier = vec![0; 31];
        assert!(matches!(
            bad.check(),
            Err(MessageError::Field {
                name: "nullifier",
                source: FieldError::WrongLength { got: 31 }
            })
        ));
        // 128 zero bytes are not valid compressed points.
        assert!(matches!(p.to_rln_proof(), Err(MessageError::ProofFormat(_))));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        #[test]
        fn fuzz_decode_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            crate::fuzzing::decode_waku_message(&bytes);
        }

        #[test]
        fn fuzz_decode_mutated_messages(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let mut bytes = sample().to_bytes();
            for (i, b) in flips {
                let n = bytes.len();
                bytes[i % n] ^= b;
            }
            crate::fuzzing::decode_waku_message(&bytes);
        }
    }
}
