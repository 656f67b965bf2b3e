//! The nullifier log: which nullifiers were seen in which epoch, with the share (x, y) that came
//! with each, so a second message with one nullifier is either a harmless resend (same share) or a
//! double signal (different share: the member's secret can be recovered).
//!
//! Lookups are served from memory; a redb file (optional) keeps the log across restarts. The log
//! is shared by reference and locks itself: lookups and records take a short lock on the memory
//! map only, never one held across a disk commit. Records are buffered and committed by
//! [`NullifierLog::flush`] as a group commit: a flush returns once everything recorded before it
//! is on disk, either by committing the buffer itself (holding only the disk lock; the memory map
//! stays free for lookups) or because a concurrent flush already did. The validator flushes once
//! per batch, before the batch's verdicts are final, so the disk costs one transaction per batch
//! and a message is forwarded only after its share is on disk. A crash loses only shares whose
//! message got no verdict yet (never forwarded by this node).
//!
//! The log keeps the current and the previous epoch (a message of the previous epoch is still
//! valid for up to the timestamp window after the boundary) and prunes everything older, in memory
//! and on disk. Only nullifiers of verified proofs are recorded, so the log is bounded by the
//! members' rate limits.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

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

fn epoch_of_key(k: &[u8; 40]) -> u64 {
    u64::from_be_bytes(k[..8].try_into().expect("8 bytes"))
}

/// A poisoned lock (a panic while it was held) still holds consistent data here: every update
/// under these locks is a single insert, replace or swap.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The map lookups read, and the records not yet on disk.
#[derive(Default)]
struct Memory {
    epochs: HashMap<u64, HashMap<Field, Share>>,
    /// Records not yet handed to a commit (only with a file).
    pending: Vec<([u8; 40], [u8; 96])>,
    /// Epochs below this were pruned (also on disk at the next flush).
    pruned_below: u64,
    prune_pending: bool,
    /// Changes made so far (records and prunes; only with a file): what a flush must cover.
    changes: u64,
}

/// The file, and how many of the memory's changes it holds.
struct Disk {
    db: redb::Database,
    durable: u64,
}

/// Seen nullifiers of the current and previous epochs (shared by reference: it locks itself).
pub struct NullifierLog {
    memory: Mutex<Memory>,
    disk: Option<Mutex<Disk>>,
}

impl std::fmt::Debug for NullifierLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NullifierLog")
            .field("entries", &self.len())
            .field("on_disk", &self.disk.is_some())
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
        NullifierLog { memory: Mutex::new(Memory::default()), disk: None }
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
                if let (Ok(n), Some(share)) = (Field::from_le_slice(&k[8..]), Share::from_bytes(&v))
                {
                    epochs.entry(epoch_of_key(&k)).or_default().insert(n, share);
                }
            }
        }
        Ok(NullifierLog {
            memory: Mutex::new(Memory { epochs, ..Memory::default() }),
            disk: Some(Mutex::new(Disk { db, durable: 0 })),
        })
    }

    /// What is known about this nullifier in this epoch, compared with this share.
    pub fn check(&self, epoch: u64, nullifier: &Field, x: &Field, y: &Field) -> ShareStatus {
        lock(&self.memory).check(epoch, nullifier, x, y)
    }

    /// The recorded share, if any.
    pub fn get(&self, epoch: u64, nullifier: &Field) -> Option<Share> {
        lock(&self.memory).epochs.get(&epoch).and_then(|m| m.get(nullifier)).copied()
    }

    /// Records a verified share (the first one wins; later shares are only compared).
    /// Returns false if the nullifier was already recorded (or its epoch was pruned).
    pub fn record(&self, epoch: u64, nullifier: Field, share: Share) -> bool {
        let on_disk = self.disk.is_some();
        lock(&self.memory).record(epoch, nullifier, share, on_disk)
    }

    /// In one step: prunes to `current_epoch`, compares the share with the log and records it if
    /// its nullifier is new. Returns what the log knew before.
    pub fn check_and_record(
        &self,
        current_epoch: u64,
        epoch: u64,
        nullifier: Field,
        share: Share,
    ) -> ShareStatus {
        let on_disk = self.disk.is_some();
        let mut m = lock(&self.memory);
        m.prune(current_epoch, on_disk);
        let status = m.check(epoch, &nullifier, &share.x, &share.y);
        if status == ShareStatus::New {
            m.record(epoch, nullifier, share, on_disk);
        }
        status
    }

    /// Drops every epoch older than the one before `current_epoch`.
    pub fn prune(&self, current_epoch: u64) {
        let on_disk = self.disk.is_some();
        lock(&self.memory).prune(current_epoch, on_disk)
    }

    /// Returns once every record and prune made before the call is on disk (one transaction for
    /// all that is buffered; none if a concurrent flush covered it). Lookups and records are not
    /// blocked by the commit. No-op in memory. On an error the buffer is kept for the next flush.
    pub fn flush(&self) -> Result<(), LogError> {
        let Some(disk) = &self.disk else { return Ok(()) };
        let target = lock(&self.memory).changes;
        let mut d = lock(disk);
        if d.durable >= target {
            return Ok(());
        }
        let (pending, prune_below, changes) = {
            let mut m = lock(&self.memory);
            let prune = std::mem::take(&mut m.prune_pending).then_some(m.pruned_below);
            (std::mem::take(&mut m.pending), prune, m.changes)
        };
        match commit(&d.db, &pending, prune_below) {
            Ok(()) => {
                d.durable = changes;
                Ok(())
            }
            Err(e) => {
                let mut m = lock(&self.memory);
                let keep_from = m.pruned_below;
                let mut back: Vec<_> =
                    pending.into_iter().filter(|(k, _)| epoch_of_key(k) >= keep_from).collect();
                back.append(&mut m.pending);
                m.pending = back;
                m.prune_pending |= prune_below.is_some();
                Err(e)
            }
        }
    }

    /// Number of recorded nullifiers.
    pub fn len(&self) -> usize {
        lock(&self.memory).epochs.values().map(HashMap::len).sum()
    }

    /// Whether no nullifier is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The epochs held, ascending.
    pub fn epochs(&self) -> Vec<u64> {
        let mut e: Vec<u64> = lock(&self.memory).epochs.keys().copied().collect();
        e.sort_unstable();
        e
    }

    /// Entries on disk (reads the file; for tests and diagnostics).
    pub fn disk_len(&self) -> Result<u64, LogError> {
        let Some(disk) = &self.disk else { return Ok(0) };
        let d = lock(disk);
        let r = d.db.begin_read()?;
        let t = r.open_table(TABLE)?;
        Ok(redb::ReadableTableMetadata::len(&t)?)
    }
}

