//! Epochs, RLN identifiers and external nullifiers: what scopes a member's message budget.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::field::Field;
use crate::poseidon::poseidon2;

/// The Waku network's epoch length (10 minutes).
pub const WAKU_EPOCH_SECONDS: u64 = 600;
/// The Waku network's RLN identifier, as text.
pub const WAKU_RLN_IDENTIFIER: &str = "rln/waku-rln-relay/v2.0.0";

/// An epoch, as the field element carried in proofs. Waku epochs are
/// floor(unix_seconds / epoch_seconds) as a little-endian u64 zero-padded to 32 bytes;
/// any field element is accepted so other applications can scope epochs differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(transparent)]
pub struct Epoch(Field);

impl Epoch {
    /// The epoch with this index.
    pub fn from_index(index: u64) -> Self {
        Epoch(Field::from_u64(index))
    }
    /// The epoch containing `unix_seconds` for epochs of `epoch_seconds`.
    pub fn from_unix_seconds(unix_seconds: u64, epoch_seconds: u64) -> Self {
        Self::from_index(unix_seconds / epoch_seconds.max(1))
    }
    /// The current epoch.
    pub fn now(epoch_seconds: u64) -> Self {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
        Self::from_unix_seconds(secs, epoch_seconds)
    }
    /// An arbitrary field element as an epoch.
    pub fn from_field(f: Field) -> Self {
        Epoch(f)
    }
    /// The epoch as a field element.
    pub fn as_field(self) -> Field {
        self.0
    }
    /// The epoch index if it fits a u64 (always true for Waku epochs).
    pub fn index(self) -> Option<u64> {
        let b = self.0.to_le_bytes();
        b[8..]
            .iter()
            .all(|&x| x == 0)
            .then(|| u64::from_le_bytes(b[..8].try_into().expect("8 bytes")))
    }
}

/// The application's RLN identifier: separates nullifiers of different applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RlnIdentifier(Field);

impl RlnIdentifier {
    /// The Waku network's identifier: the bytes of "rln/waku-rln-relay/v2.0.0" zero-padded to 32.
    pub fn waku() -> Self {
        Self::from_text(WAKU_RLN_IDENTIFIER).expect("25 ASCII bytes are canonical")
    }
    /// Text of at most 31 bytes, zero-padded to 32 little-endian bytes.
    pub fn from_text(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.len() > 31 {
            return None;
        }
        let mut buf = [0u8; 32];
        buf[..b.len()].copy_from_slice(b);
        Field::from_le_bytes(&buf).ok().map(RlnIdentifier)
    }
    /// An arbitrary field element as an RLN identifier.
    pub fn from_field(f: Field) -> Self {
        RlnIdentifier(f)
    }
    /// The identifier as a field element.
    pub fn as_field(self) -> Field {
        self.0
    }
}

impl Default for RlnIdentifier {
    fn default() -> Self {
        Self::waku()
    }
}

/// Poseidon(epoch, rln_identifier): the public input that scopes a member's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExternalNullifier(Field);

impl ExternalNullifier {
    /// Poseidon(epoch, rln_identifier).
    pub fn new(epoch: Epoch, rln_identifier: RlnIdentifier) -> Self {
        ExternalNullifier(poseidon2(epoch.as_field(), rln_identifier.as_field()))
    }
    /// An external nullifier already computed (e.g. read from a proof).
    pub fn from_field(f: Field) -> Self {
        ExternalNullifier(f)
    }
    /// The external nullifier as a field element.
    pub fn as_field(self) -> Field {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waku_epoch_encoding() {
        let e = Epoch::from_unix_seconds(1_700_000_000, WAKU_EPOCH_SECONDS);
        assert_eq!(e.index(), Some(2_833_333));
        let bytes = e.as_field().to_le_bytes();
        assert_eq!(&bytes[..8], &2_833_333u64.to_le_bytes());
        assert!(bytes[8..].iter().all(|&b| b == 0));
    }

    #[test]
    fn waku_identifier_bytes() {
        let b = RlnIdentifier::waku().as_field().to_le_bytes();
        assert_eq!(&b[..25], WAKU_RLN_IDENTIFIER.as_bytes());
        assert!(b[25..].iter().all(|&x| x == 0));
        assert!(RlnIdentifier::from_text(&"x".repeat(32)).is_none());
    }
}
