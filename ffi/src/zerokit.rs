//! zerokit v2.0.2's `stateless` C ABI (the `ffi_*` functions nwaku's main branch calls), with
//! the same names, layouts and ownership: every handle, vector and error string handed out is
//! freed by the matching `ffi_*_free`; arguments are borrowed, never freed.
//!
//! Differences (docs/C-LIBRARY.md): null pointers and impossible lengths give an error (or a
//! null/empty result) instead of undefined behaviour; `ffi_rln_new_with_params` takes a snarkjs
//! zkey and the circom wasm instead of an arkzkey and graph.bin; a partial proof is rlnkit's
//! per-member prover, serialized as its partial witness.

use std::sync::{Arc, OnceLock};

use rlnkit::prover::MemberProver;
use rlnkit::{
    hash_to_field, poseidon2, recover_secret, CircuitKeys, ExternalNullifier, Field, Groth16Proof,
    Identity, MerkleProof, Prover, PublicValues, RlnInputs, RlnProof, UserMessageLimit, Verifier,
};

use crate::types::*;

/// Depth of the circuit's membership tree.
const DEPTH: usize = rlnkit::circuit::CIRCUIT_DEPTH;
/// The single-message-id wire version (zerokit's `SerializationVersion::SingleV1`).
const VERSION: u8 = 0x00;
/// Bytes of a serialized `RLNProofValues`: version + five field elements.
const VALUES_BYTES: usize = 1 + 5 * 32;
/// Bytes of a serialized `RLNProof`: version + Groth16 proof + values.
const PROOF_BYTES: usize = 1 + 128 + VALUES_BYTES;

/// An RLN instance: the circuit keys and a prover over them.
#[allow(non_camel_case_types)]
pub struct FFI_RLN {
    pub(crate) keys: Arc<CircuitKeys>,
    pub(crate) prover: Prover,
    pub(crate) verifier: Verifier,
}

impl FFI_RLN {
    pub(crate) fn new(keys: Arc<CircuitKeys>) -> Self {
        FFI_RLN {
            prover: Prover::new(keys.clone()),
            verifier: Verifier::new(keys.verifying_key()),
            keys,
        }
    }
}

/// An RLN proof: the Groth16 proof and its public values.
#[allow(non_camel_case_types)]
pub struct FFI_RLNProof(pub(crate) RlnProof);

/// The public values of a proof: root, external nullifier, x, y, nullifier.
#[allow(non_camel_case_types)]
pub struct FFI_RLNProofValues(pub(crate) PublicValues);

/// Everything one proof needs.
#[allow(non_camel_case_types)]
pub struct FFI_RLNWitnessInput {
    secret: Field,
    limit: UserMessageLimit,
    message_id: u64,
    path: MerkleProof,
    x: Field,
    external_nullifier: Field,
}

/// What does not change between a member's messages: secret, limit, Merkle path.
#[allow(non_camel_case_types)]
pub struct FFI_RLNPartialWitnessInput {
    secret: Field,
    limit: UserMessageLimit,
    path: MerkleProof,
}

/// rlnkit's partial proof: a member's prover, which keeps the witness and the wire sums of its
/// first proof and recomputes only what a message changes for the next ones.
#[allow(non_camel_case_types)]
pub struct FFI_RLNPartialProof {
    witness: FFI_RLNPartialWitnessInput,
    member: OnceLock<(Arc<CircuitKeys>, MemberProver)>,
}

/// A result handing out an RLN instance (free with `ffi_rln_free`).
#[repr(C)]
pub struct CResultRln {
    /// The instance, or null.
    pub ok: *mut FFI_RLN,
    /// The error message, or a null `ptr`.
    pub err: Vec_uint8,
}
/// A result handing out a proof (free with `ffi_rln_proof_free`).
#[repr(C)]
pub struct CResultProof {
    /// The proof, or null.
    pub ok: *mut FFI_RLNProof,
    /// The error message, or a null `ptr`.
    pub err: Vec_uint8,
}
/// A result handing out proof values (free with `ffi_rln_proof_values_free`).
#[repr(C)]
pub struct CResultProofValues {
    /// The values, or null.
    pub ok: *mut FFI_RLNProofValues,
    /// The error message, or a null `ptr`.
    pub err: Vec_uint8,
}
/// A result handing out a witness input (free with `ffi_rln_witness_input_free`).
#[repr(C)]
pub struct CResultWitnessInput {
    /// The witness input, or null.
    pub ok: *mut FFI_RLNWitnessInput,
    /// The error message, or a null `ptr`.
    pub err: Vec_uint8,
}
/// A result handing out a partial witness input (free with `ffi_rln_partial_witness_input_free`).
#[repr(C)]
pub struct CResultPartialWitnessInput {
    /// The partial witness input, or null.
    pub ok: *mut FFI_RLNPartialWitnessInput,
    /// The error message, or a null `ptr`.
    pub err: Vec_uint8,
}
/// A result handing out a partial proof (free with `ffi_rln_partial_proof_free`).
#[repr(C)]
pub struct CResultPartialProof {
    /// The partial proof, or null.
    pub ok: *mut FFI_RLNPartialProof,
    /// The error message, or a null `ptr`.
    pub err: Vec_uint8,
}
ffi_result!(CResultRln, *mut FFI_RLN, std::ptr::null_mut());
ffi_result!(CResultProof, *mut FFI_RLNProof, std::ptr::null_mut());
ffi_result!(CResultProofValues, *mut FFI_RLNProofValues, std::ptr::null_mut());
ffi_result!(CResultWitnessInput, *mut FFI_RLNWitnessInput, std::ptr::null_mut());
ffi_result!(CResultPartialWitnessInput, *mut FFI_RLNPartialWitnessInput, std::ptr::null_mut());
ffi_result!(CResultPartialProof, *mut FFI_RLNPartialProof, std::ptr::null_mut());

fn into_raw<T>(v: T) -> *mut T {
    Box::into_raw(Box::new(v))
}

/// Frees a handle made by `Box::into_raw` (null: nothing).
///
/// # Safety
/// A non-null `p` must be a live handle of this type made by this library.
unsafe fn free<T>(p: *mut T) {
    if !p.is_null() {
        drop(unsafe { Box::from_raw(p) });
    }
}

