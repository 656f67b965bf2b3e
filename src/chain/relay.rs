//! The registry's commit-reveal slashing as the relay's [`SlashBackend`]: reverts become typed
//! [`SlashError`]s by their decoded name, never by their text.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::bindings::RlnMembership::RlnMembershipErrors as E;
use super::writer::MembershipWriter;
use super::{Address, RegistryError, B256};
use crate::field::Field;
use crate::incentives::{SlashBackend, SlashCommit, SlashError, Slashed};

impl From<RegistryError> for SlashError {
    fn from(e: RegistryError) -> Self {
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

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;
    use alloy::sol_types::SolError;

    use super::*;
    use crate::chain::bindings::RlnMembership;
    use crate::chain::{Contract, Revert, RpcError};

    fn reverted(data: &[u8]) -> RegistryError {
        RegistryError::Reverted {
            call: "revealSlash",
            contract: Contract::Registry,
            revert: Box::new(Revert::decode_for(Contract::Registry, data)),
        }
    }

    #[test]
    fn slash_reverts_map_by_their_decoded_error() {
        let too_early = RlnMembership::SlashRevealTooEarly {
            commitment: B256::repeat_byte(1),
            firstRevealBlock: U256::from(9u64),
        }
        .abi_encode();
        assert!(matches!(SlashError::from(reverted(&too_early)), SlashError::TooEarly));
        let not_committed = RlnMembership::SlashNotCommitted {
            committer: Address::ZERO,
            commitment: B256::repeat_byte(1),
        }
        .abi_encode();
        assert!(matches!(SlashError::from(reverted(&not_committed)), SlashError::NoCommitment));
        // Another revert, and an endpoint's error, are the backend's.
        let other = RlnMembership::InvalidIdCommitment { idCommitment: U256::ZERO }.abi_encode();
        assert!(matches!(SlashError::from(reverted(&other)), SlashError::Backend(_)));
        let e = RegistryError::Rpc(RpcError::NoLatestBlock);
        assert!(matches!(SlashError::from(e), SlashError::Backend(_)));
    }
}
