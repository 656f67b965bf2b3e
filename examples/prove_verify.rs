//! Prove and verify one RLN message: `cargo run --release --example prove_verify`.
//!
//! A member joins a tree, proves a message for this epoch, and a verifier checks the proof
//! against the tree's root; a second message with the same message id reveals the secret.

use rlnkit::{
    recover_secret, CircuitKeys, Epoch, ExternalNullifier, Identity, MerkleTree, Prover,
    RlnIdentifier, RlnInputs, UserMessageLimit, Verifier,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let alice = Identity::random();
    let limit = UserMessageLimit::new(10)?;
    let mut tree = MerkleTree::default();
    let index = tree.push(alice.rate_commitment(limit))?;
    let path = tree.proof(index)?;

    let keys = CircuitKeys::embedded()?;
    let prover = Prover::new(keys.clone());
    let ext = ExternalNullifier::new(Epoch::now(600), RlnIdentifier::waku());
    let t = std::time::Instant::now();
    let proof =
        prover.prove(&RlnInputs::for_signal(alice.secret(), limit, 0, &path, ext, b"hello"))?;
    println!("proved in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);

    let verifier = Verifier::new(keys.verifying_key());
    verifier.verify(&proof, b"hello", &[tree.root()])?;
    println!("verified against root {}", tree.root().to_hex());

    // Message id 0 again, another message: the two shares give the secret away.
    let again =
        prover.prove(&RlnInputs::for_signal(alice.secret(), limit, 0, &path, ext, b"spam"))?;
    let secret = recover_secret(&proof.values, &again.values)?;
    assert_eq!(secret, alice.secret());
    println!("a double signal revealed the member's secret");
    Ok(())
}
