//! Circuit artifacts as one type, [`CircuitKeys`], whether embedded (our development keys from
//! `zkeys/`) or loaded from a directory in the formats the Waku network publishes: circom's
//! `rln.wasm`, snarkjs's `rln_final.zkey` and `verification_key.json`.
//!
//! Also the witness: the circuit's input map ([`WitnessInput`]), the native witness of the RLN v2
//! circuits ([`WitnessLayout`], module `native`), and, with the `wasm-witness` feature, circom's
//! WebAssembly witness generator for other circuits (`WitnessGenerator`).

pub mod cache;
mod input;
mod native;
mod vk;
#[cfg(feature = "wasm-witness")]
mod wasm;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ark_bn254::{Bn254, Fr};
use ark_groth16::{PreparedVerifyingKey, ProvingKey, VerifyingKey};
use ark_relations::utils::matrix::Matrix;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};

pub use input::WitnessInput;
pub use native::{WitnessError, WitnessLayout};
pub use vk::{verifying_key_from_snarkjs_json, verifying_key_to_bytes, VERIFYING_KEY_BYTES};
#[cfg(feature = "wasm-witness")]
pub use wasm::WitnessGenerator;

/// Depth of the RLN circuit's Merkle path.
pub const CIRCUIT_DEPTH: usize = 20;
/// Number of public signals: [y, root, nullifier, x, external_nullifier].
pub const PUBLIC_SIGNALS: usize = 5;

/// File names inside a keys directory (the Waku network's names).
pub const WASM_FILE: &str = "rln.wasm";
/// The proving key (snarkjs zkey) inside a keys directory.
pub const ZKEY_FILE: &str = "rln_final.zkey";
/// The verifying key (snarkjs JSON) inside a keys directory.
pub const VK_FILE: &str = "verification_key.json";

/// Errors from loading circuit artifacts.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// A file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The zkey cannot be parsed.
    #[error("{path} is not a snarkjs Groth16 zkey for BN254: {reason}")]
    Zkey {
        /// The file (or the keys' source).
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// The verification key JSON cannot be parsed.
    #[error("{path} is not a snarkjs Groth16 verification key: {reason}")]
    VerifyingKey {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The witness generator cannot be compiled or instantiated.
    #[error("{path} is not a circom witness generator: {reason}")]
    Wasm {
        /// The file (or the keys' source).
        path: PathBuf,
        /// wasmer's or the driver's message.
        reason: String,
    },
    /// The proving key is for a circuit whose witness rlnkit does not compute natively, and
    /// the circom witness generator cannot be used instead (no `wasm-witness` feature, or no
    /// `rln.wasm`).
    #[error("{path} is not for rlnkit's or the Waku network's RLN v2 circuit (its constraints are neither's), the only circuits whose witness rlnkit computes natively; {hint}")]
    UnknownCircuit {
        /// The zkey file (or the keys' source).
        path: PathBuf,
        /// What would make the keys usable.
        hint: &'static str,
    },
    /// The proving key's wire count is not the layout's (keys matching a known circuit's
    /// constraints always have it: the zkey is malformed).
    #[error("{path} has {got} wires in its proving key, the {layout:?} circuit has {expected}")]
    WireCount {
        /// The zkey file (or the keys' source).
        path: PathBuf,
        /// The recognised circuit.
        layout: WitnessLayout,
        /// The circuit's wire count.
        expected: usize,
        /// The proving key's.
        got: usize,
    },
    /// The keys are for a circuit with another number of public inputs.
    #[error("the circuit has {got} public inputs, an RLN v2 circuit has {expected}")]
    PublicInputs {
        /// RLN v2's count (5).
        expected: usize,
        /// The circuit's count.
        got: usize,
    },
    /// `verification_key.json` is not the zkey's verifying key.
    #[error("the verifying key in {vk} does not match the one in the proving key {zkey}")]
    KeyMismatch {
        /// The verification key file.
        vk: PathBuf,
        /// The zkey file.
        zkey: PathBuf,
    },
}

/// The constraint system as the prover needs it (from the zkey).
#[derive(Clone)]
pub struct ConstraintSystem {
    /// Public wires, counting the constant 1 (six for RLN v2).
    pub num_instance_variables: usize,
    /// Private wires (ark-circom's count).
    pub num_witness_variables: usize,
    /// Number of constraints.
    pub num_constraints: usize,
    /// A, B, C (C is empty for snarkjs zkeys; the circom reduction does not need it).
    pub matrices: [Matrix<Fr>; 3],
}

/// How a key set's witnesses are computed.
enum WitnessSource {
    /// Natively (the RLN v2 circuits rlnkit knows).
    Native(WitnessLayout),
    /// By the circuit's circom WebAssembly generator.
    #[cfg(feature = "wasm-witness")]
    Wasm(WitnessGenerator),
}

/// Proving key, constraint system, verifying key (also prepared) and the witness's source: the
/// native witness for the RLN v2 circuits rlnkit knows (recognised by their constraints),
/// circom's generator for others (feature `wasm-witness`).
///
/// The keys know nothing of how proofs are made: a [`crate::Prover`] builds its tables from them
/// (and keeps them in the key cache through [`CircuitKeys::zkey_cache`]).
pub struct CircuitKeys {
    pub(crate) proving_key: ProvingKey<Bn254>,
    pub(crate) constraints: ConstraintSystem,
    pub(crate) prepared: PreparedVerifyingKey<Bn254>,
    witness: WitnessSource,
    /// The key cache's entries derived from the zkey (None without a cache).
    zkey_cache: Option<cache::SourceEntries>,
    source: String,
}

impl std::fmt::Debug for CircuitKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitKeys")
            .field("source", &self.source)
            .field("witness", &self.witness_layout())
            .field("constraints", &self.constraints.num_constraints)
            .field(
                "variables",
                &(self.constraints.num_instance_variables + self.constraints.num_witness_variables),
            )
            .finish()
    }
}