// ---------------------------------------------------------------- field elements and vectors

/// Field element endianness.
#[derive(Clone, Copy)]
enum Endian {
    Le,
    Be,
}

fn field_to_bytes(f: Field, e: Endian) -> [u8; 32] {
    match e {
        Endian::Le => f.to_le_bytes(),
        Endian::Be => f.to_be_bytes(),
    }
}

/// The first 32 bytes as a canonical field element (zerokit reads a prefix and ignores the rest).
fn field_from_prefix(b: &[u8], e: Endian) -> Result<Field, String> {
    let head: &[u8; 32] = b
        .get(..32)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| format!("a field element needs 32 bytes, got {}", b.len()))?;
    match e {
        Endian::Le => Field::from_le_bytes(head),
        Endian::Be => Field::from_be_bytes(head),
    }
    .map_err(|e| e.to_string())
}

fn len_prefix(n: usize, e: Endian) -> [u8; 8] {
    match e {
        Endian::Le => (n as u64).to_le_bytes(),
        Endian::Be => (n as u64).to_be_bytes(),
    }
}

/// An 8-byte length prefix and what follows it.
fn read_len(b: &[u8], e: Endian) -> Result<(usize, &[u8]), String> {
    let (head, rest) = b
        .split_first_chunk::<8>()
        .ok_or_else(|| format!("a vector needs an 8-byte length prefix, got {} bytes", b.len()))?;
    let n = match e {
        Endian::Le => u64::from_le_bytes(*head),
        Endian::Be => u64::from_be_bytes(*head),
    };
    Ok((usize::try_from(n).map_err(|_| format!("vector length {n} is too large"))?, rest))
}

fn vec_fields_to_bytes(v: &[Field], e: Endian) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 32 * v.len());
    out.extend_from_slice(&len_prefix(v.len(), e));
    for f in v {
        out.extend_from_slice(&field_to_bytes(*f, e));
    }
    out
}

fn bytes_to_vec_fields(b: &[u8], e: Endian) -> Result<(Vec<Field>, usize), String> {
    let (n, rest) = read_len(b, e)?;
    if n > rest.len() / 32 {
        return Err(format!(
            "{n} field elements need {} bytes, got {}",
            8 + 32 * n as u128,
            b.len()
        ));
    }
    let v =
        rest.chunks_exact(32).take(n).map(|c| field_from_prefix(c, e)).collect::<Result<_, _>>()?;
    Ok((v, 8 + 32 * n))
}

fn vec_u8_to_bytes(v: &[u8], e: Endian) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + v.len());
    out.extend_from_slice(&len_prefix(v.len(), e));
    out.extend_from_slice(v);
    out
}

fn bytes_to_vec_u8(b: &[u8], e: Endian) -> Result<(Vec<u8>, usize), String> {
    let (n, rest) = read_len(b, e)?;
    let body = rest.get(..n).ok_or_else(|| {
        format!("a vector of {n} bytes needs {} bytes, got {}", 8 + n as u128, b.len())
    })?;
    Ok((body.to_vec(), 8 + n))
}

fn cfr_vec(v: impl IntoIterator<Item = Field>) -> Vec_CFr {
    Vec_CFr::from_vec(v.into_iter().map(CFr).collect())
}

/// A new handle for zero.
#[no_mangle]
pub extern "C" fn ffi_cfr_zero() -> *mut CFr {
    boxed(Field::ZERO)
}

/// A new handle for one.
#[no_mangle]
pub extern "C" fn ffi_cfr_one() -> *mut CFr {
    boxed(Field::ONE)
}

/// A new handle for a small integer.
#[no_mangle]
pub extern "C" fn ffi_uint_to_cfr(value: u32) -> *mut CFr {
    boxed(Field::from_u64(value.into()))
}

/// The 32-byte little-endian form (empty with a null `ptr` for a null handle).
///
/// # Safety
/// `cfr` must be null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn ffi_cfr_to_bytes_le(cfr: *const CFr) -> Vec_uint8 {
    match unsafe { field(cfr, "cfr") } {
        Ok(f) => Vec_uint8::from_vec(f.to_le_bytes().to_vec()),
        Err(_) => Vec_uint8::NONE,
    }
}

/// The 32-byte big-endian form (empty with a null `ptr` for a null handle).
///
/// # Safety
/// `cfr` must be null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn ffi_cfr_to_bytes_be(cfr: *const CFr) -> Vec_uint8 {
    match unsafe { field(cfr, "cfr") } {
        Ok(f) => Vec_uint8::from_vec(f.to_be_bytes().to_vec()),
        Err(_) => Vec_uint8::NONE,
    }
}

/// A field element from its first 32 bytes, little-endian; non-canonical values are an error.
///
/// # Safety
/// `bytes` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_bytes_le_to_cfr(bytes: *const Vec_uint8) -> CResultCFr {
    guarded(|| {
        field_from_prefix(unsafe { crate::types::bytes(bytes, "bytes") }?, Endian::Le).map(boxed)
    })
}

/// A field element from its first 32 bytes, big-endian; non-canonical values are an error.
///
/// # Safety
/// `bytes` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_bytes_be_to_cfr(bytes: *const Vec_uint8) -> CResultCFr {
    guarded(|| {
        field_from_prefix(unsafe { crate::types::bytes(bytes, "bytes") }?, Endian::Be).map(boxed)
    })
}

/// The decimal value as a string (free with `ffi_c_string_free`); "None" for null.
///
/// # Safety
/// `cfr` must be null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn ffi_cfr_debug(cfr: *const CFr) -> Vec_uint8 {
    match unsafe { cfr.as_ref() } {
        Some(c) => c.0.to_string().into(),
        None => "None".to_string().into(),
    }
}

/// Frees a field element handle (null: nothing).
///
/// # Safety
/// `cfr` must be null or a live handle from this library, not freed before.
#[no_mangle]
pub unsafe extern "C" fn ffi_cfr_free(cfr: *mut CFr) {
    unsafe { free(cfr) }
}

/// An empty vector of field elements with room for `capacity`.
#[no_mangle]
pub extern "C" fn ffi_vec_cfr_new(capacity: usize) -> Vec_CFr {
    guarded_or(Vec_CFr::NONE, || Vec_CFr::from_vec(Vec::with_capacity(capacity)))
}

