//! The optimized paths against the straightforward ones: the split Groth16 prover against
//! ark-groth16's, the per-member prover against full proofs, cached keys against parsed ones.

mod common;

use std::sync::{Arc, OnceLock};

use ark_bn254::Fr;
use ark_ff::UniformRand;
use rand::SeedableRng;
use rlnkit::{CircuitKeys, Prover, ProverError, RlnInputs, Verifier, WitnessInput};

use common::{ext, Members};

fn fixture() -> &'static Members {
    static F: OnceLock<Members> = OnceLock::new();
    F.get_or_init(|| Members::new("fast member", 5, 4))
}

#[test]
fn split_prover_equals_ark_groth16() {
    let fx = fixture();
    let prover = &fx.prover;
    let path = fx.tree.proof(2).unwrap();
    let wi = RlnInputs::for_signal(fx.ids[2].secret(), fx.limit, 1, &path, ext(9), b"same witness")
        .witness_input();
    let witness = fx.keys.witness(&wi).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    for _ in 0..2 {
        let (r, s) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
        let fast = prover.prove_witness(&witness, r, s).unwrap();
        let reference = prover.prove_witness_reference(&witness, r, s).unwrap();
        assert_eq!(fast, reference);
    }
}

#[test]
fn split_prover_equals_ark_groth16_with_waku_keys() {
    let dir = common::waku_keys_dir();
    let input: WitnessInput =
        serde_json::from_str(&std::fs::read_to_string(dir.join("witness-input.json")).unwrap())
            .unwrap();
    let keys = CircuitKeys::load(&dir).unwrap();
    let prover = Prover::new(keys.clone());
    let witness = keys.witness(&input).unwrap();
    let (r, s) = (Fr::from(3u64), Fr::from(7u64));
    assert_eq!(
        prover.prove_witness(&witness, r, s).unwrap(),
        prover.prove_witness_reference(&witness, r, s).unwrap()
    );
}

#[test]
fn member_prover_equals_full_proofs() {
    let fx = fixture();
    let prover = &fx.prover;
    let verifier = Verifier::new(fx.keys.verifying_key());
    let path = fx.tree.proof(1).unwrap();
    let member = prover.for_member(fx.ids[1].secret(), fx.limit, &path).unwrap();
    assert_eq!(member.root(), fx.tree.root());
    assert!(!member.is_warm());
    for (k, (message_id, epoch)) in
        [(0u64, 1u64), (1, 1), (3, 1), (0, 2), (2, 77)].into_iter().enumerate()
    {
        let signal = format!("message {k}");
        let x = rlnkit::hash_to_field(signal.as_bytes());
        let got = member
            .prove_with_rng(
                message_id,
                ext(epoch),
                x,
                &mut rand_chacha::ChaCha20Rng::seed_from_u64(k as u64),
            )
            .unwrap();
        assert!(member.is_warm());
        let inputs = RlnInputs::for_signal(
            fx.ids[1].secret(),
            fx.limit,
            message_id,
            &path,
            ext(epoch),
            signal.as_bytes(),
        );
        let want = prover
            .prove_with_rng(&inputs, &mut rand_chacha::ChaCha20Rng::seed_from_u64(k as u64))
            .unwrap();
        assert_eq!(got, want, "message {k}");
        verifier.verify(&got, signal.as_bytes(), &[fx.tree.root()]).unwrap();
    }
    // A message id at the limit yields no proof, and does not spoil the cache.
    assert!(member.prove(4, ext(1), b"over the limit").is_err());
    let p = member.prove(3, ext(5), b"after").unwrap();
    verifier.verify(&p, b"after", &[fx.tree.root()]).unwrap();
}

#[test]
fn member_prover_follows_a_new_root() {
    let fx = fixture();
    let prover = &fx.prover;
    let verifier = Verifier::new(fx.keys.verifying_key());
    let mut tree = fx.tree.clone();
    let mut member =
        prover.for_member(fx.ids[0].secret(), fx.limit, &tree.proof(0).unwrap()).unwrap();
    let p = member.prove(0, ext(1), b"old root").unwrap();
    verifier.verify(&p, b"old root", &[tree.root()]).unwrap();
    // A new member joins: the root and our path change.
    tree.push(rlnkit::hash_to_field(b"newcomer")).unwrap();
    member.update_path(&tree.proof(0).unwrap()).unwrap();
    assert!(!member.is_warm());
    assert_eq!(member.root(), tree.root());
    let p = member.prove(1, ext(1), b"new root").unwrap();
    assert_eq!(p.values.root, tree.root());
    verifier.verify(&p, b"new root", &[tree.root()]).unwrap();
    // Even a stale cache (path swapped behind its back is impossible: update_path drops it) would
    // only cost time: the cached sums are combined through wire differences.
    let p = member.prove(2, ext(1), b"again").unwrap();
    verifier.verify(&p, b"again", &[tree.root()]).unwrap();
}

