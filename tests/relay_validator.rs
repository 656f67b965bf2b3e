//! The relay validator, one test per rule (SPEC §5). Proofs are generated once (OnceLock) and
//! reused; each accepted message has tampered twins that must be rejected.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rlnkit::relay::message::RateLimitProof;
use rlnkit::relay::nullifier_log::NullifierLog;
use rlnkit::relay::{
    BatchConfig, BatchValidator, IgnoreReason, Reason, Validator, ValidatorConfig, Verdict,
};
use rlnkit::relay::{Publisher, WakuMessage};
use rlnkit::StaticRoots;
use rlnkit::{
    CircuitKeys, Field, Identity, MerkleTree, Prover, RlnIdentifier, UserMessageLimit, Verifier,
};

const TOPIC: &str = "/waku/2/rs/1/0";
const CT: &str = "/rlnkit/1/test/proto";
const S: u64 = 1_000_000_000;
/// Epoch 2,833,333 runs from 1,699,999,800 s to 1,700,000,400 s.
const BOUNDARY: u64 = 1_700_000_400;
const T0: u64 = (BOUNDARY - 300) * S;

struct Fixture {
    keys: Arc<CircuitKeys>,
    root: Field,
    alice: Field,
    /// alice, id 0, T0, "hello"
    m1: WakuMessage,
    /// alice, id 0, T0 + 1 s, "buy now": a double signal with m1
    m2: WakuMessage,
    /// alice, id 1, T0, "second"
    m3: WakuMessage,
    /// bob, id 0, 5 s before the epoch boundary
    e1: WakuMessage,
    /// bob, id 0, 3 s before the boundary, other payload: a double signal with e1
    e2: WakuMessage,
    /// bob, id 0, 5 s after the boundary (next epoch: a fresh nullifier)
    n1: WakuMessage,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let keys = CircuitKeys::embedded().unwrap();
        let limit = UserMessageLimit::new(4).unwrap();
        let alice = Identity::from_seed(b"relay test: alice");
        let bob = Identity::from_seed(b"relay test: bob");
        let mut tree = MerkleTree::default();
        for i in 0..5 {
            tree.push(Identity::from_seed(format!("other {i}").as_bytes()).rate_commitment(limit))
                .unwrap();
        }
        let ia = tree.push(alice.rate_commitment(limit)).unwrap();
        let ib = tree.push(bob.rate_commitment(limit)).unwrap();
        let prover = Prover::new(keys.clone());
        let alice_secret = alice.secret();
        let pa = Publisher::new(prover.clone(), alice, limit, tree.proof(ia).unwrap());
        let pb = Publisher::new(prover, bob, limit, tree.proof(ib).unwrap());
        Fixture {
            root: tree.root(),
            alice: alice_secret,
            m1: pa.build_with_id(b"hello", CT, T0, 0).unwrap(),
            m2: pa.build_with_id(b"buy now", CT, T0 + S, 0).unwrap(),
            m3: pa.build_with_id(b"second", CT, T0, 1).unwrap(),
            e1: pb.build_with_id(b"before", CT, (BOUNDARY - 5) * S, 0).unwrap(),
            e2: pb.build_with_id(b"before, again", CT, (BOUNDARY - 3) * S, 0).unwrap(),
            n1: pb.build_with_id(b"after", CT, (BOUNDARY + 5) * S, 0).unwrap(),
            keys,
        }
    })
}

fn validator_with(roots: Vec<Field>, log: NullifierLog) -> Validator {
    let f = fixture();
    let config =
        ValidatorConfig { pubsub_topics: vec![TOPIC.to_string()], ..ValidatorConfig::default() };
    Validator::new(
        config,
        Verifier::new(f.keys.verifying_key()),
        Arc::new(StaticRoots::new(roots)),
        log,
    )
}

fn validator() -> Validator {
    validator_with(vec![Field::from_u64(1), fixture().root], NullifierLog::in_memory())
}

fn proof_of(m: &WakuMessage) -> RateLimitProof {
    m.rate_limit_proof.clone().unwrap()
}

