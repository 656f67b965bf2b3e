//! Relay benchmarks (criterion). Run: `cargo bench --bench relay` (also part of `make bench`).
//! - validation throughput of valid messages: one at a time vs batched (64 per batch)
//! - cost of rejecting spam before any pairing, per kind
//! - memory of the nullifier log at 100,000 members (counting allocator) and its size on disk
//!
//! Proofs are generated once before timing; each validator starts with an empty log so every
//! message needs its pairing (a resend would be ignored before it).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use criterion::{BatchSize, Criterion, Throughput};
use rlnkit::relay::nullifier_log::{NullifierLog, Share};
use rlnkit::relay::validator::Precheck;
use rlnkit::relay::{Publisher, Validator, ValidatorConfig, Verdict, WakuMessage};
use rlnkit::{
    CircuitKeys, Field, Identity, MerkleTree, Prover, StaticRoots, UserMessageLimit, Verifier,
};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const TOPIC: &str = "/waku/2/rs/1/0";
const S: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_100 * S;
/// Messages per batch (4 when run as a test by `cargo test --all-targets`).
fn batch() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        64
    } else {
        4
    }
}

struct Setup {
    verifier: Verifier,
    root: Field,
    valid: Vec<Vec<u8>>,
    sample: WakuMessage,
}

fn setup() -> Setup {
    let keys = CircuitKeys::embedded().unwrap();
    let limit = UserMessageLimit::new(batch() as u64).unwrap();
    let id = Identity::from_seed(b"relay bench");
    let mut tree = MerkleTree::default();
    for i in 0..1000u64 {
        tree.push(Identity::from_seed(&i.to_le_bytes()).rate_commitment(limit)).unwrap();
    }
    let idx = tree.push(id.rate_commitment(limit)).unwrap();
    let p = Publisher::new(Prover::new(keys.clone()), id, limit, tree.proof(idx).unwrap());
    let t = Instant::now();
    let msgs: Vec<WakuMessage> = (0..batch() as u64)
        .map(|i| {
            p.build_with_id(format!("message {i}").as_bytes(), "/bench/1/x/proto", T0 + i, i)
                .unwrap()
        })
        .collect();
    eprintln!("generated {} proofs in {:.1} s", batch(), t.elapsed().as_secs_f64());
    Setup {
        verifier: Verifier::new(keys.verifying_key()),
        root: tree.root(),
        valid: msgs.iter().map(|m| m.to_bytes()).collect(),
        sample: msgs[0].clone(),
    }
}

fn validator(s: &Setup) -> Validator {
    Validator::new(
        ValidatorConfig::default(),
        s.verifier.clone(),
        Arc::new(StaticRoots::new([s.root])),
        NullifierLog::in_memory(),
    )
}

