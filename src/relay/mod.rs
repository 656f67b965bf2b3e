//! The rate-limited Waku relay: wire formats, the RLN rules and validator, the nullifier log, the
//! libp2p node with its peer scoring and transport, hosted request-response services, the
//! publisher and its message ids, metrics. The rules and the validator are independent of
//! libp2p: any relay can call them. [`crate::service::RelayBuilder`] assembles these parts, with
//! lightpush, payments and slashing, into a running relay.

pub mod batch;
pub mod framed;
mod intake;
pub mod message;
pub mod message_ids;
pub mod metrics;
pub mod node;
pub mod nullifier_log;
pub mod peers;
pub mod publisher;
pub mod rules;
pub mod scoring;
pub mod transport;
pub mod validator;

pub use batch::{BatchConfig, BatchValidator};
pub use framed::{Frame, InboundRequest, RequestService, Responder};
pub use message::{CheckedProof, MessageError, RateLimitProof, WakuMessage, MAX_MESSAGE_BYTES};
pub use message_ids::{MessageIdError, MessageIdLog};
pub use metrics::RelayMetrics;
pub use node::{spawn_node, ConnectionLimits, Delivered, Graylisted, NodeConfig, NodeHandle};
pub use nullifier_log::{NullifierLog, Share, ShareStatus};
pub use publisher::{PublishError, Publisher};
pub use rules::{unix_now_ns, IgnoreReason, Reason, ValidatorConfig, Verdict};
pub use scoring::ScoringConfig;
pub use transport::{Traffic, TransportConfig, TransportKind};
pub use validator::{AcceptedMessage, Judgement, Precheck, SpamEvent, Validator};

/// The pubsub topic of a shard: `/waku/2/rs/<cluster>/<shard>`.
pub fn shard_topic(cluster: u16, shard: u16) -> String {
    format!("/waku/2/rs/{cluster}/{shard}")
}