/// m1 with its proof changed by `f`.
fn tampered(f: impl FnOnce(&mut RateLimitProof)) -> WakuMessage {
    let mut m = fixture().m1.clone();
    let mut p = proof_of(&m);
    f(&mut p);
    m.rate_limit_proof = Some(p);
    m
}

fn reject(r: Reason) -> Verdict {
    Verdict::Reject(r)
}

#[test]
fn honest_messages_are_accepted() {
    let f = fixture();
    let v = validator();
    assert_eq!(v.validate_at(&f.m1, TOPIC, T0), Verdict::Accept);
    assert_eq!(v.validate_at(&f.m3, TOPIC, T0 + 2 * S), Verdict::Accept);
    assert_eq!(v.metrics().valid_count("0"), 2);
}

#[test]
fn malformed_messages_are_rejected() {
    let f = fixture();
    let v = validator();
    let now = T0;
    assert_eq!(
        v.validate_encoded_at(&[0xff, 0xff, 0xff], TOPIC, now).verdict(),
        reject(Reason::Decode)
    );
    assert_eq!(
        v.validate_encoded_at(&vec![0u8; 150 * 1024 + 1], TOPIC, now).verdict(),
        reject(Reason::TooLarge)
    );
    let mut m = f.m1.clone();
    m.rate_limit_proof = None;
    assert_eq!(v.validate_at(&m, TOPIC, now), reject(Reason::MissingProof));
    let mut m = f.m1.clone();
    m.timestamp = None;
    assert_eq!(v.validate_at(&m, TOPIC, now), reject(Reason::MissingTimestamp));
    let mut m = f.m1.clone();
    m.meta = Some(vec![0; 65]);
    assert_eq!(v.validate_at(&m, TOPIC, now), reject(Reason::Decode));
    assert_eq!(v.validate_at(&f.m1, "/waku/2/rs/1/7", now), reject(Reason::Topic));
    assert_eq!(v.metrics().invalid_count("missing_proof"), 1);
}

#[test]
fn each_proof_field_must_be_32_canonical_bytes() {
    let v = validator();
    let r_le: [u8; 32] = {
        // the modulus r itself, little-endian: the smallest non-canonical value
        let r = rlnkit::Field::parse(
            "21888242871839275222246405745257275088548364400416034343698204186575808495616",
        )
        .unwrap()
        .to_le_bytes();
        let mut b = r;
        b[0] += 1;
        b
    };
    type Setter = fn(&mut RateLimitProof, Vec<u8>);
    let fields: [(&str, Setter); 6] = [
        ("merkle_root", |p, b| p.merkle_root = b),
        ("epoch", |p, b| p.epoch = b),
        ("share_x", |p, b| p.share_x = b),
        ("share_y", |p, b| p.share_y = b),
        ("nullifier", |p, b| p.nullifier = b),
        ("rln_identifier", |p, b| p.rln_identifier = b),
    ];
    for (name, set) in fields {
        for bad in [r_le.to_vec(), vec![0xff; 32], vec![0; 31], vec![0; 33], vec![]] {
            let m = tampered(|p| set(p, bad.clone()));
            assert_eq!(
                v.validate_at(&m, TOPIC, T0),
                reject(Reason::NonCanonicalField),
                "{name} = {}",
                hex::encode(&bad)
            );
        }
    }
}

#[test]
fn truncated_or_invalid_proofs_are_rejected() {
    let f = fixture();
    let v = validator();
    assert_eq!(
        v.validate_at(&tampered(|p| p.proof.truncate(127)), TOPIC, T0),
        reject(Reason::ProofLength)
    );
    assert_eq!(
        v.validate_at(&tampered(|p| p.proof.clear()), TOPIC, T0),
        reject(Reason::ProofLength)
    );
    assert_eq!(
        v.validate_at(&tampered(|p| p.proof = vec![0x5a; 128]), TOPIC, T0),
        reject(Reason::InvalidPoints)
    );
    // Valid points, but the proof of another message: the pairing fails.
    let other = proof_of(&f.m3).proof;
    assert_eq!(
        v.validate_at(&tampered(|p| p.proof = other), TOPIC, T0),
        reject(Reason::InvalidProof)
    );
    // A share that is not on the proven line.
    let y = proof_of(&f.m3).share_y;
    assert_eq!(
        v.validate_at(&tampered(|p| p.share_y = y), TOPIC, T0),
        reject(Reason::InvalidProof)
    );
    // After all that, the genuine message is still accepted (nothing was recorded).
    assert_eq!(v.validate_at(&f.m1, TOPIC, T0), Verdict::Accept);
}

