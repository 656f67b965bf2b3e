//! `rlnkit chain | membership | slash | tree sync`: the membership registry from the command line.
//! Keys never come from the command line: RLNKIT_PRIVATE_KEY or --private-key-file.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use rlnkit::chain::{
    Address, DeployConfig, MembershipReader, MembershipWriter, PrivateKeySigner, RpcError,
    SyncOptions, TreeSync, U256,
};
use rlnkit::keystore::{Credential, Keystore};
use rlnkit::Field;
use serde_json::json;

use super::inputs::{write_atomic, IdentityArgs};
use super::proofs::read_proof;
use super::{GlobalOpts, Outcome};

/// The hint for a registry address without code.
const CONTRACT_HINT: &str = "check --contract";

/// Where the chain is and who signs.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct RpcOpts {
    /// JSON-RPC endpoint.
    #[arg(
        long,
        env = "RLNKIT_RPC_URL",
        default_value = "http://127.0.0.1:8545",
        value_name = "URL"
    )]
    pub(crate) rpc: String,
    /// The registry (proxy) address.
    #[arg(long, env = "RLNKIT_CONTRACT", value_name = "ADDRESS")]
    pub(crate) contract: Option<Address>,
    /// Refuse to talk to an endpoint on another chain.
    #[arg(long, env = "RLNKIT_CHAIN_ID", value_name = "ID")]
    pub(crate) chain_id: Option<u64>,
    /// File holding the hex private key that signs transactions (else RLNKIT_PRIVATE_KEY).
    #[arg(long, env = "RLNKIT_PRIVATE_KEY_FILE", value_name = "FILE")]
    pub(crate) private_key_file: Option<PathBuf>,
}

impl RpcOpts {
    /// The signer, if one is configured.
    pub(crate) fn signer(&self) -> Result<Option<PrivateKeySigner>> {
        if let Some(f) = &self.private_key_file {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("reading private key file {}", f.display()))?;
            return Ok(Some(
                rlnkit::chain::parse_private_key(&text)
                    .with_context(|| format!("private key file {}", f.display()))?,
            ));
        }
        match std::env::var("RLNKIT_PRIVATE_KEY") {
            Ok(k) => Ok(Some(rlnkit::chain::parse_private_key(&k).context("RLNKIT_PRIVATE_KEY")?)),
            Err(_) => Ok(None),
        }
    }

    pub(crate) fn contract(&self) -> Result<Address> {
        self.contract.context("no registry: pass --contract ADDRESS or set RLNKIT_CONTRACT (see `rlnkit chain deploy`)")
    }

    /// A reader of the registry (no signer needed).
    pub(crate) async fn reader(&self) -> Result<MembershipReader> {
        let c = MembershipReader::connect(&self.rpc, self.contract()?, self.chain_id).await;
        c.map_err(|e| explain(e.rpc().and_then(|r| rpc_hint(r, CONTRACT_HINT)), e))
    }

    /// A writer of the registry: needs the signer.
    pub(crate) async fn writer(&self) -> Result<MembershipWriter> {
        let Some(signer) = self.signer()? else {
            bail!("this command sends transactions: set RLNKIT_PRIVATE_KEY or pass --private-key-file FILE");
        };
        let c = MembershipWriter::connect(&self.rpc, signer, self.contract()?, self.chain_id).await;
        c.map_err(|e| explain(e.rpc().and_then(|r| rpc_hint(r, CONTRACT_HINT)), e))
    }
}

/// The flag that fixes an endpoint's error, if one does (`no_contract`: the hint when no
/// contract is at the address given).
pub(crate) fn rpc_hint(e: &RpcError, no_contract: &'static str) -> Option<&'static str> {
    match e {
        RpcError::WrongChain { .. } => Some("check --rpc and --chain-id"),
        RpcError::NoContract { .. } => Some(no_contract),
        RpcError::Unreachable { .. } | RpcError::BadUrl { .. } => Some("check --rpc"),
        _ => None,
    }
}

/// The library's error, with the flag that fixes it as context.
pub(crate) fn explain(
    hint: Option<&'static str>,
    e: impl std::error::Error + Send + Sync + 'static,
) -> anyhow::Error {
    match hint {
        Some(h) => anyhow::Error::new(e).context(h),
        None => e.into(),
    }
}

/// Runs a future on a fresh tokio runtime.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(f))
}