/// A vector holding a copy of one field element (a null `ptr` for a null handle).
///
/// # Safety
/// `cfr` must be null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn ffi_vec_cfr_from_cfr(cfr: *const CFr) -> Vec_CFr {
    match unsafe { field(cfr, "cfr") } {
        Ok(f) => cfr_vec([f]),
        Err(_) => Vec_CFr::NONE,
    }
}

/// Appends a copy of `cfr` to a vector this library made (null arguments: nothing).
///
/// # Safety
/// `v` must be null or point to a live vector from this library; `cfr` null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn ffi_vec_cfr_push(v: *mut Vec_CFr, cfr: *const CFr) {
    let (Some(v), Ok(f)) = (unsafe { v.as_mut() }, unsafe { field(cfr, "cfr") }) else {
        return;
    };
    let taken = std::mem::replace(v, Vec_CFr::NONE);
    let mut inner = unsafe { taken.into_vec() }.unwrap_or_default();
    inner.push(CFr(f));
    *v = Vec_CFr::from_vec(inner);
}

/// Number of elements (0 for null).
///
/// # Safety
/// `v` must be null or point to a valid vector.
#[no_mangle]
pub unsafe extern "C" fn ffi_vec_cfr_len(v: *const Vec_CFr) -> usize {
    unsafe { v.as_ref() }.map_or(0, |v| v.len)
}

/// The element at `i`, borrowed from the vector (null when out of range or null).
///
/// # Safety
/// `v` must be null or point to a valid vector.
#[no_mangle]
pub unsafe extern "C" fn ffi_vec_cfr_get(v: *const Vec_CFr, i: usize) -> *const CFr {
    match unsafe { fields(v, "v") } {
        Ok(s) => s.get(i).map_or(std::ptr::null(), |c| c as *const CFr),
        Err(_) => std::ptr::null(),
    }
}

/// Serialized as an 8-byte little-endian length and 32-byte little-endian elements.
///
/// # Safety
/// `v` must be null or point to a valid vector.
#[no_mangle]
pub unsafe extern "C" fn ffi_vec_cfr_to_bytes_le(v: *const Vec_CFr) -> Vec_uint8 {
    match unsafe { fields(v, "v") } {
        Ok(s) => Vec_uint8::from_vec(vec_fields_to_bytes(
            &s.iter().map(|c| c.0).collect::<Vec<_>>(),
            Endian::Le,
        )),
        Err(_) => Vec_uint8::NONE,
    }
}

/// Serialized as an 8-byte big-endian length and 32-byte big-endian elements.
///
/// # Safety
/// `v` must be null or point to a valid vector.
#[no_mangle]
pub unsafe extern "C" fn ffi_vec_cfr_to_bytes_be(v: *const Vec_CFr) -> Vec_uint8 {
    match unsafe { fields(v, "v") } {
        Ok(s) => Vec_uint8::from_vec(vec_fields_to_bytes(
            &s.iter().map(|c| c.0).collect::<Vec<_>>(),
            Endian::Be,
        )),
        Err(_) => Vec_uint8::NONE,
    }
}

/// Parses a length-prefixed little-endian vector of field elements.
///
/// # Safety
/// `bytes` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_bytes_le_to_vec_cfr(bytes: *const Vec_uint8) -> CResultVecCFr {
    guarded(|| {
        Ok(cfr_vec(
            bytes_to_vec_fields(unsafe { crate::types::bytes(bytes, "bytes") }?, Endian::Le)?.0,
        ))
    })
}

/// Parses a length-prefixed big-endian vector of field elements.
///
/// # Safety
/// `bytes` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_bytes_be_to_vec_cfr(bytes: *const Vec_uint8) -> CResultVecCFr {
    guarded(|| {
        Ok(cfr_vec(
            bytes_to_vec_fields(unsafe { crate::types::bytes(bytes, "bytes") }?, Endian::Be)?.0,
        ))
    })
}

/// The elements in decimal, `[a, b, ...]` (free with `ffi_c_string_free`); "None" for null.
///
/// # Safety
/// `v` must be null or point to a valid vector.
#[no_mangle]
pub unsafe extern "C" fn ffi_vec_cfr_debug(v: *const Vec_CFr) -> Vec_uint8 {
    match unsafe { fields(v, "v") } {
        Ok(s) => {
            let items: Vec<String> = s.iter().map(|c| c.0.to_string()).collect();
            format!("[{}]", items.join(", ")).into()
        }
        Err(_) => "None".to_string().into(),
    }
}

/// Frees a vector of field elements this library made (a null `ptr`: nothing).
///
/// # Safety
/// `v` must come from this library and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn ffi_vec_cfr_free(v: Vec_CFr) {
    drop(unsafe { v.into_vec() });
}

/// The bytes with an 8-byte little-endian length prefix.
///
/// # Safety
/// `v` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_vec_u8_to_bytes_le(v: *const Vec_uint8) -> Vec_uint8 {
    match unsafe { crate::types::bytes(v, "v") } {
        Ok(s) => Vec_uint8::from_vec(vec_u8_to_bytes(s, Endian::Le)),
        Err(_) => Vec_uint8::NONE,
    }
}

/// The bytes with an 8-byte big-endian length prefix.
///
/// # Safety
/// `v` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_vec_u8_to_bytes_be(v: *const Vec_uint8) -> Vec_uint8 {
    match unsafe { crate::types::bytes(v, "v") } {
        Ok(s) => Vec_uint8::from_vec(vec_u8_to_bytes(s, Endian::Be)),
        Err(_) => Vec_uint8::NONE,
    }
}

/// Parses bytes with an 8-byte little-endian length prefix.
///
/// # Safety
/// `bytes` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_bytes_le_to_vec_u8(bytes: *const Vec_uint8) -> CResultVecU8 {
    guarded(|| {
        Ok(Vec_uint8::from_vec(
            bytes_to_vec_u8(unsafe { crate::types::bytes(bytes, "bytes") }?, Endian::Le)?.0,
        ))
    })
}

/// Parses bytes with an 8-byte big-endian length prefix.
///
/// # Safety
/// `bytes` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_bytes_be_to_vec_u8(bytes: *const Vec_uint8) -> CResultVecU8 {
    guarded(|| {
        Ok(Vec_uint8::from_vec(
            bytes_to_vec_u8(unsafe { crate::types::bytes(bytes, "bytes") }?, Endian::Be)?.0,
        ))
    })
}