#[test]
fn wrong_rln_identifier_is_rejected_before_the_pairing() {
    let v = validator();
    let other = RlnIdentifier::from_text("rln/some-other-app/v1")
        .unwrap()
        .as_field()
        .to_le_bytes()
        .to_vec();
    assert_eq!(
        v.validate_at(&tampered(|p| p.rln_identifier = other), TOPIC, T0),
        reject(Reason::WrongRlnIdentifier)
    );
    assert_eq!(v.metrics().verifications.get(), 0, "no pairing for a cheap rejection");
}

#[test]
fn stale_and_future_timestamps_are_rejected() {
    let f = fixture();
    let v = validator();
    assert_eq!(v.validate_at(&f.m1, TOPIC, T0 + 21 * S), reject(Reason::TimestampTooOld));
    assert_eq!(v.validate_at(&f.m1, TOPIC, T0 - 21 * S), reject(Reason::TimestampInFuture));
    // Within 20 s either way is fine.
    assert_eq!(v.validate_at(&f.m1, TOPIC, T0 + 19 * S), Verdict::Accept);
    assert_eq!(v.metrics().invalid_count("invalid_timestamp"), 2);
}

#[test]
fn epoch_must_be_the_timestamps_epoch() {
    let f = fixture();
    let v = validator();
    let next = rlnkit::Epoch::from_index(BOUNDARY / 600).as_field().to_le_bytes().to_vec();
    assert_eq!(
        v.validate_at(&tampered(|p| p.epoch = next), TOPIC, T0),
        reject(Reason::EpochMismatch)
    );
    // A timestamp moved to another epoch (the proof's epoch no longer matches it).
    let mut m = f.m1.clone();
    m.timestamp = Some(((BOUNDARY + 1) * S) as i64);
    assert_eq!(v.validate_at(&m, TOPIC, (BOUNDARY + 1) * S), reject(Reason::EpochMismatch));
}

#[test]
fn a_root_outside_the_window_costs_no_penalty_unless_the_proof_is_invalid() {
    let f = fixture();
    let v = validator_with(vec![Field::from_u64(1)], NullifierLog::in_memory());
    // A valid proof against a root this relay does not accept: ignored (no penalty), counted.
    assert_eq!(v.validate_at(&f.m1, TOPIC, T0), Verdict::Ignore(IgnoreReason::UnknownRoot));
    assert!(v
        .metrics()
        .encode()
        .contains("rlnkit_relay_ignored_messages_total{type=\"unknown_root\"} 1"));
    // Not recorded: the same message is judged the same way again, not as a duplicate.
    assert_eq!(v.validate_at(&f.m1, TOPIC, T0), Verdict::Ignore(IgnoreReason::UnknownRoot));
    // An unknown root does not excuse a proof that does not verify: rejected, penalized.
    let mut forged = f.m1.clone();
    let mut p = proof_of(&f.m1);
    p.proof = proof_of(&f.m3).proof;
    forged.rate_limit_proof = Some(p);
    assert_eq!(v.validate_at(&forged, TOPIC, T0), reject(Reason::InvalidProof));
    // A root that fell out of the 50-root window is no longer accepted either.
    let roots = StaticRoots::new([f.root]);
    for i in 0..50 {
        roots.push(Field::from_u64(100 + i));
    }
    let config = ValidatorConfig::default();
    let v = Validator::new(
        config,
        Verifier::new(f.keys.verifying_key()),
        Arc::new(roots),
        NullifierLog::in_memory(),
    );
    assert_eq!(v.validate_at(&f.m1, TOPIC, T0), Verdict::Ignore(IgnoreReason::UnknownRoot));
}

