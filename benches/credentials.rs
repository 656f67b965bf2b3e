//! Service credential benchmarks (criterion). Run: `cargo bench --bench credentials`.
//! - the signature check alone: libsecp256k1 (`secp256k1`, verify against a known key, and
//!   recovery) vs k256 (alloy's signer: verify and recovery)
//! - the whole relay-side voucher check of a lightpush request, from the node's memory (no chain
//!   round trip, no disk): decode + terms + escrow lookup + EIP-712 digest + signature against the
//!   signer's known key + the cumulative update; and the same for a signer's first voucher, whose
//!   key is recovered
//! - the check's latency per request: p50 / p99 of single checks, printed after the groups
//! - a paid lightpush round trip on loopback (client → node: check, the operator's RLN proof,
//!   publish to a second relay → response): p50 / p99 and the share of the voucher check,
//!   printed after the criterion groups (the node's check histogram / the round trip).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use criterion::{BatchSize, Criterion, Throughput};
use k256::ecdsa::signature::hazmat::PrehashVerifier;
use rlnkit::credentials::voucher::digest_with_separator;
use rlnkit::credentials::{
    EscrowEvent, PaymentStream, ProviderTerms, ServiceTerms, SignedVoucher, VoucherChecker,
    VoucherDomain, VoucherStore,
};
use rlnkit::lightpush::{LightpushClient, LightpushMetrics, LightpushServer, StatusCode};
use rlnkit::relay::{spawn_node, NodeConfig, NullifierLog, Publisher, WakuMessage};
use rlnkit::relay::{unix_now_ns, Validator, ValidatorConfig};
use rlnkit::StaticRoots;
use rlnkit::{CircuitKeys, Identity, MerkleTree, Prover, RelayBuilder, UserMessageLimit, Verifier};

const TOPIC: &str = "/waku/2/rs/1/0";

fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

fn terms() -> ServiceTerms {
    ServiceTerms {
        domain: VoucherDomain { chain_id: 31337, contract: Address::repeat_byte(7) },
        provider: Address::repeat_byte(2),
        token: Address::repeat_byte(3),
        payout: Address::repeat_byte(4),
        price: U256::from(1000u64),
        thaw_margin_secs: 60,
    }
}

fn stream(key: &PrivateKeySigner) -> PaymentStream {
    let t = terms();
    let pt = ProviderTerms {
        domain: t.domain,
        provider: t.provider,
        token: t.token,
        payout: t.payout,
        price: t.price,
    };
    PaymentStream::new(pt, key.address(), key.clone(), U256::ZERO)
}

fn signatures(c: &mut Criterion) {
    let key = PrivateKeySigner::from_bytes(&B256::repeat_byte(1)).unwrap();
    let sv = stream(&key).next().unwrap();
    let digest = sv.domain.digest(&sv.voucher);
    // libsecp256k1
    let pk = sv.recover_key(&digest).unwrap();
    let sig = secp256k1::ecdsa::Signature::from_compact(&sv.signature[..64]).unwrap();
    let msg = secp256k1::Message::from_digest(digest.0);
    // k256 (what alloy's signer and Signature::recover use)
    let kvk = *key.credential().verifying_key();
    let ksig = k256::ecdsa::Signature::from_slice(&sv.signature[..64]).unwrap();
    let asig = alloy::primitives::Signature::from_raw(&sv.signature).unwrap();

    let mut g = c.benchmark_group("voucher_signature");
    g.throughput(Throughput::Elements(1));
    g.bench_function("secp256k1_verify_known_key", |b| {
        b.iter(|| {
            secp256k1::SECP256K1
                .verify_ecdsa(black_box(msg), black_box(&sig), black_box(&pk))
                .unwrap()
        })
    });
    g.bench_function("k256_verify_known_key", |b| {
        b.iter(|| kvk.verify_prehash(black_box(digest.as_slice()), black_box(&ksig)).unwrap())
    });
    g.bench_function("secp256k1_recover", |b| {
        b.iter(|| sv.recover_key(black_box(&digest)).unwrap())
    });
    g.bench_function("k256_recover_address (alloy)", |b| {
        b.iter(|| asig.recover_address_from_prehash(black_box(&digest)).unwrap())
    });
    g.finish();
}

