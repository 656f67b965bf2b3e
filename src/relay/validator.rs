//! The relay's RLN rules: a message and its pubsub topic in, a verdict out. No network, no chain:
//! roots come through [`RootWindow`], nullifiers through the [`NullifierLog`], the spam events go
//! to whoever subscribed. Any relay implementation can call [`Validator::validate`].
//!
//! Order (SPEC §5, nwaku's rules plus rlnkit's): size, decode, topic, proof present, canonical
//! fields, timestamp window, pinned rln_identifier, epoch == f(timestamp), root in the window,
//! x == hash_to_field(signal), nullifier already seen with the same share (→ Ignore), curve points;
//! only then the pairing (alone, or batched by [`BatchValidator`]); then the nullifier log again:
//! a different share for a seen nullifier recovers the member's secret (→ Reject + [`SpamEvent`]),
//! else the nullifier is recorded (→ Accept). Only verified shares are ever recorded or accused.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};

use crate::epoch::{ExternalNullifier, RlnIdentifier, WAKU_EPOCH_SECONDS};
use crate::field::{hash_to_field, Field};
use crate::proof::{recover_secret, RlnProof};
use crate::relay::message::{epoch_of_timestamp, MessageError, WakuMessage, MAX_MESSAGE_BYTES};
use crate::relay::metrics::RelayMetrics;
use crate::relay::nullifier_log::{NullifierLog, Seen, Share};
use crate::verifier::Verifier;

/// nwaku's window of acceptable roots: the last 50.
pub const DEFAULT_ROOT_WINDOW: usize = 50;
/// nwaku's maximum clock difference between a message's timestamp and the validator's clock.
pub const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::from_secs(20);

/// Why a message was rejected (gossipsub penalizes the peer that sent it). Each reason is one
/// `type` label of `waku_rln_invalid_messages_total` (spam counts in `waku_rln_spam_messages_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Reason {
    #[error("the message exceeds the size limit")]
    TooLarge,
    #[error("the bytes are not a WakuMessage")]
    Decode,
    #[error("the message was published on a pubsub topic this relay does not serve")]
    Topic,
    #[error("the message carries no rate limit proof")]
    MissingProof,
    #[error("the Groth16 proof is not 128 bytes")]
    ProofLength,
    #[error("a proof field is not a canonical 32-byte field element")]
    NonCanonicalField,
    #[error("the message has no timestamp")]
    MissingTimestamp,
    #[error("the timestamp is too far in the past")]
    TimestampTooOld,
    #[error("the timestamp is too far in the future")]
    TimestampInFuture,
    #[error("the rln_identifier is not this network's")]
    WrongRlnIdentifier,
    #[error("the proof's epoch is not the epoch of the message's timestamp")]
    EpochMismatch,
    #[error("the proof's Merkle root is not in the window of acceptable roots")]
    RootNotInWindow,
    #[error("the share's x is not hash_to_field(signal): the proof is for another message")]
    SignalMismatch,
    #[error("the proof's curve points are invalid")]
    InvalidPoints,
    #[error("the proof does not verify")]
    InvalidProof,
    #[error("double signal: a second message with one nullifier in one epoch")]
    DoubleSignal,
}

impl Reason {
    /// The `type` label of `waku_rln_invalid_messages_total`.
    pub fn label(self) -> &'static str {
        match self {
            Reason::TooLarge => "oversized",
            Reason::Decode => "decode",
            Reason::Topic => "topic",
            Reason::MissingProof => "missing_proof",
            Reason::ProofLength => "proof_length",
            Reason::NonCanonicalField => "non_canonical_field",
            Reason::MissingTimestamp => "missing_timestamp",
            Reason::TimestampTooOld | Reason::TimestampInFuture => "invalid_timestamp",
            Reason::WrongRlnIdentifier => "invalid_rln_identifier",
            Reason::EpochMismatch => "invalid_epoch",
            Reason::RootNotInWindow => "invalid_root",
            Reason::SignalMismatch => "invalid_signal",
            Reason::InvalidPoints | Reason::InvalidProof => "invalid_proof",
            Reason::DoubleSignal => "spam",
        }
    }

    fn from_message_error(e: &MessageError) -> Self {
        match e {
            MessageError::TooLarge { .. } => Reason::TooLarge,
            MessageError::Protobuf(_) | MessageError::MetaTooLarge { .. } => Reason::Decode,
            MessageError::MissingProof => Reason::MissingProof,
            MessageError::MissingTimestamp => Reason::MissingTimestamp,
            MessageError::Field { .. } => Reason::NonCanonicalField,
            MessageError::ProofLength { .. } => Reason::ProofLength,
            MessageError::ProofFormat(_) => Reason::InvalidPoints,
        }
    }
}

