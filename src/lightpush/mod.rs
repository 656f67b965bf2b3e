//! Lightpush v3 (`/vac/waku/lightpush/3.0.0`), a service beside the relay: a light client sends
//! a message (and, to a paid node, a voucher); the node checks, proves with its own membership
//! when the message has no proof, publishes through its relay and answers with a status code.
//!
//! - [`wire`]: the request, the response, status codes, the payment field;
//! - [`metrics`]: nwaku's lightpush metrics and the paid service's;
//! - [`server`]: the node side, through a narrow view of the relay ([`server::RelayPort`]);
//! - [`client`]: the light client (its own small swarm), paying with vouchers.
//!
//! The relay hosts the protocol without knowing it ([`crate::relay::framed`]); payments are
//! [`crate::credentials`]'. Dependencies point one way: lightpush uses relay and credentials,
//! neither uses lightpush.

pub mod client;
pub mod metrics;
pub mod server;
pub mod wire;

pub use client::{LightpushClient, PushError};
pub use metrics::LightpushMetrics;
pub use server::{LightpushServer, PublishRefusal, RelayPort};
pub use wire::{
    EligibilityProof, LightPushRequest, LightPushResponse, StatusCode, EXPECTED_MARKER,
    LIGHTPUSH_PROTOCOL,
};
