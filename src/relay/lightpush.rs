//! Lightpush v3 (`/vac/waku/lightpush/3.0.0`, SPEC §8) with paid eligibility: a light client
//! sends a message and a voucher; the node checks the voucher against its price (the
//! [`VoucherChecker`], in memory), attaches an RLN proof of **its own** membership when the
//! message has none (the service it sells), publishes it on gossipsub, keeps the voucher on disk
//! and answers with a status code as Waku uses them.
//!
//! Wire: each request and response is one unsigned-varint length-prefixed protobuf on its own
//! libp2p stream (request-response). Codes: 200 OK, 400 BAD_REQUEST (malformed protobuf, no
//! message), 402 PAYMENT_REQUIRED (voucher missing, short, stale, forged, revoked, for someone
//! else: the description says which, and ends with `expected cumulative amount N` when the client
//! can correct it), 413 PAYLOAD_TOO_LARGE, 420 INVALID_MESSAGE, 421 UNSUPPORTED_PUBSUB_TOPIC,
//! 429 TOO_MANY_REQUESTS, 500 INTERNAL, 503 SERVICE_NOT_AVAILABLE, 504 OUT_OF_RLN_PROOF,
//! 505 NO_PEERS_TO_RELAY.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use prost::Message as _;

use crate::credentials::{Accepted, Refusal, VoucherChecker, VoucherStore};
use crate::incentives::EligibilityProof;
use crate::relay::message::{WakuMessage, MAX_MESSAGE_BYTES};
use crate::relay::node::{NodeError, NodeHandle};
use crate::relay::publisher::{PublishError, Publisher};
use crate::relay::rules::unix_now_ns;

/// The protocol id.
pub const LIGHTPUSH_PROTOCOL: &str = "/vac/waku/lightpush/3.0.0";
/// Largest frame read: a full message plus 64 KiB for the other fields (as nwaku's MaxRpcSize).
pub const MAX_FRAME_BYTES: usize = MAX_MESSAGE_BYTES + 64 * 1024;
/// Largest encoded voucher the node reads.
pub const MAX_VOUCHER_BYTES: usize = 1024;

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

/// One frame read from a stream: its bytes, or the length it announced if that was too large
/// (the body is then not read; the node answers 413).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The frame's bytes.
    Bytes(Vec<u8>),
    /// The announced length, above [`MAX_FRAME_BYTES`].
    TooLarge(usize),
}

/// The length-prefixed protobuf codec (unsigned varint length, then the bytes).
#[derive(Debug, Clone, Copy, Default)]
pub struct LightpushCodec;

async fn read_varint<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<usize> {
    let mut n: u64 = 0;
    for i in 0..10 {
        let mut b = [0u8; 1];
        io.read_exact(&mut b).await?;
        n |= u64::from(b[0] & 0x7f) << (7 * i);
        if b[0] & 0x80 == 0 {
            return usize::try_from(n).map_err(|_| io::ErrorKind::InvalidData.into());
        }
    }
    Err(io::Error::new(io::ErrorKind::InvalidData, "varint longer than 10 bytes"))
}

async fn read_frame<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<Frame> {
    let len = read_varint(io).await?;
    if len > MAX_FRAME_BYTES {
        return Ok(Frame::TooLarge(len));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(Frame::Bytes(buf))
}

async fn write_frame<T: AsyncWrite + Unpin>(io: &mut T, bytes: &[u8]) -> io::Result<()> {
    let mut head = Vec::with_capacity(10 + bytes.len());
    prost::encoding::encode_varint(bytes.len() as u64, &mut head);
    head.extend_from_slice(bytes);
    io.write_all(&head).await?;
    io.flush().await
}

impl libp2p::request_response::Codec for LightpushCodec {
    type Protocol = libp2p::StreamProtocol;
    type Request = Frame;
    type Response = LightPushResponse;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
    ) -> io::Result<Frame> {
        read_frame(io).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
    ) -> io::Result<LightPushResponse> {
        match read_frame(io).await? {
            Frame::Bytes(b) => LightPushResponse::decode(b.as_slice())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
            Frame::TooLarge(n) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("response of {n} bytes is too large"),
            )),
        }
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
        req: Frame,
    ) -> io::Result<()> {
        match req {
            Frame::Bytes(b) => write_frame(io, &b).await,
            Frame::TooLarge(n) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot send a {n}-byte placeholder frame"),
            )),
        }
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
        res: LightPushResponse,
    ) -> io::Result<()> {
        write_frame(io, &res.encode_to_vec()).await
    }
}

