//! `rlnkit demo`: the main job end to end, printing each step.

use std::time::Instant;

use anyhow::{ensure, Context, Result};
use rlnkit::{
    recover_secret, Epoch, ExternalNullifier, Identity, MerkleTree, Prover, RlnIdentifier,
    RlnInputs, UserMessageLimit, Verifier,
};
use serde_json::json;

use super::{load_keys, GlobalOpts, Outcome};

#[derive(clap::Args, Debug)]
pub(crate) struct DemoArgs {
    /// Number of other members in the demo tree.
    #[arg(long, default_value_t = 1000)]
    members: u64,
    /// Run on a local chain: start anvil, deploy, register, sync, prove against the on-chain root, slash.
    #[arg(long)]
    chain: bool,
    /// The anvil binary (default: the repository's node_modules/.bin/anvil).
    #[arg(long, env = "RLNKIT_ANVIL", value_name = "FILE")]
    anvil: Option<std::path::PathBuf>,
    /// Members registered on chain besides alice (with --chain).
    #[arg(long, default_value_t = 50)]
    chain_members: usize,
}

impl DemoArgs {
    pub(crate) fn run(self, g: &GlobalOpts) -> Result<Outcome> {
        if self.chain {
            let anvil = self.anvil.clone().unwrap_or_else(|| {
                std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/anvil")
            });
            return super::chain::block_on(chain_demo(g, anvil, self.chain_members))?;
        }
        let quiet = g.json;
        let say = |s: String| {
            if !quiet {
                println!("{s}");
            }
        };
        let mut steps = Vec::new();

        let t = Instant::now();
        let keys = load_keys(g)?;
        say(format!(
            "1. circuit keys: {} ({} constraints), loaded in {:.0} ms",
            keys.source(),
            keys.constraints().num_constraints,
            t.elapsed().as_secs_f64() * 1e3
        ));

        let alice = Identity::from_seed(b"rlnkit demo: alice");
        let limit = UserMessageLimit::new(10)?;
        say(format!(
            "2. identity: commitment {} (limit {} messages per epoch)",
            alice.commitment().to_hex(),
            limit.get()
        ));

        let t = Instant::now();
        let mut leaves: Vec<_> = (0..self.members)
            .map(|i| Identity::from_seed(format!("member {i}").as_bytes()).rate_commitment(limit))
            .collect();
        let index = leaves.len() as u64;
        leaves.push(alice.rate_commitment(limit));
        let tree = MerkleTree::from_leaves(rlnkit::tree::DEFAULT_DEPTH, &leaves)?;
        let path = tree.proof(index)?;
        say(format!(
            "3. membership tree: {} members, depth 20, root {} ({:.0} ms)",
            leaves.len(),
            tree.root().to_hex(),
            t.elapsed().as_secs_f64() * 1e3
        ));

        let prover = Prover::new(keys.clone());
        let verifier = Verifier::new(keys.verifying_key());
        let epoch = Epoch::now(rlnkit::epoch::WAKU_EPOCH_SECONDS);
        let ext = ExternalNullifier::new(epoch, RlnIdentifier::waku());
        let (m1, m2) = (b"hello, waku".as_slice(), b"buy cheap tokens!!".as_slice());

        let t = Instant::now();
        prover.prepare();
        let tables_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let p1 = prover.prove(&RlnInputs::for_signal(alice.secret(), limit, 0, &path, ext, m1))?;
        let prove_ms = t.elapsed().as_secs_f64() * 1e3;
        say(format!(
            "4. proof for {:?} (epoch {}, message id 0): {} bytes in {prove_ms:.0} ms (prover tables ready in {tables_ms:.0} ms: built once per machine, then cached)",
            String::from_utf8_lossy(m1),
            epoch.index().unwrap_or(0),
            p1.to_bytes().len()
        ));

        let t = Instant::now();
        verifier.verify(&p1, m1, &[tree.root()])?;
        say(format!(
            "5. verified against the tree root in {:.2} ms",
            t.elapsed().as_secs_f64() * 1e3
        ));
        ensure!(
            verifier.verify(&p1, m2, &[tree.root()]).is_err(),
            "a proof must not verify for another message"
        );
        say("   the same proof for another message: rejected".to_string());

        let p2 = prover.prove(&RlnInputs::for_signal(alice.secret(), limit, 0, &path, ext, m2))?;
        verifier.verify(&p2, m2, &[tree.root()])?;
        say(format!("6. a second message with the same message id in the same epoch: valid proof, same nullifier {}", p2.values.nullifier == p1.values.nullifier));

        let secret = recover_secret(&p1.values, &p2.values)?;
        ensure!(secret == alice.secret(), "recovered secret differs");
        say(format!(
            "7. double signal detected: recovered the secret, id commitment {} = alice's",
            rlnkit::identity::id_commitment(secret).to_hex()
        ));
        steps.push(json!({ "prove_ms": prove_ms, "root": tree.root(), "nullifier": p1.values.nullifier, "recovered_commitment": rlnkit::identity::id_commitment(secret) }));
        Ok(Outcome::ok(String::new(), json!({ "steps": steps })))
    }
}

