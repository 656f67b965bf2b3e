//! `rlnkit relay run | publish`: the rate-limited Waku relay from the command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use libp2p::Multiaddr;
use rlnkit::chain::Address;
use rlnkit::epoch::WAKU_EPOCH_SECONDS;
use rlnkit::relay::{shard_topic, unix_now_ns, MessageIdLog, Publisher};
use rlnkit::service::{ChainConfig, RelayConfig, RelayReady};
use rlnkit::tree::DEFAULT_DEPTH;
use rlnkit::{
    AcceptedRoots, Field, MerkleTree, Prover, RelayBuilder, RlnIdentifier, StaticRoots,
    UserMessageLimit, Verifier,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::credentials::read_key;
use super::inputs::{members_tree, read_members, IdentityArgs};
use super::{load_keys, GlobalOpts, Outcome};

#[derive(clap::Subcommand, Debug)]
pub(crate) enum RelayCmd {
    /// Run a relay node that validates every message's RLN proof.
    Run(Box<RunArgs>),
    /// Publish one message with an RLN proof (message ids tracked per epoch in a state file).
    Publish(Box<PublishArgs>),
    /// Print a running relay's dialable address from its `--ready-file` (waits for the file).
    #[command(
        after_help = "Example:\n  rlnkit relay run --members members.txt --listen /ip4/127.0.0.1/tcp/0 --data-dir relay-data \\\n    --ready-file relay.json &\n  PEER=$(rlnkit relay addr relay.json --wait 60)"
    )]
    Addr(AddrArgs),
}

#[derive(clap::Args, Debug)]
pub(crate) struct AddrArgs {
    /// The file `relay run --ready-file` writes once the relay listens.
    #[arg(value_name = "READY_FILE")]
    file: PathBuf,
    /// Wait up to this many seconds for the file to appear.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    wait: u64,
}

impl AddrArgs {
    fn run(self) -> Result<Outcome> {
        let deadline = std::time::Instant::now() + Duration::from_secs(self.wait);
        let ready = loop {
            match RelayReady::read(&self.file)? {
                Some(r) => break r,
                None if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                None => bail!(
                    "{} does not exist (is the relay running with --ready-file? pass --wait SECONDS to wait for it)",
                    self.file.display()
                ),
            }
        };
        let addr = ready
            .dial_addrs()
            .into_iter()
            .next()
            .with_context(|| format!("{} lists no dialable address", self.file.display()))?;
        Ok(Outcome::ok(
            addr.to_string(),
            json!({ "addr": addr.to_string(), "peer_id": ready.peer_id, "listen": ready.listen, "pid": ready.pid }),
        ))
    }
}

impl RelayCmd {
    pub(crate) fn run(self, g: &GlobalOpts) -> Result<Outcome> {
        match self {
            RelayCmd::Run(a) => a.run(g),
            RelayCmd::Publish(a) => a.run(g),
            RelayCmd::Addr(a) => a.run(),
        }
    }
}