#[test]
fn payload_or_topic_changes_break_the_signal() {
    let f = fixture();
    let v = validator();
    let mut m = f.m1.clone();
    m.payload = b"hellO".to_vec();
    assert_eq!(v.validate_at(&m, TOPIC, T0), reject(Reason::SignalMismatch));
    let mut m = f.m1.clone();
    m.content_topic = "/other/1/x/proto".into();
    assert_eq!(v.validate_at(&m, TOPIC, T0), reject(Reason::SignalMismatch));
    let mut m = f.m1.clone();
    m.timestamp = Some(m.timestamp.unwrap() + 1);
    assert_eq!(v.validate_at(&m, TOPIC, T0), reject(Reason::SignalMismatch));
    assert_eq!(v.metrics().verifications.get(), 0);
}

#[test]
fn identical_resend_is_ignored_double_signal_is_rejected_and_the_secret_recovered() {
    let f = fixture();
    let v = validator();
    let mut spam = v.subscribe_spam();
    assert_eq!(v.validate_at(&f.m1, TOPIC, T0), Verdict::Accept);
    let pairings = v.metrics().verifications.get();
    assert_eq!(v.validate_at(&f.m1, TOPIC, T0), Verdict::Ignore(IgnoreReason::Duplicate));
    assert_eq!(v.metrics().verifications.get(), pairings, "a resend is ignored before the pairing");
    assert!(spam.try_recv().is_err(), "a resend accuses nobody");
    assert_eq!(v.validate_at(&f.m2, TOPIC, T0 + S), reject(Reason::DoubleSignal));
    let ev = spam.try_recv().expect("a spam event");
    assert_eq!(ev.secret, f.alice);
    assert_eq!(ev.id_commitment, rlnkit::identity::id_commitment(f.alice));
    assert_eq!(ev.first.message_hash, f.m1.message_hash(TOPIC));
    assert_eq!(v.metrics().spam.get(), 1);
    // Another message id of the same member in the same epoch is fine.
    assert_eq!(v.validate_at(&f.m3, TOPIC, T0 + S), Verdict::Accept);
}

#[test]
fn an_unverified_share_accuses_nobody() {
    let f = fixture();
    let v = validator();
    let mut spam = v.subscribe_spam();
    assert_eq!(v.validate_at(&f.m1, TOPIC, T0), Verdict::Accept);
    // m2's share with m1's nullifier but a forged proof: must not be taken as a double signal.
    let mut forged = f.m2.clone();
    let mut p = proof_of(&f.m2);
    p.proof = proof_of(&f.m3).proof;
    forged.rate_limit_proof = Some(p);
    assert_eq!(v.validate_at(&forged, TOPIC, T0 + S), reject(Reason::InvalidProof));
    assert!(spam.try_recv().is_err());
}

#[test]
fn duplicates_across_the_epoch_boundary_are_caught() {
    let f = fixture();
    let v = validator();
    let mut spam = v.subscribe_spam();
    assert_eq!(v.validate_at(&f.e1, TOPIC, (BOUNDARY - 5) * S), Verdict::Accept);
    // The next epoch begins; a message of the previous epoch is still within the 20 s window.
    assert_eq!(
        v.validate_at(&f.n1, TOPIC, (BOUNDARY + 5) * S),
        Verdict::Accept,
        "a new epoch gives fresh nullifiers"
    );
    assert_eq!(v.validate_at(&f.e2, TOPIC, (BOUNDARY + 10) * S), reject(Reason::DoubleSignal));
    assert!(spam.try_recv().is_ok());
    assert_eq!(
        v.validate_at(&f.e1, TOPIC, (BOUNDARY + 10) * S),
        Verdict::Ignore(IgnoreReason::Duplicate)
    );
    assert_eq!(v.nullifier_epochs(), vec![BOUNDARY / 600 - 1, BOUNDARY / 600]);
}

