//! Helpers shared by integration tests: the Waku interop fixtures in ../shared/interop.
#![allow(dead_code)]

use std::path::PathBuf;

use rlnkit::Field;

/// ../shared/interop beside the repository (present in CI and on developer machines).
pub fn interop_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/interop");
    assert!(dir.join("vectors.json").exists(), "interop fixtures not found at {}: these tests need ../shared/interop beside the repository", dir.display());
    dir
}

pub fn vectors() -> serde_json::Value {
    let text = std::fs::read_to_string(interop_dir().join("vectors.json")).expect("read vectors.json");
    serde_json::from_str(&text).expect("vectors.json is JSON")
}

pub fn waku_keys_dir() -> PathBuf {
    interop_dir().join("waku-rln-v2")
}

pub fn f(v: &serde_json::Value) -> Field {
    Field::parse(v.as_str().expect("a string")).expect("a field element")
}
