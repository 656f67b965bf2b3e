//! [`RelayReady`]: what a started relay tells whoever launched it (its peer id, dialable
//! addresses, metrics address), written as a JSON file once the relay listens
//! (`rlnkit relay run --ready-file`). A supervisor (the devnet, a test, a script) waits for the
//! file instead of parsing log lines.

use std::net::SocketAddr;
use std::path::Path;

use libp2p::Multiaddr;
use serde::{Deserialize, Serialize};

use super::builder::Relay;
use crate::relay::node::NodeError;

/// A running relay's coordinates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayReady {
    /// The libp2p peer id.
    pub peer_id: String,
    /// Addresses to dial it at, each ending in `/p2p/<peer id>` (multiaddr text; see
    /// [`RelayReady::dial_addrs`]).
    pub listen: Vec<String>,
    /// Where `/metrics` and `/health` are served, if they are.
    pub metrics: Option<SocketAddr>,
    /// The relay's process id.
    pub pid: u32,
}

/// Why a ready file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ReadyError {
    /// The relay's node stopped before reporting its addresses.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The file could not be written or read.
    #[error("ready file {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a ready file.
    #[error("ready file {path} does not parse: {source}")]
    Parse {
        /// The file.
        path: std::path::PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
}

impl RelayReady {
    /// The coordinates of `relay` (waits until it listens).
    pub async fn of(relay: &Relay) -> Result<Self, ReadyError> {
        let node = relay.node();
        let peer = node.peer_id();
        let listen = node
            .listen_addrs()
            .await?
            .into_iter()
            .map(|a| a.with(libp2p::multiaddr::Protocol::P2p(peer)).to_string())
            .collect();
        Ok(RelayReady {
            peer_id: peer.to_string(),
            listen,
            metrics: relay.metrics_addr(),
            pid: std::process::id(),
        })
    }

    /// The dialable addresses (those that parse as multiaddrs).
    pub fn dial_addrs(&self) -> Vec<Multiaddr> {
        self.listen.iter().filter_map(|a| a.parse().ok()).collect()
    }

    /// Writes the file atomically (a temporary file renamed into place), so a reader never sees
    /// half of it.
    pub fn write(&self, path: &Path) -> Result<(), ReadyError> {
        let io = |source| ReadyError::Io { path: path.to_path_buf(), source };
        let text = serde_json::to_vec_pretty(self).expect("serializable");
        crate::files::write_atomic(path, &text, false).map_err(io)
    }

    /// Reads a ready file; `Ok(None)` while it does not exist yet.
    pub fn read(path: &Path) -> Result<Option<Self>, ReadyError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| ReadyError::Parse { path: path.to_path_buf(), source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ReadyError::Io { path: path.to_path_buf(), source }),
        }
    }
}