/// The bytes in hex, `[a0, 1f, ...]` (free with `ffi_c_string_free`); "None" for null.
///
/// # Safety
/// `v` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_vec_u8_debug(v: *const Vec_uint8) -> Vec_uint8 {
    match unsafe { crate::types::bytes(v, "v") } {
        Ok(s) => format!("{s:x?}").into(),
        Err(_) => "None".to_string().into(),
    }
}

/// Frees a byte vector this library made (a null `ptr`: nothing).
///
/// # Safety
/// `v` must come from this library and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn ffi_vec_u8_free(v: Vec_uint8) {
    drop(unsafe { v.into_vec() });
}

/// Frees an error or debug string this library made (a null `ptr`: nothing).
///
/// # Safety
/// `s` must come from this library and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn ffi_c_string_free(s: Vec_uint8) {
    drop(unsafe { s.into_vec() });
}

// ---------------------------------------------------------------- hashes and keys

/// keccak256(input) read little-endian, reduced mod r (null for a null argument).
///
/// # Safety
/// `input` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_hash_to_field_le(input: *const Vec_uint8) -> *mut CFr {
    match unsafe { crate::types::bytes(input, "input") } {
        Ok(b) => boxed(hash_to_field(b)),
        Err(_) => std::ptr::null_mut(),
    }
}

/// The same value as `ffi_hash_to_field_le` (zerokit's big-endian variant reverses the digest
/// and reads it big-endian).
///
/// # Safety
/// `input` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_hash_to_field_be(input: *const Vec_uint8) -> *mut CFr {
    unsafe { ffi_hash_to_field_le(input) }
}

/// Poseidon(a, b) (null for a null argument).
///
/// # Safety
/// `a` and `b` must be null or live handles.
#[no_mangle]
pub unsafe extern "C" fn ffi_poseidon_hash_pair(a: *const CFr, b: *const CFr) -> *mut CFr {
    match unsafe { (field(a, "a"), field(b, "b")) } {
        (Ok(a), Ok(b)) => boxed(poseidon2(a, b)),
        _ => std::ptr::null_mut(),
    }
}

fn pair(id: &Identity) -> Vec_CFr {
    cfr_vec([id.secret(), id.commitment()])
}

fn extended(id: &Identity) -> Vec_CFr {
    let (t, n) = (id.trapdoor().unwrap_or(Field::ZERO), id.nullifier().unwrap_or(Field::ZERO));
    cfr_vec([t, n, id.secret(), id.commitment()])
}

/// A random identity: `[identity_secret, id_commitment]`.
#[no_mangle]
pub extern "C" fn ffi_key_gen() -> Vec_CFr {
    guarded_or(Vec_CFr::NONE, || pair(&Identity::random()))
}

/// An identity from a seed (ChaCha20 seeded with keccak256(seed)): `[identity_secret, id_commitment]`.
///
/// # Safety
/// `seed` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_seeded_key_gen(seed: *const Vec_uint8) -> Vec_CFr {
    match unsafe { crate::types::bytes(seed, "seed") } {
        Ok(s) => guarded_or(Vec_CFr::NONE, || pair(&Identity::from_seed(s))),
        Err(_) => Vec_CFr::NONE,
    }
}

/// A random extended identity: `[trapdoor, nullifier, identity_secret, id_commitment]`.
#[no_mangle]
pub extern "C" fn ffi_extended_key_gen() -> Vec_CFr {
    guarded_or(Vec_CFr::NONE, || extended(&Identity::random_extended()))
}

/// An extended identity from a seed: `[trapdoor, nullifier, identity_secret, id_commitment]`.
///
/// # Safety
/// `seed` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_seeded_extended_key_gen(seed: *const Vec_uint8) -> Vec_CFr {
    match unsafe { crate::types::bytes(seed, "seed") } {
        Ok(s) => guarded_or(Vec_CFr::NONE, || extended(&Identity::extended_from_seed(s))),
        Err(_) => Vec_CFr::NONE,
    }
}

// ---------------------------------------------------------------- the RLN instance

/// An instance with the Waku network's RLN v2 keys (built into the library, as in zerokit).
#[no_mangle]
pub extern "C" fn ffi_rln_new() -> CResultRln {
    guarded(|| crate::keys::waku().map(|k| into_raw(FFI_RLN::new(k))))
}

/// An instance with the caller's keys: `zkey_data` a snarkjs `.zkey`, `graph_data` the circuit's
/// circom witness generator `rln.wasm` (zerokit takes an arkzkey and graph.bin here).
///
/// # Safety
/// Both arguments must be null or point to valid `Vec_uint8`s.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_new_with_params(
    zkey_data: *const Vec_uint8,
    graph_data: *const Vec_uint8,
) -> CResultRln {
    guarded(|| {
        let zkey = unsafe { crate::types::bytes(zkey_data, "zkey_data") }?;
        let wasm = unsafe { crate::types::bytes(graph_data, "graph_data") }?;
        crate::keys::from_bytes(zkey, wasm).map(|k| into_raw(FFI_RLN::new(k)))
    })
}

/// Frees an instance (null: nothing).
///
/// # Safety
/// `rln` must be null or a live instance, not freed before.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_free(rln: *mut FFI_RLN) {
    unsafe { free(rln) }
}

/// The depth of the circuit's membership tree (20; 0 for a null handle).
///
/// # Safety
/// `rln` must be null or point to a null or live instance.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_get_tree_depth(rln: *const *mut FFI_RLN) -> usize {
    unsafe { handle(rln, "rln") }.map_or(0, |_| DEPTH)
}

// ---------------------------------------------------------------- witness inputs

fn limit_of(f: Field) -> Result<UserMessageLimit, String> {
    UserMessageLimit::new(small(f, "user_message_limit")?).map_err(|e| e.to_string())
}

fn small(f: Field, name: &str) -> Result<u64, String> {
    let b = f.to_le_bytes();
    if b[8..].iter().any(|&x| x != 0) {
        return Err(format!("{name} is too large"));
    }
    Ok(u64::from_le_bytes(b[..8].try_into().expect("8 bytes")))
}

