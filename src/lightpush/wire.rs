//! Lightpush v3's wire types (`/vac/waku/lightpush/3.0.0`, SPEC §8): the request with its
//! message and proof of payment, the response and its status codes as Waku uses them (plus the
//! incentivization proof of concept's 402). Each is one length-prefixed protobuf on its own
//! libp2p stream ([`crate::relay::framed`]).

use prost::Message as _;

use crate::relay::message::WakuMessage;

/// The protocol id.
pub const LIGHTPUSH_PROTOCOL: &str = "/vac/waku/lightpush/3.0.0";
/// Largest encoded voucher the node reads.
pub const MAX_VOUCHER_BYTES: usize = 1024;

/// EligibilityProof { optional bytes proof_of_payment = 1 } (WAKU2-INCENTIVIZATION's field,
/// where nwaku's proof of concept carries payment). rlnkit carries a signed cumulative voucher
/// in it ([`crate::credentials::SignedVoucher::to_bytes`]).
#[derive(Clone, PartialEq, prost::Message)]
pub struct EligibilityProof {
    /// The encoded signed voucher.
    #[prost(bytes = "vec", optional, tag = "1")]
    pub proof_of_payment: Option<Vec<u8>>,
}

impl LightPushRequest {
    /// The encoded request.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }
}

impl LightPushResponse {
    /// The encoded response.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    /// Decodes a response.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, prost::DecodeError> {
        Self::decode(bytes)
    }
}

/// LightPushRequest { string request_id = 1; optional string pubsub_topic = 20;
/// WakuMessage message = 21; EligibilityProof eligibility_proof = 22 }.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LightPushRequest {
    /// Echoed in the response.
    #[prost(string, tag = "1")]
    pub request_id: String,
    /// Where to publish (the node's first topic when absent).
    #[prost(string, optional, tag = "20")]
    pub pubsub_topic: Option<String>,
    /// The message.
    #[prost(message, optional, tag = "21")]
    pub message: Option<WakuMessage>,
    /// The proof of payment (nwaku's incentivization proof of concept puts it here).
    #[prost(message, optional, tag = "22")]
    pub eligibility_proof: Option<EligibilityProof>,
}

/// LightPushResponse { string request_id = 1; uint32 status_code = 10; optional string
/// status_desc = 11; optional uint32 relay_peer_count = 12 }.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LightPushResponse {
    /// The request's id.
    #[prost(string, tag = "1")]
    pub request_id: String,
    /// A [`StatusCode`] value.
    #[prost(uint32, tag = "10")]
    pub status_code: u32,
    /// Why (for errors).
    #[prost(string, optional, tag = "11")]
    pub status_desc: Option<String>,
    /// How many relay peers the message went to (on success).
    #[prost(uint32, optional, tag = "12")]
    pub relay_peer_count: Option<u32>,
}

/// Lightpush v3 status codes (as nwaku and js-waku use them, plus 402 of the incentivization PoC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum StatusCode {
    /// Published.
    Success = 200,
    /// Malformed request.
    BadRequest = 400,
    /// No valid proof of payment.
    PaymentRequired = 402,
    /// Message above the size limit.
    PayloadTooLarge = 413,
    /// The message fails validation.
    InvalidMessage = 420,
    /// The node does not serve the topic.
    UnsupportedPubsubTopic = 421,
    /// The client sent too many requests.
    TooManyRequests = 429,
    /// The node failed.
    InternalServerError = 500,
    /// The service is off.
    ServiceNotAvailable = 503,
    /// The node could not attach an RLN proof.
    OutOfRlnProof = 504,
    /// Nobody to relay to.
    NoPeersToRelay = 505,
}

impl StatusCode {
    /// The code for a number (None for an unknown one).
    pub fn from_u32(c: u32) -> Option<Self> {
        use StatusCode::*;
        Some(match c {
            200 => Success,
            400 => BadRequest,
            402 => PaymentRequired,
            413 => PayloadTooLarge,
            420 => InvalidMessage,
            421 => UnsupportedPubsubTopic,
            429 => TooManyRequests,
            500 => InternalServerError,
            503 => ServiceNotAvailable,
            504 => OutOfRlnProof,
            505 => NoPeersToRelay,
            _ => return None,
        })
    }
}

impl LightPushResponse {
    /// A response with a code and description.
    pub fn status(request_id: &str, code: StatusCode, desc: impl Into<String>) -> Self {
        LightPushResponse {
            request_id: request_id.to_string(),
            status_code: code as u32,
            status_desc: Some(desc.into()),
            relay_peer_count: None,
        }
    }

    /// The typed code (None for a code this crate does not know).
    pub fn code(&self) -> Option<StatusCode> {
        StatusCode::from_u32(self.status_code)
    }

    /// For a corrective 402: the cumulative amount the node expects next.
    pub fn expected_cumulative(&self) -> Option<alloy::primitives::U256> {
        if self.status_code != StatusCode::PaymentRequired as u32 {
            return None;
        }
        let desc = self.status_desc.as_deref()?;
        let (_, n) = desc.rsplit_once(EXPECTED_MARKER)?;
        n.trim().parse().ok()
    }
}

/// The machine-readable tail of a corrective 402: `expected cumulative amount N`.
pub const EXPECTED_MARKER: &str = "expected cumulative amount ";