/// The request-response behaviour of lightpush (`inbound`: serve; otherwise client only).
pub fn behaviour(inbound: bool) -> libp2p::request_response::Behaviour<LightpushCodec> {
    use libp2p::request_response::{Config, ProtocolSupport};
    let support = if inbound { ProtocolSupport::Full } else { ProtocolSupport::Outbound };
    libp2p::request_response::Behaviour::new(
        [(libp2p::StreamProtocol::new(LIGHTPUSH_PROTOCOL), support)],
        Config::default().with_request_timeout(Duration::from_secs(30)),
    )
}

type Labels = Vec<(String, String)>;

/// Lightpush metrics: nwaku's names (`waku_lightpush_messages{type}`,
/// `waku_lightpush_errors{type}`, `waku_service_requests{service}`,
/// `waku_service_requests_rejected{service}`) plus the paid service's.
pub struct LightpushMetrics {
    registry: Arc<Registry>,
    messages: Family<Labels, Gauge>,
    errors: Family<Labels, Gauge>,
    service_requests: Family<Labels, Counter>,
    service_rejected: Family<Labels, Counter>,
    /// rlnkit_lightpush_served_total: paid requests published.
    pub served: Counter,
    refused: Family<Labels, Counter>,
    /// rlnkit_lightpush_earned_total: token units earned (as served; claimed later).
    pub earned: Counter<f64, std::sync::atomic::AtomicU64>,
    /// rlnkit_lightpush_eligibility_check_seconds: the voucher check alone.
    pub check_seconds: Histogram,
}

impl std::fmt::Debug for LightpushMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LightpushMetrics").field("served", &self.served.get()).finish()
    }
}

impl Default for LightpushMetrics {
    fn default() -> Self {
        Self::new()
    }
}

fn label(k: &str, v: &str) -> Labels {
    vec![(k.to_string(), v.to_string())]
}

impl LightpushMetrics {
    /// Fresh metrics in their own registry.
    pub fn new() -> Self {
        let mut r = Registry::default();
        let m = LightpushMetrics {
            registry: Arc::new(Registry::default()),
            messages: Family::default(),
            errors: Family::default(),
            service_requests: Family::default(),
            service_rejected: Family::default(),
            served: Counter::default(),
            refused: Family::default(),
            earned: Counter::default(),
            check_seconds: Histogram::new(exponential_buckets(0.000_002, 2.0, 14)),
        };
        r.register(
            "waku_lightpush_messages",
            "number of lightpush messages received",
            m.messages.clone(),
        );
        r.register(
            "waku_lightpush_errors",
            "number of lightpush protocol errors",
            m.errors.clone(),
        );
        r.register(
            "waku_service_requests",
            "number of non-relay service requests received",
            m.service_requests.clone(),
        );
        r.register(
            "waku_service_requests_rejected",
            "number of non-relay service requests rejected",
            m.service_rejected.clone(),
        );
        r.register(
            "rlnkit_lightpush_served",
            "paid lightpush requests published",
            m.served.clone(),
        );
        r.register(
            "rlnkit_lightpush_refused",
            "lightpush requests refused for payment, by reason",
            m.refused.clone(),
        );
        r.register(
            "rlnkit_lightpush_earned",
            "token units earned by served requests",
            m.earned.clone(),
        );
        r.register(
            "rlnkit_lightpush_eligibility_check_seconds",
            "time of one voucher check",
            m.check_seconds.clone(),
        );
        LightpushMetrics { registry: Arc::new(r), ..m }
    }

    fn error(&self, kind: &str) {
        self.errors.get_or_create(&label("type", kind)).inc();
    }

