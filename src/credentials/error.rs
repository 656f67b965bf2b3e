//! [`CredentialsError`]: the errors of the ServiceCredentials client
//! ([`CredentialsReader`](super::CredentialsReader), [`CredentialsWriter`](super::CredentialsWriter)).

use alloy::primitives::Address;

use crate::chain::bindings::ServiceCredentials::ServiceCredentialsErrors;
use crate::chain::{Contract, DecodedRevert, Revert, RpcError};

/// Errors of the ServiceCredentials client. Messages name no CLI flag.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The endpoint or a transaction failed.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// A call reverted; the revert is decoded against the contract called (ServiceCredentials or
    /// the token).
    #[error("{call} reverted: {revert}")]
    Reverted {
        /// The contract function.
        call: &'static str,
        /// The contract called.
        contract: Contract,
        /// The decoded revert (boxed: it is large, and errors travel by value).
        revert: Box<Revert>,
    },
    /// The provider has no service with this id registered on the contract.
    #[error("provider {provider} has no service {service_id} registered")]
    NoService {
        /// The provider's address.
        provider: Address,
        /// The service id asked for.
        service_id: u32,
    },
    /// A log matched one of the contract's events by signature but its data did not decode.
    #[error("undecodable ServiceCredentials {event} event in block {block:?}")]
    BadEvent {
        /// The event.
        event: &'static str,
        /// Its block, if known.
        block: Option<u64>,
        /// The decoder's error.
        #[source]
        source: Box<alloy::sol_types::Error>,
    },
}

impl CredentialsError {
    /// Wraps the error of a call to `contract`: a revert is decoded against its errors.
    pub(crate) fn from_contract(
        contract: Contract,
        call: &'static str,
        e: alloy::contract::Error,
    ) -> Self {
        match crate::chain::contract_revert(contract, call, e) {
            Ok(revert) => CredentialsError::Reverted { call, contract, revert },
            Err(e) => e.into(),
        }
    }

    /// A call to the ServiceCredentials contract ([`Self::from_contract`]).
    pub(crate) fn from_credentials(call: &'static str, e: alloy::contract::Error) -> Self {
        Self::from_contract(Contract::Credentials, call, e)
    }

    /// A call to the token ([`Self::from_contract`]).
    pub(crate) fn from_token(call: &'static str, e: alloy::contract::Error) -> Self {
        Self::from_contract(Contract::Token, call, e)
    }

    /// The contract's decoded error, if this is a revert of ServiceCredentials (`StaleVoucher`,
    /// `UnauthorizedSigner`, `ThawNotEnded`, ...).
    pub fn credentials_error(&self) -> Option<&ServiceCredentialsErrors> {
        match self.revert()?.decoded.as_ref()? {
            DecodedRevert::Credentials(e) => Some(e),
            _ => None,
        }
    }

    /// The decoded revert, if a call or a transaction reverted.
    pub fn revert(&self) -> Option<&Revert> {
        match self {
            CredentialsError::Reverted { revert, .. } => Some(revert),
            CredentialsError::Rpc(e) => e.revert(),
            _ => None,
        }
    }

    /// The name of the revert's error, if a call reverted (e.g. "StaleVoucher").
    pub fn revert_name(&self) -> Option<&str> {
        self.revert().map(|r| r.name.as_str())
    }

    /// The endpoint's or the transaction's error, if that is what failed.
    pub fn rpc(&self) -> Option<&RpcError> {
        match self {
            CredentialsError::Rpc(e) => Some(e),
            _ => None,
        }
    }
}