/// Relay settings; every field can also come from the TOML file given with `--config`
/// (command-line values win).
#[derive(clap::Args, Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[command(
    after_help = "Example (following the registry's roots, slashing double signallers):\n  rlnkit relay run --contract \"$RLNKIT_CONTRACT\" --slash --listen /ip4/127.0.0.1/tcp/0 \\\n    --metrics-port 8008 --ready-file chain-relay.json &\n\nConfig file (TOML), same names with underscores:\n  listen = [\"/ip4/0.0.0.0/tcp/60000\"]\n  peers = [\"/ip4/10.0.0.2/tcp/60000/p2p/12D3Koo...\"]\n  cluster = 1\n  shards = [0, 1]\n  members = \"members.txt\"\n  data_dir = \"relay-data\"\n  metrics_port = 8008\n  [lightpush]\n  price = \"1000\"\n  credentials = \"0x...\"\n  lightpush_identity = \"operator.json\""
)]
pub(crate) struct RunArgs {
    /// TOML config file with any of these options.
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub(crate) config: Option<PathBuf>,
    /// Listen address (multiaddr), repeatable. Default /ip4/0.0.0.0/tcp/60000.
    #[arg(long, value_name = "MULTIADDR")]
    pub(crate) listen: Vec<String>,
    /// Peer to dial (multiaddr with /p2p/<id>), repeatable.
    #[arg(long = "peer", value_name = "MULTIADDR")]
    pub(crate) peers: Vec<String>,
    /// Waku cluster id. Default 1 (the Waku Network).
    #[arg(long)]
    pub(crate) cluster: Option<u16>,
    /// Shard to relay (topic /waku/2/rs/<cluster>/<shard>), repeatable. Default 0.
    #[arg(long = "shard", value_name = "N")]
    pub(crate) shards: Vec<u16>,
    /// An acceptable Merkle root (decimal or 0x-hex), repeatable.
    #[arg(long = "root", value_name = "FIELD")]
    pub(crate) roots: Vec<String>,
    /// Members file (one rate commitment per line); its tree's root is accepted.
    #[arg(long, value_name = "FILE")]
    pub(crate) members: Option<PathBuf>,
    /// Directory for the nullifier log (kept across restarts). Default: memory only.
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Serve /metrics and /health on this port (0.0.0.0).
    #[arg(long, value_name = "PORT")]
    pub(crate) metrics_port: Option<u16>,
    /// RLN identifier text. Default: the Waku network's.
    #[arg(long, value_name = "TEXT")]
    pub(crate) rln_identifier: Option<String>,
    /// Epoch length in seconds. Default 600.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) epoch_seconds: Option<u64>,
    /// Membership registry: accept its roots under its time rule (the current root, and each root
    /// for its rootAcceptanceWindow after it was superseded), read from its events every 2 s.
    #[arg(long, env = "RLNKIT_CONTRACT", value_name = "ADDRESS")]
    pub(crate) contract: Option<String>,
    /// JSON-RPC endpoint of the registry's chain (with --contract).
    #[arg(long, env = "RLNKIT_RPC_URL", value_name = "URL")]
    pub(crate) rpc: Option<String>,
    /// Slash double-signallers through the registry (commit, then reveal); the signer comes from
    /// RLNKIT_PRIVATE_KEY and the reward goes to --reward-address (default: the signer).
    #[arg(long, requires = "contract")]
    pub(crate) slash: bool,
    /// Address that receives slashing rewards.
    #[arg(long, value_name = "ADDRESS", requires = "slash")]
    pub(crate) reward_address: Option<String>,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) run_for: Option<u64>,
    /// Once listening, write {peer_id, listen, metrics, pid} as JSON to this file (for
    /// supervisors such as `rlnkit devnet`).
    #[arg(long, value_name = "FILE")]
    pub(crate) ready_file: Option<PathBuf>,
    /// Paid lightpush service (in the config file: a `[lightpush]` section).
    #[command(flatten)]
    pub(crate) lightpush: super::credentials::LightpushRunArgs,
}

impl RunArgs {
    /// The command-line values over the config file's.
    pub(crate) fn merged(self) -> Result<RunArgs> {
        let Some(path) = &self.config else { return Ok(self) };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading relay config {}", path.display()))?;
        let file: RunArgs = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid relay config", path.display()))?;
        let pick_vec = |a: Vec<String>, b: Vec<String>| if a.is_empty() { b } else { a };
        Ok(RunArgs {
            config: self.config.clone(),
            listen: pick_vec(self.listen, file.listen),
            peers: pick_vec(self.peers, file.peers),
            cluster: self.cluster.or(file.cluster),
            shards: if self.shards.is_empty() { file.shards } else { self.shards },
            roots: pick_vec(self.roots, file.roots),
            members: self.members.or(file.members),
            data_dir: self.data_dir.or(file.data_dir),
            metrics_port: self.metrics_port.or(file.metrics_port),
            rln_identifier: self.rln_identifier.or(file.rln_identifier),
            epoch_seconds: self.epoch_seconds.or(file.epoch_seconds),
            contract: self.contract.or(file.contract),
            rpc: self.rpc.or(file.rpc),
            slash: self.slash || file.slash,
            reward_address: self.reward_address.or(file.reward_address),
            run_for: self.run_for.or(file.run_for),
            ready_file: self.ready_file.or(file.ready_file),
            lightpush: self.lightpush.merged(file.lightpush),
        })
    }

    fn topics(&self) -> Vec<String> {
        let cluster = self.cluster.unwrap_or(1);
        let shards = if self.shards.is_empty() { vec![0] } else { self.shards.clone() };
        shards.into_iter().map(|s| shard_topic(cluster, s)).collect()
    }