/// Our development keys, embedded in the binary (made by `make zkeys`; their witness is native,
/// so the circuit's `rln.wasm` is not embedded).
static EMBEDDED_ZKEY: &[u8] = include_bytes!("../../zkeys/rln_final.zkey");
/// Our development verifying key in snarkjs JSON.
pub static EMBEDDED_VK_JSON: &str = include_str!("../../zkeys/verification_key.json");

impl CircuitKeys {
    /// The crate's own development keys (see `zkeys/README.md`; not the Waku network's keys).
    pub fn embedded() -> Result<Arc<Self>, KeysError> {
        Self::embedded_with_cache(cache::cache_dir().as_deref())
    }

    /// The development keys with an explicit cache directory (None: parse and compile).
    pub fn embedded_with_cache(cache_dir: Option<&Path>) -> Result<Arc<Self>, KeysError> {
        Self::assemble(EMBEDDED_ZKEY, || None, "embedded development keys", cache_dir).map(Arc::new)
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
        // The circuit's wasm is read only for a circuit whose witness is not native.
        let wasm = || dir.join(WASM_FILE).exists().then(|| read(WASM_FILE).map(Cow::Owned));
        let keys =
            Self::assemble(&zkey, wasm, &dir.display().to_string(), cache::cache_dir().as_deref())
                .map_err(|e| match e {
                    KeysError::Zkey { reason, .. } => {
                        KeysError::Zkey { path: dir.join(ZKEY_FILE), reason }
                    }
                    KeysError::Wasm { reason, .. } => {
                        KeysError::Wasm { path: dir.join(WASM_FILE), reason }
                    }
                    KeysError::UnknownCircuit { hint, .. } => {
                        KeysError::UnknownCircuit { path: dir.join(ZKEY_FILE), hint }
                    }
                    KeysError::WireCount { layout, expected, got, .. } => {
                        KeysError::WireCount { path: dir.join(ZKEY_FILE), layout, expected, got }
                    }
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

    /// Builds keys from the bytes of a snarkjs zkey and the circuit's circom witness generator,
    /// using the on-disk cache of derived forms (see [`cache`]) when one is available. The
    /// generator is used only for a circuit whose witness is not native (feature
    /// `wasm-witness`); for the RLN v2 circuits it is not even compiled.
    pub fn from_bytes(zkey: &[u8], wasm: &[u8], source: &str) -> Result<Self, KeysError> {
        Self::from_bytes_with_cache(zkey, wasm, source, cache::cache_dir().as_deref())
    }

    /// Builds keys from a snarkjs zkey alone, for the RLN v2 circuits whose witness rlnkit
    /// computes natively (keys of another circuit fail with [`KeysError::UnknownCircuit`]).
    pub fn from_zkey(zkey: &[u8], source: &str) -> Result<Self, KeysError> {
        Self::assemble(zkey, || None, source, cache::cache_dir().as_deref())
    }

    /// As [`CircuitKeys::from_bytes`], with an explicit cache directory (None: no cache).
    pub fn from_bytes_with_cache(
        zkey: &[u8],
        wasm: &[u8],
        source: &str,
        cache_dir: Option<&Path>,
    ) -> Result<Self, KeysError> {
        Self::assemble(zkey, || Some(Ok(Cow::Borrowed(wasm))), source, cache_dir)
    }

    /// As [`CircuitKeys::from_bytes_with_cache`], but the witness always comes from the
    /// circuit's wasm, even for a circuit whose witness rlnkit computes natively: for comparing
    /// the two (tests, benchmarks).
    #[cfg(feature = "wasm-witness")]
    pub fn from_bytes_with_wasm_witness(
        zkey: &[u8],
        wasm: &[u8],
        source: &str,
        cache_dir: Option<&Path>,
    ) -> Result<Self, KeysError> {
        let mut keys = Self::from_bytes_with_cache(zkey, wasm, source, cache_dir)?;
        if let WitnessSource::Native(_) = keys.witness {
            keys.witness = wasm_witness(|| Some(Ok(Cow::Borrowed(wasm))), source, cache_dir)?;
        }
        Ok(keys)
    }

    /// The keys from a zkey; the witness is native when the constraints are those of a known
    /// RLN v2 circuit, else from the circuit's wasm (`wasm` gives its bytes, None: there is
    /// none).
    fn assemble<'w>(
        zkey: &[u8],
        wasm: impl FnOnce() -> Option<Result<Cow<'w, [u8]>, KeysError>>,
        source: &str,
        cache_dir: Option<&Path>,
    ) -> Result<Self, KeysError> {
        let ((proving_key, constraints, prepared), digest) =
            load_key_parts(zkey, source, cache_dir)?;
        let witness = match WitnessLayout::detect(&constraints) {
            Some(layout) => {
                let got = proving_key.a_query.len();
                if got != layout.wires() {
                    return Err(KeysError::WireCount {
                        path: PathBuf::from(source),
                        layout,
                        expected: layout.wires(),
                        got,
                    });
                }
                WitnessSource::Native(layout)
            }
            None => wasm_witness(wasm, source, cache_dir)?,
        };
        Ok(CircuitKeys {
            proving_key,
            constraints,
            prepared,
            witness,
            zkey_cache: cache_dir
                .zip(digest)
                .map(|(dir, digest)| cache::SourceEntries::new(dir, digest)),
            source: source.to_string(),
        })
    }

    /// The full witness for `input` (wire 0 is the constant 1, then the public signals
    /// `[y, root, nullifier, x, externalNullifier]`, then the rest): native for the RLN v2
    /// circuits, else by the circuit's generator. Fails when a circuit assertion does not hold.
    pub fn witness(&self, input: &WitnessInput) -> Result<Vec<Fr>, WitnessError> {
        match &self.witness {
            WitnessSource::Native(layout) => layout.witness(input),
            #[cfg(feature = "wasm-witness")]
            WitnessSource::Wasm(generator) => generator.generate(input).map_err(WitnessError::Wasm),
        }
    }

    /// As [`CircuitKeys::witness`], from the witness of an earlier message: a native witness
    /// copies the membership wires (commitments, Merkle path) when `earlier` has the same
    /// secret, limit and path, and computes only the message's (see
    /// [`WitnessLayout::witness_after`]).
    pub fn witness_after(
        &self,
        earlier: &[Fr],
        input: &WitnessInput,
    ) -> Result<Vec<Fr>, WitnessError> {
        match &self.witness {
            WitnessSource::Native(layout) => layout.witness_after(earlier, input),
            #[cfg(feature = "wasm-witness")]
            WitnessSource::Wasm(_) => self.witness(input),
        }
    }

    /// The circuit whose witness is computed natively (None: the circuit's wasm computes it).
    pub fn witness_layout(&self) -> Option<WitnessLayout> {
        match &self.witness {
            WitnessSource::Native(layout) => Some(*layout),
            #[cfg(feature = "wasm-witness")]
            WitnessSource::Wasm(_) => None,
        }
    }

    /// The circom witness generator, for keys of a circuit whose witness is not native.
    #[cfg(feature = "wasm-witness")]
    pub fn witness_generator(&self) -> Option<&WitnessGenerator> {
        match &self.witness {
            WitnessSource::Wasm(generator) => Some(generator),
            WitnessSource::Native(_) => None,
        }
    }

    /// The Groth16 proving key (arkworks form).
    pub fn proving_key(&self) -> &ProvingKey<Bn254> {
        &self.proving_key
    }

    /// The verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey<Bn254> {
        &self.proving_key.vk
    }

    /// The prepared verifying key (computed once at load).
    pub fn prepared_verifying_key(&self) -> &PreparedVerifyingKey<Bn254> {
        &self.prepared
    }

    /// The key cache's entries for artifacts derived from the zkey (None when the keys were
    /// loaded without a cache): where the prover keeps its tables.
    pub fn zkey_cache(&self) -> Option<&cache::SourceEntries> {
        self.zkey_cache.as_ref()
    }

    /// The constraint system (sizes and the A, B, C matrices).
    pub fn constraints(&self) -> &ConstraintSystem {
        &self.constraints
    }

    /// Where the keys came from.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// The circuit's wasm witness generator, for keys whose witness is not native.
#[cfg(feature = "wasm-witness")]
fn wasm_witness<'w>(
    wasm: impl FnOnce() -> Option<Result<Cow<'w, [u8]>, KeysError>>,
    source: &str,
    cache_dir: Option<&Path>,
) -> Result<WitnessSource, KeysError> {
    let Some(bytes) = wasm() else {
        return Err(KeysError::UnknownCircuit {
            path: PathBuf::from(source),
            hint: "without the circuit's rln.wasm there is no witness generator for it",
        });
    };
    WitnessGenerator::with_cache(&bytes?, cache_dir)
        .map(WitnessSource::Wasm)
        .map_err(|reason| KeysError::Wasm { path: PathBuf::from(source), reason })
}

/// Without the `wasm-witness` feature only the native witness exists.
#[cfg(not(feature = "wasm-witness"))]
fn wasm_witness<'w>(
    _wasm: impl FnOnce() -> Option<Result<Cow<'w, [u8]>, KeysError>>,
    source: &str,
    _cache_dir: Option<&Path>,
) -> Result<WitnessSource, KeysError> {
    Err(KeysError::UnknownCircuit {
        path: PathBuf::from(source),
        hint: "build rlnkit with the `wasm-witness` feature to compute its witness with the circuit's rln.wasm",
    })
}

