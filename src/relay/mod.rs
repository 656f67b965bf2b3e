//! The rate-limited Waku relay: wire formats, the RLN validator, the nullifier log, the libp2p
//! node, the publisher and metrics. The validator is independent of libp2p: any relay can call it.

pub mod lightpush;
pub mod lightpush_client;
pub mod localnet;
pub mod message;
pub mod metrics;
pub mod node;
pub mod nullifier_log;
pub mod publisher;
pub mod validator;

pub use message::{
    fuzz_decode, CheckedProof, MessageError, RateLimitProof, WakuMessage, MAX_MESSAGE_BYTES,
};
pub use metrics::RelayMetrics;
pub use node::{Delivered, NodeConfig, NodeHandle, RelayNode};
pub use nullifier_log::{NullifierLog, Seen, Share};
pub use publisher::{PublishError, Publisher};
pub use validator::{
    BatchConfig, BatchValidator, IgnoreReason, Reason, RootWindow, SpamEvent, StaticRoots,
    Validator, ValidatorConfig, Verdict,
};

/// The pubsub topic of a shard: `/waku/2/rs/<cluster>/<shard>`.
pub fn shard_topic(cluster: u16, shard: u16) -> String {
    format!("/waku/2/rs/{cluster}/{shard}")
}
