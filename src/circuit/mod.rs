//! Circuit artifacts as one type, [`CircuitKeys`], whether embedded (our development keys from
//! `zkeys/`) or loaded from a directory in the formats the Waku network publishes: circom's
//! `rln.wasm`, snarkjs's `rln_final.zkey` and `verification_key.json`.
//!
//! Also the witness: the circuit's input map and the WebAssembly witness generator.

mod vk;
mod witness;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ark_bn254::{Bn254, Fr};
use ark_groth16::{PreparedVerifyingKey, ProvingKey, VerifyingKey};
use ark_relations::utils::matrix::Matrix;

pub use vk::{verifying_key_from_snarkjs_json, verifying_key_to_bytes, VERIFYING_KEY_BYTES};
pub use witness::{WitnessGenerator, WitnessInput};

/// Depth of the RLN circuit's Merkle path.
pub const CIRCUIT_DEPTH: usize = 20;
/// Number of public signals: [y, root, nullifier, x, external_nullifier].
pub const PUBLIC_SIGNALS: usize = 5;

/// File names inside a keys directory (the Waku network's names).
pub const WASM_FILE: &str = "rln.wasm";
pub const ZKEY_FILE: &str = "rln_final.zkey";
pub const VK_FILE: &str = "verification_key.json";

/// Errors from loading circuit artifacts.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a snarkjs Groth16 zkey for BN254: {reason}")]
    Zkey { path: PathBuf, reason: String },
    #[error("{path} is not a snarkjs Groth16 verification key: {reason}")]
    VerifyingKey { path: PathBuf, reason: String },
    #[error("{path} is not a circom witness generator: {reason}")]
    Wasm { path: PathBuf, reason: String },
    #[error("the circuit has {got} public inputs, an RLN v2 circuit has {expected}")]
    PublicInputs { expected: usize, got: usize },
    #[error("the verifying key in {vk} does not match the one in the proving key {zkey}")]
    KeyMismatch { vk: PathBuf, zkey: PathBuf },
}

/// The constraint system as the prover needs it (from the zkey).
#[derive(Clone)]
pub struct ConstraintSystem {
    pub num_instance_variables: usize,
    pub num_witness_variables: usize,
    pub num_constraints: usize,
    /// A, B, C (C is empty for snarkjs zkeys; the circom reduction does not need it).
    pub matrices: [Matrix<Fr>; 3],
}

/// Proving key, constraint system, verifying key (also prepared) and witness generator.
pub struct CircuitKeys {
    pub(crate) proving_key: ProvingKey<Bn254>,
    pub(crate) constraints: ConstraintSystem,
    pub(crate) prepared: PreparedVerifyingKey<Bn254>,
    pub(crate) witness: WitnessGenerator,
    source: String,
}

impl std::fmt::Debug for CircuitKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitKeys")
            .field("source", &self.source)
            .field("constraints", &self.constraints.num_constraints)
            .field("variables", &(self.constraints.num_instance_variables + self.constraints.num_witness_variables))
            .finish()
    }
}

/// Our development keys, embedded in the binary (made by `make zkeys`).
static EMBEDDED_ZKEY: &[u8] = include_bytes!("../../zkeys/rln_final.zkey");
static EMBEDDED_WASM: &[u8] = include_bytes!("../../zkeys/rln.wasm");
/// Our development verifying key in snarkjs JSON.
pub static EMBEDDED_VK_JSON: &str = include_str!("../../zkeys/verification_key.json");

impl CircuitKeys {
    /// The crate's own development keys (see `zkeys/README.md`; not the Waku network's keys).
    pub fn embedded() -> Result<Arc<Self>, KeysError> {
        Self::from_bytes(EMBEDDED_ZKEY, EMBEDDED_WASM, "embedded development keys").map(Arc::new)
    }

    /// Loads `rln_final.zkey` and `rln.wasm` from `dir` (and checks `verification_key.json`
    /// against the zkey when present).
    pub fn load(dir: impl AsRef<Path>) -> Result<Arc<Self>, KeysError> {
        let dir = dir.as_ref();
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| KeysError::Read { path, source })
        };
        let zkey = read(ZKEY_FILE)?;
        let wasm = read(WASM_FILE)?;
        let keys = Self::from_bytes(&zkey, &wasm, &dir.display().to_string()).map_err(|e| match e {
            KeysError::Zkey { reason, .. } => KeysError::Zkey { path: dir.join(ZKEY_FILE), reason },
            KeysError::Wasm { reason, .. } => KeysError::Wasm { path: dir.join(WASM_FILE), reason },
            other => other,
        })?;
        let vk_path = dir.join(VK_FILE);
        if vk_path.exists() {
            let vk = load_verifying_key_json(&vk_path)?;
            if vk != keys.proving_key.vk {
                return Err(KeysError::KeyMismatch { vk: vk_path, zkey: dir.join(ZKEY_FILE) });
            }
        }
        Ok(Arc::new(keys))
    }

    /// Builds keys from the bytes of a snarkjs zkey and a circom witness generator.
    pub fn from_bytes(zkey: &[u8], wasm: &[u8], source: &str) -> Result<Self, KeysError> {
        let (proving_key, idx) = ark_circom::read_zkey(&mut std::io::Cursor::new(zkey))
            .map_err(|e| KeysError::Zkey { path: PathBuf::from(source), reason: e.to_string() })?;
        if idx.num_instance_variables != PUBLIC_SIGNALS + 1 {
            return Err(KeysError::PublicInputs { expected: PUBLIC_SIGNALS, got: idx.num_instance_variables.saturating_sub(1) });
        }
        let constraints = ConstraintSystem {
            num_instance_variables: idx.num_instance_variables,
            num_witness_variables: idx.num_witness_variables,
            num_constraints: idx.num_constraints,
            matrices: [idx.a, idx.b, idx.c],
        };
        let witness = WitnessGenerator::new(wasm).map_err(|reason| KeysError::Wasm { path: PathBuf::from(source), reason })?;
        let prepared = ark_groth16::prepare_verifying_key(&proving_key.vk);
        Ok(CircuitKeys { proving_key, constraints, prepared, witness, source: source.to_string() })
    }

    /// The verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey<Bn254> {
        &self.proving_key.vk
    }

    /// The prepared verifying key (computed once at load).
    pub fn prepared_verifying_key(&self) -> &PreparedVerifyingKey<Bn254> {
        &self.prepared
    }

    /// The witness generator.
    pub fn witness_generator(&self) -> &WitnessGenerator {
        &self.witness
    }

    pub fn constraints(&self) -> &ConstraintSystem {
        &self.constraints
    }

    /// Where the keys came from.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// Reads a snarkjs `verification_key.json`.
pub fn load_verifying_key_json(path: &Path) -> Result<VerifyingKey<Bn254>, KeysError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeysError::Read { path: path.to_path_buf(), source })?;
    verifying_key_from_snarkjs_json(&text).map_err(|reason| KeysError::VerifyingKey { path: path.to_path_buf(), reason })
}

/// The embedded development verifying key.
pub fn embedded_verifying_key() -> VerifyingKey<Bn254> {
    verifying_key_from_snarkjs_json(EMBEDDED_VK_JSON).expect("the embedded verification key is valid")
}