unsafe fn merkle_path(
    elements: *const Vec_CFr,
    index: *const Vec_uint8,
) -> Result<MerkleProof, String> {
    let path_elements: Vec<Field> =
        unsafe { fields(elements, "path_elements") }?.iter().map(|c| c.0).collect();
    let identity_path_index =
        unsafe { crate::types::bytes(index, "identity_path_index") }?.to_vec();
    if path_elements.len() != DEPTH || identity_path_index.len() != DEPTH {
        return Err(format!(
            "the Merkle path must have {DEPTH} elements and {DEPTH} index bits, got {} and {}",
            path_elements.len(),
            identity_path_index.len()
        ));
    }
    let path = MerkleProof { path_elements, identity_path_index };
    path.validate(DEPTH).map_err(|e| e.to_string())?;
    Ok(path)
}

/// A witness input; checks the path shape, the limit and message_id < limit.
///
/// # Safety
/// Every argument must be null or point to a valid handle or vector.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_witness_input_new(
    identity_secret: *const CFr,
    user_message_limit: *const CFr,
    message_id: *const CFr,
    path_elements: *const Vec_CFr,
    identity_path_index: *const Vec_uint8,
    x: *const CFr,
    external_nullifier: *const CFr,
) -> CResultWitnessInput {
    guarded(|| unsafe {
        let limit = limit_of(field(user_message_limit, "user_message_limit")?)?;
        let message_id = small(field(message_id, "message_id")?, "message_id")?;
        limit.message_id(message_id).map_err(|e| e.to_string())?;
        Ok(into_raw(FFI_RLNWitnessInput {
            secret: field(identity_secret, "identity_secret")?,
            limit,
            message_id,
            path: merkle_path(path_elements, identity_path_index)?,
            x: field(x, "x")?,
            external_nullifier: field(external_nullifier, "external_nullifier")?,
        }))
    })
}

/// Frees a witness input (null: nothing).
///
/// # Safety
/// `witness` must be null or a live witness input, not freed before.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_witness_input_free(witness: *mut FFI_RLNWitnessInput) {
    unsafe { free(witness) }
}

/// A partial witness input (what stays the same across a member's messages).
///
/// # Safety
/// Every argument must be null or point to a valid handle or vector.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_partial_witness_input_new(
    identity_secret: *const CFr,
    user_message_limit: *const CFr,
    path_elements: *const Vec_CFr,
    identity_path_index: *const Vec_uint8,
) -> CResultPartialWitnessInput {
    guarded(|| unsafe {
        Ok(into_raw(FFI_RLNPartialWitnessInput {
            secret: field(identity_secret, "identity_secret")?,
            limit: limit_of(field(user_message_limit, "user_message_limit")?)?,
            path: merkle_path(path_elements, identity_path_index)?,
        }))
    })
}

/// Frees a partial witness input (null: nothing).
///
/// # Safety
/// `witness` must be null or a live partial witness input, not freed before.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_partial_witness_input_free(
    witness: *mut FFI_RLNPartialWitnessInput,
) {
    unsafe { free(witness) }
}

// ---------------------------------------------------------------- proofs

fn values_to_bytes(v: &PublicValues, e: Endian) -> Vec<u8> {
    let mut out = Vec::with_capacity(VALUES_BYTES);
    out.push(VERSION);
    for f in [v.root, v.external_nullifier, v.x, v.y, v.nullifier] {
        out.extend_from_slice(&field_to_bytes(f, e));
    }
    out
}

fn values_from_bytes(b: &[u8], e: Endian) -> Result<PublicValues, String> {
    if b.len() != VALUES_BYTES {
        return Err(format!("proof values are {VALUES_BYTES} bytes, got {}", b.len()));
    }
    if b[0] != VERSION {
        return Err(format!("unsupported serialization version {:#04x} (expected 0x00)", b[0]));
    }
    const NAMES: [&str; 5] = ["root", "external_nullifier", "x", "y", "nullifier"];
    let mut f = [Field::ZERO; 5];
    for (k, v) in f.iter_mut().enumerate() {
        *v = field_from_prefix(&b[1 + 32 * k..], e).map_err(|m| format!("{}: {m}", NAMES[k]))?;
    }
    let [root, external_nullifier, x, y, nullifier] = f;
    Ok(PublicValues { root, external_nullifier, x, y, nullifier })
}

fn proof_to_bytes(p: &RlnProof, e: Endian) -> Vec<u8> {
    let mut out = Vec::with_capacity(PROOF_BYTES);
    out.push(VERSION);
    out.extend_from_slice(&p.proof.to_bytes());
    out.extend_from_slice(&values_to_bytes(&p.values, e));
    out
}

fn proof_from_bytes(b: &[u8], e: Endian) -> Result<RlnProof, String> {
    if b.len() != PROOF_BYTES {
        return Err(format!("an RLN proof is {PROOF_BYTES} bytes, got {}", b.len()));
    }
    if b[0] != VERSION {
        return Err(format!("unsupported serialization version {:#04x} (expected 0x00)", b[0]));
    }
    let proof = Groth16Proof::from_bytes(&b[1..129]).map_err(|e| e.to_string())?;
    Ok(RlnProof { proof, values: values_from_bytes(&b[129..], e)? })
}

/// The proof's public values (a new handle; null for a null argument).
///
/// # Safety
/// `rln_proof` must be null or point to a null or live proof.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_proof_get_values(
    rln_proof: *const *mut FFI_RLNProof,
) -> *mut FFI_RLNProofValues {
    unsafe { handle(rln_proof, "rln_proof") }
        .map_or(std::ptr::null_mut(), |p| into_raw(FFI_RLNProofValues(p.0.values)))
}

/// The serialization version (0x00); 0xff for a null handle.
///
/// # Safety
/// `rln_proof` must be null or point to a null or live proof.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_proof_get_version_byte(rln_proof: *const *mut FFI_RLNProof) -> u8 {
    unsafe { handle(rln_proof, "rln_proof") }.map_or(0xff, |_| VERSION)
}

