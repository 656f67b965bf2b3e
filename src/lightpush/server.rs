//! The node side of lightpush: [`LightpushServer`] answers one request at a time through a narrow
//! view of the relay ([`RelayPort`]: publish, relay peers), so its status codes are testable with
//! a fake relay. A paid server checks the voucher first (in memory, [`VoucherChecker`]), proves
//! messages without an RLN proof with the operator's membership ([`Publisher`], whose message ids
//! are on disk before a proof is made), publishes, and keeps the served voucher on disk before it
//! answers 200. A 200 means the relay published the message; any other answer costs the payer
//! nothing.
//!
//! Codes: 200 OK, 400 BAD_REQUEST (malformed protobuf, no message), 402 PAYMENT_REQUIRED (voucher
//! missing, short, stale, forged, revoked, for someone else: the description says which, and ends
//! with `expected cumulative amount N` once when the client can correct it), 413
//! PAYLOAD_TOO_LARGE (the request, the message, or gossipsub's size limit), 420 INVALID_MESSAGE
//! (the relay's validator refuses it, or it was published already), 421
//! UNSUPPORTED_PUBSUB_TOPIC, 429 TOO_MANY_REQUESTS (the server's queue is full, or every relay
//! peer's send queue: retry later), 500 INTERNAL, 503 SERVICE_NOT_AVAILABLE (the node is
//! stopping), 504 OUT_OF_RLN_PROOF, 505 NO_PEERS_TO_RELAY.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::future::BoxFuture;
use prost::Message as _;
use tokio::sync::{mpsc, Semaphore};

use super::metrics::{label, LightpushMetrics};
use super::wire::{
    LightPushRequest, LightPushResponse, StatusCode, EXPECTED_MARKER, LIGHTPUSH_PROTOCOL,
    MAX_VOUCHER_BYTES,
};
use crate::credentials::{Accepted, Refusal, VoucherChecker, VoucherStore};
use crate::relay::framed::{Frame, InboundRequest, RequestService, MAX_FRAME_BYTES};
use crate::relay::message::{WakuMessage, MAX_MESSAGE_BYTES};
use crate::relay::node::{NodeError, NodeHandle};
use crate::relay::publisher::{PublishError, Publisher};
use crate::relay::rules::{unix_now_ns, Verdict};

/// Why the relay did not publish a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishRefusal {
    /// The relay's own validator refuses it (its peers would penalize the relay for it).
    #[error("RLN validation: {0:?}")]
    NotValid(Verdict),
    /// Nobody to publish to.
    #[error("no relay peer on the topic")]
    NoPeers,
    /// These bytes were published already.
    #[error("the message was already published")]
    Duplicate,
    /// The message is above the relay's (gossipsub's) size limit.
    #[error("the message is above the relay's size limit")]
    TooLarge,
    /// Every relay peer's send queue is full: the relay is overloaded for now.
    #[error("every relay peer's send queue is full ({peers} peers); retry later")]
    Overloaded {
        /// Peers tried.
        peers: usize,
    },
    /// The relay is stopping.
    #[error("the relay has stopped")]
    Stopped,
    /// The relay failed otherwise (logged where it happened).
    #[error("the relay failed to publish")]
    Failed,
}

impl From<NodeError> for PublishRefusal {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::NotValid(v) => PublishRefusal::NotValid(v),
            NodeError::Duplicate => PublishRefusal::Duplicate,
            NodeError::NoPeers { .. } => PublishRefusal::NoPeers,
            NodeError::TooLarge => PublishRefusal::TooLarge,
            NodeError::QueuesFull { peers } => PublishRefusal::Overloaded { peers },
            NodeError::Stopped => PublishRefusal::Stopped,
            e @ (NodeError::Setup(_)
            | NodeError::Listen { .. }
            | NodeError::Dial { .. }
            | NodeError::Subscribe { .. }) => {
                tracing::warn!(error = %e, "lightpush: the relay failed to publish");
                PublishRefusal::Failed
            }
        }
    }
}