    /// The library's relay config for these arguments (reads the files they name).
    fn config(&self, g: &GlobalOpts) -> Result<RelayConfig> {
        let mut c = RelayConfig::new(load_keys(g)?);
        c.topics = self.topics();
        c.rln_identifier = parse_identifier(self.rln_identifier.as_deref())?;
        c.epoch_seconds = self.epoch_seconds.unwrap_or(WAKU_EPOCH_SECONDS);
        if !self.listen.is_empty() {
            c.listen = parse_addrs(&self.listen)?;
        }
        c.peers = parse_addrs(&self.peers)?;
        c.data_dir = self.data_dir.clone();
        c.metrics_server = self.metrics_port.map(|p| SocketAddr::from(([0, 0, 0, 0], p)));
        c.static_roots = self
            .roots
            .iter()
            .map(|r| Field::parse(r).with_context(|| format!("--root {r}")))
            .collect::<Result<_>>()?;
        let members = self.members.as_deref().map(read_members).transpose()?;
        if let Some(leaves) = &members {
            c.memberships = Some(leaves.len() as u64);
            c.static_roots.push(MerkleTree::from_leaves(DEFAULT_DEPTH, leaves)?.root());
        }
        if c.static_roots.is_empty() && self.contract.is_none() {
            bail!("no acceptable roots: pass --contract (the registry's recent roots), --root or --members (or set them in --config)");
        }
        let mut chain = ChainConfig::new(self.rpc.as_deref().unwrap_or("http://127.0.0.1:8545"));
        chain.registry = self
            .contract
            .as_deref()
            .map(|a| a.parse().with_context(|| format!("--contract {a} is not an address")))
            .transpose()?;
        chain.operator_key = read_key(None, "RLNKIT_PRIVATE_KEY")?;
        if self.slash {
            if chain.operator_key.is_none() {
                bail!("--slash needs the operator's key in RLNKIT_PRIVATE_KEY");
            }
            c.slash_reward_to = Some(match &self.reward_address {
                Some(r) => r.parse().with_context(|| format!("--reward-address {r}"))?,
                None => Address::ZERO,
            });
        }
        c.lightpush = self.lightpush.to_config(members.as_deref())?;
        c.chain = Some(chain);
        Ok(c)
    }

    fn run(self, g: &GlobalOpts) -> Result<Outcome> {
        let a = self.merged()?;
        let config = a.config(g)?;
        // A ready file left by an earlier run must not point supervisors at a dead address.
        if let Some(path) = &a.ready_file {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("removing the old {}", path.display()))
                }
                _ => {}
            }
        }
        let topics = config.topics.clone();
        let rt = tokio::runtime::Runtime::new()?;
        rt.block_on(async move {
            let paid = config.lightpush.as_ref().is_some_and(|l| l.paid.is_some());
            let mut relay = RelayBuilder::from_config(config).await?.start().await?;
            let node = relay.node().clone();
            let addrs = node.listen_addrs().await?;
            for addr in &addrs {
                eprintln!("listening on {addr}/p2p/{}", node.peer_id());
            }
            if a.lightpush.lightpush {
                eprintln!(
                    "serving {}lightpush v3 ({})",
                    if paid { "paid " } else { "" },
                    rlnkit::lightpush::LIGHTPUSH_PROTOCOL
                );
            }
            eprintln!(
                "relaying {} with {} acceptable root(s)",
                topics.join(", "),
                relay.validator().roots().roots().len()
            );
            if let Some(bound) = relay.metrics_addr() {
                eprintln!("metrics on http://{bound}/metrics, health on /health");
            }
            if let Some(path) = &a.ready_file {
                rlnkit::service::RelayReady::of(&relay).await?.write(path)?;
            }
            match relay.slash_outcomes() {
                Some(mut outcomes) => {
                    tokio::spawn(async move {
                        while let Some(o) = outcomes.recv().await {
                            eprintln!("slashing: {o:?}");
                        }
                    });
                }
                None => {
                    let mut spam = relay.spam_events();
                    tokio::spawn(async move {
                        while let Some(ev) = spam.recv().await {
                            eprintln!("spam: member {} double-signalled in epoch {}; secret recovered (pass --contract and --slash to slash it)", ev.id_commitment.to_hex(), ev.epoch);
                        }
                    });
                }
            }
            // Until --run-for passes, Ctrl-C, or SIGTERM (supervisors, `kill`): then a clean stop.
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            let run_for = async {
                match a.run_for {
                    Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = run_for => {}
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            let m = relay.metrics().clone();
            if let Some(r) = relay.shutdown().await {
                eprintln!("claimed {} on the way out (tx {})", r.paid, r.tx);
            }
            let data = json!({ "peer_id": node.peer_id().to_string(), "listen": addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(), "messages": m.messages.get(), "spam": m.spam.get() });
            Ok(Outcome::ok(format!("relay stopped after {} messages ({} spam)", m.messages.get(), m.spam.get()), data))
        })
    }
}

fn parse_identifier(t: Option<&str>) -> Result<RlnIdentifier> {
    match t {
        None => Ok(RlnIdentifier::waku()),
        Some(t) => RlnIdentifier::from_text(t)
            .with_context(|| format!("rln identifier {t:?} is longer than 31 bytes")),
    }
}

