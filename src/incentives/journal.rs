//! The slasher's journal: the double signallers a relay has caught and not yet slashed, with
//! the secrets their shares revealed. Written (durably, owner-only) before the commitment is
//! sent, emptied of a member once its slash is on chain or can never be; a relay restarted on
//! the same data directory resumes what is left, so a crash between commit and reveal costs
//! its operator no reward. A new commitment replaces an old one at the registry, so resuming
//! starts the flow over.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::field::Field;
use crate::files::write_atomic;

/// A caught double signaller whose slash is not on chain yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSlash {
    /// Its membership.
    pub id_commitment: Field,
    /// The epoch it double-signalled in.
    pub epoch: u64,
    /// The secret its two shares revealed.
    pub secret: Field,
}

/// Why the journal could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file could not be read or written.
    #[error("slash journal {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a journal.
    #[error("slash journal {path} does not parse: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
}

/// The pending slashes, in memory or in a JSON file (see the module doc).
#[derive(Debug, Default)]
pub struct SlashJournal {
    path: Option<PathBuf>,
    pending: Mutex<Vec<PendingSlash>>,
}

impl SlashJournal {
    /// A journal that lives only in memory (lost on restart).
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Opens the journal file (none yet: empty).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, JournalError> {
        let path = path.as_ref().to_path_buf();
        let pending = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| JournalError::Parse { path: path.clone(), source })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(JournalError::Io { path, source }),
        };
        Ok(SlashJournal { path: Some(path), pending: Mutex::new(pending) })
    }

    /// The slashes left to do, oldest first.
    pub fn pending(&self) -> Vec<PendingSlash> {
        self.lock().clone()
    }

    /// Notes a slash to do (once per member), on disk before it returns.
    pub fn add(&self, p: PendingSlash) -> Result<(), JournalError> {
        let mut all = self.lock();
        if all.iter().any(|x| x.id_commitment == p.id_commitment) {
            return Ok(());
        }
        all.push(p);
        self.save(&all)
    }

    /// Forgets a member's slash (done, or impossible).
    pub fn remove(&self, id_commitment: &Field) -> Result<(), JournalError> {
        let mut all = self.lock();
        let before = all.len();
        all.retain(|x| x.id_commitment != *id_commitment);
        if all.len() == before {
            return Ok(());
        }
        self.save(&all)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PendingSlash>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn save(&self, all: &[PendingSlash]) -> Result<(), JournalError> {
        let Some(path) = &self.path else { return Ok(()) };
        let bytes = serde_json::to_vec_pretty(all).expect("serializable");
        write_atomic(path, &bytes, true)
            .map_err(|source| JournalError::Io { path: path.clone(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u64) -> PendingSlash {
        PendingSlash {
            id_commitment: Field::from_u64(n),
            epoch: 7,
            secret: Field::from_u64(100 + n),
        }
    }

    #[test]
    fn pending_slashes_survive_a_reopen_until_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slashes.json");
        let j = SlashJournal::open(&path).unwrap();
        assert!(j.pending().is_empty());
        j.add(p(1)).unwrap();
        j.add(p(2)).unwrap();
        j.add(p(1)).unwrap();
        let j = SlashJournal::open(&path).unwrap();
        assert_eq!(j.pending(), vec![p(1), p(2)]);
        j.remove(&Field::from_u64(1)).unwrap();
        assert_eq!(SlashJournal::open(&path).unwrap().pending(), vec![p(2)]);
    }

    #[test]
    fn a_broken_file_is_refused_not_emptied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slashes.json");
        std::fs::write(&path, "not json").unwrap();
        assert!(matches!(SlashJournal::open(&path), Err(JournalError::Parse { .. })));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not json");
    }
}