/// What the lightpush server needs of a relay.
pub trait RelayPort: Send + Sync {
    /// Judges and publishes `message` on `topic` (Ok: it left for at least one peer).
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        message: &'a WakuMessage,
    ) -> BoxFuture<'a, Result<(), PublishRefusal>>;
    /// How many relay peers the topic has (reported with a 200).
    fn relay_peers<'a>(&'a self, topic: &'a str) -> BoxFuture<'a, usize>;
}

impl RelayPort for NodeHandle {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        message: &'a WakuMessage,
    ) -> BoxFuture<'a, Result<(), PublishRefusal>> {
        Box::pin(async move {
            NodeHandle::publish(self, topic, message).await.map(|_| ()).map_err(Into::into)
        })
    }

    fn relay_peers<'a>(&'a self, topic: &'a str) -> BoxFuture<'a, usize> {
        Box::pin(async move {
            match self.mesh_peers(topic).await {
                Ok(p) if !p.is_empty() => p.len(),
                _ => self.peers().await.map(|p| p.len()).unwrap_or(0),
            }
        })
    }
}

/// Requests queued per server before the node answers 429 at once, and handled at once.
pub const QUEUE: usize = 128;
const IN_FLIGHT: usize = 32;

/// The node side of lightpush: topics, the paid check, the operator's publisher, the store.
pub struct LightpushServer {
    topics: Vec<String>,
    checker: Option<Arc<VoucherChecker>>,
    store: Option<Arc<VoucherStore>>,
    publisher: Option<Arc<Mutex<Publisher>>>,
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

