//! The decoder fuzz body on random and structured inputs (stable Rust, runs in `cargo test`).

mod common;
use common::f;
use proptest::prelude::*;
use rlnkit::fuzzing::decode_all;
use rlnkit::{Groth16Proof, PublicValues, RlnProof};

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        decode_all(&data);
    }

    #[test]
    fn proof_sized_bytes(data in proptest::collection::vec(any::<u8>(), 288)) {
        decode_all(&data);
    }

    #[test]
    fn field_sized_bytes(data in proptest::collection::vec(any::<u8>(), 32)) {
        decode_all(&data);
    }

    #[test]
    fn text(s in "\\PC{0,90}") {
        decode_all(s.as_bytes());
    }
}

#[test]
fn valid_blob_with_flipped_bits_never_panics() {
    // The Waku network's known-valid proof as a blob, each bit flipped in turn.
    let v = common::vectors();
    let k = &v["rln_proof_known_valid"];
    let proof = RlnProof {
        proof: Groth16Proof::from_snarkjs_json(k).unwrap(),
        values: PublicValues {
            root: f(&k["root"]),
            external_nullifier: f(&k["external_nullifier"]),
            x: f(&k["x"]),
            y: f(&k["y"]),
            nullifier: f(&k["nullifier"]),
        },
    };
    let mut blob = proof.to_bytes();
    decode_all(&blob);
    for i in 0..blob.len() * 8 {
        blob[i / 8] ^= 1 << (i % 8);
        decode_all(&blob);
        blob[i / 8] ^= 1 << (i % 8);
    }
    decode_all(rlnkit::circuit::EMBEDDED_VK_JSON.as_bytes());
}
