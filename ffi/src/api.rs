//! rlnkit's own C API (`rlnkit_*`), designed for C: opaque handles, fixed-size byte arrays for
//! field elements (32 bytes, little-endian, canonical) and proofs (288 bytes: Groth16 proof,
//! root, external nullifier, x, y, nullifier), a status code from every call and the last
//! error's message per thread ([`rlnkit_last_error`]). The caller owns every buffer it passes;
//! the library writes only into the output buffers it is given and frees only its handles.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::sync::Arc;

use rlnkit::prover::MemberProver;
use rlnkit::relay::{NullifierLog, Validator, ValidatorConfig, Verdict, WakuMessage};
use rlnkit::{
    hash_to_field, CircuitKeys, ExternalNullifier, Field, MerkleProof, Prover, RlnInputs, RlnProof,
    StaticRoots, UserMessageLimit, Verifier,
};

use crate::types::slice;

/// Bytes of a field element.
pub const RLNKIT_FIELD_BYTES: usize = 32;
/// Bytes of an RLN proof: Groth16 proof<128> | root | external_nullifier | x | y | nullifier.
pub const RLNKIT_PROOF_BYTES: usize = 288;
/// Depth of the membership tree (elements of a Merkle path).
pub const RLNKIT_TREE_DEPTH: usize = 20;

/// What a call did.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RlnkitStatus {
    /// Success (for verification: the proof is valid).
    Ok = 0,
    /// A required pointer argument was null.
    NullPointer = 1,
    /// An argument is malformed: a wrong length, a non-canonical field element, bad points, a
    /// message id not below the limit, a path of the wrong shape.
    InvalidInput = 2,
    /// The circuit keys could not be loaded.
    Keys = 3,
    /// Proving failed (the circuit rejected the inputs).
    Prove = 4,
    /// Verification ran and the proof (or a proof of the batch) was rejected.
    Rejected = 5,
    /// The library hit an internal error (a bug: please report it).
    Internal = 6,
}

/// Circuit keys (proving and verifying), shared by the provers and verifiers made from them.
pub struct RlnkitKeys {
    keys: Arc<CircuitKeys>,
    verifier: Verifier,
}

/// One member's prover: the first proof under a Merkle path is made in full, the next ones
/// reuse its witness-linear parts (rlnkit's per-member fast path).
pub struct RlnkitMember {
    member: MemberProver,
}

/// The relay's RLN validator (nwaku's rules, plus rlnkit's rln_identifier check and
/// double-signal detection), with its own window of acceptable roots and nullifier log.
/// Safe to share between threads: each verdict carries the secret its own message revealed.
pub struct RlnkitValidator {
    validator: Validator,
    roots: Arc<StaticRoots>,
}

/// What the relay should do with a message.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RlnkitAction {
    /// Forward it.
    Accept = 0,
    /// Drop it and penalize the peer.
    Reject = 1,
    /// Drop it without penalty (a duplicate).
    Ignore = 2,
}

/// A relay verdict. `reason` is a static NUL-terminated label (nwaku's
/// `waku_rln_invalid_messages_total` type: "invalid_proof", "spam", ..., or "" on accept);
/// never free it. When `spam` is true the message was a verified double signal and
/// `spam_secret` / `spam_id_commitment` hold the member's recovered identity secret and the
/// commitment to slash.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RlnkitVerdict {
    /// Accept, reject or ignore.
    pub action: RlnkitAction,
    /// Why (a static string; "" on accept).
    pub reason: *const c_char,
    /// Whether this message revealed a spammer.
    pub spam: bool,
    /// The spammer's identity secret (zero unless `spam`).
    pub spam_secret: [u8; 32],
    /// Poseidon(secret): the membership to slash (zero unless `spam`).
    pub spam_id_commitment: [u8; 32],
    /// The epoch of the double signal (0 unless `spam`).
    pub spam_epoch: u64,
}

/// A borrowed byte string (a signal in a batch).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RlnkitBytes {
    /// First byte (may be null when `len` is 0).
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

struct Failure(RlnkitStatus, String);

type Res<T> = Result<T, Failure>;

fn fail(status: RlnkitStatus, msg: impl Into<String>) -> Failure {
    Failure(status, msg.into())
}

fn invalid(msg: impl std::fmt::Display) -> Failure {
    fail(RlnkitStatus::InvalidInput, msg.to_string())
}

