//! Relays on loopback (TCP, OS-assigned ports): an edge node where the publishers connect, and
//! three relays behind it. Honest messages reach every relay; each kind of spam is rejected by the
//! first relay and reaches no other node; the double signaller's secret is recovered and the
//! (in-memory) slash pays the operator.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rlnkit::incentives::{MemorySlashBackend, SlashConfig, Slasher};
use rlnkit::relay::localnet::LocalNet;
use rlnkit::relay::node::Validated;
use rlnkit::relay::validator::{
    unix_now_ns, Reason, StaticRoots, Validator, ValidatorConfig, Verdict,
};
use rlnkit::relay::{message::message_id, NullifierLog, Publisher, WakuMessage};
use rlnkit::{
    CircuitKeys, Identity, MerkleTree, Prover, RlnIdentifier, UserMessageLimit, Verifier,
};
use tokio::sync::broadcast;

const TOPIC: &str = "/waku/2/rs/1/0";
const CT: &str = "/rlnkit/1/chat/proto";

async fn drain(rx: &mut broadcast::Receiver<Validated>, quiet_for: Duration) -> Vec<Validated> {
    let mut out = Vec::new();
    while let Ok(Ok(v)) = tokio::time::timeout(quiet_for, rx.recv()).await {
        out.push(v);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spam_dies_at_the_first_hop_and_honest_messages_reach_everyone() {
    let keys = CircuitKeys::embedded().unwrap();
    let limit = UserMessageLimit::new(3).unwrap();
    let honest = Identity::from_seed(b"network test: honest");
    let mallory = Identity::from_seed(b"network test: mallory");
    let mallory_secret = mallory.secret();
    let mut tree = MerkleTree::default();
    let ih = tree.push(honest.rate_commitment(limit)).unwrap();
    let im = tree.push(mallory.rate_commitment(limit)).unwrap();
    let root = tree.root();
    let prover = Prover::new(keys.clone());
    let verifier = Verifier::new(keys.verifying_key());
    let mut alice = Publisher::new(prover.clone(), honest, limit, tree.proof(ih).unwrap());
    let mallory_path = tree.proof(im).unwrap();
    let spammer = Publisher::new(
        prover.clone(),
        Identity::from_secret(mallory_secret).unwrap(),
        limit,
        mallory_path.clone(),
    );
    let other_app =
        Publisher::new(prover, Identity::from_secret(mallory_secret).unwrap(), limit, mallory_path)
            .with_rln_identifier(RlnIdentifier::from_text("rln/other-app/v1").unwrap());

    let roots = Arc::new(StaticRoots::new([root]));
    let mut validators = Vec::new();
    let net = LocalNet::start(
        3,
        TOPIC,
        |_| {
            let v = Arc::new(Validator::new(
                ValidatorConfig::default(),
                verifier.clone(),
                roots.clone(),
                NullifierLog::in_memory(),
            ));
            validators.push(v.clone());
            v
        },
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    assert!(net.wait_for_mesh(Duration::from_secs(5)).await.unwrap(), "meshes formed");
    let mut validated: Vec<_> = net.nodes.iter().map(|n| n.validated()).collect();
    let mut first_hop_spam = validators[1].subscribe_spam();
    let backend = Arc::new(MemorySlashBackend::new([1u8; 20]));
    backend.add_member(rlnkit::identity::id_commitment(mallory_secret), 1_000_000);
    let operator = [0x0au8; 20];
    let (_slasher, mut outcomes) = Slasher::spawn(
        backend.clone(),
        SlashConfig { poll: Duration::from_millis(10), ..SlashConfig::new(operator) },
        validators[1].subscribe_spam(),
    );

    // Proofs are made now, so the timestamps are fresh.
    let now = unix_now_ns();
    let (h1, h2, s1, s2, wrong_app) = tokio::task::spawn_blocking(move || {
        let h1 = alice.build(b"hello, relays", CT, now).unwrap();
        let h2 = alice.build(b"second honest message", CT, now + 1).unwrap();
        let s1 = spammer.build_with_id(b"mallory's first", CT, now, 0).unwrap();
        let s2 = spammer.build_with_id(b"mallory double-signals", CT, now + 2, 0).unwrap();
        let wrong_app =
            other_app.build_with_id(b"fresh nullifiers elsewhere", CT, now + 3, 1).unwrap();
        (h1, h2, s1, s2, wrong_app)
    })
    .await
    .unwrap();
    // h2's content with h1's proof: valid points, wrong proof.
    let mut bad_proof = h2.clone();
    bad_proof.rate_limit_proof = h1.rate_limit_proof.clone();
    let mut bad = bad_proof.rate_limit_proof.take().unwrap();
    bad.share_x = h2.rate_limit_proof.as_ref().unwrap().share_x.clone();
    bad_proof.rate_limit_proof = Some(bad);
    let mut truncated = h2.clone();
    truncated.rate_limit_proof.as_mut().unwrap().proof.truncate(100);

    let edge = net.edge();
    let spam: Vec<(&str, WakuMessage, Reason)> = vec![
        ("double signal", s2.clone(), Reason::DoubleSignal),
        ("invalid proof", bad_proof, Reason::InvalidProof),
        ("truncated proof", truncated, Reason::ProofLength),
        ("wrong rln identifier", wrong_app, Reason::WrongRlnIdentifier),
    ];
    let honest_msgs = [h1.clone(), s1.clone(), h2.clone()];
    edge.publish(TOPIC, &h1).await.unwrap();
    edge.publish(TOPIC, &s1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (_, m, _) in &spam {
        edge.publish(TOPIC, m).await.unwrap();
    }
    edge.publish(TOPIC, &h2).await.unwrap();

    let mut seen: Vec<Vec<Validated>> = Vec::new();
    for rx in validated.iter_mut() {
        seen.push(drain(rx, Duration::from_millis(1500)).await);
    }
    let honest_ids: HashSet<[u8; 32]> =
        honest_msgs.iter().map(|m| message_id(&m.to_bytes())).collect();
    let spam_ids: HashMap<[u8; 32], (&str, Reason)> =
        spam.iter().map(|(n, m, r)| (message_id(&m.to_bytes()), (*n, *r))).collect();
    let edge_id = edge.peer_id();

    // The first relay rejected each kind of spam, received from the edge.
    let first = &seen[1];
    for (id, (name, reason)) in &spam_ids {
        let v = first
            .iter()
            .find(|v| v.id == *id)
            .unwrap_or_else(|| panic!("{name}: not validated at the first hop"));
        assert_eq!(v.verdict, Verdict::Reject(*reason), "{name}");
        assert_eq!(v.from, edge_id, "{name}");
    }
    for (i, node_seen) in seen.iter().enumerate().skip(1) {
        let accepted: HashSet<[u8; 32]> =
            node_seen.iter().filter(|v| v.verdict == Verdict::Accept).map(|v| v.id).collect();
        assert_eq!(accepted, honest_ids, "relay {i} accepted exactly the honest messages");
        if i > 1 {
            assert!(
                node_seen.iter().all(|v| !spam_ids.contains_key(&v.id)),
                "spam reached relay {i}: {node_seen:?}"
            );
            assert!(
                node_seen.iter().all(|v| matches!(v.verdict, Verdict::Accept | Verdict::Ignore(_))),
                "relay {i}"
            );
        }
    }
    // The spammer's secret was recovered at the first hop and the operator paid.
    let ev =
        tokio::time::timeout(Duration::from_secs(2), first_hop_spam.recv()).await.unwrap().unwrap();
    assert_eq!(ev.secret, mallory_secret);
    let outcome =
        tokio::time::timeout(Duration::from_secs(5), outcomes.recv()).await.unwrap().unwrap();
    let receipt = outcome.result.expect("slashed");
    assert!(receipt.block > outcome.commit_block.unwrap());
    assert_eq!(backend.balance(&operator), receipt.reward);
    assert!(receipt.reward > 0);
    assert_eq!(validators[2].metrics().spam.get(), 0);
    net.shutdown().await;
}
