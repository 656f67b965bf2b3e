//! The publisher: wraps payloads in Waku messages with an RLN proof attached, and tracks the
//! member's message ids per epoch ([`MessageIdLog`], durable when opened on a file) so it never
//! exceeds the limit (a second use of an id would be a double signal and reveal the member's
//! secret).

use std::sync::Arc;
use std::time::Instant;

use crate::epoch::{ExternalNullifier, RlnIdentifier, WAKU_EPOCH_SECONDS};
use crate::identity::{Identity, UserMessageLimit};
use crate::prover::{Prover, ProverError, RlnInputs};
use crate::relay::message::{epoch_of_timestamp, RateLimitProof, WakuMessage};
use crate::relay::message_ids::{MessageIdError, MessageIdLog};
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
    /// The used message ids cannot be written down (nothing was sent).
    #[error("cannot record the message id: {0}")]
    MessageIds(MessageIdError),
}

/// Builds rate-limited messages for one member.
pub struct Publisher {
    prover: Prover,
    identity: Identity,
    limit: UserMessageLimit,
    merkle_proof: MerkleProof,
    rln_identifier: RlnIdentifier,
    epoch_seconds: u64,
    ids: MessageIdLog,
    metrics: Option<Arc<RelayMetrics>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("identity", &self.identity)
            .field("limit", &self.limit)
            .field("ids", &self.ids)
            .finish()
    }
}

impl Publisher {
    /// A publisher for a member (its identity, limit and Merkle path), proving with `prover`.
    /// Its message ids are kept in memory until [`Publisher::with_message_ids`] gives it a file.
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
            ids: MessageIdLog::in_memory(),
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

    /// Keeps the used message ids in this log (open it on a file with [`MessageIdLog::open`]:
    /// then a restart inside an epoch never reuses an id).
    pub fn with_message_ids(mut self, ids: MessageIdLog) -> Self {
        self.ids = ids;
        self
    }

    /// The member's identity commitment.
    pub fn member(&self) -> crate::field::Field {
        self.identity.commitment()
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
        self.ids.used(epoch)
    }

    /// Raises the count of ids used in `epoch` to at least `used` (ids spent elsewhere), durably
    /// when the log is a file. Never lowers it.
    pub fn set_used(&mut self, epoch: u64, used: u64) -> Result<(), PublishError> {
        self.ids.record(epoch, used).map_err(PublishError::MessageIds)
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
        // Written down before proving: a crash after this never reuses the id.
        let id = match self.ids.reserve(epoch, self.limit) {
            Ok(id) => id,
            Err(MessageIdError::Exhausted { .. }) => {
                let next = (epoch + 1) * self.epoch_seconds;
                let wait_seconds = next.saturating_sub(timestamp_ns / 1_000_000_000);
                return Err(PublishError::LimitReached {
                    epoch,
                    limit: self.limit.get(),
                    wait_seconds,
                });
            }
            Err(e) => return Err(PublishError::MessageIds(e)),
        };
        self.build_with_id(payload, content_topic, timestamp_ns, id)
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