fn parse_field_list(items: &[String]) -> Result<Vec<Field>> {
    items
        .iter()
        .map(|s| Field::parse(s).with_context(|| format!("{s:?} is not a field element")))
        .collect()
}

fn tokens(v: U256) -> String {
    let unit = U256::from(rlnkit::chain::TOKEN_UNIT);
    let (whole, frac) = (v / unit, v % unit);
    format!("{whole}.{:018}", frac.to::<u128>())
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}

// ------------------------------------------------------------------------------------ chain

#[derive(clap::Subcommand, Debug)]
pub(crate) enum ChainCmd {
    /// Deploy the registry (Poseidon libraries, test token unless --token, price calculator,
    /// implementation + ERC1967 proxy) with the Waku network's parameters.
    #[command(
        after_help = "Example (anvil's first account):\n  export RLNKIT_PRIVATE_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n  read -r RLNKIT_CONTRACT TOKEN <<< \"$(rlnkit chain deploy --get registry,token)\"\n  export RLNKIT_CONTRACT"
    )]
    Deploy(DeployArgs),
    /// The endpoint's chain id and latest block; `--wait` waits for a chain that is starting.
    #[command(
        after_help = "Example:\n  node_modules/.bin/anvil --silent &\n  rlnkit chain status --wait 30"
    )]
    Status(StatusArgs),
}

#[derive(clap::Args, Debug)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    rpc: RpcOpts,
    /// Keep trying for up to this many seconds while the endpoint does not answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    wait: u64,
}

