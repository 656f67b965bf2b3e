//! [`ContractRoots`]: the registry's recent roots as the roots a relay accepts (the stateless mode;
//! a synced [`TreeStore`](crate::tree::disk::TreeStore) is the other source). Both implement
//! [`AcceptedRoots`].

use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use super::client::MembershipReader;
use super::error::ChainError;
use crate::field::Field;
use crate::roots::AcceptedRoots;

/// The registry's `getRecentRoots`, cached (newest last): [`ContractRoots::refresh`] updates the
/// cache, [`ContractRoots::polling`] keeps it fresh while it is in use.
pub struct ContractRoots {
    client: MembershipReader,
    cache: RwLock<Vec<Field>>,
}

impl std::fmt::Debug for ContractRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContractRoots").field("roots", &self.roots().len()).finish()
    }
}

impl ContractRoots {
    /// Fetches the roots once.
    pub async fn new(client: impl Into<MembershipReader>) -> Result<Self, ChainError> {
        let r = ContractRoots { client: client.into(), cache: RwLock::new(Vec::new()) };
        r.refresh().await?;
        Ok(r)
    }

    /// Fetches the roots once, then refreshes them every `every` on the current tokio runtime
    /// for as long as the returned `Arc` (or a clone) is alive; a failed refresh keeps the old
    /// roots (and is logged).
    pub async fn polling(
        client: impl Into<MembershipReader>,
        every: Duration,
    ) -> Result<Arc<Self>, ChainError> {
        let me = Arc::new(Self::new(client).await?);
        let weak: Weak<Self> = Arc::downgrade(&me);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(me) = weak.upgrade() else { break };
                if let Err(e) = me.refresh().await {
                    tracing::warn!(error = %e, "refreshing the registry's recent roots failed");
                }
            }
        });
        Ok(me)
    }

    /// Fetches the current roots into the cache.
    pub async fn refresh(&self) -> Result<(), ChainError> {
        let roots = self.client.recent_roots().await?;
        *self.cache.write().unwrap_or_else(|p| p.into_inner()) = roots;
        Ok(())
    }
}

impl AcceptedRoots for ContractRoots {
    fn contains_root(&self, root: &Field) -> bool {
        self.cache.contains_root(root)
    }
    fn roots(&self) -> Vec<Field> {
        self.cache.roots()
    }
}