impl Memory {
    fn check(&self, epoch: u64, nullifier: &Field, x: &Field, y: &Field) -> ShareStatus {
        match self.epochs.get(&epoch).and_then(|m| m.get(nullifier)) {
            None => ShareStatus::New,
            Some(s) if s.x == *x && s.y == *y => ShareStatus::SameShare,
            Some(s) => ShareStatus::OtherShare(*s),
        }
    }

    fn record(&mut self, epoch: u64, nullifier: Field, share: Share, on_disk: bool) -> bool {
        if epoch < self.pruned_below {
            return false;
        }
        let m = self.epochs.entry(epoch).or_default();
        if m.contains_key(&nullifier) {
            return false;
        }
        m.insert(nullifier, share);
        if on_disk {
            self.pending.push((key(epoch, &nullifier), share.to_bytes()));
            self.changes += 1;
        }
        true
    }

    fn prune(&mut self, current_epoch: u64, on_disk: bool) {
        let keep_from = current_epoch.saturating_sub(KEPT_EPOCHS - 1);
        if keep_from <= self.pruned_below {
            return;
        }
        self.epochs.retain(|&e, _| e >= keep_from);
        self.pending.retain(|(k, _)| epoch_of_key(k) >= keep_from);
        self.pruned_below = keep_from;
        if on_disk {
            self.prune_pending = true;
            self.changes += 1;
        }
    }
}

/// Writes records and deletes the epochs below `prune_below`, in one transaction.
fn commit(
    db: &redb::Database,
    pending: &[([u8; 40], [u8; 96])],
    prune_below: Option<u64>,
) -> Result<(), LogError> {
    let w = db.begin_write()?;
    {
        let mut t = w.open_table(TABLE)?;
        for (k, v) in pending {
            t.insert(k, v)?;
        }
        if let Some(below) = prune_below {
            let mut upper = [0u8; 40];
            upper[..8].copy_from_slice(&below.to_be_bytes());
            t.retain_in(..upper, |_, _| false)?;
        }
    }
    w.commit()?;
    Ok(())
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
        let log = NullifierLog::in_memory();
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
            let log = NullifierLog::open(&path).unwrap();
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

    #[test]
    fn lookups_and_records_do_not_wait_for_a_commit() {
        let dir = tempfile::tempdir().unwrap();
        let log = std::sync::Arc::new(NullifierLog::open(dir.path().join("log.redb")).unwrap());
        log.record(5, Field::from_u64(1), share(1));
        // A commit in progress holds the disk lock: lookups, records and prunes go on.
        let commit_in_progress = lock(log.disk.as_ref().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let l = log.clone();
        std::thread::spawn(move || {
            let seen = l.check(5, &Field::from_u64(1), &share(1).x, &share(1).y);
            let status = l.check_and_record(5, 5, Field::from_u64(2), share(2));
            tx.send((seen, status)).unwrap();
        });
        let (seen, status) =
            rx.recv_timeout(std::time::Duration::from_secs(30)).expect("not blocked by the commit");
        assert_eq!((seen, status), (ShareStatus::SameShare, ShareStatus::New));
        drop(commit_in_progress);
        log.flush().unwrap();
        assert_eq!(log.disk_len().unwrap(), 2);
    }

    #[test]
    fn a_flush_returns_once_its_records_are_on_disk_whoever_committed_them() {
        let dir = tempfile::tempdir().unwrap();
        let log = std::sync::Arc::new(NullifierLog::open(dir.path().join("log.redb")).unwrap());
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let l = log.clone();
                std::thread::spawn(move || {
                    for i in 0..50u64 {
                        let n = Field::from_u64(t * 1000 + i);
                        assert_eq!(l.check_and_record(3, 3, n, share(i)), ShareStatus::New);
                        l.flush().unwrap();
                        // This thread's share is durable when its flush returns.
                        let d = lock(l.disk.as_ref().unwrap());
                        let r = d.db.begin_read().unwrap();
                        let table = r.open_table(TABLE).unwrap();
                        assert!(table.get(&key(3, &n)).unwrap().is_some());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(log.disk_len().unwrap(), 400);
    }
}
