//! The membership registry on chain: contract bindings, a client ([`MembershipClient`]), tree
//! sync into a file ([`TreeSync`]), root sources for relays ([`RootSource`]).
//!
//! This is the only module that knows alloy. Its API takes and returns plain types
//! ([`Field`](crate::Field), `u32`, [`Address`], [`U256`]); every failure is a [`ChainError`],
//! with contract reverts decoded by name (`InvalidIdCommitment(0)`).

pub mod bindings;
mod client;
mod error;
mod relay;
mod roots;
mod sync;

pub use alloy::primitives::{Address, B256, U256};
pub use alloy::signers::local::PrivateKeySigner;
pub use bindings::RlnMembership::RlnMembershipErrors;
pub use client::{
    connect_provider, field_to_u256, slash_commitment, u256_to_field, DeployConfig, Deployment,
    MembershipClient, MembershipInfo, Registration, SlashCommit, SlashOutcome, TOKEN_UNIT,
};
pub use error::{ChainError, DecodedRevert, Revert};
pub use relay::ChainRootWindow;
pub use roots::{ContractRoots, RootSource};
pub use sync::{SyncOptions, SyncProgress, SyncReport, TreeSync};

/// Parses a hex private key (with or without 0x).
pub fn parse_private_key(hex_key: &str) -> Result<PrivateKeySigner, ChainError> {
    hex_key
        .trim()
        .parse::<PrivateKeySigner>()
        .map_err(|_| ChainError::Invalid("the private key is not 32 bytes of hex".into()))
}
