//! The nullifier log: which nullifiers were seen in which epoch, with the share (x, y) that came
//! with each, so a second message with one nullifier is either a harmless resend (same share) or a
//! double signal (different share: the member's secret can be recovered).
//!
//! Lookups are served from memory; a redb file (optional) keeps the log across restarts. Writes
//! are buffered and committed by [`NullifierLog::flush`] (the validator flushes once per batch), so
//! the disk costs one transaction per batch, not one per message. The log keeps the current and
//! the previous epoch (a message of the previous epoch is still valid for up to the timestamp
//! window after the boundary) and prunes everything older, in memory and on disk. Only nullifiers
//! of verified proofs are recorded, so the log is bounded by the members' rate limits.

use std::collections::HashMap;
use std::path::Path;

use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use crate::field::Field;

/// Key: epoch index (big-endian, so epochs sort) || nullifier (32 bytes LE).
/// Value: x || y || message hash.
const TABLE: TableDefinition<[u8; 40], [u8; 96]> = TableDefinition::new("nullifiers_v1");

/// How many epochs are kept: the current one and the one before.
pub const KEPT_EPOCHS: u64 = 2;

/// Errors of the on-disk log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The redb file failed.
    #[error("nullifier log database: {0}")]
    Db(#[from] redb::Error),
}

macro_rules! db_err {
    ($($t:ty),*) => {$(impl From<$t> for LogError { fn from(e: $t) -> Self { LogError::Db(e.into()) } })*};
}
db_err!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// One message's share: the point (x, y) on the member's line for this epoch, and the message hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    /// The share's x: hash_to_field(signal).
    pub x: Field,
    /// The share's y: a0 + a1·x on the member's line.
    pub y: Field,
    /// The message's deterministic hash (to name it in a spam report).
    pub message_hash: [u8; 32],
}

impl Share {
    fn to_bytes(self) -> [u8; 96] {
        let mut v = [0u8; 96];
        v[..32].copy_from_slice(&self.x.to_le_bytes());
        v[32..64].copy_from_slice(&self.y.to_le_bytes());
        v[64..].copy_from_slice(&self.message_hash);
        v
    }
    fn from_bytes(v: &[u8; 96]) -> Option<Self> {
        Some(Share {
            x: Field::from_le_slice(&v[..32]).ok()?,
            y: Field::from_le_slice(&v[32..64]).ok()?,
            message_hash: v[64..].try_into().ok()?,
        })
    }
}

/// What the log knows about an (epoch, nullifier) compared with a given share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareStatus {
    /// Never seen.
    New,
    /// Seen with the same share: the same message again.
    SameShare,
    /// Seen with another share: a double signal (the earlier share is returned).
    OtherShare(Share),
}

fn key(epoch: u64, nullifier: &Field) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..8].copy_from_slice(&epoch.to_be_bytes());
    k[8..].copy_from_slice(&nullifier.to_le_bytes());
    k
}

/// Seen nullifiers of the current and previous epochs.
pub struct NullifierLog {
    epochs: HashMap<u64, HashMap<Field, Share>>,
    db: Option<redb::Database>,
    pending: Vec<([u8; 40], [u8; 96])>,
    /// Epochs below this were pruned (also on disk at the next flush).
    pruned_below: u64,
    prune_pending: bool,
}

impl std::fmt::Debug for NullifierLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NullifierLog")
            .field("entries", &self.len())
            .field("on_disk", &self.db.is_some())
            .finish()
    }
}

impl Default for NullifierLog {
    fn default() -> Self {
        Self::in_memory()
    }
}

impl NullifierLog {
    /// A log that lives only in memory (lost on restart, like nwaku's).
    pub fn in_memory() -> Self {
        NullifierLog {
            epochs: HashMap::new(),
            db: None,
            pending: Vec::new(),
            pruned_below: 0,
            prune_pending: false,
        }
    }

