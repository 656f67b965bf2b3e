//! Bounded intake of gossip messages for validation: messages wait in a bounded queue and at
//! most N worker tasks judge them through the [`BatchValidator`] (the cheap checks on the worker,
//! pairings batched on a blocking thread), sending outcomes back on a bounded channel. Workers
//! are started when messages wait and end when the queue is empty, so an idle node holds none.
//! The swarm task never waits: when the queue is full, [`Intake::submit`] hands the message back
//! and the node drops it (reported to gossipsub as Ignore: not forwarded, no penalty), counted
//! in `rlnkit_relay_validation_dropped_total`. Workers wait when the node is slow to take
//! outcomes, so memory is bounded by the queue, the workers and the outcome channel, not by the
//! gossip rate.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use libp2p::gossipsub::MessageId;
use libp2p::PeerId;
use tokio::sync::mpsc;

use crate::relay::batch::BatchValidator;
use crate::relay::rules::{Reason, Verdict};
use crate::relay::scoring::{encoded_share_key, ShareKey};
use crate::relay::validator::Judgement;

/// A gossip message to judge.
pub(crate) struct Work {
    /// gossipsub's id for it.
    pub(crate) id: MessageId,
    /// The peer that forwarded it.
    pub(crate) source: PeerId,
    /// The pubsub topic.
    pub(crate) topic: String,
    /// The encoded message.
    pub(crate) data: Vec<u8>,
}

/// A judged gossip message.
pub(crate) struct Outcome {
    /// gossipsub's id for it.
    pub(crate) id: MessageId,
    /// The peer that forwarded it.
    pub(crate) source: PeerId,
    /// The pubsub topic.
    pub(crate) topic: String,
    /// The validator's judgement.
    pub(crate) judgement: Judgement,
    /// The share key of a double signal (decoded only then), to judge its forwarder.
    pub(crate) double_signal: Option<ShareKey>,
}

/// The sending side of the queue.
pub(crate) struct Intake {
    tx: mpsc::Sender<Work>,
    shared: Arc<Shared>,
}

/// What the workers share.
struct Shared {
    queue: Mutex<mpsc::Receiver<Work>>,
    batch: BatchValidator,
    out: mpsc::Sender<Outcome>,
    /// Workers running, at most `max_workers`.
    live: AtomicUsize,
    max_workers: usize,
}

impl Shared {
    /// Counts one more worker if there is room for it.
    fn claim_worker(&self) -> bool {
        self.live
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max_workers).then_some(n + 1)
            })
            .is_ok()
    }

    fn next(&self) -> Result<Work, mpsc::error::TryRecvError> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).try_recv()
    }

    fn queue_is_empty(&self) -> bool {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
    }
}

impl Intake {
    /// An intake on the current runtime: a queue of `queue` messages, at most `workers` (at least
    /// one) judging at once; outcomes come on the returned receiver.
    pub(crate) fn spawn(
        batch: BatchValidator,
        workers: usize,
        queue: usize,
    ) -> (Self, mpsc::Receiver<Outcome>) {
        let max_workers = workers.max(1);
        let (tx, rx) = mpsc::channel::<Work>(queue.max(1));
        let (out, out_rx) = mpsc::channel::<Outcome>(max_workers);
        let shared = Arc::new(Shared {
            queue: Mutex::new(rx),
            batch,
            out,
            live: AtomicUsize::new(0),
            max_workers,
        });
        (Intake { tx, shared }, out_rx)
    }

    /// Queues a message (starting a worker if fewer than the maximum run), or hands it back if
    /// the queue is full.
    pub(crate) fn submit(&self, w: Work) -> Result<(), Box<Work>> {
        self.tx.try_send(w).map_err(|e| match e {
            mpsc::error::TrySendError::Full(w) | mpsc::error::TrySendError::Closed(w) => {
                Box::new(w)
            }
        })?;
        if self.shared.claim_worker() {
            tokio::spawn(work(self.shared.clone()));
        }
        Ok(())
    }
}

/// Judges queued messages until the queue is empty (or the node stopped taking outcomes).
async fn work(shared: Arc<Shared>) {
    loop {
        let w = match shared.next() {
            Ok(w) => w,
            Err(mpsc::error::TryRecvError::Disconnected) => {
                shared.live.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            Err(mpsc::error::TryRecvError::Empty) => {
                shared.live.fetch_sub(1, Ordering::SeqCst);
                // A message queued after the check above may have found every worker counted:
                // take it on if so (and if there is still room).
                if shared.queue_is_empty() || !shared.claim_worker() {
                    return;
                }
                continue;
            }
        };
        let judgement = shared.batch.validate(&w.data, &w.topic).await;
        let double_signal = (judgement.verdict() == Verdict::Reject(Reason::DoubleSignal))
            .then(|| encoded_share_key(&w.data))
            .flatten();
        let outcome =
            Outcome { id: w.id, source: w.source, topic: w.topic, judgement, double_signal };
        if shared.out.send(outcome).await.is_err() {
            shared.live.fetch_sub(1, Ordering::SeqCst);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::batch::BatchConfig;
    use crate::relay::nullifier_log::NullifierLog;
    use crate::relay::rules::ValidatorConfig;
    use crate::relay::validator::Validator;
    use crate::roots::StaticRoots;

    fn work(i: u8) -> Work {
        Work {
            id: MessageId::from(vec![i]),
            source: PeerId::random(),
            topic: "/waku/2/rs/1/0".into(),
            data: vec![0xff, i],
        }
    }

    // One thread: workers run only when the test awaits, so the queue fills deterministically.
    #[tokio::test(flavor = "current_thread")]
    async fn a_full_queue_hands_the_message_back_and_the_queued_ones_are_judged() {
        let keys = crate::CircuitKeys::embedded().unwrap();
        let validator = Arc::new(Validator::new(
            ValidatorConfig::default(),
            crate::Verifier::new(keys.verifying_key()),
            Arc::new(StaticRoots::new([])),
            NullifierLog::in_memory(),
        ));
        let batch = BatchValidator::spawn(validator, BatchConfig::default());
        let (intake, mut outcomes) = Intake::spawn(batch, 1, 2);
        assert!(intake.submit(work(1)).is_ok());
        assert!(intake.submit(work(2)).is_ok());
        let back = intake.submit(work(3)).expect_err("the queue holds 2");
        assert_eq!(back.data, vec![0xff, 3]);
        assert_eq!(intake.shared.live.load(Ordering::SeqCst), 1, "one worker at most");
        for want in [1u8, 2] {
            let o = outcomes.recv().await.unwrap();
            assert_eq!(o.id, MessageId::from(vec![want]));
            assert!(matches!(o.judgement.verdict(), Verdict::Reject(_)));
        }
        // Room again: judged by the worker still running or by a new one.
        assert!(intake.submit(work(4)).is_ok());
        assert_eq!(outcomes.recv().await.unwrap().id, MessageId::from(vec![4]));
    }
}
