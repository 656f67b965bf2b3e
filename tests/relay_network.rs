//! Relays on loopback (TCP, OS-assigned ports): an edge node where the publishers connect, and
//! three relays behind it. Honest messages reach every relay; each kind of spam is rejected by the
//! first relay and reaches no other node; the double signaller's secret is recovered and the
//! (in-memory) slash pays the operator.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rlnkit::chain::U256;
use rlnkit::incentives::{Address, MemorySlashBackend, SlashConfig};
use rlnkit::relay::node::Validated;
use rlnkit::relay::{message::gossip_id, unix_now_ns, Publisher, Verdict};
use rlnkit::relay::{Reason, WakuMessage};
use rlnkit::service::localnet::LocalNet;
use rlnkit::RelayBuilder;
use rlnkit::{
    CircuitKeys, Identity, MerkleTree, Prover, RlnIdentifier, StaticRoots, UserMessageLimit,
    Verifier,
};
use tokio::sync::broadcast;

const TOPIC: &str = "/waku/2/rs/1/0";
const CT: &str = "/rlnkit/1/chat/proto";

/// Adds `rx`'s verdicts to `seen` until `done(seen)` holds; fails the test after `within`.
async fn until(
    rx: &mut broadcast::Receiver<Validated>,
    seen: &mut Vec<Validated>,
    within: Duration,
    what: &str,
    done: impl Fn(&[Validated]) -> bool,
) {
    let end = tokio::time::Instant::now() + within;
    while !done(seen) {
        match tokio::time::timeout_at(end, rx.recv()).await {
            Ok(Ok(v)) => seen.push(v),
            Ok(Err(e)) => panic!("{what}: {e}"),
            Err(_) => panic!("{what}: not within {within:?}; seen {seen:?}"),
        }
    }
}

