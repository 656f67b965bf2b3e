//! The circuit's inputs and the circom WebAssembly witness generator.

use std::path::Path;
use std::sync::Mutex;

use ark_bn254::Fr;
use ark_circom::WitnessCalculator;
use num_bigint::BigInt;
use serde::{Deserialize, Serialize};
use wasmer::{Module, Store};

use super::cache;
use crate::field::Field;

/// Format tag of cached compiled modules: the artifact is specific to the wasmer version, its
/// compiler and the target.
#[cfg(target_arch = "x86_64")]
const MODULE_CACHE_KIND: &str = "wasmer6.1-cranelift-x86_64";
#[cfg(target_arch = "aarch64")]
const MODULE_CACHE_KIND: &str = "wasmer6.1-cranelift-aarch64";
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const MODULE_CACHE_KIND: &str = "wasmer6.1-cranelift-other";
use crate::tree::MerkleProof;

/// The RLN v2 circuit's inputs, with circom's signal names (`identitySecret`, …) in JSON, so the
/// same file works with snarkjs, with the Waku network's circuit and with ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WitnessInput {
    pub identity_secret: Field,
    pub user_message_limit: Field,
    pub message_id: Field,
    pub path_elements: Vec<Field>,
    pub identity_path_index: Vec<Field>,
    pub x: Field,
    pub external_nullifier: Field,
}

impl WitnessInput {
    /// Assembles inputs from typed parts.
    pub fn new(identity_secret: Field, user_message_limit: u64, message_id: u64, path: &MerkleProof, x: Field, external_nullifier: Field) -> Self {
        WitnessInput {
            identity_secret,
            user_message_limit: Field::from_u64(user_message_limit),
            message_id: Field::from_u64(message_id),
            path_elements: path.path_elements.clone(),
            identity_path_index: path.identity_path_index.iter().map(|&b| Field::from_u64(b as u64)).collect(),
            x,
            external_nullifier,
        }
    }

    /// The Merkle path as a [`MerkleProof`] (bits other than 0/1 are kept as 2 so validation fails).
    pub fn merkle_proof(&self) -> MerkleProof {
        MerkleProof {
            path_elements: self.path_elements.clone(),
            identity_path_index: self
                .identity_path_index
                .iter()
                .map(|b| if *b == Field::ZERO { 0 } else if *b == Field::ONE { 1 } else { 2 })
                .collect(),
        }
    }

    fn signals(&self) -> Vec<(String, Vec<BigInt>)> {
        let big = |f: &Field| BigInt::from_bytes_le(num_bigint::Sign::Plus, &f.to_le_bytes());
        vec![
            ("identitySecret".into(), vec![big(&self.identity_secret)]),
            ("userMessageLimit".into(), vec![big(&self.user_message_limit)]),
            ("messageId".into(), vec![big(&self.message_id)]),
            ("pathElements".into(), self.path_elements.iter().map(big).collect()),
            ("identityPathIndex".into(), self.identity_path_index.iter().map(big).collect()),
            ("x".into(), vec![big(&self.x)]),
            ("externalNullifier".into(), vec![big(&self.external_nullifier)]),
        ]
    }
}

struct Instance {
    store: Store,
    calculator: WitnessCalculator,
}

/// A compiled circom witness generator. Calls are serialized (the WebAssembly instance has one
/// memory); it is compiled once per process.
pub struct WitnessGenerator {
    inner: Mutex<Instance>,
}

impl WitnessGenerator {
    /// Compiles a circom `.wasm` witness generator.
    pub fn new(wasm: &[u8]) -> Result<Self, String> {
        Self::with_cache(wasm, None)
    }

    /// Compiles a circom `.wasm` witness generator, or loads it from the cache directory
    /// (compiled once per machine instead of once per process; see [`super::cache`]).
    pub fn with_cache(wasm: &[u8], cache_dir: Option<&Path>) -> Result<Self, String> {
        let mut store = Store::default();
        let module = match cache_dir {
            Some(dir) => {
                let digest = cache::sha256(wasm);
                let path = cache::entry_path(dir, MODULE_CACHE_KIND, &digest);
                // SAFETY: the entry's checksum was verified, and it was written by `Module::serialize`
                // of this wasmer version for this target (both are in MODULE_CACHE_KIND).
                let cached = cache::read_entry(&path, MODULE_CACHE_KIND, &digest)
                    .and_then(|body| unsafe { Module::deserialize(&store, body) }.ok());
                match cached {
                    Some(module) => module,
                    None => {
                        let module = Module::new(&store, wasm).map_err(|e| e.to_string())?;
                        if let Ok(bytes) = module.serialize() {
                            let _ = cache::write_entry(&path, MODULE_CACHE_KIND, &digest, &bytes);
                        }
                        module
                    }
                }
            }
            None => Module::new(&store, wasm).map_err(|e| e.to_string())?,
        };
        let calculator = WitnessCalculator::from_module(&mut store, module).map_err(|e| e.to_string())?;
        Ok(WitnessGenerator { inner: Mutex::new(Instance { store, calculator }) })
    }

    /// The full witness (wire 0 is the constant 1, then the public signals, then the rest).
    /// Fails when a circuit constraint does not hold for these inputs.
    pub fn generate(&self, input: &WitnessInput) -> Result<Vec<Fr>, String> {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Instance { store, calculator } = &mut *guard;
        calculator.calculate_witness_element::<Fr, _>(store, input.signals(), true).map_err(|e| format!("{e:#}"))
    }
}