impl StatusArgs {
    fn run(self) -> Result<Outcome> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(self.wait);
        let (chain_id, block) = block_on(async {
            loop {
                let r = async {
                    let (p, id) =
                        rlnkit::chain::connect_provider(&self.rpc.rpc, None, self.rpc.chain_id)
                            .await?;
                    let block =
                        alloy::providers::Provider::get_block_number(&p).await.map_err(|e| {
                            RpcError::Unreachable { url: self.rpc.rpc.clone(), source: e }
                        })?;
                    Ok::<_, RpcError>((id, block))
                }
                .await;
                match r {
                    Err(RpcError::Unreachable { .. }) if std::time::Instant::now() < deadline => {
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await
                    }
                    r => return r,
                }
            }
        })?
        .map_err(|e| explain(rpc_hint(&e, CONTRACT_HINT), e))?;
        Ok(Outcome::ok(
            format!("chain {chain_id} at {}, block {block}", self.rpc.rpc),
            json!({ "rpc": self.rpc.rpc, "chain_id": chain_id, "block": block }),
        ))
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct DeployArgs {
    #[command(flatten)]
    rpc: RpcOpts,
    /// Existing ERC20 deposit token (default: deploy an unrestricted test token).
    #[arg(long, value_name = "ADDRESS")]
    token: Option<Address>,
    /// Slash proceeds beyond the reward go here (default: the deployer).
    #[arg(long, value_name = "ADDRESS")]
    treasury: Option<Address>,
    /// Reward share of a slash, basis points (default and maximum 5000).
    #[arg(long, value_name = "BPS")]
    slash_reward_bps: Option<u16>,
    /// Slash reveal window in blocks (default 256).
    #[arg(long, value_name = "BLOCKS")]
    reveal_window: Option<u32>,
    /// Lock of erased memberships' deposits in blocks, counted from when their leaves left the
    /// tree (default 7200); above the reveal window plus the root acceptance window.
    #[arg(long, value_name = "BLOCKS")]
    withdrawal_delay: Option<u32>,
    /// How long relays accept a root after it was superseded, seconds (default 300): above the
    /// publishers' sync interval and the relays' refresh interval (docs/ROOTS.md).
    #[arg(long, value_name = "SECONDS")]
    root_acceptance_window: Option<u32>,
    /// Active period of new memberships, seconds (default 180 days).
    #[arg(long, value_name = "SECONDS")]
    active_duration: Option<u32>,
    /// Grace period, seconds (default 30 days).
    #[arg(long, value_name = "SECONDS")]
    grace_period: Option<u32>,
    /// Write the deployment (addresses, chain id, block) as JSON here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

impl ChainCmd {
    pub(crate) fn run(self, _g: &GlobalOpts) -> Result<Outcome> {
        let a = match self {
            ChainCmd::Deploy(a) => a,
            ChainCmd::Status(s) => return s.run(),
        };
        let signer = a.rpc.signer()?.context(
            "deploying needs a signer: set RLNKIT_PRIVATE_KEY or pass --private-key-file FILE",
        )?;
        let d = DeployConfig::default();
        let cfg = DeployConfig {
            token: a.token,
            treasury: a.treasury,
            slash_reward_bps: a.slash_reward_bps,
            slash_reveal_window: a.reveal_window,
            withdrawal_delay: a.withdrawal_delay,
            root_acceptance_window: a.root_acceptance_window,
            active_duration: a.active_duration.unwrap_or(d.active_duration),
            grace_period: a.grace_period.unwrap_or(d.grace_period),
            ..d
        };
        let (_, dep) =
            block_on(rlnkit::chain::deploy_registry(&a.rpc.rpc, signer, a.rpc.chain_id, &cfg))??;
        if let Some(out) = &a.out {
            write_atomic(out, serde_json::to_string_pretty(&dep)?.as_bytes(), false)?;
        }
        Ok(Outcome::ok(
            format!(
                "registry {} (chain {}, block {})\n  implementation {}\n  token {}\n  price calculator {}\nexport RLNKIT_CONTRACT={}",
                dep.registry, dep.chain_id, dep.deployed_block, dep.implementation, dep.token, dep.price_calculator, dep.registry
            ),
            &dep,
        ))
    }
}

// ------------------------------------------------------------------------------------ membership

#[derive(clap::Subcommand, Debug)]
pub(crate) enum MembershipCmd {
    /// Register a membership (approves the deposit first), optionally saving it to a keystore.
    #[command(
        after_help = "Example:\n  rlnkit id new --seed alice --limit 10 --out alice.json\n  rlnkit membership register --identity alice.json --limit 20 --mint\n\n--keystore FILE (with RLNKIT_KEYSTORE_PASSWORD) also saves the membership in an nwaku / js-waku keystore."
    )]
    Register(RegisterArgs),
    /// Extend your memberships that are in their grace period.
    Extend {
        #[command(flatten)]
        rpc: RpcOpts,
        /// Id commitments (decimal or 0x-hex).
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
    /// Erase memberships (expired ones, or your own in grace period); --full also clears their leaves
    /// (a deposit is released only the withdrawal delay after its leaf left the tree: without --full,
    /// when its slot is reused).
    Erase {
        #[command(flatten)]
        rpc: RpcOpts,
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
        #[arg(long)]
        full: bool,
    },
    /// Withdraw released deposits, slash rewards and treasury shares.
    Withdraw {
        #[command(flatten)]
        rpc: RpcOpts,
        /// Token (default: the registry's deposit token).
        #[arg(long, value_name = "ADDRESS")]
        token: Option<Address>,
    },
    /// Show a membership.
    #[command(
        after_help = "Example:\n  rlnkit membership info \"$(rlnkit id inspect alice.json --get commitment)\""
    )]
    Info {
        #[command(flatten)]
        rpc: RpcOpts,
        /// The member's id commitment (hex or decimal; `rlnkit id inspect FILE --get commitment`).
        #[arg(value_name = "ID")]
        id: String,
    },
    /// The Merkle path of a leaf from the contract (stateless: no sync needed).
    Proof {
        #[command(flatten)]
        rpc: RpcOpts,
        #[arg(long, value_name = "I")]
        index: u32,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The registry's root and recent roots.
    Roots {
        #[command(flatten)]
        rpc: RpcOpts,
    },
}