    /// Refusals counted for a reason label (see [`Refusal::label`]).
    pub fn refused_count(&self, reason: &str) -> u64 {
        self.refused.get_or_create(&label("reason", reason)).get()
    }

    /// Errors counted for an nwaku error type.
    pub fn error_count(&self, kind: &str) -> i64 {
        self.errors.get_or_create(&label("type", kind)).get()
    }

    /// The registry (to serve with the relay's: [`crate::relay::RelayMetrics::add_registry`]).
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// Prometheus text.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        encode(&mut s, &self.registry).expect("writing to a String");
        s
    }
}

/// The node side of lightpush: topics, the paid check, the operator's publisher, the store.
pub struct LightpushServer {
    topics: Vec<String>,
    checker: Option<Arc<VoucherChecker>>,
    store: Option<Arc<VoucherStore>>,
    publisher: Option<Arc<std::sync::Mutex<Publisher>>>,
    metrics: Arc<LightpushMetrics>,
}

impl std::fmt::Debug for LightpushServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LightpushServer")
            .field("topics", &self.topics)
            .field("paid", &self.checker.is_some())
            .field("publisher", &self.publisher.is_some())
            .finish()
    }
}

impl LightpushServer {
    /// A free service for `topics` (messages must carry their own RLN proof unless a publisher
    /// is added).
    pub fn new(topics: Vec<String>) -> Self {
        LightpushServer {
            topics,
            checker: None,
            store: None,
            publisher: None,
            metrics: Arc::new(LightpushMetrics::new()),
        }
    }

    /// Charges every request through `checker`; served vouchers go to `store` before the node
    /// answers 200.
    pub fn paid(mut self, checker: Arc<VoucherChecker>, store: Arc<VoucherStore>) -> Self {
        self.checker = Some(checker);
        self.store = Some(store);
        self
    }

    /// Proves messages that come without an RLN proof with the operator's membership.
    pub fn with_publisher(mut self, p: Publisher) -> Self {
        self.publisher = Some(Arc::new(std::sync::Mutex::new(p)));
        self
    }