/// `n` vouchers of one payer, cumulative price, 2·price, ...
fn vouchers(key: &PrivateKeySigner, n: usize) -> Vec<Vec<u8>> {
    let s = stream(key);
    (1..=n).map(|i| s.sign(terms().price * U256::from(i)).unwrap().to_bytes()).collect()
}

fn fresh_checker(key: &PrivateKeySigner) -> VoucherChecker {
    let c = VoucherChecker::new(terms(), []);
    c.apply_events(&[EscrowEvent::Deposited {
        payer: key.address(),
        token: terms().token,
        amount: U256::MAX >> 1,
    }]);
    c
}

fn check(c: &mut Criterion) {
    let key = PrivateKeySigner::from_bytes(&B256::repeat_byte(1)).unwrap();
    let n = if quick() { 64 } else { 20_000 };
    let vs = vouchers(&key, n);
    let mut g = c.benchmark_group("voucher_check");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode+terms+escrow+digest+verify", |b| {
        b.iter_custom(|iters| {
            let mut checker = fresh_checker(&key);
            // Learn the key first (one recovery), as a running node has.
            checker.check(Some(&vs[0]), 0).unwrap();
            let mut i = 1;
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                if i == vs.len() {
                    checker = fresh_checker(&key);
                    checker.check(Some(&vs[0]), 0).unwrap();
                    i = 1;
                }
                let t = Instant::now();
                black_box(checker.check(Some(black_box(&vs[i])), 0).unwrap());
                total += t.elapsed();
                i += 1;
            }
            total
        })
    });
    g.bench_function("first_voucher_of_a_signer (recover)", |b| {
        b.iter_batched(
            || fresh_checker(&key),
            |checker| black_box(checker.check(Some(black_box(&vs[0])), 0).unwrap()),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("decode_only", |b| {
        b.iter(|| SignedVoucher::from_bytes(black_box(&vs[1])).unwrap())
    });
    let sv = SignedVoucher::from_bytes(&vs[1]).unwrap();
    let separator = terms().domain.separator();
    g.bench_function("eip712_digest_only", |b| {
        b.iter(|| digest_with_separator(black_box(&separator), black_box(&sv.voucher)))
    });
    g.finish();
}

/// Single checks timed one by one (a running node's known signer): p50 / p99 of the latency a
/// paid request gets from the check.
fn check_latency() {
    let key = PrivateKeySigner::from_bytes(&B256::repeat_byte(1)).unwrap();
    let n = if quick() { 64 } else { 20_000 };
    let vs = vouchers(&key, n);
    let checker = fresh_checker(&key);
    checker.check(Some(&vs[0]), 0).unwrap();
    let mut times = Vec::with_capacity(n);
    for v in &vs[1..] {
        let t = Instant::now();
        black_box(checker.check(Some(black_box(v)), 0).unwrap());
        times.push(t.elapsed());
    }
    let total: Duration = times.iter().sum();
    println!(
        "voucher_check/latency  n={}  p50 {:?}  p99 {:?}  mean {:?}  ({:.0} checks/s on one core)",
        times.len(),
        pct(&mut times, 0.5),
        pct(&mut times, 0.99),
        total / times.len() as u32,
        times.len() as f64 / total.as_secs_f64(),
    );
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Paid lightpush round trips on loopback; prints p50 / p99 and the check's share.
fn round_trip() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let n = if quick() { 3 } else { 200 };
    rt.block_on(async {
        let key = PrivateKeySigner::from_bytes(&B256::repeat_byte(1)).unwrap();
        let keys = CircuitKeys::embedded().unwrap();
        let limit = UserMessageLimit::new(1000).unwrap();
        let identity = Identity::from_seed(b"bench: operator");
        let mut tree = MerkleTree::default();
        let index = tree.push(identity.rate_commitment(limit)).unwrap();
        let roots = Arc::new(StaticRoots::new([tree.root()]));
        let validator = || {
            Arc::new(Validator::new(
                ValidatorConfig::default(),
                Verifier::new(keys.verifying_key()),
                roots.clone(),
                NullifierLog::in_memory(),
            ))
        };
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(VoucherStore::open(dir.path().join("v.redb")).unwrap());
        let checker = Arc::new(fresh_checker(&key));
        let server = LightpushServer::new(vec![TOPIC.into()])
            .paid(checker, store)
            .with_publisher(Publisher::new(Prover::new(keys.clone()), identity, limit, tree.proof(index).unwrap()));
        let metrics = server.metrics().clone();
        let service = RelayBuilder::new(Verifier::new(keys.verifying_key()), roots.clone())
            .listen(["/ip4/127.0.0.1/tcp/0".parse().unwrap()])
            .topics([TOPIC.to_string()])
            .heartbeat(Duration::from_millis(200))
            .lightpush(server)
            .start()
            .await
            .unwrap();
        let node = service.node().clone();
        let config = NodeConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            topics: vec![TOPIC.into()],
            heartbeat: Duration::from_millis(200),
            ..NodeConfig::default()
        };
        let relay = spawn_node(config, validator()).await.unwrap();
        relay.dial(node.dial_addr().await.unwrap()).await.unwrap();
        node.wait_for_mesh(TOPIC, 1, Duration::from_secs(10)).await.unwrap();
        let addr = node.dial_addr().await.unwrap();
        let client = LightpushClient::spawn().unwrap();
        let mut s = stream(&key);
        // Warm up: the connection, the key cache, the proving tables.
        for i in 0..2 {
            let m = WakuMessage { payload: format!("warm {i}").into_bytes(), content_topic: "/b/1/t/proto".into(), timestamp: Some(unix_now_ns() as i64), ..Default::default() };
            let r = client.push_paid(&addr, Some(TOPIC), &m, &mut s).await.unwrap();
            assert_eq!(r.code(), Some(StatusCode::Success), "{r:?}");
        }
        let before = check_sum(&metrics);
        let mut times = Vec::with_capacity(n);
        for i in 0..n {
            let m = WakuMessage { payload: format!("m {i}").into_bytes(), content_topic: "/b/1/t/proto".into(), timestamp: Some(unix_now_ns() as i64), ..Default::default() };
            let t = Instant::now();
            let r = client.push_paid(&addr, Some(TOPIC), &m, &mut s).await.unwrap();
            times.push(t.elapsed());
            assert_eq!(r.code(), Some(StatusCode::Success), "{r:?}");
        }
        let checks = check_sum(&metrics) - before;
        let total: Duration = times.iter().sum();
        // The same round trip refused at the check (a replayed voucher): transport + check only.
        let stale = s.sign(s.paid()).unwrap();
        let mut refused = Vec::with_capacity(n);
        for _ in 0..n {
            let req = rlnkit::lightpush::LightPushRequest {
                request_id: "r".into(),
                pubsub_topic: Some(TOPIC.into()),
                message: Some(WakuMessage { payload: b"x".to_vec(), content_topic: "/b/1/t/proto".into(), ..Default::default() }),
                eligibility_proof: Some(rlnkit::lightpush::EligibilityProof { proof_of_payment: Some(stale.to_bytes()) }),
            };
            let t = Instant::now();
            let r = client.send(&addr, &req).await.unwrap();
            refused.push(t.elapsed());
            assert_eq!(r.code(), Some(StatusCode::PaymentRequired));
        }
        println!(
            "lightpush_round_trip/paid_with_operator_proof  n={n}  p50 {:?}  p99 {:?}  voucher check {:.2}% of the time (mean check {:?})",
            pct(&mut times, 0.5),
            pct(&mut times, 0.99),
            100.0 * checks / total.as_secs_f64(),
            Duration::from_secs_f64(checks / n as f64),
        );
        println!(
            "lightpush_round_trip/refused_402_at_the_check  n={n}  p50 {:?}  p99 {:?}",
            pct(&mut refused, 0.5),
            pct(&mut refused, 0.99),
        );
        service.shutdown().await;
        relay.shutdown().await;
    });
}

/// Seconds spent in voucher checks so far (the node's histogram sum).
fn check_sum(metrics: &LightpushMetrics) -> f64 {
    metrics
        .encode()
        .lines()
        .find_map(|l| l.strip_prefix("rlnkit_lightpush_eligibility_check_seconds_sum "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    signatures(&mut c);
    check(&mut c);
    c.final_summary();
    check_latency();
    round_trip();
}
