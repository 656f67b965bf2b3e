//! The message ids a member has used, per epoch, kept on disk: an id is written down before the
//! message that uses it is proved, so a process killed and restarted inside an epoch never uses
//! an id twice. (Two messages with one id in one epoch are a double signal: every relay recovers
//! the member's secret and can slash its deposit.)
//!
//! The file (JSON) names the member (its id commitment) and the RLN identifier its ids count
//! for, and refuses to serve another member's ids. Epochs that can no longer be published in are
//! forgotten.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::epoch::RlnIdentifier;
use crate::field::Field;
use crate::identity::UserMessageLimit;

/// Why message ids cannot be read or reserved.
#[derive(Debug, thiserror::Error)]
pub enum MessageIdError {
    /// Every id of the epoch is used.
    #[error("all {limit} message ids of epoch {epoch} are used")]
    Exhausted {
        /// The epoch.
        epoch: u64,
        /// The member's limit.
        limit: u64,
    },
    /// The file belongs to another member or application.
    #[error("{path} holds the message ids of member {found} (this is member {expected}): give each membership its own file")]
    OtherMember {
        /// The file.
        path: PathBuf,
        /// The id commitment in the file.
        found: String,
        /// This member's id commitment.
        expected: String,
    },
    /// The file is not a message id file.
    #[error("{path} is not a message id file: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// Reading or writing the file failed (a reservation that cannot be written is not made).
    #[error("message id file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

#[derive(Serialize, Deserialize, Default)]
struct FileBody {
    /// Id commitment of the member (absent in files of rlnkit 0.1's `relay publish`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    member: Option<Field>,
    /// The RLN identifier the ids count for (hex of its field element).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rln_identifier: Option<Field>,
    /// epoch → ids used.
    used: BTreeMap<u64, u64>,
}

/// A member's used message ids per epoch, in memory or durably in a file.
#[derive(Debug)]
pub struct MessageIdLog {
    path: Option<PathBuf>,
    member: Option<Field>,
    rln_identifier: Option<Field>,
    used: BTreeMap<u64, u64>,
}

impl Default for MessageIdLog {
    fn default() -> Self {
        Self::in_memory()
    }
}

impl MessageIdLog {
    /// Ids kept in memory only: a restart inside an epoch would reuse them. For tests, and for
    /// publishers whose every message is judged by a validator that remembers them.
    pub fn in_memory() -> Self {
        MessageIdLog { path: None, member: None, rln_identifier: None, used: BTreeMap::new() }
    }