#[derive(clap::Args, Debug)]
pub(crate) struct RegisterArgs {
    #[command(flatten)]
    rpc: RpcOpts,
    #[command(flatten)]
    identity: IdentityArgs,
    /// Messages per epoch.
    #[arg(long, value_name = "N")]
    limit: u32,
    /// Erase these memberships first (expired, or yours in grace period) to reuse their slots.
    #[arg(long, value_name = "ID")]
    erase: Vec<String>,
    /// Mint the deposit first (local chains with the test token only).
    #[arg(long)]
    mint: bool,
    /// Save the credential to this nwaku-compatible keystore (password: RLNKIT_KEYSTORE_PASSWORD).
    #[arg(long, value_name = "FILE")]
    keystore: Option<PathBuf>,
}

impl MembershipCmd {
    pub(crate) fn run(self, _g: &GlobalOpts) -> Result<Outcome> {
        block_on(self.run_async())?
    }

    async fn run_async(self) -> Result<Outcome> {
        match self {
            MembershipCmd::Register(a) => {
                let id = a.identity.load()?;
                let password = match &a.keystore {
                    Some(_) => Some(keystore_password()?),
                    None => None,
                };
                let c = a.rpc.writer().await?;
                if a.mint {
                    let (token, amount) = c.price(a.limit).await?;
                    c.dev().mint_test_tokens(token, c.sender(), amount).await?;
                }
                let reg =
                    c.register(id.commitment(), a.limit, &parse_field_list(&a.erase)?).await?;
                let mut text = format!(
                    "registered at index {} (block {}, deposit {} tokens)\nrate commitment {}",
                    reg.index,
                    reg.block,
                    tokens(reg.deposit),
                    reg.rate_commitment
                );
                let mut saved = None;
                if let (Some(path), Some(pw)) = (&a.keystore, password) {
                    let cred = Credential::new(
                        id.clone(),
                        c.chain_id(),
                        &c.registry().to_checksum(None), // as nwaku's and js-waku's docs spell it
                        reg.index,
                        a.limit,
                    );
                    let hash = Keystore::open_or_create(path)?.add(&cred, pw.as_bytes())?;
                    text.push_str(&format!("\nsaved to {} as {hash}", path.display()));
                    saved = Some(hash);
                }
                Ok(Outcome::ok(
                    text,
                    json!({ "registration": reg, "id_commitment": id.commitment(), "keystore_hash": saved }),
                ))
            }
            MembershipCmd::Extend { rpc, ids } => {
                let tx = rpc.writer().await?.extend(&parse_field_list(&ids)?).await?;
                Ok(Outcome::ok(
                    format!("extended {} membership(s) in {tx}", ids.len()),
                    json!({ "tx": tx }),
                ))
            }
            MembershipCmd::Erase { rpc, ids, full } => {
                let tx = rpc.writer().await?.erase(&parse_field_list(&ids)?, full).await?;
                Ok(Outcome::ok(
                    format!(
                        "erased {} membership(s) ({}) in {tx}",
                        ids.len(),
                        if full { "leaves cleared" } else { "lazily" }
                    ),
                    json!({ "tx": tx, "full": full }),
                ))
            }
            MembershipCmd::Withdraw { rpc, token } => {
                let amount = rpc.writer().await?.withdraw(token).await?;
                Ok(Outcome::ok(
                    format!("withdrew {} tokens", tokens(amount)),
                    json!({ "amount": amount.to_string() }),
                ))
            }
            MembershipCmd::Info { rpc, id } => {
                let id = Field::parse(&id).context("the id commitment")?;
                match rpc.reader().await?.membership_info(id).await? {
                    None => Ok(Outcome::ok(format!("{id}: not registered"), json!({ "registered": false }))),
                    Some(m) => Ok(Outcome::ok(
                        format!(
                            "index {}\nrate limit {}\nleaf {}\nholder {}\ndeposit {} tokens\nexpires at {} (unix){}",
                            m.index,
                            m.rate_limit,
                            m.rate_commitment,
                            m.holder,
                            tokens(m.deposit),
                            m.expiration,
                            if m.expired { " - expired" } else if m.in_grace_period { " - in grace period" } else { "" }
                        ),
                        json!({ "registered": true, "membership": m }),
                    )),
                }
            }
            MembershipCmd::Proof { rpc, index, out } => {
                let p = rpc.reader().await?.merkle_proof(index).await?;
                let s = serde_json::to_string_pretty(&p)?;
                if let Some(o) = out {
                    write_atomic(&o, s.as_bytes(), false)?;
                    return Ok(Outcome::ok(
                        format!("path of leaf {index} written to {}", o.display()),
                        json!({ "written_to": o }),
                    ));
                }
                Ok(Outcome::ok(s, &p))
            }
            MembershipCmd::Roots { rpc } => {
                let c = rpc.reader().await?;
                let (root, recent) = (c.root().await?, c.recent_roots().await?);
                Ok(Outcome::ok(
                    format!(
                        "root {root}\nrecent {}",
                        recent.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("\n       ")
                    ),
                    json!({ "root": root, "recent_roots": recent }),
                ))
            }
        }
    }
}

