//! The Waku network's circuit artifacts (../shared/interop/waku-rln-v2): the known-valid proof
//! verifies and every tampering fails; our prover, fed witness-input.json, reproduces the known
//! public signals and makes proofs the network's verifying key accepts.

mod common;
use common::{f, vectors, waku_keys_dir};
use rlnkit::circuit::{load_verifying_key_json, WitnessInput, VK_FILE};
use rlnkit::{CircuitKeys, Field, Groth16Proof, Prover, PublicValues, RlnProof, Verifier};

fn known_valid() -> RlnProof {
    let v = vectors();
    let k = &v["rln_proof_known_valid"];
    RlnProof {
        proof: Groth16Proof::from_snarkjs_json(k).unwrap(),
        values: PublicValues {
            root: f(&k["root"]),
            external_nullifier: f(&k["external_nullifier"]),
            x: f(&k["x"]),
            y: f(&k["y"]),
            nullifier: f(&k["nullifier"]),
        },
    }
}

fn waku_verifier() -> Verifier {
    Verifier::new(&load_verifying_key_json(&waku_keys_dir().join(VK_FILE)).unwrap())
}

#[test]
fn known_valid_proof_verifies_and_tampering_fails() {
    let verifier = waku_verifier();
    let good = known_valid();
    verifier.verify_proof(&good).unwrap();

    // Round trip through the 288-byte blob keeps it valid.
    let blob = good.to_bytes();
    let decoded = RlnProof::from_bytes(&blob).unwrap();
    assert_eq!(decoded, good);
    verifier.verify_proof(&decoded).unwrap();

    // Any altered public value fails.
    let bump = |x: Field| Field::from_fr(x.fr() + ark_bn254::Fr::from(1u64));
    let mut vals = Vec::new();
    for i in 0..5 {
        let mut p = good;
        let v = &mut p.values;
        match i {
            0 => v.root = bump(v.root),
            1 => v.external_nullifier = bump(v.external_nullifier),
            2 => v.x = bump(v.x),
            3 => v.y = bump(v.y),
            _ => v.nullifier = bump(v.nullifier),
        }
        vals.push(p);
    }
    for p in &vals {
        assert!(verifier.verify_proof(p).is_err());
    }

    // Any altered proof byte either fails to decode or fails to verify.
    for i in 0..rlnkit::proof::GROTH16_PROOF_BYTES {
        let mut b = blob;
        b[i] ^= 0x01;
        if let Ok(p) = RlnProof::from_bytes(&b) {
            assert!(verifier.verify_proof(&p).is_err(), "flipping byte {i} kept the proof valid");
        }
    }
}

#[test]
fn our_prover_with_waku_keys_matches_known_signals() {
    let dir = waku_keys_dir();
    let input: WitnessInput =
        serde_json::from_str(&std::fs::read_to_string(dir.join("witness-input.json")).unwrap())
            .unwrap();
    let keys = CircuitKeys::load(&dir).unwrap();
    assert_eq!(keys.constraints().num_instance_variables, 6);
    let prover = Prover::new(keys.clone());
    let proof = prover.prove_witness_input(&input).unwrap();
    let expected: Vec<Field> =
        vectors()["witness_example"]["public_signals"].as_array().unwrap().iter().map(f).collect();
    let got: Vec<Field> = proof.values.inputs().iter().map(|x| Field::from_fr(*x)).collect();
    assert_eq!(got, expected);
    waku_verifier().verify_proof(&proof).unwrap();
    let x = hash_to_signal_x();
    assert_eq!(proof.values.x, x);
}

fn hash_to_signal_x() -> Field {
    rlnkit::hash_to_field(vectors()["witness_example"]["signal_utf8"].as_str().unwrap().as_bytes())
}

#[test]
fn the_network_keys_need_no_wasm() {
    // The witness of the network's circuit is native: a keys directory without rln.wasm loads
    // and proves.
    let dir = tempfile::tempdir().unwrap();
    for file in ["rln_final.zkey", VK_FILE] {
        std::fs::copy(waku_keys_dir().join(file), dir.path().join(file)).unwrap();
    }
    let keys = CircuitKeys::load(dir.path()).unwrap();
    assert_eq!(keys.witness_layout(), Some(rlnkit::WitnessLayout::Waku));
    let input: WitnessInput = serde_json::from_str(
        &std::fs::read_to_string(waku_keys_dir().join("witness-input.json")).unwrap(),
    )
    .unwrap();
    let proof = Prover::new(keys.clone()).prove_witness_input(&input).unwrap();
    Verifier::new(keys.verifying_key()).verify_proof(&proof).unwrap();
}