    /// Opens (or starts) the file of `member` (its id commitment) for `rln_identifier`.
    pub fn open(
        path: impl Into<PathBuf>,
        member: Field,
        rln_identifier: RlnIdentifier,
    ) -> Result<Self, MessageIdError> {
        let path = path.into();
        let body: FileBody = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| MessageIdError::Parse { path: path.clone(), source })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileBody::default(),
            Err(source) => return Err(MessageIdError::Io { path, source }),
        };
        let rln = rln_identifier.as_field();
        if body.member.is_some_and(|m| m != member) || body.rln_identifier.is_some_and(|r| r != rln)
        {
            return Err(MessageIdError::OtherMember {
                found: body.member.map(|m| m.to_hex()).unwrap_or_default(),
                expected: member.to_hex(),
                path,
            });
        }
        Ok(MessageIdLog {
            path: Some(path),
            member: Some(member),
            rln_identifier: Some(rln),
            used: body.used,
        })
    }

    /// The file, when the ids are kept on disk.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Ids used in `epoch`.
    pub fn used(&self, epoch: u64) -> u64 {
        self.used.get(&epoch).copied().unwrap_or(0)
    }

    /// Reserves the next id of `epoch` and, for a file, writes it down durably before returning:
    /// the id is spent even if the message is then never sent (never reused, at worst unused).
    pub fn reserve(&mut self, epoch: u64, limit: UserMessageLimit) -> Result<u64, MessageIdError> {
        let id = self.used(epoch);
        if id >= limit.get() {
            return Err(MessageIdError::Exhausted { epoch, limit: limit.get() });
        }
        self.record(epoch, id + 1)?;
        Ok(id)
    }

    /// Raises the count of ids used in `epoch` to at least `used` (ids spent elsewhere, e.g. seen
    /// by the node's validator), durably. Never lowers it.
    pub fn record(&mut self, epoch: u64, used: u64) -> Result<(), MessageIdError> {
        let mut next = self.used.clone();
        let entry = next.entry(epoch).or_insert(0);
        *entry = (*entry).max(used);
        // Only the newest epoch and the one before can still be published in.
        let newest = next.keys().next_back().copied().unwrap_or(epoch);
        next.retain(|&e, _| e + 1 >= newest);
        if let Some(path) = &self.path {
            let body = FileBody {
                member: self.member,
                rln_identifier: self.rln_identifier,
                used: next.clone(),
            };
            let bytes = serde_json::to_vec_pretty(&body).expect("a map of numbers serializes");
            crate::files::write_atomic(path, &bytes, false)
                .map_err(|source| MessageIdError::Io { path: path.clone(), source })?;
        }
        self.used = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(n: u64) -> UserMessageLimit {
        UserMessageLimit::new(n).unwrap()
    }

    #[test]
    fn reserved_ids_survive_a_reopen_and_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ids.json");
        let member = Field::from(7u64);
        let mut log = MessageIdLog::open(&p, member, RlnIdentifier::waku()).unwrap();
        assert_eq!(log.reserve(100, limit(3)).unwrap(), 0);
        assert_eq!(log.reserve(100, limit(3)).unwrap(), 1);
        drop(log); // as a kill: nothing is flushed on drop, everything was written at reserve
        let mut log = MessageIdLog::open(&p, member, RlnIdentifier::waku()).unwrap();
        assert_eq!(log.reserve(100, limit(3)).unwrap(), 2);
        assert!(matches!(log.reserve(100, limit(3)), Err(MessageIdError::Exhausted { .. })));
        // A new epoch starts from 0, and epochs two behind are forgotten.
        assert_eq!(log.reserve(101, limit(3)).unwrap(), 0);
        assert_eq!(log.reserve(102, limit(3)).unwrap(), 0);
        assert_eq!(log.used(100), 0);
        assert_eq!(log.used(101), 1);
    }

    #[test]
    fn another_members_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ids.json");
        let mut log = MessageIdLog::open(&p, Field::from(1u64), RlnIdentifier::waku()).unwrap();
        log.reserve(5, limit(2)).unwrap();
        let other = MessageIdLog::open(&p, Field::from(2u64), RlnIdentifier::waku());
        assert!(matches!(other, Err(MessageIdError::OtherMember { .. })));
        let app = RlnIdentifier::from_text("another app").unwrap();
        assert!(matches!(
            MessageIdLog::open(&p, Field::from(1u64), app),
            Err(MessageIdError::OtherMember { .. })
        ));
    }

    #[test]
    fn record_never_lowers_and_old_files_are_adopted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ids.json");
        std::fs::write(&p, r#"{"used":{"9":4}}"#).unwrap();
        let mut log = MessageIdLog::open(&p, Field::from(3u64), RlnIdentifier::waku()).unwrap();
        assert_eq!(log.used(9), 4);
        log.record(9, 2).unwrap();
        assert_eq!(log.used(9), 4);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("member"), "{text}");
    }

    #[test]
    fn an_unwritable_file_reserves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-dir/ids.json");
        let mut log = MessageIdLog::open(&p, Field::from(3u64), RlnIdentifier::waku()).unwrap();
        assert!(matches!(log.reserve(1, limit(2)), Err(MessageIdError::Io { .. })));
        assert_eq!(log.used(1), 0);
    }
}
