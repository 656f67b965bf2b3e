//! Roots during a registration burst (issue 20, item 7): anvil with one-second blocks, at least
//! 20 registrations per second for a minute (`RLNKIT_BURST_SECS` to change the length), so a
//! new root nearly every 50 ms. Publishers prove against the root they last synced, 0 to 20 s
//! old; two relays follow the chain ([`ContractRoots`] with its default refresh). No valid
//! message may be rejected (penalized); a root a relay does not know yet is ignored and counted
//! as a stale root, and every message whose root is older than the relays' refresh is accepted
//! by both. For comparison, the test counts the messages whose root had already left the
//! registry's ring of 5 recent roots, which a count window of the ring refuses (as
//! `relay run --contract` did before).

mod anvil;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rlnkit::chain::bindings::TestToken;
use rlnkit::chain::{
    ContractRoots, DeployConfig, MembershipReader, SyncOptions, TreeSync, DEFAULT_ROOT_REFRESH,
    U256,
};
use rlnkit::relay::nullifier_log::NullifierLog;
use rlnkit::relay::{IgnoreReason, Publisher, Validator, ValidatorConfig, Verdict};
use rlnkit::tree::MerkleProof;
use rlnkit::{CircuitKeys, Field, Identity, Prover, UserMessageLimit, Verifier};

const TOPIC: &str = "/waku/2/rs/1/0";
const CT: &str = "/rlnkit/1/burst/proto";
const PUBLISHERS: usize = 4;
const PUBLISHER_LIMIT: u32 = 100;

/// A synced view of the tree: when, its root, and each publisher's path at that root.
struct Snapshot {
    at: Instant,
    root: Field,
    paths: Vec<MerkleProof>,
}

#[derive(Default, Debug)]
struct Tally {
    sent: u64,
    accepted: u64,
    unknown_root: u64,
    rejected: Vec<String>,
    /// Messages whose root was older than the refresh but not accepted by both relays.
    old_root_not_accepted: u64,
    /// Messages whose root had left the registry's ring of 5 (a count window refuses them).
    outside_ring: u64,
    oldest_root_ms: u128,
}