/// Why a message was ignored (not forwarded, no penalty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IgnoreReason {
    /// The same message (same nullifier, same share) was already accepted.
    Duplicate,
    /// The batch verifier is gone (the node is shutting down).
    Unavailable,
}

impl IgnoreReason {
    pub fn label(self) -> &'static str {
        match self {
            IgnoreReason::Duplicate => "duplicate",
            IgnoreReason::Unavailable => "unavailable",
        }
    }
}

/// What gossipsub should do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Reject(Reason),
    Ignore(IgnoreReason),
}

/// A verified double signal: two shares of one member in one epoch, and the secret they reveal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpamEvent {
    pub pubsub_topic: String,
    pub epoch: u64,
    pub nullifier: Field,
    /// The member's identity secret (a0).
    pub secret: Field,
    /// Poseidon(secret): the membership to slash.
    pub id_commitment: Field,
    pub first: Share,
    pub second: Share,
}

/// The roots a validator accepts (a static window here; the chain client's root watcher in
/// production).
pub trait RootWindow: Send + Sync {
    fn contains(&self, root: &Field) -> bool;
    /// The roots, newest last (for diagnostics).
    fn roots(&self) -> Vec<Field>;
}

/// A window of the last `capacity` roots, fed by hand (or from a members file).
#[derive(Debug)]
pub struct StaticRoots {
    roots: RwLock<VecDeque<Field>>,
    capacity: usize,
}

impl StaticRoots {
    pub fn new(roots: impl IntoIterator<Item = Field>) -> Self {
        let s = StaticRoots { roots: RwLock::new(VecDeque::new()), capacity: DEFAULT_ROOT_WINDOW };
        for r in roots {
            s.push(r);
        }
        s
    }

    /// Adds a root; the oldest falls out beyond the window's capacity.
    pub fn push(&self, root: Field) {
        let mut w = self.roots.write().expect("roots lock");
        if w.back() == Some(&root) {
            return;
        }
        w.push_back(root);
        while w.len() > self.capacity {
            w.pop_front();
        }
    }
}

impl RootWindow for StaticRoots {
    fn contains(&self, root: &Field) -> bool {
        self.roots.read().expect("roots lock").contains(root)
    }
    fn roots(&self) -> Vec<Field> {
        self.roots.read().expect("roots lock").iter().copied().collect()
    }
}

/// The network's parameters.
#[derive(Debug, Clone)]
pub struct ValidatorConfig {
    /// The only rln_identifier accepted (nwaku accepts any: a rate-limit bypass).
    pub rln_identifier: RlnIdentifier,
    pub epoch_seconds: u64,
    pub max_clock_skew: Duration,
    /// Pubsub topics served; empty: any.
    pub pubsub_topics: Vec<String>,
    pub max_message_bytes: usize,
}

impl Default for ValidatorConfig {
    fn default() -> Self {
        ValidatorConfig {
            rln_identifier: RlnIdentifier::waku(),
            epoch_seconds: WAKU_EPOCH_SECONDS,
            max_clock_skew: DEFAULT_MAX_CLOCK_SKEW,
            pubsub_topics: Vec::new(),
            max_message_bytes: MAX_MESSAGE_BYTES,
        }
    }
}

/// Unix time in nanoseconds.
pub fn unix_now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// A message that passed every cheap check and awaits the pairing.
#[derive(Debug, Clone)]
pub struct Pending {
    pub pubsub_topic: String,
    pub epoch: u64,
    pub proof: RlnProof,
    pub message_hash: [u8; 32],
}

/// The RLN validator.
pub struct Validator {
    config: ValidatorConfig,
    roots: Arc<dyn RootWindow>,
    verifier: Verifier,
    log: Mutex<NullifierLog>,
    ext_cache: Mutex<HashMap<u64, Field>>,
    metrics: Arc<RelayMetrics>,
    spam_subscribers: Mutex<Vec<mpsc::UnboundedSender<SpamEvent>>>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator").field("config", &self.config).finish()
    }
}