/// Whether every message of `ids` was accepted in `seen`.
fn accepted_all(seen: &[Validated], ids: &HashSet<[u8; 32]>) -> bool {
    ids.iter().all(|id| seen.iter().any(|v| v.gossip_id == *id && v.verdict == Verdict::Accept))
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
    let backend = Arc::new(MemorySlashBackend::new(Address::repeat_byte(1)));
    backend.add_member(rlnkit::identity::id_commitment(mallory_secret), U256::from(1_000_000u64));
    let operator = Address::repeat_byte(0x0a);
    let mut net = LocalNet::start(
        3,
        TOPIC,
        |i| {
            let relay = RelayBuilder::new(verifier.clone(), roots.clone());
            if i == 1 {
                relay.slashing(
                    backend.clone(),
                    SlashConfig { poll: Duration::from_millis(10), ..SlashConfig::new(operator) },
                )
            } else {
                relay
            }
        },
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    assert!(net.wait_for_mesh(Duration::from_secs(5)).await.unwrap(), "meshes formed");
    let mut validated: Vec<_> = net.nodes.iter().map(|n| n.validated()).collect();
    let mut first_hop_spam = net.relay(1).spam_events();
    let mut outcomes = net.relay_mut(1).slash_outcomes().unwrap();
    assert!(net.relay_mut(2).slash_outcomes().is_none(), "only relay 1 slashes");
    let validators: Vec<_> = (0..4).map(|i| net.relay(i).validator().clone()).collect();

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
    let honest_ids: HashSet<[u8; 32]> =
        honest_msgs.iter().map(|m| gossip_id(&m.to_bytes())).collect();
    let spam_ids: HashMap<[u8; 32], (&str, Reason)> =
        spam.iter().map(|(n, m, r)| (gossip_id(&m.to_bytes()), (*n, *r))).collect();
    let mut seen: Vec<Vec<Validated>> = vec![Vec::new(); validated.len()];
    let within = Duration::from_secs(20);
    edge.publish(TOPIC, &h1).await.unwrap();
    edge.publish(TOPIC, &s1).await.unwrap();
    // Mallory's first share is recorded at the first hop before its second is sent.
    let first_two: HashSet<[u8; 32]> = [&h1, &s1].map(|m| gossip_id(&m.to_bytes())).into();
    until(&mut validated[1], &mut seen[1], within, "relay 1 accepts h1 and s1", |s| {
        accepted_all(s, &first_two)
    })
    .await;
    // The edge plays mallory's node: it sends the spam unjudged.
    for (_, m, _) in &spam {
        edge.publish_unchecked(TOPIC, m.to_bytes()).await.unwrap();
    }
    edge.publish(TOPIC, &h2).await.unwrap();

    // Relay 1 judges every message; every relay accepts the honest ones. The spam left the edge
    // before h2 on the same links, and is rejected without a pairing (h2 needs one): had a relay
    // forwarded it, the next relay would have judged it before h2.
    until(&mut validated[1], &mut seen[1], within, "relay 1 judges everything", |s| {
        accepted_all(s, &honest_ids)
            && spam_ids.keys().all(|id| s.iter().any(|v| v.gossip_id == *id))
    })
    .await;
    for i in 2..validated.len() {
        until(
            &mut validated[i],
            &mut seen[i],
            within,
            &format!("relay {i} accepts the honest messages"),
            |s| accepted_all(s, &honest_ids),
        )
        .await;
    }
    let edge_id = edge.peer_id();

    // The first relay rejected each kind of spam, received from the edge.
    let first = &seen[1];
    for (id, (name, reason)) in &spam_ids {
        let v = first
            .iter()
            .find(|v| v.gossip_id == *id)
            .unwrap_or_else(|| panic!("{name}: not validated at the first hop"));
        assert_eq!(v.verdict, Verdict::Reject(*reason), "{name}");
        assert_eq!(v.from, edge_id, "{name}");
    }
    for (i, node_seen) in seen.iter().enumerate().skip(1) {
        let accepted: HashSet<[u8; 32]> = node_seen
            .iter()
            .filter(|v| v.verdict == Verdict::Accept)
            .map(|v| v.gossip_id)
            .collect();
        assert_eq!(accepted, honest_ids, "relay {i} accepted exactly the honest messages");
        if i > 1 {
            assert!(
                node_seen.iter().all(|v| !spam_ids.contains_key(&v.gossip_id)),
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
    assert!(receipt.block > outcome.commit.unwrap().block);
    assert_eq!(backend.balance(&operator), receipt.reward);
    assert!(!receipt.reward.is_zero());
    assert_eq!(validators[2].metrics().spam.get(), 0);
    net.shutdown().await;
}

/// What `relay run` relies on from the builder: the nullifier log in the data directory, the
/// metrics server with the membership count, bootstrap peers dialled, many relays in one process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builder_assembles_log_metrics_and_peers() {
    use rlnkit::relay::RelayMetrics;
    use rlnkit::service::NullifierLogLocation;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let keys = CircuitKeys::embedded().unwrap();
    let verifier = Verifier::new(keys.verifying_key());
    let roots = Arc::new(StaticRoots::new([rlnkit::Field::from_u64(1)]));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("relay-data");
    let first = RelayBuilder::new(verifier.clone(), roots.clone())
        .listen(["/ip4/127.0.0.1/tcp/0".parse().unwrap()])
        .topics([TOPIC.to_string()])
        .nullifier_log(NullifierLogLocation::Dir(data.clone()))
        .metrics_server("127.0.0.1:0".parse().unwrap())
        .memberships(7)
        .start()
        .await
        .unwrap();
    assert!(data.join(rlnkit::service::data_dir::NULLIFIER_LOG_FILE).exists());
    let addr = first.metrics_addr().expect("a metrics server");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).await.unwrap();
    assert!(text.contains("waku_rln_number_registered_memberships 7"), "{text}");

    // A second relay in the same process, with its own metrics, finds the first by bootstrap.
    let shared = Arc::new(RelayMetrics::new());
    let second = RelayBuilder::new(verifier, roots)
        .listen(["/ip4/127.0.0.1/tcp/0".parse().unwrap()])
        .topics([TOPIC.to_string()])
        .bootstrap_peers([first.node().dial_addr().await.unwrap()])
        .heartbeat(Duration::from_millis(200))
        .metrics(shared.clone())
        .start()
        .await
        .unwrap();
    assert!(Arc::ptr_eq(second.metrics(), &shared));
    assert!(second.metrics_addr().is_none());
    assert!(second.node().wait_for_mesh(TOPIC, 1, Duration::from_secs(10)).await.unwrap());
    assert_eq!(second.node().peers().await.unwrap(), vec![first.node().peer_id()]);
    second.shutdown().await;
    first.shutdown().await;
}

/// Waits until `node` is connected to `peer` (or not, with `want` false); fails after `within`.
async fn until_connected(
    node: &rlnkit::relay::NodeHandle,
    peer: libp2p::PeerId,
    want: bool,
    within: Duration,
) {
    let end = tokio::time::Instant::now() + within;
    loop {
        if node.peers().await.unwrap().contains(&peer) == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "connected to {peer} = {want}: not within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An operator restarts a relay (same key, same address): the relays that had it as a bootstrap
/// peer dial it again by themselves; one that started before it was up finds it once it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_peers_are_redialled_after_a_restart() {
    let keys = CircuitKeys::embedded().unwrap();
    let verifier = Verifier::new(keys.verifying_key());
    let roots = Arc::new(StaticRoots::new([rlnkit::Field::from_u64(1)]));
    let key = libp2p::identity::Keypair::generate_ed25519();
    let id = key.public().to_peer_id();
    // A free port, released for the relay that starts later.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen: libp2p::Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap();
    let dial = listen.clone().with(libp2p::multiaddr::Protocol::P2p(id));
    let start_b = || {
        RelayBuilder::new(verifier.clone(), roots.clone())
            .listen([listen.clone()])
            .keypair(key.clone())
            .topics([TOPIC.to_string()])
            .start()
    };
    // A starts first: its dial to B fails, and it keeps trying.
    let a = RelayBuilder::new(verifier.clone(), roots.clone())
        .listen(["/ip4/127.0.0.1/tcp/0".parse().unwrap()])
        .topics([TOPIC.to_string()])
        .bootstrap_peers([dial])
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = start_b().await.unwrap();
    until_connected(a.node(), id, true, Duration::from_secs(10)).await;

    // B stops and comes back on the same key and address: A reconnects without being told.
    b.shutdown().await;
    until_connected(a.node(), id, false, Duration::from_secs(10)).await;
    let b = start_b().await.unwrap();
    until_connected(a.node(), id, true, Duration::from_secs(10)).await;
    b.shutdown().await;
    a.shutdown().await;
}
