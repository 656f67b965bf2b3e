//! The registry's commit-reveal slashing as the relay's [`SlashBackend`]: reverts become typed
//! [`SlashError`]s by their decoded name, never by their text.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::bindings::RlnMembership::RlnMembershipErrors as E;
use super::writer::MembershipWriter;
use super::{Address, ChainError, B256};
use crate::field::Field;
use crate::incentives::{SlashBackend, SlashCommit, SlashError, Slashed};

impl From<ChainError> for SlashError {
    fn from(e: ChainError) -> Self {
        match e.registry_error() {
            Some(E::SlashRevealTooEarly(_)) => SlashError::TooEarly,
            Some(E::SlashRevealTooLate(_)) => SlashError::TooLate,
            Some(E::SlashNotCommitted(_)) => SlashError::NoCommitment,
            Some(E::NothingToSlash(_)) => SlashError::AlreadySlashed,
            _ => SlashError::Backend(Arc::new(e)),
        }
    }
}

/// The registry's `commitSlash` / `revealSlash`, sent by the writer's signer.
impl SlashBackend for MembershipWriter {
    fn sender(&self) -> Address {
        MembershipWriter::sender(self)
    }

    fn block_number(&self) -> BoxFuture<'_, Result<u64, SlashError>> {
        // The reader's RPC call (not this trait method again).
        Box::pin(async move { Ok(self.reader().block_number().await?) })
    }

    fn commit_slash(&self, commitment: B256) -> BoxFuture<'_, Result<SlashCommit, SlashError>> {
        Box::pin(async move { Ok(self.send_slash_commitment(commitment).await?) })
    }

    fn reveal_slash(
        &self,
        secret: Field,
        receiver: Address,
    ) -> BoxFuture<'_, Result<Slashed, SlashError>> {
        Box::pin(async move { Ok(MembershipWriter::reveal_slash(self, secret, receiver).await?) })
    }
}