/// The 290-byte form: `0x00 | proof<128> | 0x00 | root | external_nullifier | x | y | nullifier`.
///
/// # Safety
/// `rln_proof` must be null or point to a null or live proof.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_proof_to_bytes_le(
    rln_proof: *const *mut FFI_RLNProof,
) -> CResultVecU8 {
    guarded(|| {
        Ok(Vec_uint8::from_vec(proof_to_bytes(
            &unsafe { handle(rln_proof, "rln_proof") }?.0,
            Endian::Le,
        )))
    })
}

/// As `ffi_rln_proof_to_bytes_le` with big-endian values (the Groth16 part stays arkworks').
///
/// # Safety
/// `rln_proof` must be null or point to a null or live proof.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_proof_to_bytes_be(
    rln_proof: *const *mut FFI_RLNProof,
) -> CResultVecU8 {
    guarded(|| {
        Ok(Vec_uint8::from_vec(proof_to_bytes(
            &unsafe { handle(rln_proof, "rln_proof") }?.0,
            Endian::Be,
        )))
    })
}

/// Parses the 290-byte form; lengths, versions, canonical fields and curve points are checked.
///
/// # Safety
/// `bytes` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_bytes_le_to_rln_proof(bytes: *const Vec_uint8) -> CResultProof {
    guarded(|| {
        Ok(into_raw(FFI_RLNProof(proof_from_bytes(
            unsafe { crate::types::bytes(bytes, "bytes") }?,
            Endian::Le,
        )?)))
    })
}

/// Parses the big-endian-values form of `ffi_rln_proof_to_bytes_be`.
///
/// # Safety
/// `bytes` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_bytes_be_to_rln_proof(bytes: *const Vec_uint8) -> CResultProof {
    guarded(|| {
        Ok(into_raw(FFI_RLNProof(proof_from_bytes(
            unsafe { crate::types::bytes(bytes, "bytes") }?,
            Endian::Be,
        )?)))
    })
}

/// A proof from a 128-byte compressed Groth16 proof and its public values.
///
/// # Safety
/// Every argument must be null or point to a valid handle or vector.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_proof_new(
    groth16_bytes: *const Vec_uint8,
    root: *const CFr,
    external_nullifier: *const CFr,
    x: *const CFr,
    y: *const CFr,
    nullifier: *const CFr,
) -> CResultProof {
    guarded(|| unsafe {
        let b = crate::types::bytes(groth16_bytes, "groth16_bytes")?;
        if b.len() != 128 {
            return Err(format!(
                "Invalid Groth16 proof length: expected 128 bytes, got {}",
                b.len()
            ));
        }
        let proof = Groth16Proof::from_bytes(b).map_err(|e| e.to_string())?;
        let values = PublicValues {
            root: field(root, "root")?,
            external_nullifier: field(external_nullifier, "external_nullifier")?,
            x: field(x, "x")?,
            y: field(y, "y")?,
            nullifier: field(nullifier, "nullifier")?,
        };
        Ok(into_raw(FFI_RLNProof(RlnProof { proof, values })))
    })
}

/// Frees a proof (null: nothing).
///
/// # Safety
/// `rln_proof` must be null or a live proof, not freed before.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_proof_free(rln_proof: *mut FFI_RLNProof) {
    unsafe { free(rln_proof) }
}

// ---------------------------------------------------------------- proof values

unsafe fn values<'a>(pv: *const *mut FFI_RLNProofValues) -> Result<&'a PublicValues, String> {
    unsafe { handle(pv, "pv") }.map(|v| &v.0)
}

/// The root (a new handle; null for a null argument).
///
/// # Safety
/// `pv` must be null or point to a null or live value set.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_proof_values_get_root(
    pv: *const *mut FFI_RLNProofValues,
) -> *mut CFr {
    unsafe { values(pv) }.map_or(std::ptr::null_mut(), |v| boxed(v.root))
}

/// x, hash_to_field(signal) (a new handle; null for a null argument).
///
/// # Safety
/// `pv` must be null or point to a null or live value set.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_proof_values_get_x(
    pv: *const *mut FFI_RLNProofValues,
) -> *mut CFr {
    unsafe { values(pv) }.map_or(std::ptr::null_mut(), |v| boxed(v.x))
}

/// The external nullifier (a new handle; null for a null argument).
///
/// # Safety
/// `pv` must be null or point to a null or live value set.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_proof_values_get_external_nullifier(
    pv: *const *mut FFI_RLNProofValues,
) -> *mut CFr {
    unsafe { values(pv) }.map_or(std::ptr::null_mut(), |v| boxed(v.external_nullifier))
}

/// y, the share's value.
///
/// # Safety
/// `pv` must be null or point to a null or live value set.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_proof_values_get_y(
    pv: *const *mut FFI_RLNProofValues,
) -> CResultCFr {
    guarded(|| unsafe { values(pv) }.map(|v| boxed(v.y)))
}

/// The nullifier.
///
/// # Safety
/// `pv` must be null or point to a null or live value set.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_proof_values_get_nullifier(
    pv: *const *mut FFI_RLNProofValues,
) -> CResultCFr {
    guarded(|| unsafe { values(pv) }.map(|v| boxed(v.nullifier)))
}

/// The serialization version (0x00); 0xff for a null handle.
///
/// # Safety
/// `pv` must be null or point to a null or live value set.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_proof_values_get_version_byte(
    pv: *const *mut FFI_RLNProofValues,
) -> u8 {
    unsafe { values(pv) }.map_or(0xff, |_| VERSION)
}

/// The 161-byte form `0x00 | root | external_nullifier | x | y | nullifier` (little-endian).
///
/// # Safety
/// `pv` must be null or point to a null or live value set.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_proof_values_to_bytes_le(
    pv: *const *mut FFI_RLNProofValues,
) -> Vec_uint8 {
    unsafe { values(pv) }
        .map_or(Vec_uint8::NONE, |v| Vec_uint8::from_vec(values_to_bytes(v, Endian::Le)))
}

/// The 161-byte form with big-endian values.
///
/// # Safety
/// `pv` must be null or point to a null or live value set.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_proof_values_to_bytes_be(
    pv: *const *mut FFI_RLNProofValues,
) -> Vec_uint8 {
    unsafe { values(pv) }
        .map_or(Vec_uint8::NONE, |v| Vec_uint8::from_vec(values_to_bytes(v, Endian::Be)))
}