/// Format tag of cached proving keys (bump when the layout changes).
const PK_CACHE_KIND: &str = "pk-ark0.6-uncompressed-v1";

type KeyParts = (ProvingKey<Bn254>, ConstraintSystem, PreparedVerifyingKey<Bn254>);

/// The proving key, constraints and prepared verifying key from the cache when it has them
/// (else parsed from the zkey and cached), with the zkey's digest when a cache is used.
fn load_key_parts(
    zkey: &[u8],
    source: &str,
    cache_dir: Option<&Path>,
) -> Result<(KeyParts, Option<[u8; 32]>), KeysError> {
    let Some(dir) = cache_dir else {
        return Ok((parse_zkey(zkey, source)?, None));
    };
    let digest = cache::sha256(zkey);
    let entries = cache::SourceEntries::new(dir, digest);
    if let Some(parts) = entries.read(PK_CACHE_KIND).and_then(|body| decode_cached_keys(&body)) {
        return Ok((parts, Some(digest)));
    }
    let parts = parse_zkey(zkey, source)?;
    if let Some(body) = encode_cached_keys(&parts) {
        if let Err(e) = entries.write(PK_CACHE_KIND, &body) {
            tracing::debug!(error = %e, "cannot cache the parsed proving key");
        }
    }
    Ok((parts, Some(digest)))
}

