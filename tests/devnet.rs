//! The devnet end to end, briefly: anvil, the contracts, three `rlnkit relay run` processes, an
//! honest publisher, a spammer and a paying lightpush client. Checked here against the chain
//! directly (not through the devnet's own summary): the spammer's membership is gone and the
//! relay that caught it can withdraw the reward; the paying client's vouchers were claimed by
//! the operator; every relay accepted every message; nothing is left running afterwards.

use std::time::Duration;

use rlnkit::chain::{MembershipReader, U256};
use rlnkit::credentials::CredentialsReader;
use rlnkit::devnet::{Devnet, Summary};

async fn wait_for(
    live: &mut tokio::sync::watch::Receiver<Summary>,
    within: Duration,
    what: impl Fn(&Summary) -> bool,
) -> Summary {
    let end = tokio::time::Instant::now() + within;
    loop {
        let s = live.borrow_and_update().clone();
        if what(&s) {
            return s;
        }
        assert!(
            tokio::time::timeout_at(end, live.changed()).await.is_ok(),
            "devnet did not get there within {within:?}; last summary: {s:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_delivers_slashes_the_spammer_and_pays_the_operators() {
    let devnet = Devnet::builder(env!("CARGO_BIN_EXE_rlnkit"))
        .relays(3)
        .fillers(5)
        .publish_every(Duration::from_millis(300))
        .push_every(Duration::from_millis(300))
        .spam_after(Duration::from_millis(300))
        .start()
        .await
        .expect("devnet starts");
    let setup = devnet.setup().clone();
    let pids = devnet.child_pids();
    assert_eq!(pids.len(), 4, "anvil and three relays");
    let mut live = devnet.summary();
    let s = wait_for(&mut live, Duration::from_secs(60), |s| {
        s.slash.is_some() && s.payments.collected > U256::ZERO && s.honest_published >= 3
    })
    .await;

    // The chain, read by us: the spammer was slashed once and relay 1's operator (the spammer's
    // entry point, which caught the double signal) holds the reward.
    let reader =
        MembershipReader::connect(&setup.rpc, setup.registry, Some(setup.chain_id)).await.unwrap();
    let slashes = reader.slashes(0, None).await.unwrap();
    assert_eq!(slashes.len(), 1, "{slashes:?}");
    let catcher = setup.relays[0].operator;
    assert_eq!(slashes[0].id_commitment, setup.spammer);
    assert_eq!(slashes[0].reward_receiver, catcher);
    assert!(slashes[0].reward > U256::ZERO);
    assert_eq!(reader.withdrawable(catcher, setup.token).await.unwrap(), slashes[0].reward);
    assert!(reader.membership_info(setup.spammer).await.unwrap().is_none());
    assert_eq!(s.slash.as_ref().and_then(|x| x.catcher), Some(1));
    // The lightpush relay's operator claimed vouchers on chain: the escrow says so, and the
    // tokens arrived.
    let operator = setup.relays[2].operator;
    let escrow = CredentialsReader::connect(&setup.rpc, setup.credentials, None)
        .await
        .unwrap()
        .escrow(setup.payer, operator, setup.token)
        .await
        .unwrap();
    assert!(escrow.collected >= s.payments.collected && escrow.collected > U256::ZERO);
    assert!(reader.token_balance(setup.token, operator).await.unwrap() > U256::ZERO);

    let report = devnet.shutdown().await.unwrap();
    let s = &report.summary;
    // Every relay accepted everything published (the honest messages, the spammer's first
    // message, the paid pushes), and only relay 1 saw the double signal.
    assert!(s.honest_published >= 3);
    for r in &s.relays {
        assert_eq!(r.valid, r.expected, "relay {}: {s:#?}", r.index);
        assert_eq!(r.spam, u64::from(r.index == 1), "relay {}", r.index);
    }
    // Every push answered 200 was paid for exactly once, and all of it was claimed.
    let p = &s.payments;
    assert!(p.pushes_ok >= 3, "{p:?}");
    assert_eq!(p.pushes_failed, 0, "{p:?}");
    assert_eq!(p.paid, setup.price * U256::from(p.pushes_ok));
    assert_eq!(p.collected, p.paid, "every voucher claimed");
    // The operator got the claims minus the 2.5 % fee.
    assert_eq!(p.operator_received, p.paid - p.paid * U256::from(250) / U256::from(10_000));

    // Nothing is left running, and the temporary directory is gone.
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} still runs"
        );
    }
    assert!(!setup.dir.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_devnet_kills_its_children_and_removes_its_directory() {
    let devnet = Devnet::builder(env!("CARGO_BIN_EXE_rlnkit"))
        .relays(2)
        .fillers(0)
        .start()
        .await
        .expect("devnet starts");
    let pids = devnet.child_pids();
    let dir = devnet.setup().dir.clone();
    assert_eq!(pids.len(), 3, "anvil and two relays");
    for pid in &pids {
        assert!(std::path::Path::new(&format!("/proc/{pid}")).exists(), "process {pid} runs");
    }
    drop(devnet);
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} still runs"
        );
    }
    assert!(!dir.exists());
}

