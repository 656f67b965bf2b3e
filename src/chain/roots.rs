//! [`RootSource`]: where a relay gets the roots it accepts proofs against.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::client::MembershipClient;
use super::error::ChainError;
use crate::field::Field;
use crate::tree::disk::TreeStore;

/// The membership roots a proof may currently be made against, newest first.
///
/// Implemented by a synced tree ([`TreeStore`]: the roots stored by the registry in the synced
/// range, up to [`crate::tree::disk::ROOT_WINDOW`]) and by [`ContractRoots`] (the registry's own
/// `getRecentRoots`, polled: the stateless mode). An empty list means "accept nothing".
pub trait RootSource: Send + Sync {
    fn recent_roots(&self) -> Vec<Field>;
}

impl RootSource for TreeStore {
    fn recent_roots(&self) -> Vec<Field> {
        TreeStore::recent_roots(self)
    }
}

impl<T: RootSource + ?Sized> RootSource for Arc<T> {
    fn recent_roots(&self) -> Vec<Field> {
        (**self).recent_roots()
    }
}

impl<T: RootSource> RootSource for RwLock<T> {
    fn recent_roots(&self) -> Vec<Field> {
        self.read().map(|g| g.recent_roots()).unwrap_or_default()
    }
}

/// The registry's `getRecentRoots`, cached: [`ContractRoots::refresh`] updates the cache,
/// [`ContractRoots::spawn_poller`] refreshes it periodically on the tokio runtime.
#[derive(Clone)]
pub struct ContractRoots {
    client: MembershipClient,
    cache: Arc<RwLock<Vec<Field>>>,
}

impl ContractRoots {
    /// Fetches the roots once.
    pub async fn new(client: MembershipClient) -> Result<Self, ChainError> {
        let r = ContractRoots { client, cache: Arc::new(RwLock::new(Vec::new())) };
        r.refresh().await?;
        Ok(r)
    }

    /// Fetches the current roots into the cache.
    pub async fn refresh(&self) -> Result<(), ChainError> {
        let roots = self.client.recent_roots().await?;
        *self.cache.write().expect("roots lock") = roots;
        Ok(())
    }

    /// Refreshes every `every` until the returned task is aborted; failures keep the old roots.
    pub fn spawn_poller(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = me.refresh().await {
                    tracing::warn!(error = %e, "refreshing the registry's recent roots failed");
                }
            }
        })
    }
}

impl RootSource for ContractRoots {
    fn recent_roots(&self) -> Vec<Field> {
        self.cache.read().map(|g| g.clone()).unwrap_or_default()
    }
}