fn parse_addrs(v: &[String]) -> Result<Vec<Multiaddr>> {
    v.iter()
        .map(|s| s.parse::<Multiaddr>().with_context(|| format!("{s} is not a multiaddr")))
        .collect()
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example ($PEER: a relay's address, `rlnkit relay addr`):\n  rlnkit relay publish --identity alice.json --limit 10 --members members.txt \\\n    --peer \"$PEER\" --content-topic /my-app/1/chat/proto --payload \"hi\""
)]
pub(crate) struct PublishArgs {
    #[command(flatten)]
    identity: IdentityArgs,
    /// The member's user message limit (messages per epoch).
    #[arg(long, value_name = "N")]
    limit: u64,
    /// Members file (one rate commitment per line), for the membership path.
    #[arg(long, value_name = "FILE")]
    members: PathBuf,
    /// Relay to publish through (multiaddr with /p2p/<id>), repeatable.
    #[arg(long = "peer", value_name = "MULTIADDR", required = true)]
    peers: Vec<String>,
    #[arg(long, default_value_t = 1)]
    cluster: u16,
    #[arg(long, default_value_t = 0)]
    shard: u16,
    #[arg(long, value_name = "TOPIC")]
    content_topic: String,
    /// The payload as UTF-8 text.
    #[arg(long, value_name = "TEXT")]
    payload: String,
    /// Where used message ids are tracked. Default: <identity file>.msgids.json or ./rlnkit-msgids.json.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    #[arg(long, value_name = "TEXT")]
    rln_identifier: Option<String>,
    #[arg(long, default_value_t = WAKU_EPOCH_SECONDS)]
    epoch_seconds: u64,
}

impl PublishArgs {
    fn run(self, g: &GlobalOpts) -> Result<Outcome> {
        let identity = self.identity.load()?;
        let limit = UserMessageLimit::new(self.limit)?;
        let tree = members_tree(&self.members)?;
        let leaf = identity.rate_commitment(limit);
        let index = (0..tree.next_index())
            .find(|&i| tree.leaf(i).ok() == Some(leaf))
            .with_context(|| {
                format!("this identity (limit {}) is not in {}", self.limit, self.members.display())
            })?;
        let state_path = self.state.clone().unwrap_or_else(|| match &self.identity.identity {
            Some(p) => PathBuf::from(format!("{}.msgids.json", p.display())),
            None => PathBuf::from("rlnkit-msgids.json"),
        });
        let keys = load_keys(g)?;
        let rln_identifier = parse_identifier(self.rln_identifier.as_deref())?;
        // Used ids are on disk before the proof is made: a second run (or a crash) in the same
        // epoch takes the next id, never the same one.
        let ids = MessageIdLog::open(&state_path, identity.commitment(), rln_identifier)?;
        let mut publisher =
            Publisher::new(Prover::new(keys.clone()), identity, limit, tree.proof(index)?)
                .with_rln_identifier(rln_identifier)
                .with_epoch_seconds(self.epoch_seconds)
                .with_message_ids(ids);
        let now = unix_now_ns();
        let epoch = now / 1_000_000_000 / self.epoch_seconds.max(1);
        let msg = publisher.build(self.payload.as_bytes(), &self.content_topic, now)?;
        let message_id = publisher.used(epoch) - 1;
        let topic = shard_topic(self.cluster, self.shard);
        let peers = parse_addrs(&self.peers)?;
        let rt = tokio::runtime::Runtime::new()?;
        let id = rt.block_on(async {
            // The publishing node judges its own message as every relay will (NodeHandle::publish
            // refuses what peers would penalize), so it accepts what the members file accepts:
            // that file's root, proved and verified with the same keys.
            let relay = RelayBuilder::new(
                Verifier::new(keys.verifying_key()),
                Arc::new(StaticRoots::new([tree.root()])),
            )
            .rln_identifier(rln_identifier)
            .epoch_seconds(self.epoch_seconds)
            .listen(["/ip4/0.0.0.0/tcp/0".parse()?])
            .bootstrap_peers(peers)
            .topics([topic.clone()])
            .start()
            .await?;
            let node = relay.node().clone();
            if !node.wait_for_mesh(&topic, 1, Duration::from_secs(15)).await? {
                bail!("no relay joined {topic} within 15 s: check --peer");
            }
            let id = node.publish(&topic, &msg).await?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            relay.shutdown().await;
            Ok(id)
        })?;
        let hash = hex::encode(msg.message_hash(&topic));
        Ok(Outcome::ok(
            format!("published on {topic}: message id {message_id} of {} in epoch {epoch}, hash 0x{hash}", self.limit),
            json!({ "pubsub_topic": topic, "epoch": epoch, "message_id": message_id, "message_hash": hash, "gossipsub_id": hex::encode(id) }),
        ))
    }
}
