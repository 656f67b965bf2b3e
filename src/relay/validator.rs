//! The RLN validator: the pure [rules] plus the state around them (the nullifier
//! log, the pairing, the metrics, the spam events). No network, no chain: roots come through
//! [`AcceptedRoots`], nullifiers through the [`NullifierLog`], spam events go to whoever
//! subscribed. Any relay implementation can call [`Validator::validate`].
//!
//! One message: [`Validator::validate`] (or [`Validator::validate_encoded_at`] on gossipsub's
//! bytes). Many: [`Validator::validate_batch_at`], or, to run the cheap checks on several
//! threads, [`Validator::precheck`] per message and one [`Validator::settle`] for those that
//! need the pairing: [`AwaitingPairing`] can only be consumed by `settle`, so the order is
//! enforced by the types. Metrics are counted in one place ([`Validator`]'s private `count`),
//! the nullifier log is flushed by `settle`.
//!
//! After the rules: the nullifier already seen with the same share (→ Ignore), the curve points,
//! the pairing (alone, or batched); then the nullifier log again: a different share for a seen
//! nullifier recovers the member's secret (→ Reject + [`SpamEvent`]), else the nullifier is
//! recorded (→ Accept). Only verified shares are ever recorded or accused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::mpsc;

use crate::epoch::{Epoch, ExternalNullifier};
use crate::field::Field;
use crate::proof::{recover_secret, PublicValues, RlnProof};
use crate::relay::message::{epoch_of_timestamp, WakuMessage};
use crate::relay::metrics::RelayMetrics;
use crate::relay::nullifier_log::{NullifierLog, Share, ShareStatus};
use crate::relay::rules::{
    self, shard_label, unix_now_ns, IgnoreReason, Reason, ValidatorConfig, Verdict,
};
use crate::roots::AcceptedRoots;
use crate::verifier::Verifier;

/// A verified double signal: two shares of one member in one epoch, and the secret they reveal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpamEvent {
    /// Where the second message was published.
    pub pubsub_topic: String,
    /// The epoch index of both messages.
    pub epoch: u64,
    /// The nullifier both messages carry.
    pub nullifier: Field,
    /// The member's identity secret (a0).
    pub secret: Field,
    /// Poseidon(secret): the membership to slash.
    pub id_commitment: Field,
    /// The share recorded first.
    pub first: Share,
    /// The share that gave the member away.
    pub second: Share,
}

/// A message the validator accepted, decoded once (the node delivers it as is).
#[derive(Debug, Clone)]
pub struct AcceptedMessage {
    /// The pubsub topic it was published on.
    pub pubsub_topic: String,
    /// The message.
    pub message: WakuMessage,
    /// Its deterministic message hash (14/WAKU2-MESSAGE).
    pub message_hash: [u8; 32],
}

/// A verdict and, when it is [`Verdict::Accept`], the accepted message (never otherwise); when
/// the message revealed a member's secret, the [`SpamEvent`] (only with
/// `Reject(DoubleSignal)`): whoever judged the message gets the secret it revealed, no other
/// caller can take it.
#[derive(Debug, Clone)]
pub struct Judgement {
    verdict: Verdict,
    accepted: Option<AcceptedMessage>,
    spam: Option<Box<SpamEvent>>,
}

impl Judgement {
    fn refused(verdict: Verdict) -> Self {
        debug_assert!(verdict != Verdict::Accept);
        Judgement { verdict, accepted: None, spam: None }
    }

    /// A message that was not judged because the batch verifier is gone.
    pub(crate) fn unavailable() -> Self {
        Self::refused(Verdict::Ignore(IgnoreReason::Unavailable))
    }

    /// What gossipsub should do with the message.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// The accepted message (only for [`Verdict::Accept`]).
    pub fn accepted(&self) -> Option<&AcceptedMessage> {
        self.accepted.as_ref()
    }

    /// The accepted message, by value.
    pub fn into_accepted(self) -> Option<AcceptedMessage> {
        self.accepted
    }

    /// The double signal this message completed, with the secret it revealed (only for
    /// `Reject(DoubleSignal)`).
    pub fn spam(&self) -> Option<&SpamEvent> {
        self.spam.as_deref()
    }
}

