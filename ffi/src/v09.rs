//! zerokit v0.9's `Buffer` C ABI (what released nwaku v0.38.x links), feature `v09`: the
//! functions nwaku calls, with v0.9's byte layouts and tolerance (field elements reduced mod r;
//! an empty roots buffer skips the root check), returning `false` on any error instead of
//! panicking on short input as v0.9 does. As in v0.9, output buffers point to memory the library
//! hands over; v0.9 never frees it, rlnkit adds `rlnkit_v09_buffer_free` and `rlnkit_v09_free`.

use rlnkit::{
    hash_to_field, poseidon_hash as poseidon, ExternalNullifier, Field, Identity, MerkleProof,
    RlnInputs, RlnProof, UserMessageLimit,
};

use crate::types::slice;
use crate::zerokit::FFI_RLN;

/// A byte buffer: borrowed when passed in, handed over by the library when written as output.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Buffer {
    /// First byte.
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

/// v0.9's RLN instance (the Waku network's keys).
pub struct RLN(FFI_RLN);

fn report(context: &str, f: impl FnOnce() -> Result<(), String>) -> bool {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            eprintln!("rlnkit (zerokit v0.9 ABI) {context}: {e}");
            false
        }
        Err(_) => false,
    }
}

unsafe fn input<'a>(b: *const Buffer, name: &str) -> Result<&'a [u8], String> {
    let b = unsafe { b.as_ref() }.ok_or_else(|| format!("{name} is a null pointer"))?;
    unsafe { slice(b.ptr, b.len, name) }
}

unsafe fn output(out: *mut Buffer, bytes: Vec<u8>) -> Result<(), String> {
    let out = unsafe { out.as_mut() }.ok_or("output_buffer is a null pointer")?;
    let bytes = Box::leak(bytes.into_boxed_slice());
    *out = Buffer { ptr: bytes.as_ptr(), len: bytes.len() };
    Ok(())
}

fn element(f: Field, le: bool) -> [u8; 32] {
    if le {
        f.to_le_bytes()
    } else {
        f.to_be_bytes()
    }
}

/// v0.9 reads a field element's 32 bytes and reduces them mod r.
fn reduced(b: &[u8], le: bool) -> Result<Field, String> {
    let b: [u8; 32] = b
        .get(..32)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| format!("a field element needs 32 bytes, got {}", b.len()))?;
    let mut le_bytes = b;
    if !le {
        le_bytes.reverse();
    }
    Ok(Field::from_le_bytes_mod_order(&le_bytes))
}

fn count(b: &[u8], le: bool) -> Result<(usize, &[u8]), String> {
    let (head, rest) = b
        .split_first_chunk::<8>()
        .ok_or_else(|| format!("missing 8-byte length, got {} bytes", b.len()))?;
    let n = if le { u64::from_le_bytes(*head) } else { u64::from_be_bytes(*head) };
    Ok((usize::try_from(n).map_err(|_| "length too large".to_string())?, rest))
}

/// `new(tree_depth, config, ctx)`: an instance with the Waku network's keys; `tree_depth` must
/// be 20, the JSON config is accepted and ignored (as v0.9 stateless nodes do).
///
/// # Safety
/// `ctx` must be null or writable; `input_buffer` null or a valid buffer.
#[no_mangle]
pub unsafe extern "C" fn new(
    tree_depth: usize,
    input_buffer: *const Buffer,
    ctx: *mut *mut RLN,
) -> bool {
    let _ = input_buffer;
    report("new", || {
        if tree_depth != rlnkit::circuit::CIRCUIT_DEPTH {
            return Err(format!("tree depth {tree_depth}: the circuit has depth 20"));
        }
        let ctx = unsafe { ctx.as_mut() }.ok_or("ctx is a null pointer")?;
        let keys = crate::keys::waku()?;
        *ctx = Box::into_raw(Box::new(RLN(FFI_RLN::new(keys))));
        Ok(())
    })
}

/// Frees an instance made by `new` (rlnkit extension; v0.9 has none).
///
/// # Safety
/// `ctx` must be null or a live instance, not freed before.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_v09_free(ctx: *mut RLN) {
    if !ctx.is_null() {
        drop(unsafe { Box::from_raw(ctx) });
    }
}