pub(crate) fn keystore_password() -> Result<String> {
    std::env::var("RLNKIT_KEYSTORE_PASSWORD")
        .context("set RLNKIT_KEYSTORE_PASSWORD to the keystore password")
}

// ------------------------------------------------------------------------------------ slash

/// The spammer's identity secret: from two proofs with the same nullifier, or an env variable.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct SecretArgs {
    /// Two proofs (files or hex) of the same member with the same nullifier.
    #[arg(long, num_args = 2, value_names = ["PROOF_A", "PROOF_B"])]
    proofs: Option<Vec<String>>,
    /// Environment variable holding the secret (decimal or 0x-hex).
    #[arg(long, value_name = "VAR", default_value = "RLNKIT_SLASH_SECRET")]
    secret_env: String,
    /// Who gets the reward (default: the sender).
    #[arg(long, value_name = "ADDRESS")]
    receiver: Option<Address>,
}

impl SecretArgs {
    fn secret(&self) -> Result<Field> {
        if let Some(p) = &self.proofs {
            let (a, b) = (read_proof(&p[0])?, read_proof(&p[1])?);
            return Ok(rlnkit::recover_secret(&a.values, &b.values)?);
        }
        let v = std::env::var(&self.secret_env)
            .with_context(|| format!("no secret: pass --proofs A B or set {}", self.secret_env))?;
        Field::parse(&v).with_context(|| format!("environment variable {}", self.secret_env))
    }
}