/// Parses the 161-byte little-endian form.
///
/// # Safety
/// `bytes` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_bytes_le_to_rln_proof_values(
    bytes: *const Vec_uint8,
) -> CResultProofValues {
    guarded(|| {
        Ok(into_raw(FFI_RLNProofValues(values_from_bytes(
            unsafe { crate::types::bytes(bytes, "bytes") }?,
            Endian::Le,
        )?)))
    })
}

/// Parses the 161-byte big-endian form.
///
/// # Safety
/// `bytes` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_bytes_be_to_rln_proof_values(
    bytes: *const Vec_uint8,
) -> CResultProofValues {
    guarded(|| {
        Ok(into_raw(FFI_RLNProofValues(values_from_bytes(
            unsafe { crate::types::bytes(bytes, "bytes") }?,
            Endian::Be,
        )?)))
    })
}

/// A value set from its five elements (null if any argument is null).
///
/// # Safety
/// Every argument must be null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_proof_values_new(
    root: *const CFr,
    external_nullifier: *const CFr,
    x: *const CFr,
    y: *const CFr,
    nullifier: *const CFr,
) -> *mut FFI_RLNProofValues {
    let v = (|| unsafe {
        Ok::<_, String>(PublicValues {
            root: field(root, "root")?,
            external_nullifier: field(external_nullifier, "external_nullifier")?,
            x: field(x, "x")?,
            y: field(y, "y")?,
            nullifier: field(nullifier, "nullifier")?,
        })
    })();
    v.map_or(std::ptr::null_mut(), |v| into_raw(FFI_RLNProofValues(v)))
}

/// Frees a value set (null: nothing).
///
/// # Safety
/// `pv` must be null or a live value set, not freed before.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_proof_values_free(pv: *mut FFI_RLNProofValues) {
    unsafe { free(pv) }
}

// ---------------------------------------------------------------- proving

/// Proves one message; the proof is verified before it is returned.
///
/// # Safety
/// Both arguments must be null or point to null or live handles.
#[no_mangle]
pub unsafe extern "C" fn ffi_generate_rln_proof(
    rln: *const *mut FFI_RLN,
    witness: *const *mut FFI_RLNWitnessInput,
) -> CResultProof {
    guarded(|| {
        let rln = unsafe { handle(rln, "rln") }?;
        let w = unsafe { handle(witness, "witness") }?;
        let inputs = RlnInputs {
            identity_secret: w.secret,
            limit: w.limit,
            message_id: w.message_id,
            merkle_proof: &w.path,
            external_nullifier: ExternalNullifier::from_field(w.external_nullifier),
            x: w.x,
        };
        rln.prover.prove(&inputs).map(|p| into_raw(FFI_RLNProof(p))).map_err(|e| e.to_string())
    })
}

/// A member's prover for the partial witness (rlnkit's partial proof): its first full proof
/// is cached and the member's next messages recompute only what the message changes.
///
/// # Safety
/// Both arguments must be null or point to null or live handles.
#[no_mangle]
pub unsafe extern "C" fn ffi_generate_partial_zk_proof(
    rln: *const *mut FFI_RLN,
    partial_witness: *const *mut FFI_RLNPartialWitnessInput,
) -> CResultPartialProof {
    guarded(|| {
        let rln = unsafe { handle(rln, "rln") }?;
        let w = unsafe { handle(partial_witness, "partial_witness") }?;
        let member =
            rln.prover.for_member(w.secret, w.limit, &w.path).map_err(|e| e.to_string())?;
        let witness =
            FFI_RLNPartialWitnessInput { secret: w.secret, limit: w.limit, path: w.path.clone() };
        Ok(into_raw(FFI_RLNPartialProof {
            witness,
            member: OnceLock::from((rln.keys.clone(), member)),
        }))
    })
}

/// Completes a proof from a partial proof and the message's witness (which must have the
/// partial proof's secret, limit and path).
///
/// # Safety
/// Every argument must be null or point to a null or live handle.
#[no_mangle]
pub unsafe extern "C" fn ffi_finish_rln_proof(
    rln: *const *mut FFI_RLN,
    partial_proof: *const *mut FFI_RLNPartialProof,
    witness: *const *mut FFI_RLNWitnessInput,
) -> CResultProof {
    guarded(|| {
        let rln = unsafe { handle(rln, "rln") }?;
        let partial = unsafe { handle(partial_proof, "partial_proof") }?;
        let w = unsafe { handle(witness, "witness") }?;
        let p = &partial.witness;
        if p.secret != w.secret || p.limit != w.limit || p.path != w.path {
            return Err(
                "the witness is for another member or Merkle path than the partial proof".into()
            );
        }
        let (keys, member) = match partial.member.get() {
            Some(m) => m,
            None => {
                let m =
                    rln.prover.for_member(p.secret, p.limit, &p.path).map_err(|e| e.to_string())?;
                partial.member.get_or_init(|| (rln.keys.clone(), m))
            }
        };
        if !Arc::ptr_eq(keys, &rln.keys) {
            return Err("the partial proof was made with another RLN instance's keys".into());
        }
        member
            .prove_with_rng(
                w.message_id,
                ExternalNullifier::from_field(w.external_nullifier),
                w.x,
                &mut rand::rngs::OsRng,
            )
            .map(|proof| into_raw(FFI_RLNProof(proof)))
            .map_err(|e| e.to_string())
    })
}

fn partial_to_bytes(w: &FFI_RLNPartialWitnessInput, e: Endian) -> Vec<u8> {
    let mut out = vec![VERSION];
    out.extend_from_slice(&field_to_bytes(w.secret, e));
    out.extend_from_slice(&field_to_bytes(w.limit.as_field(), e));
    out.extend_from_slice(&vec_fields_to_bytes(&w.path.path_elements, e));
    out.extend_from_slice(&vec_u8_to_bytes(&w.path.identity_path_index, e));
    out
}