fn throughput(c: &mut Criterion, s: &Setup) {
    // Sanity: every message is valid, alone and batched.
    let v = validator(s);
    for b in &s.valid {
        assert_eq!(v.validate_encoded_at(b, TOPIC, T0).verdict(), Verdict::Accept);
    }
    let mut g = c.benchmark_group("relay validation");
    g.throughput(Throughput::Elements(batch() as u64));
    g.sample_size(10);
    g.bench_function("valid messages, one pairing each", |bn| {
        bn.iter_batched(
            || validator(s),
            |v| {
                for b in &s.valid {
                    assert_eq!(v.validate_encoded_at(b, TOPIC, T0).verdict(), Verdict::Accept);
                }
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("valid messages, one batch", |bn| {
        bn.iter_batched(
            || validator(s),
            |v| {
                let batch: Vec<(&[u8], &str)> =
                    s.valid.iter().map(|b| (b.as_slice(), TOPIC)).collect();
                let judged = v.validate_batch_at(&batch, T0);
                assert!(judged.iter().all(|j| j.verdict() == Verdict::Accept));
            },
            BatchSize::PerIteration,
        )
    });
    // As the node does it: each message's cheap checks (and point decompression) on its own
    // task, so both cores share them; then one batch verification.
    g.bench_function("valid messages, one batch, checks on both cores", |bn| {
        use rayon::prelude::*;
        bn.iter_batched(
            || validator(s),
            |v| {
                let waiting: Vec<_> = s
                    .valid
                    .par_iter()
                    .map(|b| match v.precheck(b, TOPIC, T0) {
                        Precheck::NeedsPairing(w) => w,
                        Precheck::Judged(j) => panic!("{:?}", j.verdict()),
                    })
                    .collect();
                let judged = v.settle(waiting, T0);
                assert!(judged.iter().all(|j| j.verdict() == Verdict::Accept));
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn spam(c: &mut Criterion, s: &Setup) {
    let v = validator(s);
    assert_eq!(v.validate_encoded_at(&s.valid[0], TOPIC, T0).verdict(), Verdict::Accept);
    let tamper = |f: &dyn Fn(&mut WakuMessage)| {
        let mut m = s.sample.clone();
        f(&mut m);
        m.to_bytes()
    };
    let kinds: Vec<(&str, Vec<u8>, u64)> = vec![
        ("resend (ignored)", s.valid[0].clone(), T0),
        (
            "wrong rln_identifier",
            tamper(&|m| m.rate_limit_proof.as_mut().unwrap().rln_identifier = vec![0; 32]),
            T0,
        ),
        ("stale timestamp", s.valid[1].clone(), T0 + 60 * S),
        (
            "root not in window",
            tamper(&|m| m.rate_limit_proof.as_mut().unwrap().merkle_root = vec![7; 32]),
            T0,
        ),
        ("signal mismatch", tamper(&|m| m.payload = b"altered".to_vec()), T0),
        (
            "non-canonical field",
            tamper(&|m| m.rate_limit_proof.as_mut().unwrap().share_y = vec![0xff; 32]),
            T0,
        ),
        ("garbage bytes", vec![0xff; 400], T0),
    ];
    let mut g = c.benchmark_group("relay spam rejected before the pairing");
    for (name, bytes, now) in &kinds {
        let pairings = v.metrics().verifications.get();
        let verdict = v.validate_encoded_at(bytes, TOPIC, *now).verdict();
        assert!(verdict != Verdict::Accept, "{name}");
        assert_eq!(v.metrics().verifications.get(), pairings, "{name} needed a pairing");
        g.bench_function(*name, |bn| {
            bn.iter(|| black_box(v.validate_encoded_at(black_box(bytes), TOPIC, *now)))
        });
    }
    g.finish();
}

/// Live heap of the nullifier log with one nullifier per member for 100,000 members, in one
/// epoch and across the two kept epochs; and the redb file after flushing the two epochs.
fn memory() {
    let members = if batch() == 64 { 100_000u64 } else { 1_000 };
    let share = |i: u64| Share {
        x: Field::from_u64(i),
        y: Field::from_u64(i + 1),
        message_hash: [i as u8; 32],
    };
    let before = LIVE.load(Ordering::Relaxed);
    let log = NullifierLog::in_memory();
    for i in 0..members {
        log.record(1, rlnkit::hash_to_field(&i.to_le_bytes()), share(i));
    }
    let one = LIVE.load(Ordering::Relaxed) - before;
    for i in 0..members {
        log.record(2, rlnkit::hash_to_field(&i.to_le_bytes()), share(i));
    }
    let two = LIVE.load(Ordering::Relaxed) - before;
    drop(log);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.redb");
    let t = Instant::now();
    let log = NullifierLog::open(&path).unwrap();
    for e in 1..=2 {
        for i in 0..members {
            log.record(e, rlnkit::hash_to_field(&i.to_le_bytes()), share(i));
        }
    }
    log.flush().unwrap();
    let flush = t.elapsed();
    drop(log);
    let disk = std::fs::metadata(&path).unwrap().len();
    let t = Instant::now();
    let log = NullifierLog::open(&path).unwrap();
    let reload = t.elapsed();
    assert_eq!(log.len() as u64, 2 * members);
    println!(
        "nullifier log, {members} members x 1 message: {:.1} MiB in memory ({} B/entry)",
        one as f64 / (1 << 20) as f64,
        one / members as usize
    );
    println!("nullifier log, 2 epochs x {members}: {:.1} MiB in memory ({} B/entry); redb file {:.1} MiB; insert+flush {:.2} s; reopen {:.2} s", two as f64 / (1 << 20) as f64, two / (2 * members) as usize, disk as f64 / (1 << 20) as f64, flush.as_secs_f64(), reload.as_secs_f64());
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    memory();
    let s = setup();
    throughput(&mut c, &s);
    spam(&mut c, &s);
    c.final_summary();
}
