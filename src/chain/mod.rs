//! The membership registry on chain, split by what a caller can do: [`MembershipReader`] reads
//! (no signer), [`MembershipWriter`] sends transactions (a signer by construction),
//! [`deploy_registry`] deploys, [`DevChain`] holds anvil-only helpers. [`TreeSync`] follows the
//! registry into a tree file; [`ContractRoots`] serves the registry's recent roots as a relay's
//! accepted roots; the writer is the relay's slash backend.
//!
//! This is the only module that talks to a chain (alloy's primitive types are shared with
//! `incentives`). Its API takes and returns plain types
//! ([`Field`](crate::Field), `u32`, [`Address`], [`U256`]). Its errors are split by layer (see [Errors](#errors)):
//! [`RpcError`] (the endpoint and transactions, shared by every client),
//! [`RegistryError`] (the registry's clients, with reverts decoded against the contract called:
//! [`RegistryError::registry_error`]), [`SyncError`], [`DeployError`], [`DevChainError`]; each
//! wraps the layer below it, so a caller matches on what it can handle.
//!
//! # Errors
//!
//! A slasher branches on a decoded registry revert (`registry_error()` is
//! `Some(RlnMembershipErrors::SlashRevealTooEarly(_))`), a relay's tree sync on a rewound chain
//! ([`SyncError::MissingBlock`]), a command-line tool on an endpoint that does not answer
//! ([`RpcError::Unreachable`], reached through each layer's `rpc()`). No control flow reads an
//! error's text.

pub mod bindings;
mod client;
pub(crate) use client::wait_receipt;
mod deploy;
mod dev;
mod error;
pub(crate) use error::contract_revert;
mod relay;
mod revert;
mod roots;
mod sync;
mod writer;

pub use alloy::primitives::{Address, B256, U256};
pub use alloy::signers::local::PrivateKeySigner;
pub use bindings::RlnMembership::RlnMembershipErrors;
pub use bindings::ServiceCredentials::ServiceCredentialsErrors;
pub use bindings::{LibrariesError, LinkedLibrary};
pub use client::{
    connect_provider, field_to_u256, u256_to_field, MembershipInfo, MembershipReader, TOKEN_UNIT,
};
pub use deploy::{deploy_registry, DeployConfig, Deployment};
pub use dev::{anvil_path, start_anvil, DevChain};
pub use error::{
    BadPrivateKey, DeployError, DevChainError, NotAField, RegistryError, RpcError, SyncError,
};
pub use revert::{Contract, DecodedRevert, Revert};
pub use roots::{ContractRoots, DEFAULT_ROOT_REFRESH};
pub use sync::{SyncOptions, SyncProgress, SyncReport, TreeSync};
pub use writer::{MembershipWriter, Registration};

/// Parses a hex private key (with or without 0x).
pub fn parse_private_key(hex_key: &str) -> Result<PrivateKeySigner, BadPrivateKey> {
    hex_key.trim().parse::<PrivateKeySigner>().map_err(|_| BadPrivateKey)
}