impl Validator {
    pub fn new(
        config: ValidatorConfig,
        verifier: Verifier,
        roots: Arc<dyn RootWindow>,
        log: NullifierLog,
    ) -> Self {
        Validator {
            config,
            roots,
            verifier,
            log: Mutex::new(log),
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

    pub fn metrics(&self) -> &Arc<RelayMetrics> {
        &self.metrics
    }

    pub fn config(&self) -> &ValidatorConfig {
        &self.config
    }

    pub fn roots(&self) -> &Arc<dyn RootWindow> {
        &self.roots
    }

    /// A stream of verified double signals.
    pub fn subscribe_spam(&self) -> mpsc::UnboundedReceiver<SpamEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.spam_subscribers.lock().expect("lock").push(tx);
        rx
    }

    /// Runs `f` on the nullifier log (tests, diagnostics).
    pub fn with_log<R>(&self, f: impl FnOnce(&mut NullifierLog) -> R) -> R {
        f(&mut self.log.lock().expect("log lock"))
    }

    /// Validates one message now (the pairing runs on this thread).
    pub fn validate(&self, message: &WakuMessage, pubsub_topic: &str) -> Verdict {
        self.validate_at(message, pubsub_topic, unix_now_ns())
    }

    /// Validates one message at the given time (ns since the Unix epoch).
    pub fn validate_at(&self, message: &WakuMessage, pubsub_topic: &str, now_ns: u64) -> Verdict {
        let size = prost::Message::encoded_len(message);
        let verdict = if size > self.config.max_message_bytes {
            Err(Verdict::Reject(Reason::TooLarge))
        } else {
            self.check_message(message, pubsub_topic, now_ns)
        };
        let verdict = match verdict {
            Err(v) => v,
            Ok(p) => {
                let t = Instant::now();
                let ok = self.verifier.verify_proof(&p.proof).is_ok();
                self.observe_verification(1, t.elapsed());
                self.finish(p, ok, now_ns)
            }
        };
        self.flush_log();
        self.account(&verdict, pubsub_topic);
        verdict
    }

    /// Validates the encoded bytes gossipsub delivered.
    pub fn validate_encoded_at(&self, bytes: &[u8], pubsub_topic: &str, now_ns: u64) -> Verdict {
        match self.check_encoded(bytes, pubsub_topic, now_ns) {
            Err(v) => {
                self.account(&v, pubsub_topic);
                v
            }
            Ok(p) => {
                let v = self.finish_batch(vec![p], now_ns).pop().expect("one verdict");
                self.flush_log();
                v
            }
        }
    }

    /// The cheap checks on encoded bytes: size, decode, then [`Self::check_message`].
    pub fn check_encoded(
        &self,
        bytes: &[u8],
        pubsub_topic: &str,
        now_ns: u64,
    ) -> Result<Pending, Verdict> {
        if bytes.len() > self.config.max_message_bytes {
            return Err(Verdict::Reject(Reason::TooLarge));
        }
        let msg = WakuMessage::decode_checked(bytes)
            .map_err(|e| Verdict::Reject(Reason::from_message_error(&e)))?;
        self.check_message(&msg, pubsub_topic, now_ns)
    }

    /// Every check that needs no pairing; `Ok` means the proof must now be verified.
    /// Does not count metrics (see [`Self::account`]).
    pub fn check_message(
        &self,
        msg: &WakuMessage,
        pubsub_topic: &str,
        now_ns: u64,
    ) -> Result<Pending, Verdict> {
        use Reason::*;
        let reject = |r| Verdict::Reject(r);
        let c = &self.config;
        if !c.pubsub_topics.is_empty() && !c.pubsub_topics.iter().any(|t| t == pubsub_topic) {
            return Err(reject(Topic));
        }
        if let Some(meta) = &msg.meta {
            if meta.len() > crate::relay::message::MAX_META_BYTES {
                return Err(reject(Decode));
            }
        }
        let rlp = msg.rate_limit_proof.as_ref().ok_or(reject(MissingProof))?;
        let proof = rlp.check().map_err(|e| reject(Reason::from_message_error(&e)))?;
        let ts = msg.timestamp_ns().ok_or(reject(MissingTimestamp))?;
        let skew = c.max_clock_skew.as_nanos() as u64;
        if ts.saturating_add(skew) < now_ns {
            return Err(reject(TimestampTooOld));
        }
        if ts > now_ns.saturating_add(skew) {
            return Err(reject(TimestampInFuture));
        }
        if proof.rln_identifier != c.rln_identifier {
            return Err(reject(WrongRlnIdentifier));
        }
        let epoch = epoch_of_timestamp(ts, c.epoch_seconds);
        if proof.epoch != epoch {
            return Err(reject(EpochMismatch));
        }
        let epoch_index = epoch.index().expect("a Waku epoch fits a u64");
        if !self.roots.contains(&proof.root) {
            return Err(reject(RootNotInWindow));
        }
        if proof.x != hash_to_field(&msg.rln_signal()) {
            return Err(reject(SignalMismatch));
        }
        if let Seen::SameShare = self.log.lock().expect("log lock").check(
            epoch_index,
            &proof.nullifier,
            &proof.x,
            &proof.y,
        ) {
            return Err(Verdict::Ignore(IgnoreReason::Duplicate));
        }
        let ext = self.external_nullifier(epoch_index);
        let proof = proof.to_rln_proof(ext).map_err(|_| reject(InvalidPoints))?;
        Ok(Pending {
            pubsub_topic: pubsub_topic.to_string(),
            epoch: epoch_index,
            proof,
            message_hash: msg.message_hash(pubsub_topic),
        })
    }

    fn external_nullifier(&self, epoch: u64) -> Field {
        let mut cache = self.ext_cache.lock().expect("cache lock");
        if let Some(e) = cache.get(&epoch) {
            return *e;
        }
        if cache.len() > 8 {
            cache.clear();
        }
        let e = ExternalNullifier::new(
            crate::epoch::Epoch::from_index(epoch),
            self.config.rln_identifier,
        )
        .as_field();
        cache.insert(epoch, e);
        e
    }

    /// Verifies the pending messages' proofs as one batch (naming the bad ones if the batch
    /// fails), then settles each against the nullifier log in order. Counts metrics.
    pub fn finish_batch(&self, pending: Vec<Pending>, now_ns: u64) -> Vec<Verdict> {
        if pending.is_empty() {
            return Vec::new();
        }
        let proofs: Vec<RlnProof> = pending.iter().map(|p| p.proof).collect();
        let t = Instant::now();
        let bad = match self.verifier.verify_batch(&proofs) {
            Ok(()) => Vec::new(),
            Err(b) => b.bad,
        };
        self.observe_verification(proofs.len(), t.elapsed());
        self.metrics.batch_size.observe(proofs.len() as f64);
        pending
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let topic = p.pubsub_topic.clone();
                let v = self.finish(p, !bad.contains(&i), now_ns);
                self.account(&v, &topic);
                v
            })
            .collect()
    }

    fn observe_verification(&self, n: usize, elapsed: Duration) {
        let per = elapsed.as_secs_f64() / n.max(1) as f64;
        for _ in 0..n {
            self.metrics.verifications.inc();
            self.metrics.verification_seconds.observe(per);
        }
    }

    /// Settles a message whose proof was checked: records its nullifier, or recognizes a resend
    /// or a double signal.
    pub fn finish(&self, p: Pending, proof_ok: bool, now_ns: u64) -> Verdict {
        if !proof_ok {
            return Verdict::Reject(Reason::InvalidProof);
        }
        let share =
            Share { x: p.proof.values.x, y: p.proof.values.y, message_hash: p.message_hash };
        let mut log = self.log.lock().expect("log lock");
        log.prune(epoch_of_timestamp(now_ns, self.config.epoch_seconds).index().unwrap_or(0));
        match log.check(p.epoch, &p.proof.values.nullifier, &share.x, &share.y) {
            Seen::New => {
                log.record(p.epoch, p.proof.values.nullifier, share);
                Verdict::Accept
            }
            Seen::SameShare => Verdict::Ignore(IgnoreReason::Duplicate),
            Seen::OtherShare(first) => {
                drop(log);
                let first_values =
                    crate::proof::PublicValues { x: first.x, y: first.y, ..p.proof.values };
                if let Ok(secret) = recover_secret(&first_values, &p.proof.values) {
                    let ev = SpamEvent {
                        pubsub_topic: p.pubsub_topic,
                        epoch: p.epoch,
                        nullifier: p.proof.values.nullifier,
                        secret,
                        id_commitment: crate::identity::id_commitment(secret),
                        first,
                        second: share,
                    };
                    tracing::info!(epoch = ev.epoch, id_commitment = %ev.id_commitment.to_hex(), "double signal: recovered a member's secret");
                    self.metrics.secrets_recovered.inc();
                    self.spam_subscribers
                        .lock()
                        .expect("lock")
                        .retain(|tx| tx.send(ev.clone()).is_ok());
                }
                Verdict::Reject(Reason::DoubleSignal)
            }
        }
    }

    /// Commits buffered nullifiers to disk (once per batch).
    pub fn flush_log(&self) {
        if let Err(e) = self.log.lock().expect("log lock").flush() {
            tracing::error!("nullifier log: {e}");
        }
    }

    /// Counts one validated message in the metrics.
    pub fn account(&self, v: &Verdict, pubsub_topic: &str) {
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

/// The shard of `/waku/2/rs/<cluster>/<shard>` (or the whole topic).
pub fn shard_label(topic: &str) -> &str {
    topic.strip_prefix("/waku/2/rs/").and_then(|r| r.split('/').nth(1)).unwrap_or(topic)
}

/// How the batch verifier collects work.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// Verify as soon as this many proofs wait.
    pub max_batch: usize,
    /// Or when the first waiting proof has waited this long.
    pub max_wait: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig { max_batch: 64, max_wait: Duration::from_millis(3) }
    }
}

