//! The light client of lightpush v3: a small libp2p swarm (TCP + noise + yamux, request-response
//! only) that pushes messages to a service node, paying with vouchers when the node charges.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::SwarmEvent;
use libp2p::{identity::Keypair, noise, tcp, yamux, Multiaddr, PeerId, Swarm};
use tokio::sync::{mpsc, oneshot};

use super::wire::{
    EligibilityProof, LightPushRequest, LightPushResponse, StatusCode, LIGHTPUSH_PROTOCOL,
};
use crate::credentials::payer::PaymentStream;
use crate::credentials::VoucherError;
use crate::relay::framed::{self, Frame, FramedCodec};
use crate::relay::message::WakuMessage;
use crate::relay::peers::peer_of;

/// Why a push got no response.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The swarm could not be built.
    #[error("cannot build the lightpush client: {0}")]
    Setup(String),
    /// The address has no `/p2p/<peer id>`.
    #[error("the service node address {0} has no /p2p/<peer id>")]
    NoPeerId(Multiaddr),
    /// Dial, timeout, connection or protocol failure.
    #[error("lightpush request failed: {0}")]
    Request(#[from] request_response::OutboundFailure),
    /// The node's answer is not a LightPushResponse.
    #[error("the node's response does not decode: {0}")]
    Response(#[from] prost::DecodeError),
    /// The client's task stopped.
    #[error("the lightpush client has stopped")]
    Stopped,
    /// The voucher could not be signed.
    #[error(transparent)]
    Voucher(#[from] VoucherError),
}

struct Push {
    peer: PeerId,
    addr: Multiaddr,
    bytes: Vec<u8>,
    reply: oneshot::Sender<Result<LightPushResponse, PushError>>,
}

/// A lightpush client (cheap to clone; one task owns its swarm).
#[derive(Clone, Debug)]
pub struct LightpushClient {
    tx: mpsc::Sender<Push>,
}

impl LightpushClient {
    /// Starts the client's swarm on the current tokio runtime.
    pub fn spawn() -> Result<Self, PushError> {
        let swarm: Swarm<request_response::Behaviour<FramedCodec>> =
            libp2p::SwarmBuilder::with_existing_identity(Keypair::generate_ed25519())
                .with_tokio()
                .with_tcp(
                    tcp::Config::default().nodelay(true),
                    noise::Config::new,
                    yamux::Config::default,
                )
                .map_err(|e| PushError::Setup(e.to_string()))?
                .with_behaviour(|_| {
                    framed::behaviour(LIGHTPUSH_PROTOCOL, false, Duration::from_secs(30))
                })
                .map_err(|e| PushError::Setup(e.to_string()))?
                .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
                .build();
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(run(swarm, rx));
        Ok(LightpushClient { tx })
    }

    /// Sends one request to the node at `addr` (with `/p2p/<id>`) and waits for its response.
    pub async fn send(
        &self,
        addr: &Multiaddr,
        request: &LightPushRequest,
    ) -> Result<LightPushResponse, PushError> {
        self.send_bytes(addr, request.to_bytes()).await
    }

    /// Sends raw request bytes (tests send malformed ones).
    pub async fn send_bytes(
        &self,
        addr: &Multiaddr,
        bytes: Vec<u8>,
    ) -> Result<LightPushResponse, PushError> {
        let peer = peer_of(addr).ok_or_else(|| PushError::NoPeerId(addr.clone()))?;
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Push { peer, addr: addr.clone(), bytes, reply })
            .await
            .map_err(|_| PushError::Stopped)?;
        rx.await.map_err(|_| PushError::Stopped)?
    }

    /// Pushes a message, paying with the next voucher of `stream`; on a corrective 402 that
    /// states the expected amount (and the stream accepts it) it signs that amount and retries
    /// once. The stream advances only on 200.
    pub async fn push_paid(
        &self,
        addr: &Multiaddr,
        pubsub_topic: Option<&str>,
        message: &WakuMessage,
        stream: &mut PaymentStream,
    ) -> Result<LightPushResponse, PushError> {
        let request = |v: &crate::credentials::SignedVoucher| LightPushRequest {
            request_id: random_id(),
            pubsub_topic: pubsub_topic.map(str::to_string),
            message: Some(message.clone()),
            eligibility_proof: Some(EligibilityProof { proof_of_payment: Some(v.to_bytes()) }),
        };
        let voucher = stream.next()?;
        let response = self.send(addr, &request(&voucher)).await?;
        if response.code() == Some(StatusCode::Success) {
            stream.served(&voucher);
            return Ok(response);
        }
        let correction = response.expected_cumulative().filter(|&expected| {
            expected != voucher.voucher.cumulativeAmount && stream.acceptable_correction(expected)
        });
        let Some(expected) = correction else { return Ok(response) };
        tracing::info!(%expected, "the node corrected the voucher amount; retrying once");
        let voucher = stream.sign(expected)?;
        let retry = self.send(addr, &request(&voucher)).await?;
        if retry.code() == Some(StatusCode::Success) {
            stream.served(&voucher);
        }
        Ok(retry)
    }
}

fn random_id() -> String {
    hex::encode(rand::random::<[u8; 8]>())
}

async fn run(
    mut swarm: Swarm<request_response::Behaviour<FramedCodec>>,
    mut pushes: mpsc::Receiver<Push>,
) {
    type Reply = oneshot::Sender<Result<LightPushResponse, PushError>>;
    let mut pending: HashMap<OutboundRequestId, Reply> = HashMap::new();
    loop {
        tokio::select! {
            p = pushes.recv() => {
                let Some(p) = p else { break };
                let id = swarm.behaviour_mut().send_request_with_addresses(&p.peer, Frame::Bytes(p.bytes), vec![p.addr]);
                pending.insert(id, p.reply);
            }
            ev = swarm.select_next_some() => match ev {
                SwarmEvent::Behaviour(request_response::Event::Message {
                    message: request_response::Message::Response { request_id, response }, ..
                }) => {
                    if let Some(r) = pending.remove(&request_id) {
                        let _ = r.send(LightPushResponse::from_bytes(&response).map_err(PushError::from));
                    }
                }
                SwarmEvent::Behaviour(request_response::Event::OutboundFailure { request_id, error, .. }) => {
                    if let Some(r) = pending.remove(&request_id) {
                        let _ = r.send(Err(PushError::Request(error)));
                    }
                }
                _ => {}
            },
        }
    }
}
