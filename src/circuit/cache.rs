//! On-disk cache of derived circuit artifacts, so that a process loads its keys in milliseconds:
//! - the proving key, constraint matrices and prepared verifying key in arkworks' uncompressed
//!   form (parsing a snarkjs zkey costs ~0.6 s: field conversions and subgroup checks), and
//! - the witness generator compiled by wasmer (compiling circom's wasm costs ~0.5 s).
//!
//! Entries live in `$RLNKIT_CACHE_DIR`, else `$XDG_CACHE_HOME/rlnkit`, else `~/.cache/rlnkit`
//! (`RLNKIT_CACHE=off` disables the cache). Each entry is named after the sha256 of its source
//! (zkey or wasm) and a format tag, written to a temporary file and renamed into place (readers
//! never see a partial entry), and carries the sha256 of its body, checked before use. A missing,
//! stale or corrupt entry is ignored and rewritten; a cache that cannot be written is not an error.

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
    std::env::var_os("HOME").filter(|d| !d.is_empty()).map(|h| PathBuf::from(h).join(".cache").join("rlnkit"))
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

const MAGIC: &[u8; 8] = b"rlnkitc1";

/// The path of the entry of `kind` (a format tag) derived from a source with hash `source`.
pub fn entry_path(dir: &Path, kind: &str, source: &[u8; 32]) -> PathBuf {
    dir.join(format!("{kind}-{}.bin", hex::encode(source)))
}

/// Reads an entry: checks the header (magic, kind, source hash) and the body's sha256.
pub fn read_entry(path: &Path, kind: &str, source: &[u8; 32]) -> Option<Vec<u8>> {
    let bytes = std::fs::read(path).ok()?;
    let header_len = MAGIC.len() + 1 + kind.len() + 32 + 8;
    if bytes.len() < header_len + 32 {
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
    if rest.len() != body_len + 32 {
        return None;
    }
    let (body, digest) = rest.split_at(body_len);
    if sha256(body)[..] != digest[..] {
        return None;
    }
    // Move the body out without copying the header.
    let mut bytes = bytes;
    bytes.truncate(header_len + body_len);
    bytes.drain(..header_len);
    Some(bytes)
}

/// Writes an entry atomically (temporary file in the same directory, then rename).
pub fn write_entry(path: &Path, kind: &str, source: &[u8; 32], body: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.{}.{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"), std::process::id(), rand::random::<u64>()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(MAGIC)?;
        f.write_all(&[kind.len() as u8])?;
        f.write_all(kind.as_bytes())?;
        f.write_all(source)?;
        f.write_all(&(body.len() as u64).to_le_bytes())?;
        f.write_all(body)?;
        f.write_all(&sha256(body))?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
        // A flipped body byte or a truncated file is rejected.
        let mut bytes = std::fs::read(&p).unwrap();
        let n = bytes.len();
        bytes[n - 40] ^= 1;
        std::fs::write(&p, &bytes).unwrap();
        assert!(read_entry(&p, "test", &src).is_none());
        std::fs::write(&p, &bytes[..n - 1]).unwrap();
        assert!(read_entry(&p, "test", &src).is_none());
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
