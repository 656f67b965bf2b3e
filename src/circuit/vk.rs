//! Verifying keys: snarkjs `verification_key.json` and the 424-byte arkworks compressed form.

use ark_bn254::Bn254;
use ark_groth16::VerifyingKey;
use ark_serialize::CanonicalSerialize;

use crate::proof::{g1_from_json, g2_from_json};

/// Size of a compressed verifying key with 5 public inputs (6 IC points).
pub const VERIFYING_KEY_BYTES: usize = 424;

/// Parses snarkjs's Groth16 `verification_key.json` for BN254.
pub fn verifying_key_from_snarkjs_json(text: &str) -> Result<VerifyingKey<Bn254>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if v["protocol"].as_str() != Some("groth16") {
        return Err(format!("protocol is {}, expected \"groth16\"", v["protocol"]));
    }
    if !matches!(v["curve"].as_str(), Some("bn128") | Some("bn254")) {
        return Err(format!("curve is {}, expected \"bn128\"", v["curve"]));
    }
    let g1 = |k: &str| g1_from_json(&v[k]).ok_or_else(|| format!("{k} is not a valid G1 point"));
    let g2 = |k: &str| g2_from_json(&v[k]).ok_or_else(|| format!("{k} is not a valid G2 point"));
    let ic = v["IC"].as_array().ok_or("IC is missing")?;
    let gamma_abc_g1 = ic
        .iter()
        .enumerate()
        .map(|(i, p)| g1_from_json(p).ok_or_else(|| format!("IC[{i}] is not a valid G1 point")))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(n) = v["nPublic"].as_u64() {
        if n as usize + 1 != gamma_abc_g1.len() {
            return Err(format!("nPublic is {n} but IC has {} points", gamma_abc_g1.len()));
        }
    }
    Ok(VerifyingKey {
        alpha_g1: g1("vk_alpha_1")?,
        beta_g2: g2("vk_beta_2")?,
        gamma_g2: g2("vk_gamma_2")?,
        delta_g2: g2("vk_delta_2")?,
        gamma_abc_g1,
    })
}

/// The arkworks compressed form.
pub fn verifying_key_to_bytes(vk: &VerifyingKey<Bn254>) -> Vec<u8> {
    let mut out = Vec::with_capacity(VERIFYING_KEY_BYTES);
    vk.serialize_compressed(&mut out).expect("writing to a Vec");
    out
}