/// Frees an output buffer the library wrote (rlnkit extension; v0.9 leaks them).
///
/// # Safety
/// `buffer` must be null or hold an output of this module, not freed before.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_v09_buffer_free(buffer: *mut Buffer) {
    if let Some(b) = unsafe { buffer.as_mut() } {
        if !b.ptr.is_null() {
            let s = std::ptr::slice_from_raw_parts_mut(b.ptr as *mut u8, b.len);
            drop(unsafe { Box::from_raw(s) });
        }
        *b = Buffer { ptr: std::ptr::null(), len: 0 };
    }
}

/// `trapdoor | nullifier | secret | commitment`, 32 bytes each.
fn extended_bytes(id: &Identity, le: bool) -> Vec<u8> {
    let parts = [
        id.trapdoor().unwrap_or(Field::ZERO),
        id.nullifier().unwrap_or(Field::ZERO),
        id.secret(),
        id.commitment(),
    ];
    parts.iter().flat_map(|f| element(*f, le)).collect()
}

/// A random extended identity: `trapdoor | nullifier | secret | commitment` (4 × 32 bytes).
///
/// # Safety
/// `output_buffer` must be null or writable.
#[no_mangle]
pub unsafe extern "C" fn extended_key_gen(
    output_buffer: *mut Buffer,
    is_little_endian: bool,
) -> bool {
    report("extended_key_gen", || unsafe {
        output(output_buffer, extended_bytes(&Identity::random_extended(), is_little_endian))
    })
}

/// An extended identity from a seed: `trapdoor | nullifier | secret | commitment`.
///
/// # Safety
/// `input_buffer` must be null or valid; `output_buffer` null or writable.
#[no_mangle]
pub unsafe extern "C" fn seeded_extended_key_gen(
    input_buffer: *const Buffer,
    output_buffer: *mut Buffer,
    is_little_endian: bool,
) -> bool {
    report("seeded_extended_key_gen", || unsafe {
        let seed = input(input_buffer, "input_buffer")?;
        output(output_buffer, extended_bytes(&Identity::extended_from_seed(seed), is_little_endian))
    })
}

/// Poseidon of `count<8> | elements<32 × count>` (each reduced mod r, as v0.9 does).
///
/// # Safety
/// `input_buffer` must be null or valid; `output_buffer` null or writable.
#[no_mangle]
pub unsafe extern "C" fn poseidon_hash(
    input_buffer: *const Buffer,
    output_buffer: *mut Buffer,
    is_little_endian: bool,
) -> bool {
    report("poseidon_hash", || unsafe {
        let b = input(input_buffer, "input_buffer")?;
        let (n, rest) = count(b, is_little_endian)?;
        if n == 0 || n > 16 || rest.len() < 32 * n {
            return Err(format!("{n} inputs in {} bytes (Poseidon takes 1 to 16)", b.len()));
        }
        let inputs: Vec<Field> = rest
            .chunks_exact(32)
            .take(n)
            .map(|c| reduced(c, is_little_endian))
            .collect::<Result<_, _>>()?;
        let h = poseidon(&inputs).map_err(|e| e.to_string())?;
        output(output_buffer, element(h, is_little_endian).to_vec())
    })
}

/// hash_to_field of the buffer's bytes (32 bytes).
///
/// # Safety
/// `input_buffer` must be null or valid; `output_buffer` null or writable.
#[no_mangle]
pub unsafe extern "C" fn hash(
    input_buffer: *const Buffer,
    output_buffer: *mut Buffer,
    is_little_endian: bool,
) -> bool {
    report("hash", || unsafe {
        let b = input(input_buffer, "input_buffer")?;
        output(output_buffer, element(hash_to_field(b), is_little_endian).to_vec())
    })
}

