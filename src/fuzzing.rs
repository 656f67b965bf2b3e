//! Decoder fuzz bodies: plain functions that a cargo-fuzz target (`fuzz/`) and the stable
//! property tests (`tests/decoders.rs`) both run. Each must return without panicking on any
//! input and round-trip whatever decodes.

use crate::field::Field;
use crate::proof::{Groth16Proof, RlnProof};

/// Decodes `data` as every wire form rlnkit reads; whatever decodes must re-encode identically.
pub fn decode_all(data: &[u8]) {
    if let Ok(p) = RlnProof::from_bytes(data) {
        assert_eq!(p.to_bytes().as_slice(), data, "RLN proof blob round trip");
    }
    if let Ok(p) = Groth16Proof::from_bytes(data) {
        assert_eq!(p.to_bytes().as_slice(), data, "Groth16 proof round trip");
    }
    if let Ok(f) = Field::from_le_slice(data) {
        assert_eq!(f.to_le_bytes().as_slice(), data, "field round trip");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(f) = Field::parse(text) {
            assert_eq!(Field::parse(&f.to_string()), Ok(f));
        }
        let _ = crate::circuit::verifying_key_from_snarkjs_json(text);
    }
}