#[derive(clap::Subcommand, Debug)]
pub(crate) enum SlashCmd {
    /// Commit, wait for the next block, reveal: slash a spammer and collect the reward.
    #[command(
        after_help = "Example:\n  rlnkit slash run --proofs p1.json p2.json\n  rlnkit membership withdraw"
    )]
    Run {
        #[command(flatten)]
        rpc: RpcOpts,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// Step 1 only: commit to (secret, receiver, sender).
    Commit {
        #[command(flatten)]
        rpc: RpcOpts,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// Step 2 only: reveal (at least one block after the commit, within the reveal window).
    Reveal {
        #[command(flatten)]
        rpc: RpcOpts,
        #[command(flatten)]
        secret: SecretArgs,
    },
}

impl SlashCmd {
    pub(crate) fn run(self, _g: &GlobalOpts) -> Result<Outcome> {
        block_on(async move {
            match self {
                SlashCmd::Run { rpc, secret } => {
                    let s = secret.secret()?;
                    let c = rpc.writer().await?;
                    let to = secret.receiver.unwrap_or(c.sender());
                    let config = rlnkit::incentives::SlashConfig::new(to);
                    let (commit, out) = rlnkit::incentives::slash_member(&c, &config, s).await;
                    let commit = commit.context("the slash commitment was not mined")?;
                    let out = out.context("the reveal failed")?;
                    Ok(Outcome::ok(
                        format!("committed in block {}, revealed in block {}: membership {} (index {}) slashed\nreward {} tokens to {}, treasury {} tokens", commit.block, out.block, out.id_commitment, out.index, tokens(out.reward), out.reward_receiver, tokens(out.treasury_amount)),
                        json!({ "commit": commit, "slash": { "id_commitment": out.id_commitment, "index": out.index, "reward_receiver": out.reward_receiver, "reward": out.reward.to_string(), "treasury_amount": out.treasury_amount.to_string(), "tx": out.tx, "block": out.block } }),
                    ))
                }
                SlashCmd::Commit { rpc, secret } => {
                    let s = secret.secret()?;
                    let c = rpc.writer().await?;
                    let to = secret.receiver.unwrap_or(c.sender());
                    let commit = c.commit_slash(s, to).await?;
                    Ok(Outcome::ok(
                        format!(
                            "committed {} in block {}: reveal in blocks {}..={}",
                            commit.commitment,
                            commit.block,
                            commit.first_reveal_block,
                            commit.last_reveal_block
                        ),
                        &commit,
                    ))
                }
                SlashCmd::Reveal { rpc, secret } => {
                    let s = secret.secret()?;
                    let c = rpc.writer().await?;
                    let to = secret.receiver.unwrap_or(c.sender());
                    let out = c.reveal_slash(s, to).await?;
                    Ok(Outcome::ok(
                        format!("membership {} (index {}) slashed: reward {} tokens, treasury {} tokens", out.id_commitment, out.index, tokens(out.reward), tokens(out.treasury_amount)),
                        json!({ "id_commitment": out.id_commitment, "index": out.index, "reward": out.reward.to_string(), "treasury_amount": out.treasury_amount.to_string(), "tx": out.tx }),
                    ))
                }
            }
        })?
    }
}

// ------------------------------------------------------------------------------------ tree sync

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example (again later: it resumes where it stopped):\n  rlnkit tree sync --db tree.redb"
)]
pub(crate) struct TreeSyncArgs {
    #[command(flatten)]
    rpc: RpcOpts,
    /// The tree database (created if missing).
    #[arg(long, value_name = "FILE", default_value = "rlnkit-tree.redb")]
    db: PathBuf,
    /// Blocks per eth_getLogs request.
    #[arg(long, default_value_t = 2000, value_name = "N")]
    chunk_blocks: u64,
    /// Stay this many blocks behind the head.
    #[arg(long, default_value_t = 0, value_name = "N")]
    confirmations: u64,
    /// Stop at this block.
    #[arg(long, value_name = "N")]
    to_block: Option<u64>,
}

impl TreeSyncArgs {
    pub(crate) fn run(self, g: &GlobalOpts) -> Result<Outcome> {
        let show_bar = !g.json && std::io::stderr().is_terminal();
        block_on(async move {
            let client = self.rpc.reader().await?;
            let opts = SyncOptions {
                chunk_blocks: self.chunk_blocks,
                confirmations: self.confirmations,
                to_block: self.to_block,
                ..SyncOptions::default()
            };
            let t = std::time::Instant::now();
            let mut sync = TreeSync::open(client, &self.db, opts)
                .await
                .with_context(|| format!("opening {}", self.db.display()))?;
            let load_ms = t.elapsed().as_millis();
            let bar = if show_bar {
                indicatif::ProgressBar::new(0)
            } else {
                indicatif::ProgressBar::hidden()
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} blocks {pos}/{len} [{bar:30}] {msg} ({eta})",
                )
                .expect("template")
                .progress_chars("=> "),
            );
            let report = sync
                .sync(|p| {
                    bar.set_length(p.to_block.saturating_sub(p.from_block) + 1);
                    bar.set_position(p.current_block.saturating_sub(p.from_block) + 1);
                    bar.set_message(format!("{} events, {} leaves", p.events, p.leaves));
                })
                .await?;
            bar.finish_and_clear();
            let mut text = format!(
                "synced blocks {}..={} ({} events in {} chunks, {} ms; store loaded in {load_ms} ms)\nmembers {}\nroot {}",
                report.from_block, report.to_block, report.events, report.chunks, report.elapsed_ms, report.members, report.root
            );
            if let Some((b, n)) = report.rolled_back_to {
                text.push_str(&format!(
                    "\nreorg: rolled back to block {b} ({n} leaf changes undone)"
                ));
            }
            Ok(Outcome::ok(
                text,
                json!({ "report": report, "load_ms": load_ms, "db": self.db, "disk_bytes": sync.store().disk_bytes() }),
            ))
        })?
    }
}