#[test]
fn member_prover_rejects_a_bad_path() {
    let fx = fixture();
    let prover = &fx.prover;
    let mut path = fx.tree.proof(0).unwrap();
    path.identity_path_index[3] = 2;
    assert!(matches!(
        prover.for_member(fx.ids[0].secret(), fx.limit, &path),
        Err(ProverError::Path(_))
    ));
}

#[test]
fn cached_keys_equal_parsed_keys() {
    let dir = common::waku_keys_dir();
    let zkey = std::fs::read(dir.join("rln_final.zkey")).unwrap();
    let wasm = std::fs::read(dir.join("rln.wasm")).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let parsed = CircuitKeys::from_bytes_with_cache(&zkey, &wasm, "waku", None).unwrap();
    let cold =
        CircuitKeys::from_bytes_with_cache(&zkey, &wasm, "waku", Some(cache.path())).unwrap();
    let entries: Vec<_> =
        std::fs::read_dir(cache.path()).unwrap().map(|e| e.unwrap().path()).collect();
    // The witness is native: no compiled witness generator next to the proving key.
    assert_eq!(entries.len(), 1, "the proving key only: {entries:?}");
    let warm =
        CircuitKeys::from_bytes_with_cache(&zkey, &wasm, "waku", Some(cache.path())).unwrap();
    for keys in [&cold, &warm] {
        assert_eq!(keys.verifying_key(), parsed.verifying_key());
        assert_eq!(keys.constraints().matrices, parsed.constraints().matrices);
        assert_eq!(keys.constraints().num_constraints, parsed.constraints().num_constraints);
    }
    let input: WitnessInput =
        serde_json::from_str(&std::fs::read_to_string(dir.join("witness-input.json")).unwrap())
            .unwrap();
    let w_parsed = parsed.witness(&input).unwrap();
    assert_eq!(warm.witness(&input).unwrap(), w_parsed);
    let (r, s) = (Fr::from(11u64), Fr::from(13u64));
    let a = Prover::new(Arc::new(parsed)).prove_witness(&w_parsed, r, s).unwrap();
    let b = Prover::new(Arc::new(warm)).prove_witness(&w_parsed, r, s).unwrap();
    assert_eq!(a, b);
    // Corrupt entries are ignored (and rewritten).
    for e in &entries {
        let mut bytes = std::fs::read(e).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x40;
        std::fs::write(e, &bytes).unwrap();
    }
    let again =
        CircuitKeys::from_bytes_with_cache(&zkey, &wasm, "waku", Some(cache.path())).unwrap();
    assert_eq!(again.witness(&input).unwrap(), w_parsed);
    assert_eq!(again.verifying_key(), cold.verifying_key());
}

#[test]
fn proving_tables_come_back_from_the_cache_and_survive_corruption() {
    let dir = common::waku_keys_dir();
    let zkey = std::fs::read(dir.join("rln_final.zkey")).unwrap();
    let wasm = std::fs::read(dir.join("rln.wasm")).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let input: WitnessInput =
        serde_json::from_str(&std::fs::read_to_string(dir.join("witness-input.json")).unwrap())
            .unwrap();
    let (r, s) = (Fr::from(17u64), Fr::from(19u64));
    let prove = || {
        let keys = Arc::new(
            CircuitKeys::from_bytes_with_cache(&zkey, &wasm, "waku", Some(cache.path())).unwrap(),
        );
        let witness = keys.witness(&input).unwrap();
        Prover::new(keys).prove_witness(&witness, r, s).unwrap()
    };
    let first = prove();
    let tables: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("msm-tables"))
        .collect();
    assert_eq!(tables.len(), 1, "the first proof caches the proving tables");
    assert_eq!(prove(), first, "tables read back from the cache");
    let mut bytes = std::fs::read(&tables[0]).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 1;
    std::fs::write(&tables[0], &bytes).unwrap();
    assert_eq!(prove(), first, "a corrupt entry is rebuilt, not used");
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&tables[0], &bytes).unwrap();
    assert_eq!(prove(), first, "a truncated entry is rebuilt, not used");
}
