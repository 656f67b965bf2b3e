//! `rlnkit credentials demo`: a client pays a relay operator for lightpush, and the operator
//! claims, on a local anvil and two relays on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use rlnkit::chain::bindings::TestToken;
use rlnkit::chain::{connect_provider, PrivateKeySigner, U256};
use rlnkit::credentials::{
    ClaimPolicy, Claimer, CredentialsConfig, CredentialsWriter, PaymentStream, ServiceTerms,
    VoucherChecker, VoucherStore, LIGHTPUSH_SERVICE_ID,
};
use rlnkit::relay::lightpush::{LightpushServer, StatusCode};
use rlnkit::relay::lightpush_client::LightpushClient;
use rlnkit::relay::{spawn_node, NodeConfig, NullifierLog, Publisher, WakuMessage};
use rlnkit::relay::{unix_now_ns, Validator, ValidatorConfig};
use rlnkit::StaticRoots;
use rlnkit::{Identity, MerkleTree, Prover, UserMessageLimit, Verifier};
use serde_json::json;

use super::{load_keys, GlobalOpts, Outcome};

const TOPIC: &str = "/waku/2/rs/1/0";

/// Options of the demo.
#[derive(clap::Args, Debug)]
pub(crate) struct CredentialsDemoArgs {
    /// Paid pushes to make.
    #[arg(long, default_value_t = 5)]
    pushes: u64,
    /// The anvil binary (default: the repository's node_modules/.bin/anvil).
    #[arg(long, env = "RLNKIT_ANVIL", value_name = "FILE")]
    anvil: Option<std::path::PathBuf>,
}