    /// Opens (or creates) the log file and loads what it holds.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LogError> {
        let db = redb::Database::create(path.as_ref())?;
        let w = db.begin_write()?;
        w.open_table(TABLE)?;
        w.commit()?;
        let mut epochs: HashMap<u64, HashMap<Field, Share>> = HashMap::new();
        {
            let r = db.begin_read()?;
            let t = r.open_table(TABLE)?;
            for entry in t.iter()? {
                let (k, v) = entry?;
                let (k, v) = (k.value(), v.value());
                let epoch = u64::from_be_bytes(k[..8].try_into().expect("8 bytes"));
                if let (Ok(n), Some(share)) = (Field::from_le_slice(&k[8..]), Share::from_bytes(&v))
                {
                    epochs.entry(epoch).or_default().insert(n, share);
                }
            }
        }
        Ok(NullifierLog {
            epochs,
            db: Some(db),
            pending: Vec::new(),
            pruned_below: 0,
            prune_pending: false,
        })
    }

    /// What is known about this nullifier in this epoch, compared with this share.
    pub fn check(&self, epoch: u64, nullifier: &Field, x: &Field, y: &Field) -> ShareStatus {
        match self.epochs.get(&epoch).and_then(|m| m.get(nullifier)) {
            None => ShareStatus::New,
            Some(s) if s.x == *x && s.y == *y => ShareStatus::SameShare,
            Some(s) => ShareStatus::OtherShare(*s),
        }
    }

    /// The recorded share, if any.
    pub fn get(&self, epoch: u64, nullifier: &Field) -> Option<Share> {
        self.epochs.get(&epoch).and_then(|m| m.get(nullifier)).copied()
    }

    /// Records a verified share (the first one wins; later shares are only compared).
    /// Returns false if the nullifier was already recorded.
    pub fn record(&mut self, epoch: u64, nullifier: Field, share: Share) -> bool {
        if epoch < self.pruned_below {
            return false;
        }
        let m = self.epochs.entry(epoch).or_default();
        if m.contains_key(&nullifier) {
            return false;
        }
        m.insert(nullifier, share);
        if self.db.is_some() {
            self.pending.push((key(epoch, &nullifier), share.to_bytes()));
        }
        true
    }

    /// Drops every epoch older than the one before `current_epoch`.
    pub fn prune(&mut self, current_epoch: u64) {
        let keep_from = current_epoch.saturating_sub(KEPT_EPOCHS - 1);
        if keep_from <= self.pruned_below {
            return;
        }
        self.epochs.retain(|&e, _| e >= keep_from);
        self.pending
            .retain(|(k, _)| u64::from_be_bytes(k[..8].try_into().expect("8 bytes")) >= keep_from);
        self.pruned_below = keep_from;
        self.prune_pending = self.db.is_some();
    }

    /// Commits buffered records and prunes to disk (one transaction). No-op in memory.
    pub fn flush(&mut self) -> Result<(), LogError> {
        let Some(db) = &self.db else { return Ok(()) };
        if self.pending.is_empty() && !self.prune_pending {
            return Ok(());
        }
        let w = db.begin_write()?;
        {
            let mut t = w.open_table(TABLE)?;
            for (k, v) in &self.pending {
                t.insert(k, v)?;
            }
            if self.prune_pending {
                let mut upper = [0u8; 40];
                upper[..8].copy_from_slice(&self.pruned_below.to_be_bytes());
                t.retain_in(..upper, |_, _| false)?;
            }
        }
        w.commit()?;
        self.pending.clear();
        self.prune_pending = false;
        Ok(())
    }

    /// Number of recorded nullifiers.
    pub fn len(&self) -> usize {
        self.epochs.values().map(HashMap::len).sum()
    }

    /// Whether no nullifier is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The epochs held, ascending.
    pub fn epochs(&self) -> Vec<u64> {
        let mut e: Vec<u64> = self.epochs.keys().copied().collect();
        e.sort_unstable();
        e
    }

    /// Entries on disk (reads the file; for tests and diagnostics).
    pub fn disk_len(&self) -> Result<u64, LogError> {
        let Some(db) = &self.db else { return Ok(0) };
        let r = db.begin_read()?;
        let t = r.open_table(TABLE)?;
        Ok(redb::ReadableTableMetadata::len(&t)?)
    }
}

impl Drop for NullifierLog {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::warn!("could not flush the nullifier log: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(i: u64) -> Share {
        Share { x: Field::from_u64(i), y: Field::from_u64(i + 1000), message_hash: [i as u8; 32] }
    }

    #[test]
    fn same_and_other_share() {
        let mut log = NullifierLog::in_memory();
        let n = Field::from_u64(7);
        assert_eq!(log.check(10, &n, &share(1).x, &share(1).y), ShareStatus::New);
        assert!(log.record(10, n, share(1)));
        assert!(!log.record(10, n, share(2)));
        assert_eq!(log.check(10, &n, &share(1).x, &share(1).y), ShareStatus::SameShare);
        assert_eq!(log.check(10, &n, &share(2).x, &share(2).y), ShareStatus::OtherShare(share(1)));
        assert_eq!(log.check(11, &n, &share(2).x, &share(2).y), ShareStatus::New);
    }

    #[test]
    fn prune_keeps_current_and_previous_epoch_on_disk_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.redb");
        {
            let mut log = NullifierLog::open(&path).unwrap();
            for e in 10..14 {
                log.record(e, Field::from_u64(e), share(e));
            }
            log.flush().unwrap();
            assert_eq!(log.disk_len().unwrap(), 4);
            log.prune(13);
            assert_eq!(log.epochs(), vec![12, 13]);
            assert!(
                !log.record(11, Field::from_u64(99), share(99)),
                "pruned epochs are not recorded again"
            );
            log.record(13, Field::from_u64(50), share(50));
            // dropped: flushed on drop
        }
        let log = NullifierLog::open(&path).unwrap();
        assert_eq!(log.epochs(), vec![12, 13]);
        assert_eq!(log.len(), 3);
        assert_eq!(log.disk_len().unwrap(), 3);
        assert_eq!(log.get(13, &Field::from_u64(50)), Some(share(50)));
    }
}
