//! The CI-sized capacity simulation: 40 real relays in one process (memory transport, noise +
//! yamux, Waku's gossipsub scoring), honest load, and one attacker of every kind plus a sybil
//! set of two. The test profile verifies proofs several times slower than a release build, so
//! the attack rates are modest and the settling time generous. Honest traffic is delivered, no spam travels past the first hop, and every honest
//! neighbour of an attacker whose spam is rejected graylists it. The large runs are benchmarks
//! (`rlnkit sim`, BENCHMARKS.md).

use std::time::Duration;

use rlnkit::relay::TransportKind;
use rlnkit::sim::{AttackKind, Attackers, SimConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_relays_deliver_honest_traffic_and_stop_spam_at_the_first_hop() {
    let config = SimConfig {
        nodes: 40,
        degree: 8,
        transport: TransportKind::Memory,
        publishers: 8,
        rate: 10.0,
        message_bytes: 512,
        duration: Duration::from_secs(4),
        // Replays go out 3 s after their original: the window covers them.
        settle: Duration::from_secs(5),
        attackers: Attackers::one_of_each(2),
        attack_rate: 6.0,
        max_spam_per_attacker: 16,
        seed: 13,
        mesh_timeout: Duration::from_secs(8),
        ..SimConfig::default()
    };
    let r = rlnkit::sim::run(&config, |_| {}).await.unwrap();
    let summary = serde_json::to_string_pretty(&r.attacks).unwrap();
    eprintln!("{:?}\n{:?}\n{:?}", r.setup, r.delivery, r.verdicts);

    assert!(r.setup.no_mesh <= 2, "nodes without a mesh peer: {:?}", r.setup);
    assert_eq!(r.setup.lagged_events, 0, "the observers saw every event");
    assert_eq!(r.delivery.honest_messages, 40);
    // The test profile on CI's 2 shared cores verifies several times slower than a release
    // build: a message validated after gossipsub's 6 s cache window is not forwarded, so allow
    // one missed delivery in a hundred here (the release-build runs in BENCHMARKS.md are measured against the goal, 99.9%).
    assert!(r.delivery.ratio >= 0.99, "delivery {:?}", r.delivery);
    assert!(r.latency.p50_ms > 0.0 && r.latency.p50_ms < 2000.0, "latency {:?}", r.latency);

    assert_eq!(r.spam_beyond_first_hop, 0, "spam past the first hop: {summary}");
    for a in &r.attacks {
        assert!(a.spam_published > 0, "{summary}");
        assert!(a.first_hop > 0, "{:?} spam reached its neighbours: {summary}", a.kind);
        assert_eq!(a.accepted, 0, "{:?} spam accepted: {summary}", a.kind);
        if a.kind.is_rejected() {
            assert_eq!(a.graylisted, a.links, "{:?}: every neighbour graylists: {summary}", a.kind);
            assert!(a.invalid_until_graylist.max <= 16.0, "{:?}: {summary}", a.kind);
        } else {
            // Replays are ignored, not penalized: their shares are valid.
            assert_eq!(a.kind, AttackKind::Replay);
            assert_eq!(a.graylisted, 0, "{summary}");
        }
    }
    assert_eq!(r.missed_graylists(), 0);
    assert_eq!(r.honest_graylisted, 0, "an honest peer was graylisted");
    assert!(
        r.traffic.amplification > 1.0,
        "bytes in per byte delivered: {}",
        r.traffic.amplification
    );
    assert!(r.memory.per_node_kb > 0.0 || r.memory.rss_end_mb == 0.0);
}