fn unix_ns() -> u64 {
    rlnkit::relay::unix_now_ns()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_valid_message_is_rejected_during_a_registration_burst() {
    let burst_secs: u64 =
        std::env::var("RLNKIT_BURST_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let node = rlnkit::chain::start_anvil(
        &anvil::anvil_path(),
        &["--block-time", "1", "--gas-limit", "100000000"],
    )
    .expect("anvil starts");
    let (owner, d) = anvil::deploy(&node, &DeployConfig::default()).await;

    // The publishers' memberships.
    let limit = UserMessageLimit::new(PUBLISHER_LIMIT as u64).unwrap();
    let ids: Vec<Identity> = (0..PUBLISHERS)
        .map(|i| Identity::from_seed(format!("burst publisher {i}").as_bytes()))
        .collect();
    let commitments: Vec<Field> = ids.iter().map(|i| i.commitment()).collect();
    let indices = owner.register_many(&commitments, PUBLISHER_LIMIT).await.unwrap();

    // Two registrars (anvil accounts 1 and 2), each with tokens and an unlimited allowance.
    let mut registrars = Vec::new();
    for n in [1, 2] {
        let w = anvil::client_as(&node, &d, n).await;
        owner
            .dev()
            .mint_test_tokens(d.token, w.sender(), U256::from(10u64).pow(U256::from(24u64)))
            .await
            .unwrap();
        TestToken::new(d.token, w.reader().provider().clone())
            .approve(d.registry, U256::MAX)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        registrars.push(w);
    }

    // Two relays following the chain.
    let keys = CircuitKeys::embedded().unwrap();
    let config =
        ValidatorConfig { pubsub_topics: vec![TOPIC.to_string()], ..ValidatorConfig::default() };
    let mut relays = Vec::new();
    for _ in 0..2 {
        let roots =
            ContractRoots::polling(owner.reader().clone(), DEFAULT_ROOT_REFRESH).await.unwrap();
        relays.push(Arc::new(Validator::new(
            config.clone(),
            Verifier::new(keys.verifying_key()),
            roots,
            NullifierLog::in_memory(),
        )));
    }

    // The burst: each registrar registers 25 new memberships per round until the end.
    let start = Instant::now();
    let end = start + Duration::from_secs(burst_secs);
    let registered = Arc::new(Mutex::new(0u64));
    let mut tasks = Vec::new();
    for (r, w) in registrars.into_iter().enumerate() {
        let registered = registered.clone();
        tasks.push(tokio::spawn(async move {
            let mut k = 0u64;
            while Instant::now() < end {
                let batch: Vec<Field> = (0..25)
                    .map(|j| {
                        Identity::from_seed(format!("burst member {r} {k} {j}").as_bytes())
                            .commitment()
                    })
                    .collect();
                k += 1;
                let n = w.register_many(&batch, 20).await.expect("registrations").len();
                *registered.lock().unwrap() += n as u64;
            }
        }));
    }

    // The publishers' side: a tree synced every second, kept for 25 s.
    let snapshots: Arc<Mutex<VecDeque<Snapshot>>> = Arc::default();
    let dir = tempfile::tempdir().unwrap();
    let mut sync = TreeSync::open(
        owner.reader().clone(),
        dir.path().join("publishers.redb"),
        SyncOptions::default(),
    )
    .await
    .unwrap();
    {
        let snaps = snapshots.clone();
        let indices = indices.clone();
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                sync.sync(|_| {}).await.expect("publisher sync");
                let paths =
                    indices.iter().map(|&i| sync.tree().proof(u64::from(i)).unwrap()).collect();
                {
                    let mut s = snaps.lock().unwrap();
                    s.push_back(Snapshot { at: Instant::now(), root: sync.tree().root(), paths });
                    while s.front().is_some_and(|f| f.at.elapsed() > Duration::from_secs(25)) {
                        s.pop_front();
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }));
    }

    // Publish: twice a second, a publisher proves against a snapshot 0..20 s old.
    let prover = Prover::new(keys.clone());
    let first_paths = loop {
        if let Some(s) = snapshots.lock().unwrap().front() {
            break s.paths.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut publishers: Vec<Publisher> = ids
        .iter()
        .zip(first_paths)
        .map(|(id, path)| Publisher::new(prover.clone(), id.clone(), limit, path))
        .collect();
    let reader: MembershipReader = owner.reader().clone();
    let mut tally = Tally::default();
    let mut k = 0usize;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(500)).await;
        k += 1;
        let want_age = Duration::from_secs((k as u64 * 5) % 21); // 0..=20 s, each in turn
        let picked = {
            let s = snapshots.lock().unwrap();
            s.iter()
                .rev()
                .find(|x| x.at.elapsed() >= want_age)
                .or(s.front())
                .map(|x| (x.at, x.root, x.paths.clone()))
        };
        let Some((at, root, paths)) = picked else { continue };
        let p = k % PUBLISHERS;
        publishers[p].set_merkle_proof(paths[p].clone());
        let msg = {
            let now = unix_ns();
            let publisher = &mut publishers[p];
            tokio::task::block_in_place(|| publisher.build(b"burst", CT, now)).expect("publish")
        };
        let age = at.elapsed();
        let now = unix_ns();
        let ring = reader.recent_roots().await.unwrap();
        tally.sent += 1;
        tally.oldest_root_ms = tally.oldest_root_ms.max(age.as_millis());
        if !ring.contains(&root) {
            tally.outside_ring += 1;
        }
        let mut accepted_by = 0u64;
        for (i, v) in relays.iter().enumerate() {
            let verdict = tokio::task::block_in_place(|| v.validate_at(&msg, TOPIC, now));
            match verdict {
                Verdict::Accept => accepted_by += 1,
                Verdict::Ignore(IgnoreReason::UnknownRoot) => tally.unknown_root += 1,
                other => tally.rejected.push(format!("relay {i}: {other:?} (root {age:?} old)")),
            }
        }
        tally.accepted += accepted_by;
        if accepted_by < relays.len() as u64 && age > DEFAULT_ROOT_REFRESH + Duration::from_secs(1)
        {
            tally.old_root_not_accepted += 1;
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let registrations = *registered.lock().unwrap();
    let rate = registrations as f64 / elapsed;
    let unknown_counted: u64 =
        relays.iter().map(|v| v.metrics().ignored_count("unknown_root")).sum();
    println!(
        "burst: {registrations} registrations in {elapsed:.1} s ({rate:.1}/s); {} messages x {} \
         relays: {} accepted, {} stale roots (unknown to a relay, ignored without penalty), {} \
         rejected; oldest root used {} ms; {} messages had a root outside the registry's ring of 5 \
         (a count window of the ring refuses them)",
        tally.sent,
        relays.len(),
        tally.accepted,
        tally.unknown_root,
        tally.rejected.len(),
        tally.oldest_root_ms,
        tally.outside_ring,
    );
    assert!(rate >= 20.0, "the burst reached only {rate:.1} registrations/s");
    // Proving takes ~0.1-1 s a message on a busy machine: at least one message every 3 s.
    assert!(tally.sent >= burst_secs / 3, "too few messages: {tally:?}");
    assert!(tally.rejected.is_empty(), "valid messages rejected: {:?}", tally.rejected);
    assert_eq!(tally.old_root_not_accepted, 0, "a root older than the refresh was refused");
    assert_eq!(unknown_counted, tally.unknown_root, "every stale root is counted");
    assert!(tally.outside_ring > tally.sent / 2, "the burst did push roots out of the ring");
}
