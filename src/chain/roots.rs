//! [`ContractRoots`]: the roots a relay following the registry accepts (the stateless mode; a
//! synced [`TreeStore`](crate::tree::disk::TreeStore) is the other source). Both implement
//! [`AcceptedRoots`].
//!
//! The rule is the registry's, by time and not by count ([`RootWindow`]): the current root, and
//! every root for `rootAcceptanceWindow` seconds after the tree change that superseded it (the
//! registry releases a deposit only after that window plus the slash reveal window, so no root
//! accepted here can hold the leaf of a released deposit). The roots come from the registry's
//! `RootStored` events (every root, however many a burst stores between two refreshes, each with
//! its block's timestamp), started from its ring of recent roots with their supersession times.

use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use tokio::sync::Notify;

use super::client::MembershipReader;
use super::error::RegistryError;
use crate::field::Field;
use crate::roots::{unix_now_secs, AcceptedRoots, RootWindow};

/// A refresh reads at most this many blocks of `RootStored` events; after a longer gap it starts
/// again from the registry's ring of recent roots (the roots in between are long superseded).
const MAX_LOG_BLOCKS: u64 = 5_000;

/// How often a relay reads the registry's new roots by default. Well below any sane
/// `rootAcceptanceWindow` (5 minutes by default), and short enough that a publisher's freshly
/// synced root is known to the relays within a couple of seconds.
pub const DEFAULT_ROOT_REFRESH: Duration = Duration::from_secs(2);

/// The chain view: the window and the last block read.
#[derive(Debug, Default)]
struct View {
    window: RootWindow,
    last_block: Option<u64>,
}

/// The registry's roots under its time rule, refreshed from its events:
/// [`ContractRoots::refresh`] reads the chain, [`ContractRoots::polling`] keeps it fresh while
/// it is in use (and refreshes at once when asked to, see [`ContractRoots::refresh_soon`]).
pub struct ContractRoots {
    client: MembershipReader,
    view: RwLock<View>,
    wake: Notify,
}

impl std::fmt::Debug for ContractRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContractRoots").field("roots", &self.roots().len()).finish()
    }
}

impl ContractRoots {
    /// Reads the roots once.
    pub async fn new(client: impl Into<MembershipReader>) -> Result<Self, RegistryError> {
        let r = ContractRoots {
            client: client.into(),
            view: RwLock::new(View::default()),
            wake: Notify::new(),
        };
        r.refresh().await?;
        Ok(r)
    }

    /// Reads the roots once, then refreshes them every `every` (or sooner when
    /// [`Self::refresh_soon`] is called) on the current tokio runtime for as long as the returned
    /// `Arc` (or a clone) is alive; a failed refresh keeps the roots it has (and is logged). The
    /// current root stays acceptable for the registry's window after the last good refresh, so
    /// `every` must be well below that window.
    pub async fn polling(
        client: impl Into<MembershipReader>,
        every: Duration,
    ) -> Result<Arc<Self>, RegistryError> {
        let me = Arc::new(Self::new(client).await?);
        let weak: Weak<Self> = Arc::downgrade(&me);
        tokio::spawn(async move {
            loop {
                let Some(me) = weak.upgrade() else { break };
                // Holding the Arc only while waiting on this one Notify: dropping every other
                // clone still ends the task at the next tick.
                let _ = tokio::time::timeout(every, me.wake.notified()).await;
                if let Err(e) = me.refresh().await {
                    tracing::warn!(error = %e, "refreshing the registry's roots failed");
                }
            }
        });
        Ok(me)
    }

    /// Asks the polling task to refresh now (e.g. a message came with a root not seen yet).
    pub fn refresh_soon(&self) {
        self.wake.notify_one();
    }

    /// The registry's root acceptance window as last read, in seconds.
    pub fn window_secs(&self) -> u64 {
        self.read().window.window_secs()
    }

    /// Reads the roots stored since the last refresh (or the registry's ring of recent roots the
    /// first time), and the registry's window.
    pub async fn refresh(&self) -> Result<(), RegistryError> {
        let head = self.client.block_number().await?;
        let last = self.read().last_block;
        match last {
            Some(last) if last >= head => {}
            Some(last) if head - last <= MAX_LOG_BLOCKS => {
                let stored = self.client.stored_roots(last + 1, head).await?;
                let (_, window) = self.client.recent_roots_with_times(head).await?;
                let mut v = self.write();
                v.window.set_window(window);
                for (root, at) in stored {
                    v.window.push(root, at);
                }
                v.last_block = Some(head);
            }
            _ => {
                let (ring, window) = self.client.recent_roots_with_times(head).await?;
                let mut v = self.write();
                v.window.set_window(window);
                for &(root, at) in &ring {
                    if at == 0 {
                        v.window.push(root, 0);
                    }
                }
                for &(root, at) in &ring {
                    if at != 0 {
                        v.window.insert_superseded(root, at);
                    }
                }
                v.last_block = Some(head);
            }
        }
        let now = unix_now_secs();
        let mut v = self.write();
        v.window.confirm(now);
        v.window.prune(now);
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, View> {
        self.view.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, View> {
        self.view.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl AcceptedRoots for ContractRoots {
    fn contains_root(&self, root: &Field) -> bool {
        self.read().window.accepts(root, unix_now_secs())
    }
    fn roots(&self) -> Vec<Field> {
        self.read().window.acceptable(unix_now_secs())
    }
    fn note_unknown_root(&self) {
        self.refresh_soon();
    }
}
