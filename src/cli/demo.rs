//! `rlnkit demo`: the proof story offline, printing each step (`rlnkit devnet` runs the whole
//! network: chain, relays, slashing, payments).

use std::time::Instant;

use anyhow::{ensure, Result};
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
}

impl DemoArgs {
    pub(crate) fn run(self, g: &GlobalOpts) -> Result<Outcome> {
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
