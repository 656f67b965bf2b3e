//! The rate-limited Waku relay: wire formats, the RLN rules and validator, the nullifier log, the
//! libp2p node with its peer scoring and transport, the publisher, metrics, and [`RelayBuilder`], which assembles them into a
//! running [`Relay`]. The rules and the validator are independent of libp2p: any relay can call
//! them.

pub mod batch;
pub mod builder;
mod intake;
pub mod lightpush;
pub mod lightpush_client;
pub mod localnet;
pub mod message;
pub mod metrics;
pub mod node;
pub mod nullifier_log;
pub mod publisher;
pub mod ready;
pub mod rules;
pub mod scoring;
pub mod transport;
pub mod validator;

pub use batch::{BatchConfig, BatchValidator};
pub use builder::{NullifierLogLocation, Relay, RelayBuilder, RelayError};
pub use message::{CheckedProof, MessageError, RateLimitProof, WakuMessage, MAX_MESSAGE_BYTES};
pub use metrics::RelayMetrics;
pub use node::{spawn_node, ConnectionLimits, Delivered, Graylisted, NodeConfig, NodeHandle};
pub use nullifier_log::{NullifierLog, Share, ShareStatus};
pub use publisher::{PublishError, Publisher};
pub use ready::{ReadyError, RelayReady};
pub use rules::{unix_now_ns, IgnoreReason, Reason, ValidatorConfig, Verdict};
pub use scoring::ScoringConfig;
pub use transport::{Traffic, TransportConfig, TransportKind};
pub use validator::{AcceptedMessage, Judgement, Precheck, SpamEvent, Validator};

/// The pubsub topic of a shard: `/waku/2/rs/<cluster>/<shard>`.
pub fn shard_topic(cluster: u16, shard: u16) -> String {
    format!("/waku/2/rs/{cluster}/{shard}")
}