/// Runs `f`, records its error for [`rlnkit_last_error`] and never lets a panic out.
fn run(f: impl FnOnce() -> Res<()>) -> RlnkitStatus {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(fail(RlnkitStatus::Internal, "internal error: the library panicked"))
    });
    let (status, msg) = match r {
        Ok(()) => (RlnkitStatus::Ok, String::new()),
        Err(Failure(s, m)) => (s, m),
    };
    LAST_ERROR.with(|e| {
        *e.borrow_mut() = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    });
    status
}

/// The message of this thread's last call's error ("" after a success). Valid until the next
/// `rlnkit_*` call on this thread; owned by the library, never free it.
#[no_mangle]
pub extern "C" fn rlnkit_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

unsafe fn ptr<'a, T>(p: *const T, name: &str) -> Res<&'a T> {
    unsafe { p.as_ref() }.ok_or_else(|| fail(RlnkitStatus::NullPointer, format!("{name} is null")))
}

unsafe fn out<'a, T>(p: *mut T, name: &str) -> Res<&'a mut T> {
    unsafe { p.as_mut() }.ok_or_else(|| fail(RlnkitStatus::NullPointer, format!("{name} is null")))
}

unsafe fn buf<'a, T>(p: *const T, len: usize, name: &str) -> Res<&'a [T]> {
    unsafe { slice(p, len, name) }.map_err(|m| fail(RlnkitStatus::NullPointer, m))
}

unsafe fn field(p: *const [u8; 32], name: &str) -> Res<Field> {
    Field::from_le_bytes(unsafe { ptr(p, name) }?).map_err(|e| invalid(format!("{name}: {e}")))
}

unsafe fn fields(p: *const u8, count: usize, name: &str) -> Res<Vec<Field>> {
    let len = count.checked_mul(32).ok_or_else(|| invalid(format!("{name}: impossible count")))?;
    unsafe { buf(p, len, name) }?
        .chunks_exact(32)
        .enumerate()
        .map(|(i, c)| Field::from_le_slice(c).map_err(|e| invalid(format!("{name}[{i}]: {e}"))))
        .collect()
}

unsafe fn proof(p: *const u8, len: usize, name: &str) -> Res<RlnProof> {
    RlnProof::from_bytes(unsafe { buf(p, len, name) }?).map_err(|e| invalid(format!("{name}: {e}")))
}

unsafe fn path(elements: *const u8, index_bits: *const u8, depth: usize) -> Res<MerkleProof> {
    if depth != RLNKIT_TREE_DEPTH {
        return Err(invalid(format!(
            "the Merkle path must have depth {RLNKIT_TREE_DEPTH}, got {depth}"
        )));
    }
    let p = MerkleProof {
        path_elements: unsafe { fields(elements, depth, "path_elements") }?,
        identity_path_index: unsafe { buf(index_bits, depth, "path_index_bits") }?.to_vec(),
    };
    p.validate(depth).map_err(invalid)?;
    Ok(p)
}

fn keys_handle(keys: Result<Arc<CircuitKeys>, String>, out_keys: &mut *mut RlnkitKeys) -> Res<()> {
    let keys = keys.map_err(|m| fail(RlnkitStatus::Keys, m))?;
    *out_keys =
        Box::into_raw(Box::new(RlnkitKeys { verifier: Verifier::new(keys.verifying_key()), keys }));
    Ok(())
}

/// The Waku network's RLN v2 keys (built into the library; loaded once per process).
///
/// # Safety
/// `out_keys` must be null or writable.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_keys_waku(out_keys: *mut *mut RlnkitKeys) -> RlnkitStatus {
    run(|| keys_handle(crate::keys::waku(), unsafe { out(out_keys, "out_keys") }?))
}

/// rlnkit's development keys (local tests and networks; Waku relays reject their proofs).
///
/// # Safety
/// `out_keys` must be null or writable.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_keys_development(out_keys: *mut *mut RlnkitKeys) -> RlnkitStatus {
    run(|| keys_handle(crate::keys::development(), unsafe { out(out_keys, "out_keys") }?))
}

