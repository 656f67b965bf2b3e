//! `rlnkit credentials ...` (escrows, signers, claims), `rlnkit lightpush` (a paid push) and the
//! `relay run --lightpush` options: the command line of service credentials.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use rlnkit::chain::{Address, PrivateKeySigner, U256};
use rlnkit::credentials::{
    ClaimPolicy, Claimer, CredentialsConfig, CredentialsError, CredentialsReader,
    CredentialsWriter, Offer, PaidService, PaymentLedger, PaymentStream, LIGHTPUSH_SERVICE_ID,
};
use rlnkit::lightpush::{LightpushClient, StatusCode};
use rlnkit::relay::unix_now_ns;
use rlnkit::relay::{shard_topic, WakuMessage};
use rlnkit::service::{LightpushConfig, OperatorMembership, PaidConfig};
use rlnkit::{Field, UserMessageLimit};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::inputs::IdentityArgs;
use super::{GlobalOpts, Outcome};

/// Where the ServiceCredentials contract is and who signs.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct CredOpts {
    /// JSON-RPC endpoint.
    #[arg(
        long,
        env = "RLNKIT_RPC_URL",
        default_value = "http://127.0.0.1:8545",
        value_name = "URL"
    )]
    pub(crate) rpc: String,
    /// The ServiceCredentials contract.
    #[arg(long, env = "RLNKIT_CREDENTIALS", value_name = "ADDRESS")]
    pub(crate) credentials: Option<Address>,
    /// Refuse an endpoint on another chain.
    #[arg(long, env = "RLNKIT_CHAIN_ID", value_name = "ID")]
    pub(crate) chain_id: Option<u64>,
    /// File with the hex private key that signs transactions (else RLNKIT_PRIVATE_KEY).
    #[arg(long, env = "RLNKIT_PRIVATE_KEY_FILE", value_name = "FILE")]
    pub(crate) private_key_file: Option<PathBuf>,
}

pub(crate) fn read_key(file: Option<&Path>, env: &str) -> Result<Option<PrivateKeySigner>> {
    if let Some(f) = file {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("reading private key file {}", f.display()))?;
        return Ok(Some(
            rlnkit::chain::parse_private_key(&text)
                .with_context(|| format!("private key file {}", f.display()))?,
        ));
    }
    match std::env::var(env) {
        Ok(k) => Ok(Some(rlnkit::chain::parse_private_key(&k).with_context(|| env.to_string())?)),
        Err(_) => Ok(None),
    }
}

impl CredOpts {
    fn signer(&self) -> Result<Option<PrivateKeySigner>> {
        read_key(self.private_key_file.as_deref(), "RLNKIT_PRIVATE_KEY")
    }

    fn need_signer(&self) -> Result<PrivateKeySigner> {
        self.signer()?.context("no signer: set RLNKIT_PRIVATE_KEY or pass --private-key-file")
    }

    fn contract(&self) -> Result<Address> {
        self.credentials
            .context("no contract: pass --credentials ADDRESS or set RLNKIT_CREDENTIALS (see `rlnkit credentials deploy`)")
    }

    /// Reads need no key.
    async fn reader(&self) -> Result<CredentialsReader> {
        CredentialsReader::connect(&self.rpc, self.contract()?, self.chain_id)
            .await
            .map_err(explain_connect)
    }

    /// Transactions are signed with the key of RLNKIT_PRIVATE_KEY or --private-key-file.
    async fn writer(&self) -> Result<CredentialsWriter> {
        CredentialsWriter::connect(&self.rpc, self.need_signer()?, self.contract()?, self.chain_id)
            .await
            .map_err(explain_connect)
    }
}

/// A failed connection, with the flag that fixes it.
fn explain_connect(e: CredentialsError) -> anyhow::Error {
    let hint = e.rpc().and_then(|r| super::chain::rpc_hint(r, "check --credentials"));
    super::chain::explain(hint, e)
}

fn amount(s: &str) -> Result<U256> {
    s.parse::<U256>().with_context(|| format!("{s} is not an amount in token units"))
}

