//! The chain behind a relay: the registry's roots as the validator's root window, and the
//! registry's commit-reveal slashing as the relay's slash backend.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::client::MembershipClient;
use super::roots::RootSource;
use super::Address;
use crate::field::Field;
use crate::incentives::{RevealReceipt, SlashBackend, SlashError};
use crate::relay::validator::RootWindow;

/// Any [`RootSource`] (a synced tree, or the registry's `getRecentRoots`) as a validator's window.
pub struct ChainRootWindow<S: RootSource>(pub Arc<S>);

impl<S: RootSource + 'static> RootWindow for ChainRootWindow<S> {
    fn contains(&self, root: &Field) -> bool {
        self.0.recent_roots().contains(root)
    }
    fn roots(&self) -> Vec<Field> {
        let mut r = self.0.recent_roots();
        r.reverse();
        r
    }
}

fn backend_error(e: super::ChainError) -> SlashError {
    let msg = e.to_string();
    if msg.contains("SlashRevealTooEarly") {
        SlashError::TooEarly
    } else if msg.contains("SlashRevealTooLate") {
        SlashError::TooLate
    } else if msg.contains("SlashNotCommitted") {
        SlashError::NoCommitment
    } else if msg.contains("NothingToSlash") {
        SlashError::AlreadySlashed
    } else {
        SlashError::Backend(msg)
    }
}

/// The registry's `commitSlash` / `revealSlash`, sent by the client's signer.
impl SlashBackend for MembershipClient {
    fn sender(&self) -> [u8; 20] {
        MembershipClient::sender(self).map(|a| a.0 .0).unwrap_or([0; 20])
    }

    fn block_number(&self) -> BoxFuture<'_, Result<u64, SlashError>> {
        Box::pin(async move { MembershipClient::block_number(self).await.map_err(backend_error) })
    }

    fn commit_slash(&self, commitment: [u8; 32]) -> BoxFuture<'_, Result<u64, SlashError>> {
        Box::pin(async move {
            let r = self
                .mined("commitSlash", self.contract().commitSlash(commitment.into()))
                .await
                .map_err(backend_error)?;
            r.block_number.ok_or_else(|| {
                SlashError::Backend("commitSlash receipt without a block number".into())
            })
        })
    }

    fn reveal_slash(
        &self,
        secret: Field,
        receiver: [u8; 20],
    ) -> BoxFuture<'_, Result<RevealReceipt, SlashError>> {
        Box::pin(async move {
            let out = MembershipClient::reveal_slash(self, secret, Address::from(receiver))
                .await
                .map_err(backend_error)?;
            let block = MembershipClient::block_number(self).await.map_err(backend_error)?;
            Ok(RevealReceipt {
                block,
                id_commitment: out.id_commitment,
                reward: u128::try_from(out.reward).unwrap_or(u128::MAX),
            })
        })
    }
}