/// `rlnkit demo --chain`: the same story against a registry on a local anvil.
async fn chain_demo(g: &GlobalOpts, anvil_bin: std::path::PathBuf, n: usize) -> Result<Outcome> {
    use rlnkit::chain::{
        deploy_registry, DeployConfig, MembershipWriter, PrivateKeySigner, SyncOptions, TreeSync,
    };
    use rlnkit::incentives::{slash_member, SlashConfig};
    let quiet = g.json;
    let say = |s: String| {
        if !quiet {
            println!("{s}");
        }
    };
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(
        anvil_bin.exists(),
        "anvil not found at {} (run `make deps`, or pass --anvil)",
        anvil_bin.display()
    );
    let mut node = alloy::node_bindings::Anvil::at(&anvil_bin)
        .port(0u16)
        .keep_stdout()
        .try_spawn()
        .map_err(|e| anyhow::anyhow!("starting anvil: {e}"))?;
    if let Some(out) = node.child_mut().stdout.take() {
        // Drain anvil's log output so it never blocks or dies on a closed pipe.
        std::thread::spawn(move || {
            std::io::copy(&mut std::io::BufReader::new(out), &mut std::io::sink())
        });
    }
    say(format!("1. anvil on {} (chain {})", node.endpoint(), node.chain_id()));
    let deployer = PrivateKeySigner::from(node.keys()[0].clone());
    let reporter_key = PrivateKeySigner::from(node.keys()[1].clone());
    let t = Instant::now();
    let cfg = DeployConfig {
        slash_reveal_window: Some(2),
        withdrawal_delay: Some(5),
        ..DeployConfig::default()
    };
    let (client, d) =
        deploy_registry(&node.endpoint(), deployer, Some(node.chain_id()), &cfg).await?;
    say(format!(
        "2. deployed the registry at {} (token {}, block {}) in {:.0} ms",
        d.registry,
        d.token,
        d.deployed_block,
        ms(t)
    ));

    let limit = UserMessageLimit::new(20)?;
    let alice = Identity::from_seed(b"rlnkit demo: alice");
    let t = Instant::now();
    let others: Vec<_> = (0..n)
        .map(|i| Identity::from_seed(format!("chain member {i}").as_bytes()).commitment())
        .collect();
    client.register_many(&others, 20).await?;
    let reg = client.register(alice.commitment(), 20, &[]).await?;
    say(format!(
        "3. registered {} members; alice at index {} (deposit {} wei) in {:.0} ms",
        n + 1,
        reg.index,
        reg.deposit,
        ms(t)
    ));

    let dir = tempfile_dir()?;
    let db = dir.join("tree.redb");
    let t = Instant::now();
    let mut sync = TreeSync::open(client.clone(), &db, SyncOptions::default()).await?;
    let report = sync.sync(|_| {}).await?;
    let chain_root = client.root().await?;
    ensure!(report.root == chain_root, "synced root differs from the contract's");
    say(format!(
        "4. synced {} events into {} in {:.0} ms: root {} = the contract's root",
        report.events,
        db.display(),
        ms(t),
        chain_root.to_hex()
    ));
    drop(sync);
    let t = Instant::now();
    let mut sync = TreeSync::open(client.clone(), &db, SyncOptions::default()).await?;
    let again = sync.sync(|_| {}).await?;
    say(format!("5. restart: ready in {:.0} ms, {} new events to read", ms(t), again.events));

    let path = sync.tree().proof(reg.index as u64)?;
    ensure!(
        path == client.merkle_proof(reg.index).await?,
        "the contract's Merkle path differs from the synced tree's"
    );
    let keys = load_keys(g)?;
    let prover = Prover::new(keys.clone());
    let verifier = Verifier::new(keys.verifying_key());
    let ext = ExternalNullifier::new(
        Epoch::now(rlnkit::epoch::WAKU_EPOCH_SECONDS),
        RlnIdentifier::waku(),
    );
    let (m1, m2) = (b"hello, waku".as_slice(), b"buy cheap tokens!!".as_slice());
    let t = Instant::now();
    prover.prepare();
    let tables_ms = ms(t);
    let t = Instant::now();
    let p1 = prover.prove(&RlnInputs::for_signal(alice.secret(), limit, 0, &path, ext, m1))?;
    let prove_ms = ms(t);
    let roots = client.recent_roots().await?;
    verifier.verify(&p1, m1, &roots[..])?;
    say(format!(
        "6. proof in {prove_ms:.0} ms from the synced path (= the contract's getMerkleProof; prover tables ready in {tables_ms:.0} ms, built once per machine); verified against the contract's {} recent roots",
        roots.len()
    ));

    let p2 = prover.prove(&RlnInputs::for_signal(alice.secret(), limit, 0, &path, ext, m2))?;
    let secret = recover_secret(&p1.values, &p2.values)?;
    ensure!(secret == alice.secret(), "recovered secret differs");
    say("7. alice sends a second message with the same message id: her secret is recovered"
        .to_string());

    let reporter =
        MembershipWriter::connect(&node.endpoint(), reporter_key, d.registry, Some(d.chain_id))
            .await?;
    let (commit, out) = slash_member(&reporter, &SlashConfig::new(reporter.sender()), secret).await;
    let (commit, out) = (commit.context("the slash commitment was not mined")?, out?);
    let paid = reporter.withdraw(None).await?;
    say(format!("8. slashed: commit in block {}, reveal in block {}; reporter withdrew {} wei, treasury credited {} wei", commit.block, out.block, paid, out.treasury_amount));

    let report = sync.sync(|_| {}).await?;
    ensure!(
        report.root == client.root().await?
            && sync.tree().leaf(reg.index as u64)? == rlnkit::Field::ZERO,
        "the synced tree did not follow the slash"
    );
    say(format!(
        "9. synced again: alice's leaf is 0, root {} = the contract's",
        report.root.to_hex()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Outcome::ok(
        String::new(),
        json!({ "registry": d.registry, "members": n + 1, "root": chain_root, "prove_ms": prove_ms, "reward": paid.to_string() }),
    ))
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("rlnkit-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