#[test]
fn the_log_survives_a_restart() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nullifiers.redb");
    {
        let v = validator_with(vec![f.root], NullifierLog::open(&path).unwrap());
        assert_eq!(v.validate_at(&f.m1, TOPIC, T0), Verdict::Accept);
    }
    let v = validator_with(vec![f.root], NullifierLog::open(&path).unwrap());
    let mut spam = v.subscribe_spam();
    assert_eq!(v.validate_at(&f.m1, TOPIC, T0), Verdict::Ignore(IgnoreReason::Duplicate));
    assert_eq!(v.validate_at(&f.m2, TOPIC, T0 + S), reject(Reason::DoubleSignal));
    assert_eq!(spam.try_recv().unwrap().secret, f.alice);
    // In the next epoch, the previous epoch is still kept (pruning is tested in nullifier_log).
    assert_eq!(v.validate_at(&f.n1, TOPIC, (BOUNDARY + 5) * S), Verdict::Accept);
    drop(v);
    let log = NullifierLog::open(&path).unwrap();
    assert_eq!(log.len(), 2, "m1 (previous epoch) and n1 (current) are kept");
}

#[test]
fn the_batch_validator_names_the_bad_proof_and_settles_in_order() {
    let f = fixture();
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let v = Arc::new(validator());
        let mut spam = v.subscribe_spam();
        let bv = BatchValidator::spawn_with_clock(
            v.clone(),
            BatchConfig {
                max_batch: 16,
                max_wait: Duration::from_millis(50),
                ..BatchConfig::default()
            },
            Arc::new(|| T0 + S),
        );
        let other = proof_of(&f.m3).proof;
        let bad = tampered(|p| p.proof = other).to_bytes();
        let wrong_id = tampered(|p| p.rln_identifier = vec![0; 32]).to_bytes();
        let msgs = [f.m1.to_bytes(), f.m3.to_bytes(), bad, f.m2.to_bytes(), wrong_id];
        // All at once: they land in one batch (the cheap rejection never waits for it).
        let judged = futures::future::join_all(msgs.iter().map(|b| bv.validate(b, TOPIC))).await;
        let verdicts: Vec<Verdict> = judged.iter().map(|j| j.verdict()).collect();
        // Accepted messages come back decoded (the node delivers them without decoding again);
        // nothing else carries a message.
        assert_eq!(judged[0].accepted().unwrap().message, f.m1);
        assert_eq!(judged[0].accepted().unwrap().message_hash, f.m1.message_hash(TOPIC));
        assert!(judged[2..].iter().all(|j| j.accepted().is_none()));
        assert_eq!(verdicts[0], Verdict::Accept);
        assert_eq!(verdicts[1], Verdict::Accept);
        assert_eq!(verdicts[2], reject(Reason::InvalidProof));
        assert_eq!(verdicts[3], reject(Reason::DoubleSignal));
        assert_eq!(verdicts[4], reject(Reason::WrongRlnIdentifier));
        assert_eq!(spam.recv().await.unwrap().secret, f.alice);
        assert_eq!(v.metrics().verifications.get(), 4);
    });
}

#[test]
fn one_call_validates_a_batch_in_order_and_counts_each_message_once() {
    let f = fixture();
    let v = validator();
    let mut spam = v.subscribe_spam();
    let bad = tampered(|p| p.rln_identifier = vec![0; 32]).to_bytes();
    let (m1, m2, m3) = (f.m1.to_bytes(), f.m2.to_bytes(), f.m3.to_bytes());
    let batch: [(&[u8], &str); 5] =
        [(&m1, TOPIC), (&bad, TOPIC), (&m3, TOPIC), (&m2, TOPIC), (&m1, TOPIC)];
    let judged = v.validate_batch_at(&batch, T0 + S);
    let verdicts: Vec<Verdict> = judged.iter().map(|j| j.verdict()).collect();
    assert_eq!(
        verdicts,
        vec![
            Verdict::Accept,
            reject(Reason::WrongRlnIdentifier),
            Verdict::Accept,
            reject(Reason::DoubleSignal),
            Verdict::Ignore(IgnoreReason::Duplicate),
        ]
    );
    assert_eq!(judged[2].accepted().unwrap().message, f.m3);
    assert_eq!(spam.try_recv().unwrap().secret, f.alice);
    let m = v.metrics();
    assert_eq!(m.messages.get(), 5, "each message counted once");
    assert_eq!(m.valid_count("0"), 2);
    assert_eq!(m.spam.get(), 1);
    assert_eq!(m.invalid_count("invalid_rln_identifier"), 1);
    assert_eq!(m.verifications.get(), 4, "the cheap rejection needed no pairing");
}