/// Keys from a directory holding `rln_final.zkey`, `rln.wasm` and optionally
/// `verification_key.json` (checked against the zkey).
///
/// # Safety
/// `dir` must be null or a NUL-terminated string; `out_keys` null or writable.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_keys_load(
    dir: *const c_char,
    out_keys: *mut *mut RlnkitKeys,
) -> RlnkitStatus {
    run(|| {
        let out_keys = unsafe { out(out_keys, "out_keys") }?;
        let dir = unsafe { CStr::from_ptr(ptr(dir, "dir")?) };
        let dir = dir.to_str().map_err(|_| invalid("dir is not UTF-8"))?;
        keys_handle(CircuitKeys::load(dir).map_err(|e| e.to_string()), out_keys)
    })
}

/// Frees keys (null: nothing). Provers and validators made from them stay valid.
///
/// # Safety
/// `keys` must be null or a live handle, not freed before.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_keys_free(keys: *mut RlnkitKeys) {
    if !keys.is_null() {
        drop(unsafe { Box::from_raw(keys) });
    }
}

/// Proves one message without a member prover: `path_elements` is `depth` (20) field elements,
/// `path_index_bits` `depth` bytes of 0 or 1 (leaf level first); x = hash_to_field(signal).
/// Writes the 288-byte proof to `out_proof`.
///
/// # Safety
/// Pointers must be null or address the stated number of readable (or, for `out_proof`,
/// writable) bytes.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_prove(
    keys: *const RlnkitKeys,
    identity_secret: *const [u8; 32],
    user_message_limit: u32,
    message_id: u32,
    path_elements: *const u8,
    path_index_bits: *const u8,
    depth: usize,
    external_nullifier: *const [u8; 32],
    signal: *const u8,
    signal_len: usize,
    out_proof: *mut [u8; RLNKIT_PROOF_BYTES],
) -> RlnkitStatus {
    run(|| unsafe {
        let keys = ptr(keys, "keys")?;
        let out_proof = out(out_proof, "out_proof")?;
        let limit = UserMessageLimit::new(user_message_limit.into()).map_err(invalid)?;
        let path = path(path_elements, path_index_bits, depth)?;
        let inputs = RlnInputs {
            identity_secret: field(identity_secret, "identity_secret")?,
            limit,
            message_id: message_id.into(),
            merkle_proof: &path,
            external_nullifier: ExternalNullifier::from_field(field(
                external_nullifier,
                "external_nullifier",
            )?),
            x: hash_to_field(buf(signal, signal_len, "signal")?),
        };
        let proof = Prover::new(keys.keys.clone()).prove(&inputs).map_err(prove_failure)?;
        *out_proof = proof.to_bytes();
        Ok(())
    })
}

fn prove_failure(e: rlnkit::ProverError) -> Failure {
    use rlnkit::ProverError as E;
    match e {
        E::Identity(_) | E::Path(_) => invalid(e),
        other => fail(RlnkitStatus::Prove, other.to_string()),
    }
}

/// A member's prover (its secret, limit and Merkle path): the fast path for a member's messages.
///
/// # Safety
/// As [`rlnkit_prove`]; `out_member` null or writable.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_member_new(
    keys: *const RlnkitKeys,
    identity_secret: *const [u8; 32],
    user_message_limit: u32,
    path_elements: *const u8,
    path_index_bits: *const u8,
    depth: usize,
    out_member: *mut *mut RlnkitMember,
) -> RlnkitStatus {
    run(|| unsafe {
        let keys = ptr(keys, "keys")?;
        let out_member = out(out_member, "out_member")?;
        let limit = UserMessageLimit::new(user_message_limit.into()).map_err(invalid)?;
        let path = path(path_elements, path_index_bits, depth)?;
        let secret = field(identity_secret, "identity_secret")?;
        let member = Prover::new(keys.keys.clone())
            .for_member(secret, limit, &path)
            .map_err(prove_failure)?;
        *out_member = Box::into_raw(Box::new(RlnkitMember { member }));
        Ok(())
    })
}

/// The member's Merkle root (32 bytes to `out_root`).
///
/// # Safety
/// `member` null or live; `out_root` null or writable.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_member_root(
    member: *const RlnkitMember,
    out_root: *mut [u8; 32],
) -> RlnkitStatus {
    run(|| unsafe {
        let m = ptr(member, "member")?;
        *out(out_root, "out_root")? = m.member.root().to_le_bytes();
        Ok(())
    })
}

