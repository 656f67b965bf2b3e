//! The publisher: wraps payloads in Waku messages with an RLN proof attached, and tracks the
//! member's message ids per epoch so it never exceeds the limit (a second use of an id would be a
//! double signal and reveal the member's secret).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use crate::epoch::{ExternalNullifier, RlnIdentifier, WAKU_EPOCH_SECONDS};
use crate::identity::{Identity, UserMessageLimit};
use crate::prover::{Prover, ProverError, RlnInputs};
use crate::relay::message::{epoch_of_timestamp, RateLimitProof, WakuMessage};
use crate::relay::metrics::RelayMetrics;
use crate::tree::MerkleProof;

/// Why a message was not built.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Every message id of this epoch is used.
    #[error("rate limit reached: all {limit} message ids of epoch {epoch} are used; wait for the next epoch (in {wait_seconds} s)")]
    LimitReached {
        /// The epoch whose message ids are used up.
        epoch: u64,
        /// The member's message limit per epoch.
        limit: u64,
        /// Seconds until the next epoch starts.
        wait_seconds: u64,
    },
    /// The message id is not below the member's limit.
    #[error("message id {message_id} is not below the limit {limit}")]
    MessageId {
        /// The message id asked for.
        message_id: u64,
        /// The member's message limit per epoch.
        limit: u64,
    },
    /// The prover failed.
    #[error("cannot prove the message: {0}")]
    Prover(#[from] ProverError),
}

/// Builds rate-limited messages for one member.
pub struct Publisher {
    prover: Prover,
    identity: Identity,
    limit: UserMessageLimit,
    merkle_proof: MerkleProof,
    rln_identifier: RlnIdentifier,
    epoch_seconds: u64,
    /// epoch → message ids used.
    used: BTreeMap<u64, u64>,
    metrics: Option<Arc<RelayMetrics>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("identity", &self.identity)
            .field("limit", &self.limit)
            .field("used", &self.used)
            .finish()
    }
}

impl Publisher {
    /// A publisher for a member (its identity, limit and Merkle path), proving with `prover`.
    pub fn new(
        prover: Prover,
        identity: Identity,
        limit: UserMessageLimit,
        merkle_proof: MerkleProof,
    ) -> Self {
        Publisher {
            prover,
            identity,
            limit,
            merkle_proof,
            rln_identifier: RlnIdentifier::waku(),
            epoch_seconds: WAKU_EPOCH_SECONDS,
            used: BTreeMap::new(),
            metrics: None,
        }
    }

    /// Proves for another application's RLN identifier (default: the Waku network's).
    pub fn with_rln_identifier(mut self, id: RlnIdentifier) -> Self {
        self.rln_identifier = id;
        self
    }

    /// The epoch length (default 600 s).
    pub fn with_epoch_seconds(mut self, s: u64) -> Self {
        self.epoch_seconds = s.max(1);
        self
    }

    /// Reports proof generation times into these metrics.
    pub fn with_metrics(mut self, m: Arc<RelayMetrics>) -> Self {
        self.metrics = Some(m);
        self
    }

    /// Updates the membership path (after the tree changed).
    pub fn set_merkle_proof(&mut self, p: MerkleProof) {
        self.merkle_proof = p;
    }

    /// Message ids already used in `epoch`.
    pub fn used(&self, epoch: u64) -> u64 {
        self.used.get(&epoch).copied().unwrap_or(0)
    }

    /// Restores the count of ids used in `epoch` (e.g. from a state file after a restart).
    pub fn set_used(&mut self, epoch: u64, used: u64) {
        self.used.insert(epoch, used);
    }

    /// Builds the next message of the epoch containing `timestamp_ns`, with the next free message
    /// id; refuses once the limit is reached.
    pub fn build(
        &mut self,
        payload: &[u8],
        content_topic: &str,
        timestamp_ns: u64,
    ) -> Result<WakuMessage, PublishError> {
        let epoch = epoch_of_timestamp(timestamp_ns, self.epoch_seconds).index().unwrap_or(0);
        let id = self.used(epoch);
        if id >= self.limit.get() {
            let next = (epoch + 1) * self.epoch_seconds;
            let wait_seconds = next.saturating_sub(timestamp_ns / 1_000_000_000);
            return Err(PublishError::LimitReached {
                epoch,
                limit: self.limit.get(),
                wait_seconds,
            });
        }
        let msg = self.build_with_id(payload, content_topic, timestamp_ns, id)?;
        self.used.insert(epoch, id + 1);
        // Forget epochs that can no longer be published in.
        self.used.retain(|&e, _| e + 1 >= epoch);
        Ok(msg)
    }

    /// Builds a message with an explicit message id, without tracking. Reusing an id in one epoch
    /// for another message is a double signal: only for tests and demonstrations.
    pub fn build_with_id(
        &self,
        payload: &[u8],
        content_topic: &str,
        timestamp_ns: u64,
        message_id: u64,
    ) -> Result<WakuMessage, PublishError> {
        if message_id >= self.limit.get() {
            return Err(PublishError::MessageId { message_id, limit: self.limit.get() });
        }
        let mut msg = WakuMessage {
            payload: payload.to_vec(),
            content_topic: content_topic.to_string(),
            version: Some(0),
            timestamp: Some(timestamp_ns as i64),
            ..Default::default()
        };
        let epoch = epoch_of_timestamp(timestamp_ns, self.epoch_seconds);
        let ext = ExternalNullifier::new(epoch, self.rln_identifier);
        let t = Instant::now();
        let proof = self.prover.prove(&RlnInputs::for_signal(
            self.identity.secret(),
            self.limit,
            message_id,
            &self.merkle_proof,
            ext,
            &msg.rln_signal(),
        ))?;
        if let Some(m) = &self.metrics {
            m.generation_seconds.observe(t.elapsed().as_secs_f64());
        }
        msg.rate_limit_proof =
            Some(RateLimitProof::from_rln_proof(&proof, epoch, self.rln_identifier));
        Ok(msg)
    }
}
