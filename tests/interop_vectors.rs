//! Every known answer in ../shared/interop/vectors.json for the primitives: Poseidon,
//! hash_to_field, keygen, zero ladder, empty roots, Merkle roots and paths.

mod common;
use common::{f, vectors};
use rlnkit::identity::{id_commitment, rate_commitment};
use rlnkit::tree::{empty_root, root_from_path, zero_ladder, MerkleProof, MerkleTree};
use rlnkit::{hash_to_field, poseidon_hash, Field, Identity, UserMessageLimit};

#[test]
fn poseidon_known_answers() {
    let v = vectors();
    let cases = v["poseidon"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let inputs: Vec<Field> = c["inputs"].as_array().unwrap().iter().map(f).collect();
        assert_eq!(poseidon_hash(&inputs).unwrap(), f(&c["out"]), "Poseidon{:?}", c["inputs"]);
        assert_eq!(rlnkit::poseidon::reference_hash(&inputs).unwrap(), f(&c["out"]));
    }
}

#[test]
fn hash_to_field_known_answers() {
    for c in vectors()["hash_to_field"].as_array().unwrap() {
        assert_eq!(hash_to_field(c["utf8"].as_str().unwrap().as_bytes()), f(&c["out"]));
    }
}

fn seed_of(c: &serde_json::Value) -> Vec<u8> {
    match c.get("seed_utf8") {
        Some(s) => s.as_str().unwrap().as_bytes().to_vec(),
        None => {
            c["seed_bytes"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap() as u8).collect()
        }
    }
}

#[test]
fn seeded_keygen_known_answers() {
    let v = vectors();
    for c in v["seeded_keygen"].as_array().unwrap() {
        let id = Identity::from_seed(&seed_of(c));
        assert_eq!(id.secret(), f(&c["secret_hex"]));
        assert_eq!(id.commitment(), f(&c["commitment_hex"]));
    }
    for c in v["extended_seeded_keygen"].as_array().unwrap() {
        let id = Identity::extended_from_seed(&seed_of(c));
        assert_eq!(id.trapdoor(), Some(f(&c["trapdoor_hex"])));
        assert_eq!(id.nullifier(), Some(f(&c["nullifier_hex"])));
        assert_eq!(id.secret(), f(&c["secret_hex"]));
        assert_eq!(id.commitment(), f(&c["commitment_hex"]));
    }
}

#[test]
fn zero_ladder_and_empty_roots() {
    let v = vectors();
    let ladder: Vec<Field> = v["zero_ladder_hex"].as_array().unwrap().iter().map(f).collect();
    assert!(ladder.len() >= 20);
    for (i, z) in ladder.iter().enumerate() {
        assert_eq!(Field::from_fr(zero_ladder()[i]), *z, "Z_{i}");
    }
    for (depth, root) in v["empty_root"].as_object().unwrap() {
        let d: usize = depth.parse().unwrap();
        assert_eq!(empty_root(d).unwrap(), f(root), "depth {d}");
        assert_eq!(MerkleTree::new(d).unwrap().root(), f(root));
    }
}

#[test]
fn merkle_roots_and_paths() {
    let v = vectors();
    let leaves: Vec<Field> = (0..8).map(Field::from_u64).collect();
    assert_eq!(
        MerkleTree::from_leaves(3, &leaves).unwrap().root(),
        f(&v["merkle_depth3_leaves_0_to_7_root"])
    );

    let m = &v["merkle_proof_depth20"];
    let secret = hash_to_field(b"test-merkle-proof");
    let limit =
        UserMessageLimit::new(m["user_message_limit"].as_str().unwrap().parse().unwrap()).unwrap();
    let leaf = rate_commitment(id_commitment(secret), limit);
    let mut tree = MerkleTree::new(20).unwrap();
    tree.set(3, leaf).unwrap();
    assert_eq!(tree.root(), f(&m["root"]));
    let proof = tree.proof(3).unwrap();
    let bits: Vec<u8> = m["identity_path_index"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap() as u8)
        .collect();
    assert_eq!(proof.identity_path_index, bits);
    let ladder: Vec<Field> =
        v["zero_ladder_hex"].as_array().unwrap().iter().take(20).map(f).collect();
    assert_eq!(proof.path_elements, ladder);
    assert_eq!(
        root_from_path(leaf, &MerkleProof { path_elements: ladder, identity_path_index: bits }),
        f(&m["root"])
    );
}

#[test]
fn witness_example_rate_commitment() {
    let w = &vectors()["witness_example"];
    let id = Identity::from_seed(b"zerokit-vector-seed");
    let limit = UserMessageLimit::new(10).unwrap();
    assert_eq!(id.rate_commitment(limit), f(&w["rate_commitment"]));
}
