//! The circuit keys the C library proves and verifies with: the Waku network's ceremony keys
//! (embedded from `zkeys/waku-rln-v2/`, as zerokit embeds them) by default, rlnkit's development
//! keys, or a directory. Each embedded set is loaded once per process and shared.

use std::sync::{Arc, OnceLock};

use rlnkit::{CircuitKeys, KeysError};

static WAKU_ZKEY: &[u8] = include_bytes!("../../zkeys/waku-rln-v2/rln_final.zkey");

/// The Waku network's RLN v2 keys (what the network's relays accept). Their witness is computed
/// natively, so the circuit's wasm is not embedded.
pub fn waku() -> Result<Arc<CircuitKeys>, String> {
    static KEYS: OnceLock<Arc<CircuitKeys>> = OnceLock::new();
    once(&KEYS, || CircuitKeys::from_zkey(WAKU_ZKEY, "embedded Waku network keys").map(Arc::new))
}

/// rlnkit's development keys (tests and local networks only).
pub fn development() -> Result<Arc<CircuitKeys>, String> {
    static KEYS: OnceLock<Arc<CircuitKeys>> = OnceLock::new();
    once(&KEYS, CircuitKeys::embedded)
}

fn once(
    cell: &OnceLock<Arc<CircuitKeys>>,
    load: impl FnOnce() -> Result<Arc<CircuitKeys>, KeysError>,
) -> Result<Arc<CircuitKeys>, String> {
    if let Some(k) = cell.get() {
        return Ok(k.clone());
    }
    let keys = load().map_err(|e| format!("loading the circuit keys: {e}"))?;
    Ok(cell.get_or_init(|| keys).clone())
}

/// Keys from the bytes of a snarkjs zkey and the circuit's circom wasm witness generator (used
/// only for a circuit whose witness rlnkit does not compute natively).
pub fn from_bytes(zkey: &[u8], wasm: &[u8]) -> Result<Arc<CircuitKeys>, String> {
    if !wasm.starts_with(b"\0asm") {
        return Err(
            "graph_data must be the circuit's circom witness generator (rln.wasm): rlnkit \
                    does not read zerokit's graph.bin"
                .into(),
        );
    }
    CircuitKeys::from_bytes(zkey, wasm, "keys passed by the caller")
        .map(Arc::new)
        .map_err(|e| format!("loading the circuit keys: {e}"))
}