/// Replaces the member's Merkle path after the tree changed (the cache is dropped if it differs).
///
/// # Safety
/// As [`rlnkit_member_new`].
#[no_mangle]
pub unsafe extern "C" fn rlnkit_member_update_path(
    member: *mut RlnkitMember,
    path_elements: *const u8,
    path_index_bits: *const u8,
    depth: usize,
) -> RlnkitStatus {
    run(|| unsafe {
        let m = out(member, "member")?;
        let path = path(path_elements, path_index_bits, depth)?;
        m.member.update_path(&path).map_err(prove_failure)
    })
}

/// Proves one of the member's messages (x = hash_to_field(signal)); 288 bytes to `out_proof`.
///
/// # Safety
/// As [`rlnkit_prove`].
#[no_mangle]
pub unsafe extern "C" fn rlnkit_member_prove(
    member: *const RlnkitMember,
    message_id: u32,
    external_nullifier: *const [u8; 32],
    signal: *const u8,
    signal_len: usize,
    out_proof: *mut [u8; RLNKIT_PROOF_BYTES],
) -> RlnkitStatus {
    run(|| unsafe {
        let m = ptr(member, "member")?;
        let out_proof = out(out_proof, "out_proof")?;
        let ext = ExternalNullifier::from_field(field(external_nullifier, "external_nullifier")?);
        let signal = buf(signal, signal_len, "signal")?;
        let proof = m.member.prove(message_id.into(), ext, signal).map_err(prove_failure)?;
        *out_proof = proof.to_bytes();
        Ok(())
    })
}

/// Frees a member prover (null: nothing).
///
/// # Safety
/// `member` must be null or a live handle, not freed before.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_member_free(member: *mut RlnkitMember) {
    if !member.is_null() {
        drop(unsafe { Box::from_raw(member) });
    }
}

/// Verifies one proof for `signal` against a window of `roots_count` acceptable roots
/// (32 bytes each; an empty window accepts no root). `RLNKIT_STATUS_OK` if valid,
/// `RLNKIT_STATUS_REJECTED` with the failed check in `rlnkit_last_error()` if not.
///
/// # Safety
/// Pointers must be null or address the stated number of readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_verify(
    keys: *const RlnkitKeys,
    proof: *const u8,
    proof_len: usize,
    signal: *const u8,
    signal_len: usize,
    roots: *const u8,
    roots_count: usize,
) -> RlnkitStatus {
    run(|| unsafe {
        let keys = ptr(keys, "keys")?;
        let p = self::proof(proof, proof_len, "proof")?;
        let roots = fields(roots, roots_count, "roots")?;
        let signal = buf(signal, signal_len, "signal")?;
        keys.verifier
            .verify(&p, signal, &roots)
            .map_err(|e| fail(RlnkitStatus::Rejected, e.to_string()))
    })
}

/// Verifies `count` proofs (288 bytes each, back to back) for their signals against one root
/// window, with one batched pairing check. `out_valid` (`count` bools, may be null) tells which
/// proofs passed; the status is OK only if all did.
///
/// # Safety
/// Pointers must be null or address the stated number of readable (writable for `out_valid`)
/// values; each signal's `ptr` must address its `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_verify_batch(
    keys: *const RlnkitKeys,
    proofs: *const u8,
    count: usize,
    signals: *const RlnkitBytes,
    roots: *const u8,
    roots_count: usize,
    out_valid: *mut bool,
) -> RlnkitStatus {
    run(|| unsafe {
        let keys = ptr(keys, "keys")?;
        let len =
            count.checked_mul(RLNKIT_PROOF_BYTES).ok_or_else(|| invalid("impossible count"))?;
        let bytes = buf(proofs, len, "proofs")?;
        let signals = buf(signals, count, "signals")?;
        let roots = fields(roots, roots_count, "roots")?;
        let valid = if out_valid.is_null() {
            None
        } else {
            Some(std::slice::from_raw_parts_mut(out_valid, count))
        };
        let mut ok = vec![true; count];
        let mut parsed = Vec::with_capacity(count);
        let mut first_error = None;
        for (i, (chunk, s)) in bytes.chunks_exact(RLNKIT_PROOF_BYTES).zip(signals).enumerate() {
            let signal = buf(s.ptr, s.len, "signal")?;
            let checked = RlnProof::from_bytes(chunk).map_err(|e| e.to_string()).and_then(|p| {
                if p.values.x != hash_to_field(signal) {
                    Err("x is not hash_to_field(signal)".to_string())
                } else if !roots.contains(&p.values.root) {
                    Err(format!("root {} is not in the window", p.values.root))
                } else {
                    Ok(p)
                }
            });
            match checked {
                Ok(p) => parsed.push((i, p)),
                Err(m) => {
                    ok[i] = false;
                    first_error.get_or_insert(format!("proof {i}: {m}"));
                }
            }
        }
        let batch: Vec<RlnProof> = parsed.iter().map(|(_, p)| *p).collect();
        if let Err(rej) = keys.verifier.verify_batch(&batch) {
            for b in rej.bad {
                let i = parsed[b].0;
                ok[i] = false;
                first_error.get_or_insert(format!("proof {i}: the Groth16 proof does not verify"));
            }
        }
        if let Some(v) = valid {
            v.copy_from_slice(&ok);
        }
        match first_error {
            None => Ok(()),
            Some(m) => Err(fail(RlnkitStatus::Rejected, m)),
        }
    })
}

