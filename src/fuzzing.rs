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
    decode_waku_message(data);
}

/// Any bytes either fail to decode as a relayed Waku message or decode to one that re-encodes and
/// decodes to itself; its signal, hash and proof conversion never panic.
pub fn decode_waku_message(bytes: &[u8]) {
    use crate::relay::WakuMessage;
    if let Ok(msg) = WakuMessage::decode_checked(bytes) {
        let again = WakuMessage::decode_checked(&msg.to_bytes())
            .expect("a decoded message re-encodes to a decodable one");
        assert_eq!(again, msg, "round trip changed the message");
        let _ = msg.rln_signal();
        let _ = msg.message_hash("/waku/2/rs/0/0");
        if let Some(p) = &msg.rate_limit_proof {
            if let Ok(c) = p.check() {
                let _ = c.to_rln_proof(Field::ZERO);
            }
        }
    }
}
