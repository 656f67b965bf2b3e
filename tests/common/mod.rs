//! Helpers shared by integration tests: the Waku interop fixtures in ../shared/interop.
#![allow(dead_code)]

use std::path::PathBuf;

use rlnkit::Field;

/// ../shared/interop beside the repository (present in CI and on developer machines).
pub(crate) fn interop_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/interop");
    assert!(dir.join("vectors.json").exists(), "interop fixtures not found at {}: these tests need ../shared/interop beside the repository", dir.display());
    dir
}

pub(crate) fn vectors() -> serde_json::Value {
    let text =
        std::fs::read_to_string(interop_dir().join("vectors.json")).expect("read vectors.json");
    serde_json::from_str(&text).expect("vectors.json is JSON")
}

pub(crate) fn waku_keys_dir() -> PathBuf {
    interop_dir().join("waku-rln-v2")
}

pub(crate) fn f(v: &serde_json::Value) -> Field {
    Field::parse(v.as_str().expect("a string")).expect("a field element")
}

/// A membership tree of seeded identities and rlnkit's embedded keys, for proving tests.
pub(crate) struct Members {
    pub(crate) keys: std::sync::Arc<rlnkit::CircuitKeys>,
    /// One prover for the keys (its clones share the proving tables).
    pub(crate) prover: rlnkit::Prover,
    pub(crate) tree: rlnkit::MerkleTree,
    pub(crate) ids: Vec<rlnkit::Identity>,
    pub(crate) limit: rlnkit::UserMessageLimit,
}

impl Members {
    /// `n` members seeded from `tag`, all with user message limit `limit`.
    pub(crate) fn new(tag: &str, n: usize, limit: u64) -> Self {
        let limit = rlnkit::UserMessageLimit::new(limit).unwrap();
        let ids: Vec<rlnkit::Identity> =
            (0..n).map(|i| rlnkit::Identity::from_seed(format!("{tag} {i}").as_bytes())).collect();
        let leaves: Vec<Field> = ids.iter().map(|id| id.rate_commitment(limit)).collect();
        let keys = rlnkit::CircuitKeys::embedded().unwrap();
        Members {
            prover: rlnkit::Prover::new(keys.clone()),
            keys,
            tree: rlnkit::MerkleTree::from_leaves(20, &leaves).unwrap(),
            ids,
            limit,
        }
    }
}

/// The Waku external nullifier of an epoch index.
pub(crate) fn ext(epoch: u64) -> rlnkit::ExternalNullifier {
    rlnkit::ExternalNullifier::new(rlnkit::Epoch::from_index(epoch), rlnkit::RlnIdentifier::waku())
}
