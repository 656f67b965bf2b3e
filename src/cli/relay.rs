//! `rlnkit relay run | publish`: the rate-limited Waku relay from the command line.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use libp2p::Multiaddr;
use rlnkit::epoch::WAKU_EPOCH_SECONDS;
use rlnkit::relay::{shard_topic, unix_now_ns, NullifierLogLocation, Publisher, RelayBuilder};
use rlnkit::{
    AcceptedRoots, Field, Prover, RlnIdentifier, StaticRoots, UserMessageLimit, Verifier,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::inputs::{members_tree, read_members, write_atomic, IdentityArgs};
use super::{load_keys, GlobalOpts, Outcome};

#[derive(clap::Subcommand, Debug)]
pub(crate) enum RelayCmd {
    /// Run a relay node that validates every message's RLN proof.
    Run(Box<RunArgs>),
    /// Publish one message with an RLN proof (message ids tracked per epoch in a state file).
    Publish(Box<PublishArgs>),
}

impl RelayCmd {
    pub(crate) fn run(self, g: &GlobalOpts) -> Result<Outcome> {
        match self {
            RelayCmd::Run(a) => a.run(g),
            RelayCmd::Publish(a) => a.run(g),
        }
    }
}

/// Relay settings; every field can also come from the TOML file given with `--config`
/// (command-line values win).
#[derive(clap::Args, Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[command(
    after_help = "Example:\n  rlnkit relay run --listen /ip4/0.0.0.0/tcp/60000 --cluster 1 --shard 0 --members members.txt --data-dir relay-data --metrics-port 8008\n\nConfig file (TOML), same names with underscores:\n  listen = [\"/ip4/0.0.0.0/tcp/60000\"]\n  peers = [\"/ip4/10.0.0.2/tcp/60000/p2p/12D3Koo...\"]\n  cluster = 1\n  shards = [0, 1]\n  members = \"members.txt\"\n  data_dir = \"relay-data\"\n  metrics_port = 8008\n  [lightpush]\n  price = \"1000\"\n  credentials = \"0x...\"\n  lightpush_identity = \"operator.json\""
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

    fn run(self, g: &GlobalOpts) -> Result<Outcome> {
        let a = self.merged()?;
        let keys = load_keys(g)?;
        let mut roots: Vec<Field> = a
            .roots
            .iter()
            .map(|r| Field::parse(r).with_context(|| format!("--root {r}")))
            .collect::<Result<_>>()?;
        let mut memberships = None;
        if let Some(m) = &a.members {
            let leaves = read_members(m)?;
            memberships = Some(leaves.len() as u64);
            roots.push(
                rlnkit::MerkleTree::from_leaves(rlnkit::tree::DEFAULT_DEPTH, &leaves)?.root(),
            );
        }
        if roots.is_empty() && a.contract.is_none() {
            bail!("no acceptable roots: pass --contract (the registry's recent roots), --root or --members (or set them in --config)");
        }
        let topics = a.topics();
        let listen = if a.listen.is_empty() {
            vec!["/ip4/0.0.0.0/tcp/60000".to_string()]
        } else {
            a.listen.clone()
        };
        let rln_identifier = parse_identifier(a.rln_identifier.as_deref())?;
        let (listen, peers) = (parse_addrs(&listen)?, parse_addrs(&a.peers)?);
        let rt = tokio::runtime::Runtime::new()?;
        rt.block_on(async move {
            // The registry: read for its roots; written (slashing) only with --slash.
            let (reader, writer) = match &a.contract {
                None => (None, None),
                Some(c) => {
                    let rpc = super::chain::RpcOpts {
                        rpc: a.rpc.clone().unwrap_or_else(|| "http://127.0.0.1:8545".into()),
                        contract: Some(
                            c.parse().with_context(|| format!("--contract {c} is not an address"))?,
                        ),
                        chain_id: None,
                        private_key_file: None,
                    };
                    let writer = if a.slash { Some(rpc.writer().await?) } else { None };
                    let reader = match &writer {
                        Some(w) => w.reader().clone(),
                        None => rpc.reader().await?,
                    };
                    (Some(reader), writer)
                }
            };
            let accepted: Arc<dyn AcceptedRoots> = match reader {
                Some(reader) => {
                    rlnkit::chain::ContractRoots::polling(reader, rlnkit::chain::DEFAULT_ROOT_REFRESH)
                        .await
                        .context("reading the registry's recent roots")?
                }
                None => Arc::new(StaticRoots::new(roots)),
            };
            let mut builder = RelayBuilder::new(Verifier::new(keys.verifying_key()), accepted.clone())
                .topics(topics.clone())
                .rln_identifier(rln_identifier)
                .epoch_seconds(a.epoch_seconds.unwrap_or(WAKU_EPOCH_SECONDS))
                .listen(listen)
                .bootstrap_peers(peers);
            if let Some(d) = &a.data_dir {
                builder = builder.nullifier_log(NullifierLogLocation::Dir(d.clone()));
            }
            if let Some(n) = memberships {
                builder = builder.memberships(n);
            }
            if let Some(port) = a.metrics_port {
                builder = builder.metrics_server(SocketAddr::from(([0, 0, 0, 0], port)));
            }
            if let Some(writer) = writer {
                let receiver = match &a.reward_address {
                    Some(r) => r
                        .parse::<rlnkit::chain::Address>()
                        .with_context(|| format!("--reward-address {r}"))?,
                    None => writer.sender(),
                };
                builder = builder
                    .slashing(Arc::new(writer), rlnkit::incentives::SlashConfig::new(receiver));
            }
            let rpc = a.rpc.clone().unwrap_or_else(|| "http://127.0.0.1:8545".into());
            let lightpush = a
                .lightpush
                .setup(topics.clone(), &rpc, a.members.as_deref(), keys.clone(), a.data_dir.as_deref())
                .await?;
            if let Some(lp) = lightpush {
                builder = builder.lightpush(lp.server);
                if let Some(claimer) = lp.claimer {
                    tokio::spawn(claimer.run());
                }
                eprintln!("serving lightpush v3 ({})", rlnkit::relay::lightpush::LIGHTPUSH_PROTOCOL);
            }
            let mut relay = builder.start().await?;
            let node = relay.node().clone();
            let addrs = node.listen_addrs().await?;
            for addr in &addrs {
                eprintln!("listening on {addr}/p2p/{}", node.peer_id());
            }
            eprintln!(
                "relaying {} with {} acceptable root(s)",
                topics.join(", "),
                accepted.roots().len()
            );
            if let Some(bound) = relay.metrics_addr() {
                eprintln!("metrics on http://{bound}/metrics, health on /health");
            }
            if let Some(path) = &a.ready_file {
                rlnkit::relay::RelayReady::of(&relay).await?.write(path)?;
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
            match a.run_for {
                Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
                None => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            let m = relay.metrics().clone();
            relay.shutdown().await;
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

/// Message ids used per epoch, kept between `relay publish` runs.
#[derive(Serialize, Deserialize, Default)]
struct PublishState {
    used: BTreeMap<u64, u64>,
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  rlnkit relay publish --identity alice.json --limit 10 --members members.txt \\\n    --peer /ip4/127.0.0.1/tcp/60000/p2p/12D3Koo... --content-topic /my-app/1/chat/proto --payload hello"
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
        let state: PublishState = read_state(&state_path)?;
        let keys = load_keys(g)?;
        let mut publisher = Publisher::new(Prover::new(keys), identity, limit, tree.proof(index)?)
            .with_rln_identifier(parse_identifier(self.rln_identifier.as_deref())?)
            .with_epoch_seconds(self.epoch_seconds);
        for (e, u) in &state.used {
            publisher.set_used(*e, *u);
        }
        let now = unix_now_ns();
        let epoch = now / 1_000_000_000 / self.epoch_seconds.max(1);
        let msg = publisher.build(self.payload.as_bytes(), &self.content_topic, now)?;
        let message_id = publisher.used(epoch) - 1;
        let mut state = state;
        state.used = [(epoch, publisher.used(epoch))].into_iter().collect();
        write_atomic(&state_path, serde_json::to_string_pretty(&state)?.as_bytes(), false)?;
        let topic = shard_topic(self.cluster, self.shard);
        let peers = parse_addrs(&self.peers)?;
        let rt = tokio::runtime::Runtime::new()?;
        let id = rt.block_on(async {
            // The publishing node validates what it receives like any relay (no roots: accepts nothing).
            let relay = RelayBuilder::new(
                Verifier::new(&rlnkit::circuit::embedded_verifying_key()),
                Arc::new(StaticRoots::new([])),
            )
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

fn read_state(path: &Path) -> Result<PublishState> {
    match std::fs::read_to_string(path) {
        Ok(t) => serde_json::from_str(&t)
            .with_context(|| format!("{} is not a message id state file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PublishState::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}
