//! Starting a devnet: its directory, the chain (anvil, registry, memberships, synced tree,
//! ServiceCredentials, the payer's escrow), the relay processes, the in-process publishers and
//! the paying client, then the traffic and the observer.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::watch;

use libp2p::multiaddr::Protocol;
use libp2p::Multiaddr;

use super::chaos::Chaos;
use super::observer::Observer;
use super::process::{self, RelayProcess, RelaySpec, Relays};
use super::proxy::LinkProxy;
use super::traffic::{self, SharedCounters, SharedSent};
use super::{ChainView, Devnet, DevnetBuilder, DevnetError, RelayInfo, Setup, Summary, MAX_RELAYS};
use crate::chain::{
    deploy_registry, start_anvil, DeployConfig, MembershipReader, SyncOptions, TreeSync,
};
use crate::circuit::CircuitKeys;
use crate::credentials::{
    CredentialsConfig, CredentialsWriter, PaymentStream, LIGHTPUSH_SERVICE_ID,
};
use crate::identity::{Identity, UserMessageLimit};
use crate::lightpush::LightpushClient;
use crate::prover::Prover;
use crate::relay::{shard_topic, Publisher};
use crate::service::RelayBuilder;
use crate::verifier::Verifier;

/// Each relay dials up to this many of the relays started before it.
const DIALS_PER_RELAY: usize = 3;

/// Rate limits (messages per 600 s epoch) of the devnet's memberships.
const PUBLISHER_LIMIT: u32 = 600;
const SPAMMER_LIMIT: u32 = 20;
const FILLER_LIMIT: u32 = 20;

/// A relay's address (`/ip4/../tcp/../p2p/<id>`) with its forwarder's socket in place of its own.
fn forwarded(direct: &Multiaddr, proxy: std::net::SocketAddr) -> Multiaddr {
    let mut a = Multiaddr::empty().with(match proxy.ip() {
        std::net::IpAddr::V4(ip) => Protocol::Ip4(ip),
        std::net::IpAddr::V6(ip) => Protocol::Ip6(ip),
    });
    a.push(Protocol::Tcp(proxy.port()));
    if let Some(id) = crate::relay::peers::peer_of(direct) {
        a.push(Protocol::P2p(id));
    }
    a
}

/// The devnet's working directory: given, or a fresh temporary one.
fn work_dir(given: Option<PathBuf>) -> Result<(PathBuf, bool), DevnetError> {
    let (dir, temp) = match given {
        Some(d) => (d, false),
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let name = format!("rlnkit-devnet-{}-{nanos}", std::process::id());
            (std::env::temp_dir().join(name), true)
        }
    };
    std::fs::create_dir_all(&dir).map_err(|source| DevnetError::Io {
        what: "creating",
        path: dir.clone(),
        source,
    })?;
    if !temp {
        clear_previous_run(&dir)?;
    }
    Ok((dir, temp))
}

