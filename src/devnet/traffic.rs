//! The devnet's traffic, each a task on the devnet's runtime: the honest publisher (one message
//! per interval, held back at its rate limit), the spammer (one valid message, then a double
//! signal with the same message id) and the paying lightpush client (one voucher per push).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::U256;
use libp2p::Multiaddr;
use tokio::sync::watch;

use super::chaos::SentMessage;
use crate::credentials::PaymentStream;
use crate::lightpush::LightpushClient;
use crate::lightpush::StatusCode;
use crate::relay::{unix_now_ns, NodeHandle, PublishError, Publisher, WakuMessage};

/// The content topic of every devnet message.
pub const CONTENT_TOPIC: &str = "/rlnkit/1/devnet/proto";

/// What the traffic tasks did so far.
#[derive(Debug, Default, Clone)]
pub(super) struct Counters {
    pub(super) honest_published: u64,
    pub(super) honest_held_back: u64,
    pub(super) spam_sent: u64,
    pub(super) pushes_ok: u64,
    pub(super) pushes_failed: u64,
    /// Whether the last push got no 200 (its answer may have been lost after it was served).
    pub(super) last_push_failed: bool,
    pub(super) paid: U256,
}

/// Shared between the tasks and the observer.
pub(super) type SharedCounters = Arc<Mutex<Counters>>;

/// The honest messages published so far (the chaos audit looks each up in every relay's store).
pub(super) type SharedSent = Arc<Mutex<Vec<SentMessage>>>;

/// Where the honest publisher notes what it published, timed from the traffic's start.
pub(super) struct SentLog {
    pub(super) sent: SharedSent,
    pub(super) started: std::time::Instant,
}

pub(super) fn lock(c: &SharedCounters) -> std::sync::MutexGuard<'_, Counters> {
    c.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sleeps `d`, or less if the stop flag is raised; returns whether to stop.
async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

/// Proves off the async runtime (the prover is CPU work), handing the publisher back.
async fn build(
    mut p: Publisher,
    payload: String,
) -> (Publisher, Result<WakuMessage, PublishError>) {
    let r = tokio::task::spawn_blocking(move || {
        let r = p.build(payload.as_bytes(), CONTENT_TOPIC, unix_now_ns());
        (p, r)
    })
    .await;
    match r {
        Ok(pr) => pr,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// The honest publisher: one message every `every` until stopped; each published message is
/// noted in `log` (when, its epoch and nullifier).
pub(super) async fn honest(
    mut publisher: Publisher,
    node: NodeHandle,
    topic: String,
    every: Duration,
    counters: SharedCounters,
    log: SentLog,
    mut stop: watch::Receiver<bool>,
) {
    let mut n = 0u64;
    loop {
        if *stop.borrow() {
            return;
        }
        n += 1;
        let (p, r) = build(publisher, format!("honest message {n}")).await;
        publisher = p;
        match r {
            Ok(msg) => match node.publish(&topic, &msg).await {
                Ok(_) => {
                    let at_ms = log.started.elapsed().as_millis() as u64;
                    lock(&counters).honest_published += 1;
                    let checked = msg.rate_limit_proof.as_ref().and_then(|p| p.check().ok());
                    if let Some(p) = checked {
                        let epoch = p.epoch.index().unwrap_or(0);
                        let m = SentMessage { at_ms, epoch, nullifier: p.nullifier };
                        log.sent.lock().unwrap_or_else(|p| p.into_inner()).push(m);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "honest publish failed"),
            },
            Err(PublishError::LimitReached { .. }) => lock(&counters).honest_held_back += 1,
            Err(e) => tracing::warn!(error = %e, "honest publisher cannot prove"),
        }
        if pause(&mut stop, every).await {
            return;
        }
    }
}

/// The spammer: after `after`, a valid message, then another with the same message id (a double
/// signal: its secret can be recovered from the two shares); each sent again until a peer
/// takes it.
pub(super) async fn spammer(
    publisher: Publisher,
    node: NodeHandle,
    topic: String,
    after: Duration,
    counters: SharedCounters,
    mut stop: watch::Receiver<bool>,
) {
    if pause(&mut stop, after).await {
        return;
    }
    let now = unix_now_ns();
    let built = tokio::task::spawn_blocking(move || {
        let a = publisher.build_with_id(b"spammer: hello", CONTENT_TOPIC, now, 0)?;
        let b = publisher.build_with_id(b"spammer: BUY CHEAP TOKENS", CONTENT_TOPIC, now + 1, 0)?;
        Ok::<_, PublishError>((a, b))
    })
    .await;
    let (first, second) = match built {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => return tracing::warn!(error = %e, "the spammer cannot prove"),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    for (i, m) in [first, second].iter().enumerate() {
        if i == 1 && pause(&mut stop, Duration::from_millis(300)).await {
            return;
        }
        // Unchecked: the node would refuse to send a double signal (its peers penalize it).
        // A spammer does not give up: while its relay is down or its link cut, it tries again.
        loop {
            match node.publish_unchecked(&topic, m.to_bytes()).await {
                Ok(_) => {
                    lock(&counters).spam_sent += 1;
                    break;
                }
                Err(e) => tracing::warn!(error = %e, "spam publish failed; trying again"),
            }
            if pause(&mut stop, Duration::from_millis(200)).await {
                return;
            }
        }
    }
}

/// The paying client: one lightpush request every `every`, each paid with the next voucher.
pub(super) async fn payer(
    client: LightpushClient,
    service: Multiaddr,
    mut stream: PaymentStream,
    topic: String,
    every: Duration,
    counters: SharedCounters,
    mut stop: watch::Receiver<bool>,
) {
    let mut n = 0u64;
    loop {
        if *stop.borrow() {
            return;
        }
        n += 1;
        let m = WakuMessage {
            payload: format!("paid message {n}").into_bytes(),
            content_topic: CONTENT_TOPIC.into(),
            timestamp: Some(unix_now_ns() as i64),
            ..Default::default()
        };
        let r = client.push_paid(&service, Some(&topic), &m, &mut stream).await;
        {
            let mut c = lock(&counters);
            let ok = matches!(&r, Ok(resp) if resp.code() == Some(StatusCode::Success));
            if ok {
                c.pushes_ok += 1;
            } else {
                c.pushes_failed += 1;
            }
            c.last_push_failed = !ok;
            c.paid = stream.paid();
        }
        match r {
            Ok(resp) if resp.code() != Some(StatusCode::Success) => {
                tracing::warn!(code = resp.status_code, desc = ?resp.status_desc, "push refused")
            }
            Err(e) => tracing::warn!(error = %e, "push failed"),
            _ => {}
        }
        if pause(&mut stop, every).await {
            return;
        }
    }
}