/// Parses a snarkjs zkey (checks every point) and prepares its verifying key.
fn parse_zkey(zkey: &[u8], source: &str) -> Result<KeyParts, KeysError> {
    let (proving_key, idx) = ark_circom::read_zkey(&mut std::io::Cursor::new(zkey))
        .map_err(|e| KeysError::Zkey { path: PathBuf::from(source), reason: e.to_string() })?;
    if idx.num_instance_variables != PUBLIC_SIGNALS + 1 {
        return Err(KeysError::PublicInputs {
            expected: PUBLIC_SIGNALS,
            got: idx.num_instance_variables.saturating_sub(1),
        });
    }
    let constraints = ConstraintSystem {
        num_instance_variables: idx.num_instance_variables,
        num_witness_variables: idx.num_witness_variables,
        num_constraints: idx.num_constraints,
        matrices: [idx.a, idx.b, idx.c],
    };
    let prepared = ark_groth16::prepare_verifying_key(&proving_key.vk);
    Ok((proving_key, constraints, prepared))
}

fn encode_cached_keys((pk, cs, pvk): &KeyParts) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    (cs.num_instance_variables as u64, cs.num_witness_variables as u64, cs.num_constraints as u64)
        .serialize_uncompressed(&mut out)
        .ok()?;
    cs.matrices.serialize_uncompressed(&mut out).ok()?;
    pk.serialize_uncompressed(&mut out).ok()?;
    pvk.serialize_uncompressed(&mut out).ok()?;
    Some(out)
}

