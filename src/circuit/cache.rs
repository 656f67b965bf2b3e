//! On-disk cache of derived circuit artifacts, so that a process loads its keys in milliseconds:
//! - the proving key, constraint matrices and prepared verifying key in arkworks' uncompressed
//!   form (parsing a snarkjs zkey costs ~0.6 s: field conversions and subgroup checks), and
//! - the witness generator compiled by wasmer, for circuits whose witness is not native
//!   (feature `wasm-witness`; compiling circom's wasm costs ~0.5 s).
//!
//! Entries live in `$RLNKIT_CACHE_DIR`, else `$XDG_CACHE_HOME/rlnkit`, else `~/.cache/rlnkit`
//! (`RLNKIT_CACHE=off` disables the cache). Each entry is named after the sha256 of its source
//! (zkey or wasm) and a format tag, written to a temporary file and renamed into place (readers
//! never see a partial entry), and carries a 128-bit checksum of its body ([`body_checksum`]),
//! checked before use. A missing, stale or corrupt entry is ignored and rewritten; a cache that
//! cannot be written is not an error.
//!
//! The checksum detects corruption (a torn or flipped file), not tampering: whoever can write the
//! cache directory could as well recompute any unkeyed digest, sha256 included. It runs at memory
//! speed, where sha256 of the bodies (11 MB for the keys and the module, 40 MB for the prover's
//! tables) took most of a warm load.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Where cache entries go; None when disabled or no directory is known.
pub fn cache_dir() -> Option<PathBuf> {
    if std::env::var_os("RLNKIT_CACHE").is_some_and(|v| v == "off" || v == "0") {
        return None;
    }
    if let Some(d) = std::env::var_os("RLNKIT_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("rlnkit"));
    }
    std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|h| PathBuf::from(h).join(".cache").join("rlnkit"))
}

/// The sha256 of a source (an entry's name).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Version 2: the body is followed by its [`body_checksum`] (version 1 had its sha256).
const MAGIC: &[u8; 8] = b"rlnkitc2";
/// Size of the body checksum at the end of an entry.
const CHECKSUM_BYTES: usize = 16;

/// The path of the entry of `kind` (a format tag) derived from a source with hash `source`.
fn entry_path(dir: &Path, kind: &str, source: &[u8; 32]) -> PathBuf {
    dir.join(format!("{kind}-{}.bin", hex::encode(source)))
}

/// Reads an entry: checks the header (magic, kind, source hash) and the body's checksum.
fn read_entry(path: &Path, kind: &str, source: &[u8; 32]) -> Option<Vec<u8>> {
    let bytes = std::fs::read(path).ok()?;
    let header_len = MAGIC.len() + 1 + kind.len() + 32 + 8;
    if bytes.len() < header_len + CHECKSUM_BYTES {
        return None;
    }
    let (header, rest) = bytes.split_at(header_len);
    let mut expected = Vec::with_capacity(header_len);
    expected.extend_from_slice(MAGIC);
    expected.push(kind.len() as u8);
    expected.extend_from_slice(kind.as_bytes());
    expected.extend_from_slice(source);
    if header[..expected.len()] != expected[..] {
        return None;
    }
    let body_len = u64::from_le_bytes(header[expected.len()..].try_into().ok()?) as usize;
    if rest.len() != body_len.checked_add(CHECKSUM_BYTES)? {
        return None;
    }
    let (body, checksum) = rest.split_at(body_len);
    if body_checksum(body)[..] != checksum[..] {
        return None;
    }
    // Move the body out without copying the header.
    let mut bytes = bytes;
    bytes.truncate(header_len + body_len);
    bytes.drain(..header_len);
    Some(bytes)
}