/// A relay validator with the Waku network's parameters (600 s epochs, 20 s clock skew, the
/// network's rln_identifier, 150 KiB messages) over `keys`, an in-memory nullifier log and a
/// window (the last 50) of acceptable roots, initially the `roots_count` given.
///
/// # Safety
/// Pointers must be null or address the stated number of readable bytes; `out_validator` null
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_validator_new(
    keys: *const RlnkitKeys,
    roots: *const u8,
    roots_count: usize,
    out_validator: *mut *mut RlnkitValidator,
) -> RlnkitStatus {
    run(|| unsafe {
        let keys = ptr(keys, "keys")?;
        let out_validator = out(out_validator, "out_validator")?;
        let window = Arc::new(StaticRoots::new(fields(roots, roots_count, "roots")?));
        let validator = Validator::new(
            ValidatorConfig::default(),
            keys.verifier.clone(),
            window.clone(),
            NullifierLog::in_memory(),
        );
        *out_validator = Box::into_raw(Box::new(RlnkitValidator { validator, roots: window }));
        Ok(())
    })
}

/// Adds a root to the validator's window (the oldest falls out beyond 50).
///
/// # Safety
/// `validator` null or live; `root` null or 32 readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_validator_add_root(
    validator: *const RlnkitValidator,
    root: *const [u8; 32],
) -> RlnkitStatus {
    run(|| unsafe {
        let v = ptr(validator, "validator")?;
        v.roots.push(field(root, "root")?);
        Ok(())
    })
}

/// The relay's verdict labels (nwaku's `waku_rln_invalid_messages_total` types) as C strings.
const LABELS: &[&CStr] = &[
    c"oversized",
    c"decode",
    c"topic",
    c"missing_proof",
    c"proof_length",
    c"non_canonical_field",
    c"missing_timestamp",
    c"invalid_timestamp",
    c"invalid_rln_identifier",
    c"invalid_epoch",
    c"invalid_signal",
    c"invalid_proof",
    c"spam",
    c"duplicate",
    c"unavailable",
    c"unknown_root",
    c"overloaded",
];

fn reason_label(v: &Verdict) -> &'static CStr {
    let label = match v {
        Verdict::Accept => return c"",
        Verdict::Ignore(i) => i.label(),
        Verdict::Reject(r) => r.label(),
    };
    LABELS.iter().find(|c| c.to_bytes() == label.as_bytes()).copied().unwrap_or(c"rejected")
}