/// Decodes a cache body. Points are not re-checked: the body's checksum was verified and it was
/// written from a zkey whose points were checked when it was parsed.
fn decode_cached_keys(mut body: &[u8]) -> Option<KeyParts> {
    let r = &mut body;
    let (ni, nw, nc) =
        <(u64, u64, u64)>::deserialize_with_mode(&mut *r, Compress::No, Validate::No).ok()?;
    let matrices =
        <[Matrix<Fr>; 3]>::deserialize_with_mode(&mut *r, Compress::No, Validate::No).ok()?;
    let pk =
        ProvingKey::<Bn254>::deserialize_with_mode(&mut *r, Compress::No, Validate::No).ok()?;
    let pvk =
        PreparedVerifyingKey::<Bn254>::deserialize_with_mode(&mut *r, Compress::No, Validate::No)
            .ok()?;
    let wires = pk.a_query.len();
    let consistent = r.is_empty()
        && ni as usize == PUBLIC_SIGNALS + 1
        && pk.b_g1_query.len() == wires
        && pk.b_g2_query.len() == wires
        && pk.l_query.len() + ni as usize == wires
        && pvk.vk == pk.vk;
    if !consistent {
        return None;
    }
    let cs = ConstraintSystem {
        num_instance_variables: ni as usize,
        num_witness_variables: nw as usize,
        num_constraints: nc as usize,
        matrices,
    };
    Some((pk, cs, pvk))
}

/// Reads a snarkjs `verification_key.json`.
pub fn load_verifying_key_json(path: &Path) -> Result<VerifyingKey<Bn254>, KeysError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| KeysError::Read { path: path.to_path_buf(), source })?;
    verifying_key_from_snarkjs_json(&text)
        .map_err(|reason| KeysError::VerifyingKey { path: path.to_path_buf(), reason })
}

/// The embedded development verifying key.
pub fn embedded_verifying_key() -> VerifyingKey<Bn254> {
    verifying_key_from_snarkjs_json(EMBEDDED_VK_JSON)
        .expect("the embedded verification key is valid")
}