fn partial_from_bytes(b: &[u8], e: Endian) -> Result<FFI_RLNPartialWitnessInput, String> {
    let (&version, rest) = b.split_first().ok_or("a partial proof needs at least 1 byte, got 0")?;
    if version != VERSION {
        return Err(format!("unsupported serialization version {version:#04x} (expected 0x00)"));
    }
    let secret = field_from_prefix(rest, e)?;
    let limit = limit_of(field_from_prefix(rest.get(32..).unwrap_or_default(), e)?)?;
    let rest = rest.get(64..).unwrap_or_default();
    let (path_elements, n) = bytes_to_vec_fields(rest, e)?;
    let (identity_path_index, m) = bytes_to_vec_u8(&rest[n..], e)?;
    if n + m != rest.len() {
        return Err(format!("{} trailing bytes after the partial proof", rest.len() - n - m));
    }
    let path = MerkleProof { path_elements, identity_path_index };
    path.validate(DEPTH).map_err(|e| e.to_string())?;
    Ok(FFI_RLNPartialWitnessInput { secret, limit, path })
}

/// rlnkit's partial proof serialized: `0x00 | identity_secret | limit | path<var> | index<var>`
/// (its partial witness: it holds the member's secret, keep it private).
///
/// # Safety
/// `partial_proof` must be null or point to a null or live partial proof.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_partial_proof_to_bytes_le(
    partial_proof: *const *mut FFI_RLNPartialProof,
) -> CResultVecU8 {
    guarded(|| {
        Ok(Vec_uint8::from_vec(partial_to_bytes(
            &unsafe { handle(partial_proof, "partial_proof") }?.witness,
            Endian::Le,
        )))
    })
}

/// As `ffi_rln_partial_proof_to_bytes_le`, big-endian.
///
/// # Safety
/// `partial_proof` must be null or point to a null or live partial proof.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_partial_proof_to_bytes_be(
    partial_proof: *const *mut FFI_RLNPartialProof,
) -> CResultVecU8 {
    guarded(|| {
        Ok(Vec_uint8::from_vec(partial_to_bytes(
            &unsafe { handle(partial_proof, "partial_proof") }?.witness,
            Endian::Be,
        )))
    })
}

/// Parses `ffi_rln_partial_proof_to_bytes_le`'s form.
///
/// # Safety
/// `bytes` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_bytes_le_to_rln_partial_proof(
    bytes: *const Vec_uint8,
) -> CResultPartialProof {
    guarded(|| {
        let witness =
            partial_from_bytes(unsafe { crate::types::bytes(bytes, "bytes") }?, Endian::Le)?;
        Ok(into_raw(FFI_RLNPartialProof { witness, member: OnceLock::new() }))
    })
}

/// Parses `ffi_rln_partial_proof_to_bytes_be`'s form.
///
/// # Safety
/// `bytes` must be null or point to a valid `Vec_uint8`.
#[no_mangle]
pub unsafe extern "C" fn ffi_bytes_be_to_rln_partial_proof(
    bytes: *const Vec_uint8,
) -> CResultPartialProof {
    guarded(|| {
        let witness =
            partial_from_bytes(unsafe { crate::types::bytes(bytes, "bytes") }?, Endian::Be)?;
        Ok(into_raw(FFI_RLNPartialProof { witness, member: OnceLock::new() }))
    })
}

/// The serialization version (0x00); 0xff for a null handle.
///
/// # Safety
/// `partial_proof` must be null or point to a null or live partial proof.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_partial_proof_get_version_byte(
    partial_proof: *const *mut FFI_RLNPartialProof,
) -> u8 {
    unsafe { handle(partial_proof, "partial_proof") }.map_or(0xff, |_| VERSION)
}

/// Frees a partial proof (null: nothing).
///
/// # Safety
/// `partial_proof` must be null or a live partial proof, not freed before.
#[no_mangle]
pub unsafe extern "C" fn ffi_rln_partial_proof_free(partial_proof: *mut FFI_RLNPartialProof) {
    unsafe { free(partial_proof) }
}

// ---------------------------------------------------------------- verification and recovery

/// Verifies a proof: the pairing check, the root among `roots` (an empty vector skips the root
/// check, as in zerokit) and the proof's x equal to `x`. `ok` is true only if all hold;
/// otherwise `err` names the failed check.
///
/// # Safety
/// Every argument must be null or point to a valid handle or vector.
#[no_mangle]
pub unsafe extern "C" fn ffi_verify_with_roots(
    rln: *const *mut FFI_RLN,
    rln_proof: *const *mut FFI_RLNProof,
    roots: *const Vec_CFr,
    x: *const CFr,
) -> CBoolResult {
    guarded(|| unsafe {
        let rln = handle(rln, "rln")?;
        let proof = &handle(rln_proof, "rln_proof")?.0;
        let roots = fields(roots, "roots")?;
        let x = field(x, "x")?;
        rln.verifier.verify_proof(proof).map_err(|e| e.to_string())?;
        if !roots.is_empty() && !roots.iter().any(|r| r.0 == proof.values.root) {
            return Err(format!("root {} is not among the given roots", proof.values.root));
        }
        if proof.values.x != x {
            return Err(
                "the proof's x differs from the given x: the proof is for another signal".into()
            );
        }
        Ok(())
    })
}

/// The identity secret from two shares (x1, y1), (x2, y2) of one member and nullifier.
///
/// # Safety
/// Every argument must be null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn ffi_compute_id_secret(
    share1_x: *const CFr,
    share1_y: *const CFr,
    share2_x: *const CFr,
    share2_y: *const CFr,
) -> CResultCFr {
    guarded(|| unsafe {
        let share = |x, y| -> Result<PublicValues, String> {
            Ok(PublicValues {
                root: Field::ZERO,
                external_nullifier: Field::ZERO,
                x: field(x, "share x")?,
                y: field(y, "share y")?,
                nullifier: Field::ZERO,
            })
        };
        let (a, b) = (share(share1_x, share1_y)?, share(share2_x, share2_y)?);
        recover_secret(&a, &b).map(boxed).map_err(|e| e.to_string())
    })
}

/// The identity secret from two proofs' values (same external nullifier and nullifier).
///
/// # Safety
/// Both arguments must be null or point to null or live value sets.
#[no_mangle]
pub unsafe extern "C" fn ffi_recover_id_secret(
    proof_values_1: *const *mut FFI_RLNProofValues,
    proof_values_2: *const *mut FFI_RLNProofValues,
) -> CResultCFr {
    guarded(|| unsafe {
        let (a, b) = (values(proof_values_1)?, values(proof_values_2)?);
        recover_secret(a, b).map(boxed).map_err(|e| e.to_string())
    })
}