/// Proves from a serialized witness: `secret | limit | message_id | path<8-byte count, 32 each> |
/// index<8-byte count, 1 each> | x | external_nullifier`; writes the 288-byte proof and values.
///
/// # Safety
/// `ctx` must be null or live; `input_buffer` null or valid; `output_buffer` null or writable.
#[no_mangle]
pub unsafe extern "C" fn generate_rln_proof_with_witness(
    ctx: *mut RLN,
    input_buffer: *const Buffer,
    output_buffer: *mut Buffer,
) -> bool {
    report("generate_rln_proof_with_witness", || unsafe {
        let rln = &ctx.as_ref().ok_or("ctx is a null pointer")?.0;
        let b = input(input_buffer, "input_buffer")?;
        let secret = reduced(b, true)?;
        let limit = reduced(b.get(32..).unwrap_or_default(), true)?;
        let message_id = reduced(b.get(64..).unwrap_or_default(), true)?;
        let rest = b.get(96..).unwrap_or_default();
        let (n, rest) = count(rest, true)?;
        if rest.len() < 32 * n {
            return Err(format!("path of {n} elements is cut short"));
        }
        let path_elements: Vec<Field> =
            rest.chunks_exact(32).take(n).map(|c| reduced(c, true)).collect::<Result<_, _>>()?;
        let (m, rest) = count(&rest[32 * n..], true)?;
        let identity_path_index = rest.get(..m).ok_or("path index is cut short")?.to_vec();
        let rest = &rest[m..];
        if rest.len() != 64 {
            return Err(format!(
                "expected x and external_nullifier (64 bytes) at the end, got {}",
                rest.len()
            ));
        }
        let (x, ext) = (reduced(rest, true)?, reduced(&rest[32..], true)?);
        let small = |f: Field| -> Result<u64, String> {
            let le = f.to_le_bytes();
            if le[8..].iter().any(|&v| v != 0) {
                return Err("limit or message_id too large".into());
            }
            Ok(u64::from_le_bytes(le[..8].try_into().expect("8 bytes")))
        };
        let limit = UserMessageLimit::new(small(limit)?).map_err(|e| e.to_string())?;
        let path = MerkleProof { path_elements, identity_path_index };
        let inputs = RlnInputs {
            identity_secret: secret,
            limit,
            message_id: small(message_id)?,
            merkle_proof: &path,
            external_nullifier: ExternalNullifier::from_field(ext),
            x,
        };
        let proof = rln.prover.prove(&inputs).map_err(|e| e.to_string())?;
        output(output_buffer, proof.to_bytes().to_vec())
    })
}

/// Verifies `proof<128> | root | external_nullifier | x | y | nullifier | signal_len<8> | signal`
/// against `roots` (32-byte roots back to back; empty: no root check, as in v0.9). Writes the
/// verdict to `proof_is_valid_ptr`; returns false only when the input cannot be read.
///
/// # Safety
/// Pointers must be null or valid; `proof_is_valid_ptr` null or writable.
#[no_mangle]
pub unsafe extern "C" fn verify_with_roots(
    ctx: *const RLN,
    proof_buffer: *const Buffer,
    roots_buffer: *const Buffer,
    proof_is_valid_ptr: *mut bool,
) -> bool {
    report("verify_with_roots", || unsafe {
        let rln = &ctx.as_ref().ok_or("ctx is a null pointer")?.0;
        let valid = proof_is_valid_ptr.as_mut().ok_or("proof_is_valid_ptr is a null pointer")?;
        let b = input(proof_buffer, "proof_buffer")?;
        let roots_bytes = input(roots_buffer, "roots_buffer")?;
        let blob =
            b.get(..288).ok_or_else(|| format!("a proof needs 288 bytes, got {}", b.len()))?;
        let (n, rest) = count(&b[288..], true)?;
        let signal = rest.get(..n).ok_or("the signal is cut short")?;
        let mut blob = blob.to_vec();
        // v0.9 reduces the values mod r.
        for k in 0..5 {
            let o = 128 + 32 * k;
            let f = reduced(&blob[o..], true)?;
            blob[o..o + 32].copy_from_slice(&f.to_le_bytes());
        }
        let proof = RlnProof::from_bytes(&blob).map_err(|e| e.to_string())?;
        let roots: Vec<Field> =
            roots_bytes.chunks_exact(32).map(|c| reduced(c, true)).collect::<Result<_, _>>()?;
        let verifier = &rln.verifier;
        *valid = proof.values.x == hash_to_field(signal)
            && (roots.is_empty() || roots.contains(&proof.values.root))
            && verifier.verify_proof(&proof).is_ok();
        Ok(())
    })
}
