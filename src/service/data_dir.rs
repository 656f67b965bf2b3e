//! A relay's data directory: everything a restart must find again, under fixed names. The node
//! key (same peer id after a restart), the nullifier log (shares seen this epoch and the last),
//! the operator's used message ids (never reused after a crash), the served vouchers (never
//! lost money) and the slashes under way (a crash between commit and reveal loses no reward).

use std::path::{Path, PathBuf};

use libp2p::identity::Keypair;

/// The node's libp2p key (protobuf-encoded, owner-only).
pub const NODE_KEY_FILE: &str = "node.key";
/// The nullifier log.
pub const NULLIFIER_LOG_FILE: &str = "nullifiers.redb";
/// The lightpush operator membership's used message ids.
pub const MESSAGE_IDS_FILE: &str = "message-ids.json";
/// Served vouchers.
pub const VOUCHERS_FILE: &str = "vouchers.redb";
/// Caught double signallers not slashed yet (owner-only: it holds their secrets).
pub const SLASH_JOURNAL_FILE: &str = "slashes.json";

/// Why a data directory or its node key is unusable.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// The directory or a file in it could not be created, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The node key file does not hold a key.
    #[error("{path} is not a libp2p node key: {reason}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// libp2p's explanation.
        reason: String,
    },
}

/// A relay's data directory (created on open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Opens `root`, creating it if needed.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, DataDirError> {
        let root = root.into();
        std::fs::create_dir_all(&root)
            .map_err(|source| DataDirError::Io { path: root.clone(), source })?;
        Ok(DataDir { root })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The nullifier log's file.
    pub fn nullifier_log(&self) -> PathBuf {
        self.root.join(NULLIFIER_LOG_FILE)
    }

    /// The operator's message-id file.
    pub fn message_ids(&self) -> PathBuf {
        self.root.join(MESSAGE_IDS_FILE)
    }

    /// The served vouchers' store.
    pub fn vouchers(&self) -> PathBuf {
        self.root.join(VOUCHERS_FILE)
    }

    /// The slash journal ([`SLASH_JOURNAL_FILE`]).
    pub fn slash_journal(&self) -> PathBuf {
        self.root.join(SLASH_JOURNAL_FILE)
    }

    /// The node key: read from `node.key`, or made (ed25519) and written there (owner-only) the
    /// first time, so the node keeps its peer id across restarts.
    pub fn node_key(&self) -> Result<Keypair, DataDirError> {
        let path = self.root.join(NODE_KEY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => Keypair::from_protobuf_encoding(&bytes)
                .map_err(|e| DataDirError::BadKey { path, reason: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Keypair::generate_ed25519();
                let bytes = key.to_protobuf_encoding().map_err(|e| DataDirError::BadKey {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                crate::files::write_atomic(&path, &bytes, true)
                    .map_err(|source| DataDirError::Io { path, source })?;
                Ok(key)
            }
            Err(source) => Err(DataDirError::Io { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let d = DataDir::open(dir.path().join("relay")).unwrap();
        let first = d.node_key().unwrap().public().to_peer_id();
        let again = DataDir::open(dir.path().join("relay")).unwrap().node_key().unwrap();
        assert_eq!(again.public().to_peer_id(), first);
        std::fs::write(dir.path().join("relay").join(NODE_KEY_FILE), b"garbage").unwrap();
        assert!(matches!(d.node_key(), Err(DataDirError::BadKey { .. })));
    }
}