/// Removes what an earlier devnet left in `dir` (and nothing else): a new chain starts from
/// block 0, so an old tree file or ready file would be wrong, and an old nullifier log would
/// take this run's first messages (same seeded identities, same epoch) for double signals.
fn clear_previous_run(dir: &Path) -> Result<(), DevnetError> {
    let entries = std::fs::read_dir(dir).map_err(|source| DevnetError::Io {
        what: "reading",
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = matches!(name.as_str(), "tree.redb" | "members.txt" | "lightpush-operator.json")
            || name.strip_prefix("relay-").is_some_and(|n| n.parse::<usize>().is_ok());
        if !ours {
            continue;
        }
        let path = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|source| DevnetError::Io { what: "removing", path, source })?;
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), DevnetError> {
    std::fs::write(path, bytes).map_err(|source| DevnetError::Io {
        what: "writing",
        path: path.to_path_buf(),
        source,
    })
}

/// Anvil accounts by role.
const DEPLOYER: usize = 0;
const PAYER: usize = 1;
const TREASURY: usize = 2;
const FIRST_OPERATOR: usize = 3;

pub(super) async fn start(b: DevnetBuilder) -> Result<Devnet, DevnetError> {
    if b.relays == 0 || b.relays > MAX_RELAYS {
        return Err(DevnetError::RelayCount(b.relays));
    }
    if !b.rlnkit.exists() {
        return Err(DevnetError::NoBinary(b.rlnkit.clone()));
    }
    let t0 = Instant::now();
    let (dir, remove_dir) = work_dir(b.dir.clone())?;
    let keys = match &b.keys {
        Some(d) => CircuitKeys::load(d)?,
        None => CircuitKeys::embedded()?,
    };
    let prover = Prover::new(keys.clone());
    let prepare = {
        let p = prover.clone();
        tokio::task::spawn_blocking(move || p.prepare())
    };

    // The chain: anvil, the registry, the memberships.
    let accounts = (FIRST_OPERATOR + b.relays).max(10).to_string();
    let anvil = start_anvil(&b.anvil, &["--accounts", &accounts])?;
    let rpc = anvil.endpoint();
    let key = |i: usize| PrivateKeySigner::from(anvil.keys()[i].clone());
    let operators: Vec<PrivateKeySigner> = (0..b.relays).map(|i| key(FIRST_OPERATOR + i)).collect();
    tracing::info!(rpc = %rpc, "anvil started");
    let (writer, deployment) =
        deploy_registry(&rpc, key(DEPLOYER), Some(anvil.chain_id()), &DeployConfig::default())
            .await?;
    tracing::info!(registry = %deployment.registry, "registry deployed");
    let honest_id = Identity::from_seed(b"rlnkit devnet: honest publisher");
    let spammer_id = Identity::from_seed(b"rlnkit devnet: spammer");
    let operator_id = Identity::from_seed(b"rlnkit devnet: lightpush operator");
    let honest = writer.register(honest_id.commitment(), PUBLISHER_LIMIT, &[]).await?;
    let spam = writer.register(spammer_id.commitment(), SPAMMER_LIMIT, &[]).await?;
    writer.register(operator_id.commitment(), PUBLISHER_LIMIT, &[]).await?;
    let fillers: Vec<_> = (0..b.fillers)
        .map(|i| Identity::from_seed(format!("rlnkit devnet: member {i}").as_bytes()).commitment())
        .collect();
    writer.dev().register_many(&fillers, FILLER_LIMIT).await?;

    // The tree, synced from the registry's events; its paths must be the contract's.
    let reader: MembershipReader = writer.reader().clone();
    let mut sync =
        TreeSync::open(reader.clone(), dir.join("tree.redb"), SyncOptions::default()).await?;
    let synced = sync.sync(|_| {}).await?;
    let tree = sync.tree();
    let path_of = |index: u32| -> Result<_, DevnetError> { Ok(tree.proof(index as u64)?) };
    for index in [honest.index, spam.index] {
        if path_of(index)? != reader.merkle_proof(index).await? {
            return Err(DevnetError::PathMismatch { index });
        }
    }
    let members_file = dir.join("members.txt");
    let leaves: Vec<String> = (0..tree.next_index())
        .map(|i| tree.leaf(i).map(|l| l.to_hex()))
        .collect::<Result<_, _>>()?;
    write(&members_file, (leaves.join("\n") + "\n").as_bytes())?;
    let operator_file = dir.join("lightpush-operator.json");
    write(&operator_file, &serde_json::to_vec(&operator_id).expect("serializable"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&operator_file, std::fs::Permissions::from_mode(0o600));
    }
    let (honest_path, spam_path) = (path_of(honest.index)?, path_of(spam.index)?);
    let members = tree.next_index();
    tracing::info!(members, root = %synced.root.to_hex(), "memberships registered and synced");
    drop(sync);

    // Service credentials: the contract, the payer's tokens and its escrow for the operator of
    // the last relay (before that relay starts, so its claimer sees the deposit at once).
    let payer_key = key(PAYER);
    let lp_operator = operators[b.relays - 1].address();
    let credentials = CredentialsWriter::deploy(
        &rpc,
        key(DEPLOYER),
        CredentialsConfig {
            owner: key(DEPLOYER).address(),
            treasury: key(TREASURY).address(),
            fee_bps: 250,
            thaw_period: 3600,
            signer_thaw_period: 3600,
        },
    )
    .await?;
    let deposit = b.price * U256::from(100_000u64);
    writer.dev().mint_test_tokens(deployment.token, payer_key.address(), deposit).await?;
    let payer_client =
        CredentialsWriter::connect(&rpc, payer_key.clone(), credentials.address(), None).await?;
    payer_client.deposit(lp_operator, deployment.token, deposit).await?;
    let received_before = reader.token_balance(deployment.token, lp_operator).await?;

    // The relays, each dialling up to three started before it. Every node dials a relay through
    // its forwarder (an address that outlives a restart; the chaos cuts links there).
    let topic = shard_topic(1, 0);
    let relays: Relays = Arc::new(Mutex::new(Vec::with_capacity(b.relays)));
    let mut proxies: Vec<LinkProxy> = Vec::with_capacity(b.relays);
    let mut entries: Vec<Multiaddr> = Vec::with_capacity(b.relays);
    for i in 1..=b.relays {
        let rdir = dir.join(format!("relay-{i}"));
        let operator = &operators[i - 1];
        let mut args: Vec<String> = Vec::new();
        if let Some(k) = &b.keys {
            args.extend(["--keys".into(), k.display().to_string()]);
        }
        let s = |x: &str| x.to_string();
        args.extend([
            s("relay"),
            s("run"),
            s("--listen"),
            s("/ip4/127.0.0.1/tcp/0"),
            s("--contract"),
            deployment.registry.to_string(),
            s("--rpc"),
            rpc.clone(),
            s("--slash"),
            s("--reward-address"),
            operator.address().to_string(),
            s("--data-dir"),
            rdir.display().to_string(),
            s("--metrics-port"),
            s("0"),
            s("--ready-file"),
            RelaySpec::ready_file(&rdir).display().to_string(),
            s("--members"),
            members_file.display().to_string(),
        ]);
        for earlier in entries.iter().rev().take(DIALS_PER_RELAY) {
            args.extend([s("--peer"), earlier.to_string()]);
        }
        if i == b.relays {
            args.extend([
                s("--lightpush"),
                s("--price"),
                b.price.to_string(),
                s("--credentials"),
                credentials.address().to_string(),
                s("--price-token"),
                deployment.token.to_string(),
                s("--lightpush-identity"),
                operator_file.display().to_string(),
                s("--lightpush-limit"),
                PUBLISHER_LIMIT.to_string(),
                s("--claim-above"),
                b.price.to_string(),
            ]);
        }
        let env = vec![(s("RLNKIT_PRIVATE_KEY"), hex::encode(operator.to_bytes()))];
        tracing::info!(relay = i, "starting relay process");
        let spec = RelaySpec { index: i, dir: rdir, args, env };
        process::lock(&relays).push(RelayProcess::spawn(&b.rlnkit, spec)?);
        process::wait_ready(&relays, i - 1).await?;
        let (direct, socket) = {
            let all = process::lock(&relays);
            (all[i - 1].dial_addr().clone(), all[i - 1].socket_addr())
        };
        let socket = socket.ok_or_else(|| DevnetError::NoAddress {
            index: i,
            log: process::lock(&relays)[i - 1].log.clone(),
        })?;
        let proxy = LinkProxy::start(socket).await.map_err(|source| DevnetError::Io {
            what: "listening for",
            path: format!("relay {i}'s link forwarder").into(),
            source,
        })?;
        entries.push(forwarded(&direct, proxy.addr()));
        proxies.push(proxy);
    }
    let relay_infos: Vec<RelayInfo> = process::lock(&relays)
        .iter()
        .map(|r| RelayInfo {
            index: r.index,
            peer_id: r.ready.peer_id.clone(),
            addr: entries[r.index - 1].to_string(),
            metrics: r.metrics_addr(),
            operator: operators[r.index - 1].address(),
            pid: r.pid(),
            lightpush: r.index == b.relays,
            log: r.log.clone(),
        })
        .collect();

    // The in-process traffic: the spammer enters at relay 1, the honest publisher at the last.
    let verifier = Verifier::new(keys.verifying_key());
    let roots =
        crate::chain::ContractRoots::polling(reader.clone(), Duration::from_secs(2)).await?;
    let node = |peers| {
        RelayBuilder::new(verifier.clone(), roots.clone())
            .listen(["/ip4/127.0.0.1/tcp/0".parse().expect("a multiaddr")])
            .topics([topic.clone()])
            .heartbeat(Duration::from_millis(200))
            .bootstrap_peers(peers)
            .start()
    };
    // The spammer enters at relay 1; the honest publisher at the last relay and at relay 1, so
    // one of them is up whatever the chaos kills.
    let spammer_node = node(vec![entries[0].clone()]).await?;
    let mut honest_entries = vec![entries[b.relays - 1].clone()];
    if b.relays > 1 {
        honest_entries.push(entries[0].clone());
    }
    let honest_node = node(honest_entries).await?;
    let wait = Duration::from_secs(20);
    for (who, n) in [("spammer", &spammer_node), ("honest publisher", &honest_node)] {
        if !n.node().wait_for_mesh(&topic, 1, wait).await? {
            return Err(DevnetError::NoMesh { who, waited: wait });
        }
    }
    let terms = payer_client.service(lp_operator, LIGHTPUSH_SERVICE_ID).await?;
    let stream = PaymentStream::new(terms, payer_key.address(), payer_key.clone(), U256::ZERO);
    let lp_client = LightpushClient::spawn()?;
    let _ = prepare.await;

    let setup = Setup {
        dir: dir.clone(),
        rpc: rpc.clone(),
        chain_id: anvil.chain_id(),
        anvil_pid: anvil.child().id(),
        registry: deployment.registry,
        token: deployment.token,
        credentials: credentials.address(),
        members,
        root: synced.root,
        topic: topic.clone(),
        relays: relay_infos,
        honest_index: honest.index,
        spammer_index: spam.index,
        spammer: spammer_id.commitment(),
        payer: payer_key.address(),
        price: b.price,
        startup_ms: t0.elapsed().as_millis() as u64,
    };
    let counters: SharedCounters = Arc::new(Mutex::new(traffic::Counters::default()));
    let sent: SharedSent = Arc::new(Mutex::new(Vec::new()));
    let (stop, stop_rx) = watch::channel(false);
    let (summary_tx, summary) = watch::channel(Summary::default());
    let started = Instant::now();
    let limit = |n: u32| UserMessageLimit::new(n as u64);
    let traffic = vec![
        tokio::spawn(traffic::honest(
            Publisher::new(prover.clone(), honest_id, limit(PUBLISHER_LIMIT)?, honest_path),
            honest_node.node().clone(),
            topic.clone(),
            b.publish_every,
            counters.clone(),
            sent.clone(),
            started,
            stop_rx.clone(),
        )),
        tokio::spawn(traffic::spammer(
            Publisher::new(prover, spammer_id, limit(SPAMMER_LIMIT)?, spam_path),
            spammer_node.node().clone(),
            topic.clone(),
            b.spam_after,
            counters.clone(),
            stop_rx.clone(),
        )),
        tokio::spawn(traffic::payer(
            lp_client,
            entries[b.relays - 1].clone(),
            stream,
            topic,
            b.push_every,
            counters.clone(),
            stop_rx.clone(),
        )),
    ];
    let proxies = Arc::new(proxies);
    let chaos = b.chaos.map(|config| {
        let chaos = Chaos {
            config,
            relays: relays.clone(),
            proxies: proxies.clone(),
            anvil_pid: anvil.child().id(),
            started,
        };
        tokio::spawn(chaos.run(stop_rx))
    });
    let chain = ChainView {
        reader: reader.clone(),
        credentials: credentials.reader().clone(),
        payer: payer_key.address(),
        lp_operator,
        token: deployment.token,
        from_block: deployment.deployed_block,
    };
    let observer = Observer {
        relays: relays.clone(),
        operators: operators.iter().map(|o| o.address()).collect(),
        reader,
        credentials: credentials.reader().clone(),
        token: deployment.token,
        payer: payer_key.address(),
        lp_operator,
        received_before,
        spammer: setup.spammer,
        from_block: deployment.deployed_block,
        counters: counters.clone(),
        started,
    };
    let observer = tokio::spawn(observer.run(summary_tx));
    tracing::info!(startup_ms = setup.startup_ms, "devnet running");
    Ok(Devnet {
        setup,
        summary,
        stop,
        traffic,
        observer: Some(observer),
        nodes: vec![spammer_node, honest_node],
        relays,
        proxies,
        chaos: b.chaos.zip(chaos),
        chain,
        counters,
        sent,
        anvil: Some(anvil),
        remove_dir,
        started,
    })
}

#[cfg(test)]
mod tests {
    use super::clear_previous_run;

    #[test]
    fn a_reused_dir_loses_the_previous_run_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join("relay-1")).unwrap();
        std::fs::write(d.join("relay-1/ready.json"), "{}").unwrap();
        std::fs::create_dir_all(d.join("relay-notes")).unwrap();
        for f in ["tree.redb", "members.txt", "lightpush-operator.json", "keep.txt"] {
            std::fs::write(d.join(f), "x").unwrap();
        }
        clear_previous_run(d).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["keep.txt", "relay-notes"]);
    }
}