/// Writes an entry atomically (temporary file in the same directory, then rename).
fn write_entry(path: &Path, kind: &str, source: &[u8; 32], body: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
        std::process::id(),
        rand::random::<u64>()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(MAGIC)?;
        f.write_all(&[kind.len() as u8])?;
        f.write_all(kind.as_bytes())?;
        f.write_all(source)?;
        f.write_all(&(body.len() as u64).to_le_bytes())?;
        f.write_all(body)?;
        f.write_all(&body_checksum(body))?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The cache entries derived from one source (the sha256 of a zkey or wasm names them): one
/// entry per kind of derived artifact, e.g. the parsed proving key or the prover's tables.
#[derive(Clone, Debug)]
pub struct SourceEntries {
    dir: PathBuf,
    source: [u8; 32],
}

impl SourceEntries {
    /// The entries in `dir` of the source whose sha256 is `source`.
    pub fn new(dir: &Path, source: [u8; 32]) -> Self {
        SourceEntries { dir: dir.to_path_buf(), source }
    }

    /// The entry of `kind` (a format tag), if present and intact.
    pub fn read(&self, kind: &str) -> Option<Vec<u8>> {
        read_entry(&entry_path(&self.dir, kind, &self.source), kind, &self.source)
    }

    /// Writes the entry of `kind` atomically.
    pub fn write(&self, kind: &str, body: &[u8]) -> std::io::Result<()> {
        write_entry(&entry_path(&self.dir, kind, &self.source), kind, &self.source, body)
    }
}

/// Odd multipliers and offsets of the checksum's four lanes (fractional digits of √2, √3, √5,
/// √7 made odd); any odd constants would do.
const LANE_MUL: [u64; 4] =
    [0x6a09e667f3bcc909, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1];

/// A 128-bit checksum of `bytes` for detecting corrupt cache entries (not a cryptographic
/// hash). Four independent lanes take one 8-byte word each per 32-byte block; a lane's step
/// s ← rotl((s ⊕ w)·K, 29) + K is a bijection of s for a fixed word and of w for a fixed s, so
/// changing any single word always changes that lane's final state. The length and the four
/// lanes are then mixed into two 64-bit halves.
pub fn body_checksum(bytes: &[u8]) -> [u8; CHECKSUM_BYTES] {
    let mut lanes = LANE_MUL;
    let step =
        |s: &mut u64, w: u64, k: u64| *s = (*s ^ w).wrapping_mul(k).rotate_left(29).wrapping_add(k);
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        for ((s, k), w) in lanes.iter_mut().zip(LANE_MUL).zip(block.chunks_exact(8)) {
            step(s, u64::from_le_bytes(w.try_into().unwrap_or([0; 8])), k);
        }
    }
    // The tail, zero-padded (the length below tells the paddings apart).
    let mut tail = [0u8; 32];
    tail[..blocks.remainder().len()].copy_from_slice(blocks.remainder());
    for ((s, k), w) in lanes.iter_mut().zip(LANE_MUL).zip(tail.chunks_exact(8)) {
        step(s, u64::from_le_bytes(w.try_into().unwrap_or([0; 8])), k);
    }
    let len = bytes.len() as u64;
    let lo = lanes.iter().fold(len ^ LANE_MUL[0], |h, &s| avalanche(h ^ s));
    let hi = lanes.iter().rev().fold(len ^ LANE_MUL[3], |h, &s| avalanche(h.rotate_left(32) ^ s));
    let mut out = [0u8; CHECKSUM_BYTES];
    out[..8].copy_from_slice(&lo.to_le_bytes());
    out[8..].copy_from_slice(&hi.to_le_bytes());
    out
}

/// Spreads every input bit over the whole word (xor-shift / odd-multiply rounds).
fn avalanche(mut h: u64) -> u64 {
    h ^= h >> 31;
    h = h.wrapping_mul(LANE_MUL[1]);
    h ^= h >> 29;
    h = h.wrapping_mul(LANE_MUL[2]);
    h ^ (h >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_reject_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let src = sha256(b"source");
        let p = entry_path(dir.path(), "test", &src);
        write_entry(&p, "test", &src, b"hello body").unwrap();
        assert_eq!(read_entry(&p, "test", &src).as_deref(), Some(&b"hello body"[..]));
        // Another source or kind does not match.
        assert!(read_entry(&p, "test", &sha256(b"other")).is_none());
        assert!(read_entry(&p, "tesx", &src).is_none());
        // A flipped byte anywhere (header, body, checksum) or a truncated file is rejected.
        let good = std::fs::read(&p).unwrap();
        let n = good.len();
        for i in 0..n {
            let mut bytes = good.clone();
            bytes[i] ^= 0x10;
            std::fs::write(&p, &bytes).unwrap();
            assert!(read_entry(&p, "test", &src).is_none(), "byte {i}");
        }
        std::fs::write(&p, &good[..n - 1]).unwrap();
        assert!(read_entry(&p, "test", &src).is_none());
        // A version-1 entry (sha256 trailer) is not read as version 2.
        let mut v1 = good[..n - CHECKSUM_BYTES].to_vec();
        v1[..8].copy_from_slice(b"rlnkitc1");
        v1.extend_from_slice(&sha256(b"hello body"));
        std::fs::write(&p, &v1).unwrap();
        assert!(read_entry(&p, "test", &src).is_none());
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn checksum_sees_flips_lengths_and_order() {
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(9);
        let mut data = vec![0u8; 10_000];
        rand::RngCore::fill_bytes(&mut rng, &mut data);
        let base = body_checksum(&data);
        for i in (0..data.len()).step_by(37) {
            for bit in [0, 3, 7] {
                data[i] ^= 1 << bit;
                assert_ne!(body_checksum(&data), base, "byte {i} bit {bit}");
                data[i] ^= 1 << bit;
            }
        }
        // Zero runs of different lengths, and swapped blocks, differ.
        let sums: std::collections::HashSet<_> =
            (0..100).map(|n| body_checksum(&vec![0u8; n])).collect();
        assert_eq!(sums.len(), 100);
        let mut swapped = data.clone();
        swapped[..32].copy_from_slice(&data[32..64]);
        swapped[32..64].copy_from_slice(&data[..32]);
        assert_ne!(body_checksum(&swapped), base);
    }
}