    /// Proves messages that come without an RLN proof with the operator's membership. Give the
    /// publisher a message-id file ([`Publisher::with_message_ids`]) or a restart inside an epoch
    /// reuses ids.
    pub fn with_publisher(mut self, p: Publisher) -> Self {
        self.publisher = Some(Arc::new(Mutex::new(p)));
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

    /// The operator membership's id commitment, when the server proves with one.
    pub fn operator_member(&self) -> Option<crate::field::Field> {
        self.publisher.as_ref().map(|p| p.lock().unwrap_or_else(|e| e.into_inner()).member())
    }

    /// The node-side hosting of this server: give the returned service to the node's config
    /// ([`crate::relay::NodeConfig::service`]) and the receiver to [`Self::spawn`].
    pub fn service() -> (RequestService, mpsc::Receiver<InboundRequest>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let busy = LightPushResponse::status(
            "",
            StatusCode::TooManyRequests,
            "the node's lightpush queue is full; retry later",
        );
        (RequestService { protocol: LIGHTPUSH_PROTOCOL, requests: tx, busy: busy.to_bytes() }, rx)
    }

    /// Serves the requests the node forwards, 32 at a time (the rest wait in the
    /// queue; the node answers 429 when it is full), answering through `node`.
    pub fn spawn(
        self: Arc<Self>,
        node: NodeHandle,
        mut requests: mpsc::Receiver<InboundRequest>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(IN_FLIGHT));
            while let Some(req) = requests.recv().await {
                let Ok(permit) = slots.clone().acquire_owned().await else { break };
                let (server, node) = (self.clone(), node.clone());
                tokio::spawn(async move {
                    let response = server.handle(req.frame, &node).await;
                    let _ = node.respond(req.responder, response.to_bytes()).await;
                    drop(permit);
                });
            }
        })
    }

    /// Handles one request frame: checks, proves, publishes through `relay`, answers.
    pub async fn handle(&self, frame: Frame, relay: &dyn RelayPort) -> LightPushResponse {
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
        // Payment: the hot path (decode, terms, signature, signer, escrow), no RPC.
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
        let response = self.publish(&id, &topic, message, relay).await;
        match (&accepted, response.code() == Some(StatusCode::Success)) {
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
        match tokio::task::spawn_blocking(move || store.save(&v)).await {
            Ok(Ok(())) => {
                self.metrics.served.inc();
                self.metrics.earned.inc_by(u256_to_f64(a.earned()));
                response
            }
            failed => {
                // Published but not kept: the operator loses this payment, the payer nothing.
                tracing::error!(?failed, "cannot keep a served voucher");
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
        relay: &dyn RelayPort,
    ) -> LightPushResponse {
        let m = &self.metrics;
        // A message with the client's own proof is judged by the relay's validator when it is
        // published, as any relayed message; one without is proved here.
        if message.rate_limit_proof.is_none() {
            if let Some(p) = &self.publisher {
                let ts = message.timestamp_ns().unwrap_or_else(unix_now_ns);
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
        match relay.publish(topic, &message).await {
            Ok(()) => LightPushResponse {
                request_id: id.to_string(),
                status_code: StatusCode::Success as u32,
                status_desc: None,
                relay_peer_count: Some(relay.relay_peers(topic).await as u32),
            },
            Err(refusal) => {
                let code = match refusal {
                    PublishRefusal::NotValid(_) | PublishRefusal::Duplicate => {
                        m.error("message_validation_failure");
                        StatusCode::InvalidMessage
                    }
                    PublishRefusal::NoPeers => {
                        m.error("not_published_to_any_peer");
                        StatusCode::NoPeersToRelay
                    }
                    PublishRefusal::TooLarge => {
                        m.error("message_validation_failure");
                        StatusCode::PayloadTooLarge
                    }
                    PublishRefusal::Overloaded { .. } => {
                        m.error("message_push_failure");
                        StatusCode::TooManyRequests
                    }
                    PublishRefusal::Stopped => StatusCode::ServiceNotAvailable,
                    PublishRefusal::Failed => {
                        m.error("message_push_failure");
                        StatusCode::InternalServerError
                    }
                };
                LightPushResponse::status(id, code, format!("not published: {refusal}"))
            }
        }
    }
}

/// A refusal's 402 text: the reason, and the amount to sign next once, machine-readable.
pub(crate) fn refusal_desc(r: &Refusal) -> String {
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
    use crate::credentials::{EscrowEvent, ServiceTerms, SignedVoucher, Voucher, VoucherDomain};
    use crate::lightpush::wire::EligibilityProof;
    use crate::relay::message::RateLimitProof;
    use crate::relay::rules::{IgnoreReason, Reason};
    use alloy::primitives::{Address, B256, U256};
    use alloy::signers::local::PrivateKeySigner;

    /// A relay that answers every publish with `result` and counts what it was given.
    struct FakeRelay {
        result: Result<(), PublishRefusal>,
        published: Mutex<Vec<WakuMessage>>,
    }

    impl FakeRelay {
        fn new(result: Result<(), PublishRefusal>) -> Self {
            FakeRelay { result, published: Mutex::new(Vec::new()) }
        }
        fn published(&self) -> usize {
            self.published.lock().unwrap().len()
        }
    }

    impl RelayPort for FakeRelay {
        fn publish<'a>(
            &'a self,
            _: &'a str,
            m: &'a WakuMessage,
        ) -> BoxFuture<'a, Result<(), PublishRefusal>> {
            self.published.lock().unwrap().push(m.clone());
            Box::pin(async move { self.result.clone() })
        }
        fn relay_peers<'a>(&'a self, _: &'a str) -> BoxFuture<'a, usize> {
            Box::pin(async { 3 })
        }
    }

    const TOPIC: &str = "/waku/2/rs/1/0";

    fn message() -> WakuMessage {
        WakuMessage {
            payload: b"hi".to_vec(),
            content_topic: "/app/1/t/proto".into(),
            rate_limit_proof: Some(RateLimitProof::default()),
            ..Default::default()
        }
    }

    fn frame(req: &LightPushRequest) -> Frame {
        Frame::Bytes(req.to_bytes())
    }

    fn request(message: Option<WakuMessage>, voucher: Option<Vec<u8>>) -> LightPushRequest {
        LightPushRequest {
            request_id: "r1".into(),
            pubsub_topic: Some(TOPIC.into()),
            message,
            eligibility_proof: voucher.map(|v| EligibilityProof { proof_of_payment: Some(v) }),
        }
    }

    async fn code(server: &LightpushServer, f: Frame, relay: &FakeRelay) -> u32 {
        server.handle(f, relay).await.status_code
    }

    #[tokio::test]
    async fn status_codes_of_a_free_server() {
        let s = LightpushServer::new(vec![TOPIC.into()]);
        let ok = FakeRelay::new(Ok(()));
        let r = s.handle(frame(&request(Some(message()), None)), &ok).await;
        assert_eq!(
            (r.status_code, r.relay_peer_count, r.request_id.as_str()),
            (200, Some(3), "r1")
        );
        assert_eq!(code(&s, Frame::Bytes(vec![0xff, 0xff]), &ok).await, 400);
        assert_eq!(code(&s, frame(&request(None, None)), &ok).await, 400);
        assert_eq!(code(&s, Frame::TooLarge(MAX_FRAME_BYTES + 1), &ok).await, 413);
        let mut other = request(Some(message()), None);
        other.pubsub_topic = Some("/waku/2/rs/1/7".into());
        assert_eq!(code(&s, frame(&other), &ok).await, 421);
        let mut no_ct = message();
        no_ct.content_topic.clear();
        assert_eq!(code(&s, frame(&request(Some(no_ct), None)), &ok).await, 420);
        let mut unproved = message();
        unproved.rate_limit_proof = None;
        assert_eq!(code(&s, frame(&request(Some(unproved), None)), &ok).await, 504);
        assert_eq!(ok.published(), 1, "only the valid request reached the relay");
        // The relay's typed refusals.
        for (refusal, want) in [
            (PublishRefusal::NotValid(Verdict::Reject(Reason::InvalidProof)), 420),
            (PublishRefusal::NotValid(Verdict::Ignore(IgnoreReason::UnknownRoot)), 420),
            (PublishRefusal::NotValid(Verdict::Ignore(IgnoreReason::Duplicate)), 420),
            (PublishRefusal::Duplicate, 420),
            (PublishRefusal::NoPeers, 505),
            (PublishRefusal::TooLarge, 413),
            (PublishRefusal::Overloaded { peers: 4 }, 429),
            (PublishRefusal::Stopped, 503),
            (PublishRefusal::Failed, 500),
        ] {
            let relay = FakeRelay::new(Err(refusal.clone()));
            let r = s.handle(frame(&request(Some(message()), None)), &relay).await;
            assert_eq!(r.status_code, want, "{refusal:?}");
            assert!(r.status_desc.unwrap().contains(&refusal.to_string()));
        }
    }

    #[test]
    fn the_relays_errors_become_their_refusals() {
        let cases = [
            (NodeError::TooLarge, PublishRefusal::TooLarge),
            (NodeError::QueuesFull { peers: 4 }, PublishRefusal::Overloaded { peers: 4 }),
            (NodeError::NoPeers { topic: TOPIC.into() }, PublishRefusal::NoPeers),
            (NodeError::Duplicate, PublishRefusal::Duplicate),
            (NodeError::Stopped, PublishRefusal::Stopped),
            (
                NodeError::NotValid(Verdict::Reject(Reason::InvalidProof)),
                PublishRefusal::NotValid(Verdict::Reject(Reason::InvalidProof)),
            ),
        ];
        for (e, want) in cases {
            assert_eq!(PublishRefusal::from(e), want);
        }
    }

    #[tokio::test]
    async fn a_paid_server_charges_nothing_for_a_message_the_relay_cannot_take() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(VoucherStore::open(dir.path().join("vouchers.redb")).unwrap());
        let checker = Arc::new(VoucherChecker::new(terms(), []));
        let payer = key(1);
        checker.apply_events(&[EscrowEvent::Deposited {
            payer: payer.address(),
            token: terms().token,
            amount: U256::from(1000),
        }]);
        let s = LightpushServer::new(vec![TOPIC.into()]).paid(checker.clone(), store.clone());
        let v = voucher(&payer, 10);
        for (refusal, want) in
            [(PublishRefusal::TooLarge, 413), (PublishRefusal::Overloaded { peers: 2 }, 429)]
        {
            let relay = FakeRelay::new(Err(refusal));
            let r = s.handle(frame(&request(Some(message()), Some(v.clone()))), &relay).await;
            assert_eq!(r.status_code, want);
        }
        assert_eq!(checker.served(payer.address()), U256::ZERO);
        assert!(store.all().unwrap().is_empty());
    }

    fn key(n: u8) -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&B256::from([n; 32])).unwrap()
    }

    fn terms() -> ServiceTerms {
        ServiceTerms {
            domain: VoucherDomain { chain_id: 31337, contract: Address::from([7; 20]) },
            provider: Address::from([2; 20]),
            token: Address::from([3; 20]),
            payout: Address::from([4; 20]),
            price: U256::from(10),
            thaw_margin_secs: 60,
        }
    }

    fn voucher(k: &PrivateKeySigner, amount: u64) -> Vec<u8> {
        let t = terms();
        let v = Voucher {
            payer: k.address(),
            provider: t.provider,
            token: t.token,
            payout: t.payout,
            cumulativeAmount: U256::from(amount),
        };
        SignedVoucher::sign(t.domain, v, k).unwrap().to_bytes()
    }

    #[tokio::test]
    async fn a_paid_server_charges_only_what_it_published() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(VoucherStore::open(dir.path().join("vouchers.redb")).unwrap());
        let checker = Arc::new(VoucherChecker::new(terms(), []));
        let payer = key(1);
        checker.apply_events(&[EscrowEvent::Deposited {
            payer: payer.address(),
            token: terms().token,
            amount: U256::from(1000),
        }]);
        let s = LightpushServer::new(vec![TOPIC.into()]).paid(checker.clone(), store.clone());
        let ok = FakeRelay::new(Ok(()));
        // No voucher: 402 with the amount to sign, once.
        let r = s.handle(frame(&request(Some(message()), None)), &ok).await;
        assert_eq!(r.status_code, 402);
        assert_eq!(r.expected_cumulative(), Some(U256::from(10)));
        assert_eq!(r.status_desc.unwrap().matches(EXPECTED_MARKER).count(), 1);
        // Refused by the relay: no charge, the same voucher is good for the retry.
        let refused = FakeRelay::new(Err(PublishRefusal::NoPeers));
        let v1 = voucher(&payer, 10);
        assert_eq!(
            code(&s, frame(&request(Some(message()), Some(v1.clone()))), &refused).await,
            505
        );
        assert_eq!(checker.served(payer.address()), U256::ZERO);
        assert!(store.all().unwrap().is_empty());
        // Published: charged and kept on disk before the 200.
        assert_eq!(code(&s, frame(&request(Some(message()), Some(v1.clone()))), &ok).await, 200);
        assert_eq!(checker.served(payer.address()), U256::from(10));
        assert_eq!(store.all().unwrap().len(), 1);
        // The same voucher again: stale, 402 naming the next amount once.
        let r = s.handle(frame(&request(Some(message()), Some(v1))), &ok).await;
        assert_eq!((r.status_code, r.expected_cumulative()), (402, Some(U256::from(20))));
        assert_eq!(r.status_desc.unwrap().matches(EXPECTED_MARKER).count(), 1);
    }
}