/// `rlnkit devnet` as a script runs it: one relay, a 6 s run, one JSON report, exit 0, and
/// the directory given with --dir kept with the relay's log.
#[test]
fn rlnkit_devnet_prints_a_json_report_and_keeps_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rlnkit"))
        .args(["devnet", "--relays", "1", "--fillers", "0", "--run-for", "6"])
        .args(["--spam-after", "0.2", "--publish-every", "0.3", "--push-every", "0.3", "--json"])
        .arg("--dir")
        .arg(&dir)
        .output()
        .expect("run rlnkit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(v["success"], true);
    let d = &v["data"];
    assert_eq!(d["stopped_by"], "run_for");
    let s = &d["summary"];
    let relay = &s["relays"][0];
    assert!(relay["valid"].as_u64().unwrap() >= 2);
    assert_eq!(s["spam_sent"], 2, "the spammer double-signalled within the run");
    assert_eq!(relay["valid"], relay["expected"]);
    assert_eq!(s["slash"]["catcher"], 1);
    assert_eq!(s["payments"]["collected"], s["payments"]["paid"]);
    assert!(dir.join("relay-1/relay.log").exists());
}

/// The devnet under chaos, CI-sized: every fault kind once (links cut, a relay killed and
/// restarted, the chain frozen with the lightpush operator killed meanwhile, the operator killed
/// again), then the audit from the chain and the relays' stores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_chaos_nothing_is_lost_but_what_a_fault_explains_and_money_is_exact() {
    use rlnkit::devnet::{ChaosConfig, Fault, LossCause};
    let devnet = Devnet::builder(env!("CARGO_BIN_EXE_rlnkit"))
        .relays(3)
        .fillers(2)
        .publish_every(Duration::from_millis(500))
        .push_every(Duration::from_millis(500))
        .spam_after(Duration::from_millis(500))
        .chaos(ChaosConfig {
            seed: 7,
            every: Duration::from_secs(4),
            chain_stop: Duration::from_secs(8),
        })
        .start()
        .await
        .expect("devnet starts");
    let setup = devnet.setup().clone();
    let mut live = devnet.summary();
    // Long enough for the first four faults (each kind once).
    wait_for(&mut live, Duration::from_secs(120), |s| s.elapsed_ms >= 42_000).await;
    let report = devnet.shutdown().await.unwrap();
    let chaos = report.chaos.expect("a chaos report");
    assert!(chaos.passed(), "{chaos}");

    let kinds: Vec<&str> = chaos
        .faults
        .iter()
        .map(|f| match f.fault {
            Fault::CutLinks { .. } => "cut",
            Fault::KillRelay { relay: 3, .. } => "kill operator",
            Fault::KillRelay { .. } => "kill",
            Fault::StopChain { .. } => "chain stop",
        })
        .collect();
    for k in ["cut", "kill", "chain stop", "kill operator"] {
        assert!(kinds.contains(&k), "no {k} fault in {kinds:?}");
    }
    // The operator ran three times at least (killed during the chain stop and once more).
    assert!(chaos.deliveries[2].starts >= 3, "{chaos}");
    // Every relay holds the honest messages but those a fault explains.
    assert!(chaos.honest_published >= 20, "{chaos}");
    for d in &chaos.deliveries {
        let explained = d.lost_to(LossCause::RelayDown) + d.lost_to(LossCause::LinksCut);
        assert_eq!(d.lost_to(LossCause::Unexplained), 0, "{chaos}");
        assert_eq!(
            d.delivered + explained + d.lost_to(LossCause::BeyondRetention),
            chaos.honest_published
        );
    }
    // Money: paid pushes were served across the faults and claimed to the unit.
    assert!(chaos.served >= setup.price * U256::from(10u64), "{chaos}");
    assert!(chaos.collected == chaos.served || chaos.collected == chaos.served + setup.price);
    assert_eq!((chaos.spammer_slashes, chaos.other_slashes), (1, 0));
    assert!(chaos.panics.is_empty());
}