struct Job {
    pending: Pending,
    reply: oneshot::Sender<Verdict>,
}

/// Async front of a [`Validator`]: cheap checks run at once on the caller's task (spam is rejected
/// in microseconds); messages that need the pairing are collected for a few milliseconds or up
/// to N, verified as one batch on a blocking thread, and answered by channel.
#[derive(Clone)]
pub struct BatchValidator {
    validator: Arc<Validator>,
    tx: mpsc::Sender<Job>,
    clock: Clock,
}

/// Where the validator reads the time (ns since the Unix epoch); tests pin it.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

impl BatchValidator {
    /// Starts the batching task on the current tokio runtime.
    pub fn spawn(validator: Arc<Validator>, config: BatchConfig) -> Self {
        Self::spawn_with_clock(validator, config, Arc::new(unix_now_ns))
    }

    /// Like [`Self::spawn`], reading the time from `clock`.
    pub fn spawn_with_clock(validator: Arc<Validator>, config: BatchConfig, clock: Clock) -> Self {
        let (tx, mut rx) = mpsc::channel::<Job>(4096);
        let v = validator.clone();
        let task_clock = clock.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut jobs = vec![first];
                let deadline = tokio::time::Instant::now() + config.max_wait;
                while jobs.len() < config.max_batch {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(j)) => jobs.push(j),
                        _ => break,
                    }
                }
                let (v, now) = (v.clone(), task_clock());
                let (pending, replies): (Vec<_>, Vec<_>) =
                    jobs.into_iter().map(|j| (j.pending, j.reply)).unzip();
                let verdicts = tokio::task::spawn_blocking(move || {
                    let out = v.finish_batch(pending, now);
                    v.flush_log();
                    out
                })
                .await
                .unwrap_or_else(|_| Vec::new());
                for (i, reply) in replies.into_iter().enumerate() {
                    let _ = reply.send(
                        verdicts
                            .get(i)
                            .copied()
                            .unwrap_or(Verdict::Ignore(IgnoreReason::Unavailable)),
                    );
                }
            }
        });
        BatchValidator { validator, tx, clock }
    }

    pub fn validator(&self) -> &Arc<Validator> {
        &self.validator
    }

    /// Validates encoded message bytes received on `pubsub_topic`.
    pub async fn validate(&self, bytes: &[u8], pubsub_topic: &str) -> Verdict {
        let now = (self.clock)();
        match self.validator.check_encoded(bytes, pubsub_topic, now) {
            Err(v) => {
                self.validator.account(&v, pubsub_topic);
                v
            }
            Ok(pending) => {
                let (reply, rx) = oneshot::channel();
                if self.tx.send(Job { pending, reply }).await.is_err() {
                    return Verdict::Ignore(IgnoreReason::Unavailable);
                }
                rx.await.unwrap_or(Verdict::Ignore(IgnoreReason::Unavailable))
            }
        }
    }
}