/// Validates one relayed message: its protobuf-encoded WakuMessage bytes, the pubsub topic
/// (NUL-terminated) and the time (ns since the Unix epoch; 0: now). Writes the verdict; on a
/// double signal the verdict carries the secret this message revealed (threads validating at
/// once each get their own message's). Status OK whenever a verdict was written (a rejected
/// message is a verdict, not an error).
///
/// # Safety
/// Pointers must be null or address the stated bytes; `topic` NUL-terminated; `out_verdict`
/// null or writable.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_validator_validate(
    validator: *const RlnkitValidator,
    message: *const u8,
    message_len: usize,
    pubsub_topic: *const c_char,
    now_ns: u64,
    out_verdict: *mut RlnkitVerdict,
) -> RlnkitStatus {
    run(|| unsafe {
        let v = ptr(validator, "validator")?;
        let out_verdict = out(out_verdict, "out_verdict")?;
        let bytes = buf(message, message_len, "message")?;
        let topic = CStr::from_ptr(ptr(pubsub_topic, "pubsub_topic")?)
            .to_str()
            .map_err(|_| invalid("pubsub_topic is not UTF-8"))?;
        let now = if now_ns == 0 { rlnkit::relay::unix_now_ns() } else { now_ns };
        let judgement = v.validator.validate_encoded_at(bytes, topic, now);
        let verdict = judgement.verdict();
        let mut out_v = RlnkitVerdict {
            action: match verdict {
                Verdict::Accept => RlnkitAction::Accept,
                Verdict::Reject(_) => RlnkitAction::Reject,
                Verdict::Ignore(_) => RlnkitAction::Ignore,
            },
            reason: reason_label(&verdict).as_ptr(),
            spam: false,
            spam_secret: [0; 32],
            spam_id_commitment: [0; 32],
            spam_epoch: 0,
        };
        if let Some(event) = judgement.spam() {
            out_v.spam = true;
            out_v.spam_secret = event.secret.to_le_bytes();
            out_v.spam_id_commitment = event.id_commitment.to_le_bytes();
            out_v.spam_epoch = event.epoch;
        }
        *out_verdict = out_v;
        Ok(())
    })
}

/// Frees a validator (null: nothing).
///
/// # Safety
/// `validator` must be null or a live handle, not freed before.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_validator_free(validator: *mut RlnkitValidator) {
    if !validator.is_null() {
        drop(unsafe { Box::from_raw(validator) });
    }
}

/// Builds a WakuMessage (protobuf) carrying an RLN proof: what a publisher sends and
/// `rlnkit_validator_validate` reads. `epoch` is the proof's epoch index (floor(unix s / 600)
/// on the Waku network). Writes up to `out_cap` bytes and the needed length to `out_len`;
/// `RLNKIT_STATUS_INVALID_INPUT` if `out_cap` is too small (nothing written but `out_len`).
///
/// # Safety
/// Pointers must be null or address the stated bytes; strings NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_waku_message_encode(
    payload: *const u8,
    payload_len: usize,
    content_topic: *const c_char,
    timestamp_ns: u64,
    proof: *const [u8; RLNKIT_PROOF_BYTES],
    epoch: u64,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> RlnkitStatus {
    run(|| unsafe {
        let out_len = self::out(out_len, "out_len")?;
        let payload = buf(payload, payload_len, "payload")?;
        let topic = CStr::from_ptr(ptr(content_topic, "content_topic")?)
            .to_str()
            .map_err(|_| invalid("content_topic is not UTF-8"))?;
        let p = RlnProof::from_bytes(ptr(proof, "proof")?).map_err(invalid)?;
        let timestamp =
            i64::try_from(timestamp_ns).map_err(|_| invalid("timestamp_ns is too large"))?;
        let msg = WakuMessage {
            payload: payload.to_vec(),
            content_topic: topic.to_string(),
            timestamp: Some(timestamp),
            rate_limit_proof: Some(rlnkit::relay::RateLimitProof::from_rln_proof(
                &p,
                rlnkit::Epoch::from_index(epoch),
                rlnkit::RlnIdentifier::waku(),
            )),
            ..Default::default()
        };
        let bytes = msg.to_bytes();
        *out_len = bytes.len();
        if bytes.len() > out_cap {
            return Err(invalid(format!(
                "the message needs {} bytes, out_cap is {out_cap}",
                bytes.len()
            )));
        }
        std::slice::from_raw_parts_mut(self::out(out, "out")?, out_cap)[..bytes.len()]
            .copy_from_slice(&bytes);
        Ok(())
    })
}

/// The external nullifier of an epoch index for the Waku network's rln_identifier:
/// Poseidon(epoch, rln_identifier), 32 bytes to `out`.
///
/// # Safety
/// `out` null or writable.
#[no_mangle]
pub unsafe extern "C" fn rlnkit_waku_external_nullifier(
    epoch: u64,
    out: *mut [u8; 32],
) -> RlnkitStatus {
    run(|| unsafe {
        let ext =
            ExternalNullifier::new(rlnkit::Epoch::from_index(epoch), rlnkit::RlnIdentifier::waku());
        *self::out(out, "out")? = ext.as_field().to_le_bytes();
        Ok(())
    })
}