/// A message that passed every check short of the pairing. Only [`Validator::settle`] can use
/// it (verify, settle the nullifier, count), so no message is half-validated.
#[derive(Debug)]
pub struct AwaitingPairing {
    epoch: u64,
    root_accepted: bool,
    proof: RlnProof,
    accepted: AcceptedMessage,
}

/// The first step of batch validation: either the final judgement, or a message whose proof must
/// go through the pairing.
// `Judged` carries a judgement inline (a cheap rejection must not allocate); the awaiting
// message is boxed instead.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Precheck {
    /// Judged already (rejected or ignored before the pairing; counted in the metrics).
    Judged(Judgement),
    /// Pass it to [`Validator::settle`] (with others, to share one batch verification).
    NeedsPairing(Box<AwaitingPairing>),
}

/// The RLN validator.
pub struct Validator {
    config: ValidatorConfig,
    roots: Arc<dyn AcceptedRoots>,
    verifier: Verifier,
    log: NullifierLog,
    ext_cache: Mutex<HashMap<u64, Field>>,
    metrics: Arc<RelayMetrics>,
    spam_subscribers: Mutex<Vec<mpsc::UnboundedSender<SpamEvent>>>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator").field("config", &self.config).finish()
    }
}

/// A poisoned lock (a panic while it was held) still holds consistent data here: every update
/// under these locks is a single insert or replace.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Validator {
    /// A validator with its own metrics (see [`Self::with_metrics`]).
    pub fn new(
        config: ValidatorConfig,
        verifier: Verifier,
        roots: Arc<dyn AcceptedRoots>,
        log: NullifierLog,
    ) -> Self {
        Validator {
            config,
            roots,
            verifier,
            log,
            ext_cache: Mutex::new(HashMap::new()),
            metrics: Arc::new(RelayMetrics::new()),
            spam_subscribers: Mutex::new(Vec::new()),
        }
    }

    /// Uses (and reports into) these metrics.
    pub fn with_metrics(mut self, metrics: Arc<RelayMetrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The metrics this validator counts into.
    pub fn metrics(&self) -> &Arc<RelayMetrics> {
        &self.metrics
    }

    /// The network's parameters.
    pub fn config(&self) -> &ValidatorConfig {
        &self.config
    }

    /// The roots accepted.
    pub fn roots(&self) -> &Arc<dyn AcceptedRoots> {
        &self.roots
    }

    /// A stream of verified double signals.
    pub fn subscribe_spam(&self) -> mpsc::UnboundedReceiver<SpamEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.spam_subscribers).push(tx);
        rx
    }

    /// The epochs the nullifier log holds, ascending (diagnostics).
    pub fn nullifier_epochs(&self) -> Vec<u64> {
        self.log.epochs()
    }

    /// Validates one message now (the pairing runs on this thread).
    pub fn validate(&self, message: &WakuMessage, pubsub_topic: &str) -> Verdict {
        self.validate_at(message, pubsub_topic, unix_now_ns())
    }

    /// Validates one decoded message at the given time (ns since the Unix epoch).
    pub fn validate_at(&self, message: &WakuMessage, pubsub_topic: &str, now_ns: u64) -> Verdict {
        let checked = if prost::Message::encoded_len(message) > self.config.max_message_bytes {
            Err(Verdict::Reject(Reason::TooLarge))
        } else {
            self.check_decoded(message.clone(), pubsub_topic, now_ns)
        };
        self.judge_one(checked, pubsub_topic, now_ns).verdict()
    }

    /// Validates the encoded bytes gossipsub delivered, at the given time.
    pub fn validate_encoded_at(&self, bytes: &[u8], pubsub_topic: &str, now_ns: u64) -> Judgement {
        let checked = self.check_encoded(bytes, pubsub_topic, now_ns);
        self.judge_one(checked, pubsub_topic, now_ns)
    }

    /// Validates many encoded messages `(bytes, pubsub topic)` at once: the cheap checks in
    /// order, then one batch verification for those that need it. Judgements in input order.
    pub fn validate_batch_at(&self, messages: &[(&[u8], &str)], now_ns: u64) -> Vec<Judgement> {
        let prechecked: Vec<Precheck> =
            messages.iter().map(|(b, t)| self.precheck(b, t, now_ns)).collect();
        self.settle_prechecked(prechecked, now_ns)
    }

    /// The checks that need no pairing. A message judged here is counted in the metrics at once.
    pub fn precheck(&self, bytes: &[u8], pubsub_topic: &str, now_ns: u64) -> Precheck {
        match self.check_encoded(bytes, pubsub_topic, now_ns) {
            Ok(p) => Precheck::NeedsPairing(p),
            Err(v) => Precheck::Judged(self.refuse(v, pubsub_topic)),
        }
    }

    /// Verifies the messages' proofs as one batch (naming the bad ones if it fails), settles each
    /// against the nullifier log in order, commits the log and counts. Judgements in input order,
    /// returned once the shares they recorded are on disk. The commit holds no lock that
    /// [`Self::precheck`] or another `settle` waits on (see [`NullifierLog::flush`]).
    pub fn settle(&self, batch: Vec<Box<AwaitingPairing>>, now_ns: u64) -> Vec<Judgement> {
        if batch.is_empty() {
            return Vec::new();
        }
        let proofs: Vec<RlnProof> = batch.iter().map(|p| p.proof).collect();
        let t = Instant::now();
        let bad = match self.verifier.verify_batch(&proofs) {
            Ok(()) => Vec::new(),
            Err(b) => b.bad,
        };
        self.observe_verification(proofs.len(), t.elapsed());
        self.metrics.batch_size.observe(proofs.len() as f64);
        let judged: Vec<Judgement> = batch
            .into_iter()
            .enumerate()
            .map(|(i, p)| self.settle_one(p, !bad.contains(&i), now_ns))
            .collect();
        if let Err(e) = self.log.flush() {
            tracing::error!("nullifier log: {e}");
        }
        judged
    }

    /// `precheck` results in, judgements out (input order).
    fn settle_prechecked(&self, prechecked: Vec<Precheck>, now_ns: u64) -> Vec<Judgement> {
        let mut waiting = Vec::new();
        let mut slots: Vec<Option<Judgement>> = Vec::with_capacity(prechecked.len());
        for p in prechecked {
            match p {
                Precheck::Judged(j) => slots.push(Some(j)),
                Precheck::NeedsPairing(w) => {
                    waiting.push(w);
                    slots.push(None);
                }
            }
        }
        let mut settled = self.settle(waiting, now_ns).into_iter();
        slots
            .into_iter()
            .map(|s| s.or_else(|| settled.next()).unwrap_or_else(Judgement::unavailable))
            .collect()
    }

    fn judge_one(
        &self,
        checked: Result<Box<AwaitingPairing>, Verdict>,
        pubsub_topic: &str,
        now_ns: u64,
    ) -> Judgement {
        match checked {
            Err(v) => self.refuse(v, pubsub_topic),
            Ok(p) => self.settle(vec![p], now_ns).pop().unwrap_or_else(Judgement::unavailable),
        }
    }

    fn refuse(&self, v: Verdict, pubsub_topic: &str) -> Judgement {
        self.count(v, pubsub_topic);
        Judgement::refused(v)
    }

    fn check_encoded(
        &self,
        bytes: &[u8],
        pubsub_topic: &str,
        now_ns: u64,
    ) -> Result<Box<AwaitingPairing>, Verdict> {
        let msg = rules::decode(&self.config, bytes).map_err(Verdict::Reject)?;
        self.check_decoded(msg, pubsub_topic, now_ns)
    }

    /// The rules, then the log (a resend is ignored before the pairing), then the points.
    fn check_decoded(
        &self,
        msg: WakuMessage,
        pubsub_topic: &str,
        now_ns: u64,
    ) -> Result<Box<AwaitingPairing>, Verdict> {
        let passed =
            rules::check_message(&self.config, self.roots.as_ref(), &msg, pubsub_topic, now_ns)
                .map_err(Verdict::Reject)?;
        let (epoch, root_accepted, p) = (passed.epoch, passed.root_accepted, &passed.proof);
        if !root_accepted {
            // Maybe newer than our view of the chain: look again soon.
            self.roots.note_unknown_root();
        }
        if let ShareStatus::SameShare = self.log.check(epoch, &p.nullifier, &p.x, &p.y) {
            return Err(Verdict::Ignore(IgnoreReason::Duplicate));
        }
        let proof = p
            .to_rln_proof(self.external_nullifier(epoch))
            .map_err(|_| Verdict::Reject(Reason::InvalidPoints))?;
        let message_hash = msg.message_hash(pubsub_topic);
        Ok(Box::new(AwaitingPairing {
            epoch,
            root_accepted,
            proof,
            accepted: AcceptedMessage {
                pubsub_topic: pubsub_topic.to_string(),
                message: msg,
                message_hash,
            },
        }))
    }

    fn external_nullifier(&self, epoch: u64) -> Field {
        let mut cache = lock(&self.ext_cache);
        if let Some(e) = cache.get(&epoch) {
            return *e;
        }
        if cache.len() > 8 {
            cache.clear();
        }
        let e =
            ExternalNullifier::new(Epoch::from_index(epoch), self.config.rln_identifier).as_field();
        cache.insert(epoch, e);
        e
    }

    fn observe_verification(&self, n: usize, elapsed: std::time::Duration) {
        let per = elapsed.as_secs_f64() / n.max(1) as f64;
        for _ in 0..n {
            self.metrics.verifications.inc();
            self.metrics.verification_seconds.observe(per);
        }
    }

    /// Settles a message whose proof was checked: records its nullifier, or recognizes a resend
    /// or a double signal. Counts the verdict.
    fn settle_one(&self, p: Box<AwaitingPairing>, proof_ok: bool, now_ns: u64) -> Judgement {
        let topic = p.accepted.pubsub_topic.clone();
        if !proof_ok {
            return self.refuse(Verdict::Reject(Reason::InvalidProof), &topic);
        }
        if !p.root_accepted {
            // A valid proof against a root we do not accept: the publisher's view of the chain
            // differs from ours, which no forwarding peer can check. Not forwarded, not penalized.
            return self.refuse(Verdict::Ignore(IgnoreReason::UnknownRoot), &topic);
        }
        let values = p.proof.values;
        let share = Share { x: values.x, y: values.y, message_hash: p.accepted.message_hash };
        let current = epoch_of_timestamp(now_ns, self.config.epoch_seconds).index().unwrap_or(0);
        match self.log.check_and_record(current, p.epoch, values.nullifier, share) {
            ShareStatus::New => {
                self.count(Verdict::Accept, &topic);
                Judgement { verdict: Verdict::Accept, accepted: Some(p.accepted), spam: None }
            }
            ShareStatus::SameShare => self.refuse(Verdict::Ignore(IgnoreReason::Duplicate), &topic),
            ShareStatus::OtherShare(first) => {
                let mut judgement = self.refuse(Verdict::Reject(Reason::DoubleSignal), &topic);
                let first_values = PublicValues { x: first.x, y: first.y, ..values };
                if let Ok(secret) = recover_secret(&first_values, &values) {
                    let ev = SpamEvent {
                        pubsub_topic: topic.clone(),
                        epoch: p.epoch,
                        nullifier: values.nullifier,
                        secret,
                        id_commitment: crate::identity::id_commitment(secret),
                        first,
                        second: share,
                    };
                    tracing::info!(epoch = ev.epoch, id_commitment = %ev.id_commitment.to_hex(), "double signal: recovered a member's secret");
                    self.metrics.secrets_recovered.inc();
                    lock(&self.spam_subscribers).retain(|tx| tx.send(ev.clone()).is_ok());
                    judgement.spam = Some(Box::new(ev));
                }
                judgement
            }
        }
    }

    /// The one place a validated message is counted.
    fn count(&self, v: Verdict, pubsub_topic: &str) {
        let m = &self.metrics;
        m.messages.inc();
        match v {
            Verdict::Accept => m.valid(shard_label(pubsub_topic)),
            Verdict::Reject(Reason::DoubleSignal) => {
                m.spam.inc();
            }
            Verdict::Reject(r) => m.invalid(r.label()),
            Verdict::Ignore(r) => m.ignored(r.label()),
        }
    }
}
