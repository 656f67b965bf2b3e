//! Async front of a [`Validator`]: the cheap checks run at once on the caller's task (spam is
//! rejected in microseconds); messages that need the pairing are collected for a few milliseconds
//! or up to N, verified as one batch on a blocking thread, and answered by channel.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::relay::rules::unix_now_ns;
use crate::relay::validator::{AwaitingPairing, Judgement, Precheck, Validator};

/// How the batch verifier collects work, and how much gossip a node judges at once.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// Verify as soon as this many proofs wait.
    pub max_batch: usize,
    /// Or when the first waiting proof has waited this long.
    pub max_wait: Duration,
    /// A node judges at most this many gossip messages at once (its validation workers; twice
    /// `max_batch` lets one batch fill while another is verified).
    pub workers: usize,
    /// Gossip messages that may wait for a worker; a node drops (ignores, and counts in
    /// `rlnkit_relay_validation_dropped_total`) what arrives beyond.
    pub queue: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig { max_batch: 64, max_wait: Duration::from_millis(3), workers: 128, queue: 4096 }
    }
}

/// Where the validator reads the time (ns since the Unix epoch); tests pin it.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

struct Job {
    waiting: Box<AwaitingPairing>,
    reply: oneshot::Sender<Judgement>,
}

/// A [`Validator`] behind a batching task (cheap to clone; the task stops when every clone is
/// dropped).
#[derive(Clone)]
pub struct BatchValidator {
    validator: Arc<Validator>,
    tx: mpsc::Sender<Job>,
    clock: Clock,
    config: BatchConfig,
}

impl std::fmt::Debug for BatchValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchValidator").finish_non_exhaustive()
    }
}

impl BatchValidator {
    /// Starts the batching task on the current tokio runtime.
    pub fn spawn(validator: Arc<Validator>, config: BatchConfig) -> Self {
        Self::spawn_with_clock(validator, config, Arc::new(unix_now_ns))
    }

    /// Like [`Self::spawn`], reading the time from `clock`.
    pub fn spawn_with_clock(validator: Arc<Validator>, config: BatchConfig, clock: Clock) -> Self {
        let (tx, rx) = mpsc::channel::<Job>(4096);
        tokio::spawn(run_batches(validator.clone(), config, clock.clone(), rx));
        BatchValidator { validator, tx, clock, config }
    }

    /// How it batches (and how much gossip a node judges at once).
    pub fn config(&self) -> BatchConfig {
        self.config
    }

    /// The validator behind it.
    pub fn validator(&self) -> &Arc<Validator> {
        &self.validator
    }

    /// Validates encoded message bytes received on `pubsub_topic`.
    pub async fn validate(&self, bytes: &[u8], pubsub_topic: &str) -> Judgement {
        let now = (self.clock)();
        match self.validator.precheck(bytes, pubsub_topic, now) {
            Precheck::Judged(j) => j,
            Precheck::NeedsPairing(waiting) => {
                let (reply, rx) = oneshot::channel();
                if self.tx.send(Job { waiting, reply }).await.is_err() {
                    return Judgement::unavailable();
                }
                rx.await.unwrap_or_else(|_| Judgement::unavailable())
            }
        }
    }
}

/// Collects jobs into batches (≤ `max_batch`, or what arrived within `max_wait` of the first)
/// and settles each batch on a blocking thread.
async fn run_batches(
    validator: Arc<Validator>,
    config: BatchConfig,
    clock: Clock,
    mut rx: mpsc::Receiver<Job>,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        let deadline = tokio::time::Instant::now() + config.max_wait;
        while jobs.len() < config.max_batch {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(j)) => jobs.push(j),
                _ => break,
            }
        }
        let (v, now) = (validator.clone(), clock());
        let (waiting, replies): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|j| (j.waiting, j.reply)).unzip();
        let judged =
            tokio::task::spawn_blocking(move || v.settle(waiting, now)).await.unwrap_or_default();
        let mut judged = judged.into_iter();
        for reply in replies {
            let _ = reply.send(judged.next().unwrap_or_else(Judgement::unavailable));
        }
    }
}
