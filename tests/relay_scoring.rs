//! Peer scoring on real nodes (TCP on loopback, Waku's parameters, IP colocation off): spam costs
//! the peer that sends it, not the honest relays that forward a double signal's halves.
//!
//! ```text
//!   S1 ── A ── C
//!         │    │
//!   S2 ── B ───┘
//! ```
//! S1 and S2 hold one member's key. They split a double signal (S1 sends one share to A, S2 the
//! other to B); A and B each accept the share they saw first and forward it, so C gets both halves
//! from honest forwarders: C must not penalize A or B. Then S1 sends both halves of another double
//! signal itself (A rejects the second: S1 sent the first too) and a stream of invalid proofs, until
//! A graylists and disconnects it.

use std::sync::Arc;
use std::time::Duration;

use libp2p::PeerId;
use rlnkit::relay::message::gossip_id;
use rlnkit::relay::node::{spawn_node, NodeConfig, NodeHandle, Validated};
use rlnkit::relay::scoring::{GOSSIP_THRESHOLD, GRAYLIST_THRESHOLD};
use rlnkit::relay::{unix_now_ns, Validator, ValidatorConfig};
use rlnkit::relay::{NullifierLog, Publisher, ScoringConfig};
use rlnkit::relay::{Reason, Verdict};
use rlnkit::roots::StaticRoots;
use rlnkit::{CircuitKeys, Identity, MerkleTree, Prover, UserMessageLimit, Verifier};
use tokio::sync::broadcast;

const TOPIC: &str = "/waku/2/rs/1/0";
const CT: &str = "/rlnkit/1/scoring/proto";

async fn node(validator: Arc<Validator>) -> NodeHandle {
    let config = NodeConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        topics: vec![TOPIC.to_string()],
        heartbeat: Duration::from_millis(200),
        scoring: ScoringConfig::loopback(),
        ..NodeConfig::default()
    };
    spawn_node(config, validator).await.unwrap()
}

async fn link(a: &NodeHandle, b: &NodeHandle) {
    a.dial(b.dial_addr().await.unwrap()).await.unwrap();
}

async fn score(of: &NodeHandle, peer: &NodeHandle) -> f64 {
    of.peer_score(peer.peer_id()).await.unwrap().expect("scoring is on")
}

/// How long any one expected event may take (a loaded CI machine; nothing waits this long when
/// things work).
const WITHIN: Duration = Duration::from_secs(20);