#[derive(clap::Subcommand, Debug)]
pub(crate) enum CredentialsCmd {
    /// Deploy a ServiceCredentials contract (local chains, demos).
    Deploy(DeployArgs),
    /// Operator: register (or update) the lightpush service's price and payout.
    Register(RegisterArgs),
    /// Payer: deposit tokens into the escrow for a provider (approves first).
    Deposit(DepositArgs),
    /// Payer: authorize a hot key to sign vouchers.
    Authorize(SignerArgs),
    /// Payer: start revoking a hot key (`--finish` completes it after the signer thaw).
    Revoke(RevokeArgs),
    /// Payer: start (amount 0: cancel) a thaw of the escrow.
    Thaw(DepositArgs),
    /// Payer: withdraw the thawed amount after the thaw period.
    Withdraw(ProviderArgs),
    /// An escrow's balance, thaw and what was collected.
    Balance(BalanceArgs),
    /// Operator: claim every served voucher in the store in one transaction.
    Claim(StoreArgs),
    /// Operator: served vouchers in the store and what is left to claim.
    Status(StoreArgs),
}

impl CredentialsCmd {
    pub(crate) fn run(self, _g: &GlobalOpts) -> Result<Outcome> {
        let rt = tokio::runtime::Runtime::new()?;
        rt.block_on(async move {
            match self {
                CredentialsCmd::Deploy(a) => a.run().await,
                CredentialsCmd::Register(a) => a.run().await,
                CredentialsCmd::Deposit(a) => a.deposit().await,
                CredentialsCmd::Authorize(a) => a.run().await,
                CredentialsCmd::Revoke(a) => a.run().await,
                CredentialsCmd::Thaw(a) => a.thaw().await,
                CredentialsCmd::Withdraw(a) => a.run().await,
                CredentialsCmd::Balance(a) => a.run().await,
                CredentialsCmd::Claim(a) => a.claim().await,
                CredentialsCmd::Status(a) => a.status().await,
            }
        })
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct DeployArgs {
    #[command(flatten)]
    opts: CredOpts,
    /// Receives the protocol fee. Default: the deployer.
    #[arg(long, value_name = "ADDRESS")]
    treasury: Option<Address>,
    /// Protocol fee in basis points (at most 1000).
    #[arg(long, default_value_t = 250)]
    fee_bps: u16,
    /// Escrow thaw period in seconds.
    #[arg(long, default_value_t = 86_400)]
    thaw_period: u64,
    /// Signer revocation period in seconds; the contract raises a shorter one to the thaw period
    /// (a revocation never takes effect inside an escrow thaw).
    #[arg(long, default_value_t = 86_400)]
    signer_thaw_period: u64,
}

impl DeployArgs {
    async fn run(self) -> Result<Outcome> {
        let key = self.opts.need_signer()?;
        let me = key.address();
        let config = CredentialsConfig {
            owner: me,
            treasury: self.treasury.unwrap_or(me),
            fee_bps: self.fee_bps,
            thaw_period: self.thaw_period,
            signer_thaw_period: self.signer_thaw_period,
        };
        let c = CredentialsWriter::deploy(&self.opts.rpc, key, config).await?;
        Ok(Outcome::ok(
            format!(
                "ServiceCredentials at {} (chain {}), fee {} bps",
                c.address(),
                c.chain_id(),
                self.fee_bps
            ),
            json!({ "credentials": c.address(), "chain_id": c.chain_id(), "config": config }),
        ))
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct RegisterArgs {
    #[command(flatten)]
    opts: CredOpts,
    /// The ERC20 token of the price.
    #[arg(long, value_name = "ADDRESS")]
    token: Address,
    /// Price of one lightpush request, in token units.
    #[arg(long, value_name = "AMOUNT")]
    price: String,
    /// Where earnings go. Default: the signer.
    #[arg(long, value_name = "ADDRESS")]
    payout: Option<Address>,
}

impl RegisterArgs {
    async fn run(self) -> Result<Outcome> {
        let c = self.opts.writer().await?;
        let me = c.sender();
        let payout = self.payout.unwrap_or(me);
        let price = amount(&self.price)?;
        let tx = c.register_service(LIGHTPUSH_SERVICE_ID, self.token, price, payout).await?;
        Ok(Outcome::ok(
            format!(
                "lightpush service of {me}: {price} per request in {}, paid to {payout}",
                self.token
            ),
            json!({ "provider": me, "token": self.token, "price": price.to_string(), "payout": payout, "tx": tx }),
        ))
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct ProviderArgs {
    #[command(flatten)]
    opts: CredOpts,
    /// The provider (node operator) address.
    #[arg(long, value_name = "ADDRESS")]
    provider: Address,
    /// Token. Default: the provider's lightpush token.
    #[arg(long, value_name = "ADDRESS")]
    token: Option<Address>,
}

impl ProviderArgs {
    async fn token(&self, c: &CredentialsReader) -> Result<Address> {
        match self.token {
            Some(t) => Ok(t),
            None => Ok(c.service(self.provider, LIGHTPUSH_SERVICE_ID).await?.token),
        }
    }

    async fn run(self) -> Result<Outcome> {
        let c = self.opts.writer().await?;
        let token = self.token(&c).await?;
        let got = c.withdraw(self.provider, token).await?;
        Ok(Outcome::ok(format!("withdrew {got}"), json!({ "withdrawn": got.to_string() })))
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct DepositArgs {
    #[command(flatten)]
    p: ProviderArgs,
    /// Amount in token units.
    #[arg(long, value_name = "AMOUNT")]
    amount: String,
}

impl DepositArgs {
    async fn deposit(self) -> Result<Outcome> {
        let c = self.p.opts.writer().await?;
        let token = self.p.token(&c).await?;
        let a = amount(&self.amount)?;
        let tx = c.deposit(self.p.provider, token, a).await?;
        Ok(Outcome::ok(
            format!("deposited {a} for provider {}", self.p.provider),
            json!({ "provider": self.p.provider, "token": token, "amount": a.to_string(), "tx": tx }),
        ))
    }

    async fn thaw(self) -> Result<Outcome> {
        let c = self.p.opts.writer().await?;
        let token = self.p.token(&c).await?;
        let a = amount(&self.amount)?;
        let tx = c.thaw(self.p.provider, token, a).await?;
        let e = c.escrow(c.sender(), self.p.provider, token).await?;
        Ok(Outcome::ok(
            format!("thawing {a}: withdrawable from unix time {}", e.thaw_end),
            json!({ "amount": a.to_string(), "thaw_end": e.thaw_end, "tx": tx }),
        ))
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct SignerArgs {
    #[command(flatten)]
    opts: CredOpts,
    /// The hot key's address.
    #[arg(long, value_name = "ADDRESS")]
    signer: Address,
}

impl SignerArgs {
    async fn run(self) -> Result<Outcome> {
        let c = self.opts.writer().await?;
        let tx = c.authorize_signer(self.signer).await?;
        Ok(Outcome::ok(
            format!("authorized signer {}", self.signer),
            json!({ "signer": self.signer, "tx": tx }),
        ))
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    s: SignerArgs,
    /// Complete a revocation whose time has come.
    #[arg(long)]
    finish: bool,
}

impl RevokeArgs {
    async fn run(self) -> Result<Outcome> {
        let c = self.s.opts.writer().await?;
        let tx = if self.finish {
            c.revoke_signer(self.s.signer).await?
        } else {
            c.start_signer_revocation(self.s.signer).await?
        };
        let what = if self.finish { "revoked" } else { "revocation started for" };
        Ok(Outcome::ok(
            format!("{what} signer {}", self.s.signer),
            json!({ "signer": self.s.signer, "finished": self.finish, "tx": tx }),
        ))
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct BalanceArgs {
    #[command(flatten)]
    p: ProviderArgs,
    /// The payer. Default: the signer.
    #[arg(long, value_name = "ADDRESS")]
    payer: Option<Address>,
}

impl BalanceArgs {
    async fn run(self) -> Result<Outcome> {
        let c = self.p.opts.reader().await?;
        let token = self.p.token(&c).await?;
        let signer = self.p.opts.signer()?.map(|k| k.address());
        let payer = self.payer.or(signer).context("pass --payer or a signer")?;
        let e = c.escrow(payer, self.p.provider, token).await?;
        Ok(Outcome::ok(
            format!(
                "escrow {payer} -> {}: balance {}, collected {}, thawing {} (ends {})",
                self.p.provider, e.balance, e.collected, e.thaw_amount, e.thaw_end
            ),
            json!({ "payer": payer, "provider": self.p.provider, "token": token, "balance": e.balance.to_string(), "collected": e.collected.to_string(), "thaw_amount": e.thaw_amount.to_string(), "thaw_end": e.thaw_end }),
        ))
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct StoreArgs {
    #[command(flatten)]
    opts: CredOpts,
    /// The relay's voucher store (`<data-dir>/vouchers.redb`).
    #[arg(long, value_name = "FILE")]
    store: PathBuf,
}

impl StoreArgs {
    async fn claimer(&self) -> Result<Claimer> {
        let c = self.opts.writer().await?;
        let paid = PaidService::resume(c, &self.store, ClaimPolicy::default())
            .await
            .with_context(|| format!("opening {}", self.store.display()))?;
        Ok(paid.claimer)
    }

    async fn claim(self) -> Result<Outcome> {
        let mut claimer = self.claimer().await?;
        match claimer.claim_now().await? {
            Some(r) => Ok(Outcome::ok(
                format!("claimed {} (fee {}) in {}", r.paid, r.fee, r.tx),
                json!({ "paid": r.paid.to_string(), "fee": r.fee.to_string(), "tx": r.tx }),
            )),
            None => Ok(Outcome::ok("nothing to claim", json!({ "paid": "0" }))),
        }
    }

    async fn status(self) -> Result<Outcome> {
        let mut claimer = self.claimer().await?;
        claimer.sync().await?;
        let (vouchers, total) = claimer.unclaimed()?;
        Ok(Outcome::ok(
            format!("{} payer(s) with unclaimed vouchers, {total} to claim", vouchers.len()),
            json!({ "unclaimed": total.to_string(), "payers": vouchers.iter().map(|v| json!({ "payer": v.voucher.payer, "cumulative": v.voucher.cumulativeAmount.to_string() })).collect::<Vec<_>>() }),
        ))
    }
}

/// `rlnkit lightpush`: push messages through a paid service node.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example (RLNKIT_CREDENTIALS: the contract; $SERVICE: the relay's address):\n  rlnkit lightpush --provider $OPERATOR --peer \"$SERVICE\" \\\n    --content-topic /app/1/t/proto --payload hi --count 3\n\nThe payer's key (RLNKIT_PRIVATE_KEY) signs the vouchers, or a hot key from --signer-key-file\nthat the payer authorized (`rlnkit credentials authorize`); the running total per provider is\nkept in --state. A 402 that states the expected amount is corrected and retried once."
)]
pub(crate) struct LightpushArgs {
    #[command(flatten)]
    opts: CredOpts,
    /// The service node (multiaddr with /p2p/<id>).
    #[arg(long, value_name = "MULTIADDR")]
    peer: String,
    /// The node operator's provider address.
    #[arg(long, value_name = "ADDRESS")]
    provider: Address,
    /// Hot key that signs the vouchers (the payer is --payer).
    #[arg(long, value_name = "FILE", requires = "payer")]
    signer_key_file: Option<PathBuf>,
    /// The payer when a hot key signs.
    #[arg(long, value_name = "ADDRESS")]
    payer: Option<Address>,
    #[arg(long, default_value_t = 1)]
    cluster: u16,
    #[arg(long, default_value_t = 0)]
    shard: u16,
    #[arg(long, value_name = "TOPIC")]
    content_topic: String,
    /// The payload as UTF-8 text.
    #[arg(long, value_name = "TEXT")]
    payload: String,
    /// Push this many messages (payload suffixed with the index when > 1).
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// The payment ledger: running totals per provider. Default ./rlnkit-payments.json.
    #[arg(long, value_name = "FILE", default_value = "rlnkit-payments.json")]
    state: PathBuf,
}

impl LightpushArgs {
    pub(crate) fn run(self, _g: &GlobalOpts) -> Result<Outcome> {
        let rt = tokio::runtime::Runtime::new()?;
        rt.block_on(self.push())
    }

    async fn push(self) -> Result<Outcome> {
        let c = self.opts.reader().await?;
        let terms = c.service(self.provider, LIGHTPUSH_SERVICE_ID).await?;
        let (key, payer) = match &self.signer_key_file {
            Some(f) => {
                (read_key(Some(f), "")?.context("no hot key")?, self.payer.context("--payer")?)
            }
            None => {
                let k = self.opts.need_signer()?;
                let a = k.address();
                (k, a)
            }
        };
        let mut ledger = PaymentLedger::open(&self.state)?;
        let paid = ledger.paid(&terms, payer);
        let mut stream = PaymentStream::new(terms, payer, key, paid);
        let addr: libp2p::Multiaddr =
            self.peer.parse().with_context(|| format!("{} is not a multiaddr", self.peer))?;
        let topic = shard_topic(self.cluster, self.shard);
        let client = LightpushClient::spawn()?;
        let mut results = Vec::new();
        let mut ok = 0;
        for i in 0..self.count {
            let payload =
                if self.count > 1 { format!("{} {i}", self.payload) } else { self.payload.clone() };
            let msg = WakuMessage {
                payload: payload.into_bytes(),
                content_topic: self.content_topic.clone(),
                timestamp: Some(unix_now_ns() as i64),
                ..Default::default()
            };
            let r = client.push_paid(&addr, Some(&topic), &msg, &mut stream).await?;
            ledger.record(&stream)?;
            let success = r.code() == Some(StatusCode::Success);
            if success {
                ok += 1;
            } else {
                eprintln!(
                    "push {i}: {} {}",
                    r.status_code,
                    r.status_desc.clone().unwrap_or_default()
                );
            }
            results.push(json!({ "status_code": r.status_code, "status_desc": r.status_desc, "relay_peer_count": r.relay_peer_count }));
            if !success {
                break;
            }
        }
        let mut out = Outcome::ok(
            format!(
                "{ok} of {} pushed through {}; paid {} in total",
                self.count,
                self.provider,
                stream.paid()
            ),
            json!({ "pushed": ok, "paid": stream.paid().to_string(), "responses": results }),
        );
        out.accepted = ok == self.count;
        Ok(out)
    }
}

/// `relay run` options of the paid lightpush service. In the relay's config file they form a
/// `[lightpush]` section with the same names (`enabled` for --lightpush, on when the section is
/// there); command-line values win.
#[derive(clap::Args, Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct LightpushRunArgs {
    /// Serve lightpush v3 (`/vac/waku/lightpush/3.0.0`), paid when --price is given.
    #[arg(long)]
    #[serde(rename = "enabled", default = "enabled_by_its_section")]
    pub(crate) lightpush: bool,
    /// Price per request in token units (needs --credentials and the operator's key in
    /// RLNKIT_PRIVATE_KEY; the service is registered with this price if it differs).
    #[arg(long, value_name = "AMOUNT")]
    pub(crate) price: Option<String>,
    /// The ServiceCredentials contract.
    #[arg(long, env = "RLNKIT_CREDENTIALS", value_name = "ADDRESS")]
    pub(crate) credentials: Option<String>,
    /// Token the price is in.
    #[arg(long, value_name = "ADDRESS")]
    pub(crate) price_token: Option<String>,
    /// The operator's RLN identity file: messages without a proof are published with it.
    #[arg(long, value_name = "FILE")]
    pub(crate) lightpush_identity: Option<PathBuf>,
    /// The operator membership's message limit. Default 100.
    #[arg(long, value_name = "N")]
    pub(crate) lightpush_limit: Option<u64>,
    /// Claim when this much is unclaimed (token units). Default: only on schedule and before thaws end.
    #[arg(long, value_name = "AMOUNT")]
    pub(crate) claim_above: Option<String>,
    /// Claim at least this often (seconds). Default 3600.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) claim_every: Option<u64>,
}

/// A `[lightpush]` section in the config file turns the service on unless it says otherwise.
fn enabled_by_its_section() -> bool {
    true
}

impl LightpushRunArgs {
    /// The command-line values over the config file's.
    pub(crate) fn merged(self, file: LightpushRunArgs) -> LightpushRunArgs {
        LightpushRunArgs {
            lightpush: self.lightpush || file.lightpush,
            price: self.price.or(file.price),
            credentials: self.credentials.or(file.credentials),
            price_token: self.price_token.or(file.price_token),
            lightpush_identity: self.lightpush_identity.or(file.lightpush_identity),
            lightpush_limit: self.lightpush_limit.or(file.lightpush_limit),
            claim_above: self.claim_above.or(file.claim_above),
            claim_every: self.claim_every.or(file.claim_every),
        }
    }

    /// The library's lightpush config for these options (`members`: the relay's members file,
    /// the operator membership's path). None: lightpush is off.
    pub(crate) fn to_config(&self, members: Option<&[Field]>) -> Result<Option<LightpushConfig>> {
        if !self.lightpush {
            if self.price.is_some() || self.lightpush_identity.is_some() {
                eprintln!("note: lightpush is off (no --lightpush, or `enabled = false` in the config's [lightpush]): --price and --lightpush-identity are ignored");
            }
            return Ok(None);
        }
        let mut config = LightpushConfig::default();
        if let Some(idf) = &self.lightpush_identity {
            let identity = IdentityArgs::from_file(idf.clone()).load()?;
            let limit = UserMessageLimit::new(self.lightpush_limit.unwrap_or(100))?;
            let members = members
                .context("--lightpush-identity needs --members (the membership path)")?
                .to_vec();
            config.operator = Some(OperatorMembership { identity, limit, members });
        } else {
            eprintln!("note: without --lightpush-identity only messages with their own RLN proof are served");
        }
        if let Some(price) = &self.price {
            let credentials: Address = self
                .credentials
                .as_deref()
                .context("--price needs --credentials")?
                .parse()
                .context("--credentials")?;
            let offer = Offer {
                token: self
                    .price_token
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .context("--price-token")?,
                ..Offer::at(amount(price)?)
            };
            let policy = ClaimPolicy {
                interval: Duration::from_secs(self.claim_every.unwrap_or(3600)),
                threshold: self
                    .claim_above
                    .as_deref()
                    .map(amount)
                    .transpose()?
                    .unwrap_or(U256::MAX),
                thaw_margin_secs: 600,
                poll: Duration::from_secs(2),
            };
            config.paid = Some(PaidConfig { credentials, offer, policy });
        }
        Ok(Some(config))
    }
}

#[cfg(test)]
mod tests {
    use super::super::relay::RunArgs;
    use super::*;

    fn config(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn lightpush_options_come_from_the_relay_config_file() {
        let (_dir, path) = config(
            "cluster = 1\nshards = [0]\n\n[lightpush]\nprice = \"1000\"\ncredentials = \"0x00000000000000000000000000000000000000aa\"\nlightpush_identity = \"op.json\"\nlightpush_limit = 20\nclaim_above = \"50000\"\nclaim_every = 600\n",
        );
        // On the command line: the config file and a price that wins over the file's.
        let cli = LightpushRunArgs { price: Some("7".into()), ..Default::default() };
        let args = RunArgs { config: Some(path), lightpush: cli, ..Default::default() };
        let lp = args.merged().unwrap().lightpush;
        assert_eq!(
            lp,
            LightpushRunArgs {
                lightpush: true,
                price: Some("7".into()),
                credentials: Some("0x00000000000000000000000000000000000000aa".into()),
                price_token: None,
                lightpush_identity: Some("op.json".into()),
                lightpush_limit: Some(20),
                claim_above: Some("50000".into()),
                claim_every: Some(600),
            }
        );
    }

    #[test]
    fn the_section_can_be_turned_off_and_its_absence_serves_nothing() {
        let (_dir, path) = config("[lightpush]\nenabled = false\nprice = \"1\"\n");
        let args = RunArgs { config: Some(path), ..Default::default() };
        assert!(!args.merged().unwrap().lightpush.lightpush);
        let (_dir, path) = config("cluster = 1\n");
        let args = RunArgs { config: Some(path), ..Default::default() };
        assert_eq!(args.merged().unwrap().lightpush, LightpushRunArgs::default());
        // --lightpush on the command line turns it on over the file's `enabled = false`.
        let (_dir, path) = config("[lightpush]\nenabled = false\n");
        let cli = LightpushRunArgs { lightpush: true, ..Default::default() };
        let args = RunArgs { config: Some(path), lightpush: cli, ..Default::default() };
        assert!(args.merged().unwrap().lightpush.lightpush);
    }

    #[test]
    fn a_misspelled_lightpush_option_is_an_error() {
        let (_dir, path) = config("[lightpush]\nprise = \"1\"\n");
        let args = RunArgs { config: Some(path), ..Default::default() };
        let e = format!("{:#}", args.merged().unwrap_err());
        assert!(e.contains("prise"), "{e}");
    }
}