    /// Uses these metrics.
    pub fn with_metrics(mut self, m: Arc<LightpushMetrics>) -> Self {
        self.metrics = m;
        self
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<LightpushMetrics> {
        &self.metrics
    }

    /// The checker, if the service is paid.
    pub fn checker(&self) -> Option<&Arc<VoucherChecker>> {
        self.checker.as_ref()
    }

    /// Handles one request frame: checks, proves, publishes through `node`, answers.
    pub async fn handle(&self, frame: Frame, node: &NodeHandle) -> LightPushResponse {
        let m = &self.metrics;
        m.service_requests.get_or_create(&label("service", LIGHTPUSH_PROTOCOL)).inc();
        let bytes = match frame {
            Frame::Bytes(b) => b,
            Frame::TooLarge(n) => {
                m.error("message_validation_failure");
                return LightPushResponse::status(
                    "",
                    StatusCode::PayloadTooLarge,
                    format!("request of {n} bytes exceeds {MAX_FRAME_BYTES}"),
                );
            }
        };
        let req = match LightPushRequest::decode(bytes.as_slice()) {
            Ok(r) => r,
            Err(e) => {
                m.error("decode_rpc_failure");
                return LightPushResponse::status(
                    "",
                    StatusCode::BadRequest,
                    format!("malformed LightPushRequest: {e}"),
                );
            }
        };
        m.messages.get_or_create(&label("type", "PushRequest")).inc();
        let id = req.request_id.clone();
        let Some(message) = req.message else {
            m.error("empty_request_body_failure");
            return LightPushResponse::status(
                &id,
                StatusCode::BadRequest,
                "the request has no message",
            );
        };
        let encoded_len = message.encoded_len();
        if encoded_len > MAX_MESSAGE_BYTES {
            m.error("message_validation_failure");
            return LightPushResponse::status(
                &id,
                StatusCode::PayloadTooLarge,
                format!("message of {encoded_len} bytes exceeds {MAX_MESSAGE_BYTES}"),
            );
        }
        let topic = match req.pubsub_topic {
            Some(t) if self.topics.contains(&t) => t,
            Some(t) => {
                return LightPushResponse::status(
                    &id,
                    StatusCode::UnsupportedPubsubTopic,
                    format!("this node does not relay {t} (it relays {})", self.topics.join(", ")),
                )
            }
            None => match self.topics.first() {
                Some(t) => t.clone(),
                None => {
                    return LightPushResponse::status(
                        &id,
                        StatusCode::ServiceNotAvailable,
                        "no topic served",
                    )
                }
            },
        };
        if message.content_topic.is_empty() {
            m.error("message_validation_failure");
            return LightPushResponse::status(
                &id,
                StatusCode::InvalidMessage,
                "the message has no content topic",
            );
        }
        if message.rate_limit_proof.is_none() && self.publisher.is_none() {
            return LightPushResponse::status(
                &id,
                StatusCode::OutOfRlnProof,
                "the message has no RLN proof and this node attaches none",
            );
        }
        // Payment: the hot path (decode, terms, escrow, signature), no RPC.
        let accepted = match &self.checker {
            None => None,
            Some(checker) => {
                let voucher =
                    req.eligibility_proof.as_ref().and_then(|p| p.proof_of_payment.as_deref());
                if voucher.is_some_and(|v| v.len() > MAX_VOUCHER_BYTES) {
                    m.refused.get_or_create(&label("reason", "malformed")).inc();
                    return LightPushResponse::status(
                        &id,
                        StatusCode::PaymentRequired,
                        "voucher too large",
                    );
                }
                let t = Instant::now();
                let r = checker.check(voucher, unix_now_ns() / 1_000_000_000);
                m.check_seconds.observe(t.elapsed().as_secs_f64());
                match r {
                    Ok(a) => Some(a),
                    Err(refusal) => {
                        m.refused.get_or_create(&label("reason", refusal.label())).inc();
                        m.service_rejected
                            .get_or_create(&label("service", LIGHTPUSH_PROTOCOL))
                            .inc();
                        return LightPushResponse::status(
                            &id,
                            StatusCode::PaymentRequired,
                            refusal_desc(&refusal),
                        );
                    }
                }
            }
        };
        let response = self.publish(&id, &topic, message, node).await;
        match (&accepted, response.status_code == StatusCode::Success as u32) {
            (Some(a), true) => self.settle(&id, a, response).await,
            (Some(a), false) => {
                // Not served: the payer owes nothing for it.
                if let Some(c) = &self.checker {
                    c.release(a);
                }
                response
            }
            (None, _) => response,
        }
    }

    /// Keeps the served voucher on disk before answering 200 (a restart loses no money).
    async fn settle(
        &self,
        id: &str,
        a: &Accepted,
        response: LightPushResponse,
    ) -> LightPushResponse {
        let Some(store) = self.store.clone() else { return response };
        let v = a.voucher.clone();
        let saved = tokio::task::spawn_blocking(move || store.save(&v)).await;
        match saved {
            Ok(Ok(())) => {
                self.metrics.served.inc();
                self.metrics.earned.inc_by(u256_to_f64(a.earned()));
                response
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot keep a served voucher");
                LightPushResponse::status(
                    id,
                    StatusCode::InternalServerError,
                    "cannot store the voucher",
                )
            }
            Err(e) => {
                tracing::error!(error = %e, "voucher store task failed");
                LightPushResponse::status(
                    id,
                    StatusCode::InternalServerError,
                    "cannot store the voucher",
                )
            }
        }
    }

    async fn publish(
        &self,
        id: &str,
        topic: &str,
        mut message: WakuMessage,
        node: &NodeHandle,
    ) -> LightPushResponse {
        let m = &self.metrics;
        // A message with the client's own proof is judged by the node's validator when it is
        // published (NodeHandle::publish), as any relayed message; one without is proved here.
        if message.rate_limit_proof.is_none() {
            if let Some(p) = &self.publisher {
                let now = unix_now_ns();
                let ts = message.timestamp_ns().unwrap_or(now);
                let (p, payload, ct) =
                    (p.clone(), message.payload.clone(), message.content_topic.clone());
                // Proving takes tens of ms: on a blocking thread.
                let built = tokio::task::spawn_blocking(move || {
                    p.lock().unwrap_or_else(|e| e.into_inner()).build(&payload, &ct, ts)
                })
                .await;
                let Ok(built) = built else {
                    return LightPushResponse::status(
                        id,
                        StatusCode::InternalServerError,
                        "proving task failed",
                    );
                };
                match built {
                    Ok(mut proven) => {
                        proven.meta = message.meta.take();
                        proven.ephemeral = message.ephemeral;
                        proven.version = message.version.or(proven.version);
                        // meta is not part of the RLN signal, so the proof stays valid.
                        message = proven;
                    }
                    Err(PublishError::LimitReached { wait_seconds, .. }) => {
                        m.error("request_limit_reached_failure");
                        return LightPushResponse::status(
                        id,
                        StatusCode::OutOfRlnProof,
                        format!("the node's RLN membership is at its rate limit; retry in {wait_seconds} s"),
                    );
                    }
                    Err(e) => {
                        m.error("message_push_failure");
                        return LightPushResponse::status(
                            id,
                            StatusCode::OutOfRlnProof,
                            format!("cannot prove: {e}"),
                        );
                    }
                }
            }
        }
        let mut peers = node.mesh_peers(topic).await.map(|p| p.len()).unwrap_or(0);
        if peers == 0 {
            peers = node.peers().await.map(|p| p.len()).unwrap_or(0);
        }
        match node.publish(topic, &message).await {
            Ok(_) => LightPushResponse {
                request_id: id.to_string(),
                status_code: StatusCode::Success as u32,
                status_desc: None,
                relay_peer_count: Some(peers as u32),
            },
            Err(NodeError::NotValid(verdict)) => {
                // The node's own validator refused it: relaying it would cost the node its score.
                m.error("message_validation_failure");
                LightPushResponse::status(
                    id,
                    StatusCode::InvalidMessage,
                    format!("RLN validation: {verdict:?}"),
                )
            }
            Err(e) => {
                m.error("not_published_to_any_peer");
                LightPushResponse::status(
                    id,
                    StatusCode::NoPeersToRelay,
                    format!("not published: {e}"),
                )
            }
        }
    }
}

fn refusal_desc(r: &Refusal) -> String {
    match r.expected() {
        Some(n) => format!("{r}; {EXPECTED_MARKER}{n}"),
        None => r.to_string(),
    }
}

fn u256_to_f64(v: alloy::primitives::U256) -> f64 {
    let limbs = v.as_limbs();
    limbs.iter().rev().fold(0.0, |acc, &l| acc * 18_446_744_073_709_551_616.0 + l as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_amount_is_read_back_from_a_402() {
        let r = Refusal::Short {
            got: alloy::primitives::U256::from(5),
            expected: alloy::primitives::U256::from(30),
        };
        let resp = LightPushResponse::status("x", StatusCode::PaymentRequired, refusal_desc(&r));
        assert_eq!(resp.expected_cumulative(), Some(alloy::primitives::U256::from(30)));
        let ok = LightPushResponse::status("x", StatusCode::BadRequest, refusal_desc(&r));
        assert_eq!(ok.expected_cumulative(), None);
    }

    #[tokio::test]
    async fn frames_round_trip_and_oversize_is_not_read() {
        let mut buf = Vec::new();
        write_frame(&mut futures::io::Cursor::new(&mut buf), b"hello").await.unwrap();
        let mut r = futures::io::Cursor::new(buf);
        assert_eq!(read_frame(&mut r).await.unwrap(), Frame::Bytes(b"hello".to_vec()));
        let mut big = Vec::new();
        prost::encoding::encode_varint((MAX_FRAME_BYTES + 1) as u64, &mut big);
        assert_eq!(
            read_frame(&mut futures::io::Cursor::new(big)).await.unwrap(),
            Frame::TooLarge(MAX_FRAME_BYTES + 1)
        );
    }
}