impl CredentialsDemoArgs {
    pub(crate) async fn run(self, g: &GlobalOpts) -> Result<Outcome> {
        let quiet = g.json;
        let say = |s: String| {
            if !quiet {
                println!("{s}");
            }
        };
        let anvil_bin = self.anvil.clone().unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/anvil")
        });
        ensure!(anvil_bin.exists(), "anvil not found at {} (run `make deps`)", anvil_bin.display());
        let mut node = alloy::node_bindings::Anvil::at(&anvil_bin)
            .port(0u16)
            .keep_stdout()
            .try_spawn()
            .map_err(|e| anyhow::anyhow!("starting anvil: {e}"))?;
        if let Some(out) = node.child_mut().stdout.take() {
            std::thread::spawn(move || {
                std::io::copy(&mut std::io::BufReader::new(out), &mut std::io::sink())
            });
        }
        let url = node.endpoint();
        let key = |i: usize| PrivateKeySigner::from(node.keys()[i].clone());
        let (owner, operator_key, payer_key) = (key(0), key(1), key(2));
        let treasury = node.addresses()[9];
        let (p, _) = connect_provider(&url, Some(owner.clone()), None).await?;
        let token = *TestToken::deploy(p.clone()).await?.address();
        TestToken::new(token, p.clone())
            .mint(payer_key.address(), U256::from(10u64).pow(U256::from(21u64)))
            .send()
            .await?
            .get_receipt()
            .await?;
        let config = CredentialsConfig {
            owner: owner.address(),
            treasury,
            fee_bps: 250,
            thaw_period: 3600,
            signer_thaw_period: 600,
        };
        let contract = CredentialsWriter::deploy(&url, owner, config).await?.address();
        let operator =
            CredentialsWriter::connect(&url, operator_key.clone(), contract, None).await?;
        let payer = CredentialsWriter::connect(&url, payer_key.clone(), contract, None).await?;
        say(format!(
            "1. anvil (chain {}): ServiceCredentials at {contract}, fee 2.5% to the treasury",
            node.chain_id()
        ));

        let me = operator_key.address();
        let price = U256::from(10u64).pow(U256::from(15u64));
        operator.register_service(LIGHTPUSH_SERVICE_ID, token, price, me).await?;
        let deposit = price * U256::from(self.pushes);
        payer.deposit(me, token, deposit).await?;
        say(format!(
            "2. operator {me} sells lightpush at {price} per request; payer {} deposits {deposit}",
            payer_key.address()
        ));

        let keys = load_keys(g)?;
        let limit = UserMessageLimit::new(100)?;
        let identity = Identity::from_seed(b"credentials demo: operator membership");
        let mut tree = MerkleTree::default();
        let index = tree.push(identity.rate_commitment(limit))?;
        let roots = Arc::new(StaticRoots::new([tree.root()]));
        let validator = || {
            Arc::new(Validator::new(
                ValidatorConfig::default(),
                Verifier::new(keys.verifying_key()),
                roots.clone(),
                NullifierLog::in_memory(),
            ))
        };
        let dir =
            std::env::temp_dir().join(format!("rlnkit-credentials-demo-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let store = Arc::new(VoucherStore::open(dir.join("vouchers.redb"))?);
        let checker = Arc::new(VoucherChecker::new(
            ServiceTerms {
                domain: operator.domain(),
                provider: me,
                token,
                payout: me,
                price,
                thaw_margin_secs: 60,
            },
            store.served(token)?,
        ));
        let mut claimer = Claimer::new(
            operator.clone(),
            checker.clone(),
            store.clone(),
            ClaimPolicy::default(),
            0,
        );
        claimer.sync().await?;
        let server = LightpushServer::new(vec![TOPIC.into()]).paid(checker, store).with_publisher(
            Publisher::new(Prover::new(keys.clone()), identity, limit, tree.proof(index)?),
        );
        let node_config = |lp| NodeConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("a multiaddr")],
            topics: vec![TOPIC.into()],
            heartbeat: Duration::from_millis(200),
            lightpush: lp,
            ..NodeConfig::default()
        };
        let service = spawn_node(node_config(Some(Arc::new(server))), validator()).await?;
        let relay = spawn_node(node_config(None), validator()).await?;
        relay.dial(service.dial_addr().await?).await?;
        ensure!(
            relay.wait_for_mesh(TOPIC, 1, Duration::from_secs(10)).await?,
            "relays did not mesh"
        );
        let addr = service.dial_addr().await?;
        say(format!("3. the operator's relay serves /vac/waku/lightpush/3.0.0 at {addr}; a second relay listens"));

        let client = LightpushClient::spawn()?;
        let terms = payer.service(me, LIGHTPUSH_SERVICE_ID).await?;
        let mut stream =
            PaymentStream::new(terms, payer_key.address(), payer_key.clone(), U256::ZERO);
        let mut delivered = relay.delivered();
        let t = Instant::now();
        for i in 0..self.pushes {
            let m = WakuMessage {
                payload: format!("paid message {i}").into_bytes(),
                content_topic: "/rlnkit/1/demo/proto".into(),
                timestamp: Some(unix_now_ns() as i64),
                ..Default::default()
            };
            let r = client.push_paid(&addr, Some(TOPIC), &m, &mut stream).await?;
            ensure!(r.code() == Some(StatusCode::Success), "push {i}: {r:?}");
            tokio::time::timeout(Duration::from_secs(10), delivered.recv())
                .await
                .context("the second relay did not get the message")??;
        }
        say(format!(
            "4. {} pushes, each with the next voucher (cumulative {}), proved with the operator's RLN membership and received by the second relay ({:.0} ms each)",
            self.pushes,
            stream.paid(),
            t.elapsed().as_secs_f64() * 1e3 / self.pushes as f64
        ));
        let m = WakuMessage {
            payload: b"one more".to_vec(),
            content_topic: "/rlnkit/1/demo/proto".into(),
            ..Default::default()
        };
        let r = client.push_paid(&addr, Some(TOPIC), &m, &mut stream).await?;
        say(format!(
            "5. one more push: {} {}",
            r.status_code,
            r.status_desc.clone().unwrap_or_default()
        ));

        let before = operator.token_balance(token, me).await?;
        let receipt = claimer.claim_now().await?.context("nothing to claim")?;
        let got = operator.token_balance(token, me).await? - before;
        let fee_got = operator.token_balance(token, treasury).await?;
        say(format!(
            "6. the operator claims all vouchers in one claimMany: {} to the operator, {} fee to the treasury (tx {})",
            got, fee_got, receipt.tx
        ));
        service.shutdown().await;
        relay.shutdown().await;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(Outcome::ok(
            String::new(),
            json!({ "pushes": self.pushes, "paid": stream.paid().to_string(), "operator_received": got.to_string(), "treasury_fee": fee_got.to_string(), "claim_tx": receipt.tx }),
        ))
    }
}