/// The next verdict at a node on the message `id`, sent by `from` (earlier others are skipped).
async fn verdict_on(
    rx: &mut broadcast::Receiver<Validated>,
    id: [u8; 32],
    from: PeerId,
    what: &str,
) -> Verdict {
    let end = tokio::time::Instant::now() + WITHIN;
    loop {
        match tokio::time::timeout_at(end, rx.recv()).await {
            Ok(Ok(v)) if v.gossip_id == id && v.from == from => return v.verdict,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("{what}: {e}"),
            Err(_) => panic!("{what}: no verdict within {WITHIN:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_forwarders_keep_their_score_and_the_spammer_is_graylisted() {
    let keys = CircuitKeys::embedded().unwrap();
    let limit = UserMessageLimit::new(4).unwrap();
    let mallory = Identity::from_seed(b"scoring test: mallory");
    let mut tree = MerkleTree::default();
    let i = tree.push(mallory.rate_commitment(limit)).unwrap();
    let spammer = Publisher::new(Prover::new(keys.clone()), mallory, limit, tree.proof(i).unwrap());
    let roots = Arc::new(StaticRoots::new([tree.root()]));
    let verifier = Verifier::new(keys.verifying_key());
    let validator = || {
        Arc::new(Validator::new(
            ValidatorConfig::default(),
            verifier.clone(),
            roots.clone(),
            NullifierLog::in_memory(),
        ))
    };
    let now = unix_now_ns();
    let msgs = tokio::task::spawn_blocking(move || {
        let plan: [(&str, u64); 4] = [
            ("split, first half", 0),
            ("split, second half", 0),
            ("both from S1", 1),
            ("both from S1, again", 1),
        ];
        plan.map(|(p, id)| spammer.build_with_id(p.as_bytes(), CT, now, id).unwrap())
    })
    .await
    .unwrap();

    let (s1, s2, a, b, c) = (
        node(validator()).await,
        node(validator()).await,
        node(validator()).await,
        node(validator()).await,
        node(validator()).await,
    );
    link(&s1, &a).await;
    link(&s2, &b).await;
    link(&a, &b).await;
    link(&a, &c).await;
    link(&b, &c).await;
    for (n, want) in [(&s1, 1), (&s2, 1), (&a, 3), (&b, 3), (&c, 2)] {
        assert!(n.wait_for_mesh(TOPIC, want, Duration::from_secs(20)).await.unwrap(), "mesh");
    }
    let mut at_c = c.validated();
    let mut at_a = a.validated();
    let mut graylisted_by_a = a.graylisted();
    let mut closed_at_a = a.disconnected();

    // The split double signal: both halves reach C, each from an honest forwarder.
    s1.publish_unchecked(TOPIC, msgs[0].to_bytes()).await.unwrap();
    s2.publish_unchecked(TOPIC, msgs[1].to_bytes()).await.unwrap();
    let halves = [gossip_id(&msgs[0].to_bytes()), gossip_id(&msgs[1].to_bytes())];
    let mut c_verdicts: Vec<Validated> = Vec::new();
    let end = tokio::time::Instant::now() + WITHIN;
    while !halves.iter().all(|h| c_verdicts.iter().any(|v| v.gossip_id == *h)) {
        match tokio::time::timeout_at(end, at_c.recv()).await {
            Ok(Ok(v)) => c_verdicts.push(v),
            other => panic!("C did not validate both halves: {other:?}; seen {c_verdicts:?}"),
        }
    }
    assert!(
        c_verdicts.iter().all(|v| v.from == a.peer_id() || v.from == b.peer_id()),
        "C got the halves from the honest forwarders: {c_verdicts:?}"
    );
    for fwd in [&a, &b] {
        let s = score(&c, fwd).await;
        assert!(s >= 0.0, "C penalized an honest forwarder: score {s}");
    }
    let ab = score(&a, &b).await;
    let ba = score(&b, &a).await;
    assert!(ab >= 0.0 && ba >= 0.0, "A and B penalized each other: {ab} {ba}");

    // S1 sends both halves itself: A rejects the second, S1's score falls (a score read after
    // the verdict's event sees it: the node reports a verdict to gossipsub before announcing it).
    s1.publish_unchecked(TOPIC, msgs[2].to_bytes()).await.unwrap();
    let first =
        verdict_on(&mut at_a, gossip_id(&msgs[2].to_bytes()), s1.peer_id(), "A, first half").await;
    assert_eq!(first, Verdict::Accept);
    s1.publish_unchecked(TOPIC, msgs[3].to_bytes()).await.unwrap();
    let second =
        verdict_on(&mut at_a, gossip_id(&msgs[3].to_bytes()), s1.peer_id(), "A, second half").await;
    assert_eq!(second, Verdict::Reject(Reason::DoubleSignal));
    let s = score(&a, &s1).await;
    // −100 for the rejected share, plus at most the small rewards of P1 and P2 (≤ 10.1).
    assert!(s <= GOSSIP_THRESHOLD + 10.1, "one rejected double signal costs 100: score {s}");

    // Invalid proofs (each a new payload under a valid proof), one at a time, each judged by A,
    // until A graylists S1. A announces a graylisting before the verdict that caused it.
    let mut rejected = 0u32;
    let graylisted = loop {
        let mut m = msgs[2].clone();
        m.payload = format!("forged {rejected}").into_bytes();
        s1.publish_unchecked(TOPIC, m.to_bytes()).await.expect("S1 is still connected to A");
        let v = verdict_on(&mut at_a, gossip_id(&m.to_bytes()), s1.peer_id(), "A, forged").await;
        assert_eq!(v, Verdict::Reject(Reason::SignalMismatch), "a payload its proof does not sign");
        rejected += 1;
        if let Ok(g) = graylisted_by_a.try_recv() {
            break g;
        }
        assert!(rejected < 40, "A never graylisted S1");
    };
    assert_eq!(graylisted.peer, s1.peer_id());
    assert!(graylisted.score < GRAYLIST_THRESHOLD);
    // One rejected double signal plus at most 15 invalid messages: within 16 invalid messages.
    assert!(rejected <= 15, "graylisted after {rejected} invalid proofs");
    // A closes its connection to S1.
    let end = tokio::time::Instant::now() + WITHIN;
    while a.peers().await.unwrap().contains(&s1.peer_id()) {
        match tokio::time::timeout_at(end, closed_at_a.recv()).await {
            Ok(Ok(_)) => {}
            other => panic!("S1 still connected to A: {other:?}"),
        }
    }
    // The honest forwarders are still in good standing everywhere.
    for (of, peer) in [(&c, &a), (&c, &b), (&a, &b), (&b, &a)] {
        let s = score(of, peer).await;
        assert!(s >= 0.0, "honest peer penalized: {s}");
    }
    for n in [&s1, &s2, &a, &b, &c] {
        n.shutdown().await;
    }
}
