//! The chain module's errors, one enum per layer, each wrapping the layer it calls:
//!
//! - [`RpcError`], of the JSON-RPC endpoint and transactions, shared by every client (the
//!   registry's, ServiceCredentials', the sync, deployment);
//! - [`RegistryError`], of [`MembershipReader`](super::MembershipReader) and
//!   [`MembershipWriter`](super::MembershipWriter): an [`RpcError`], or a revert decoded
//!   against the contract called ([`RegistryError::registry_error`]), or what the registry
//!   returned that does not fit;
//! - [`SyncError`], of [`TreeSync`](super::TreeSync): the registry's, the reorg it could not get
//!   past, the tree store;
//! - [`DeployError`], of [`deploy_registry`](super::deploy_registry);
//! - [`DevChainError`], of [`start_anvil`](super::start_anvil) and [`DevChain`](super::DevChain).
//!
//! ServiceCredentials' client has its own, `credentials::CredentialsError`. Messages name no CLI
//! flag: the CLI adds that context.

use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::transports::TransportError;

use super::bindings::LibrariesError;
use super::bindings::RlnMembership::RlnMembershipErrors;
use super::revert::{Contract, DecodedRevert, Revert};
use crate::field::Field;

/// Errors of the JSON-RPC endpoint and of transactions, whatever the contract: every chain client
/// returns them (inside its own layer's error).
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The RPC URL does not parse or is not http(s).
    #[error("invalid RPC URL {url:?} (expected http://host:port)")]
    BadUrl {
        /// The URL given.
        url: String,
    },
    /// The endpoint did not answer `eth_chainId`.
    #[error("cannot reach the RPC endpoint {url} (is the node running?)")]
    Unreachable {
        /// The URL.
        url: String,
        /// The transport's error.
        #[source]
        source: TransportError,
    },
    /// The endpoint serves another chain than the one asked for.
    #[error("the RPC endpoint is on chain {got}, expected chain {expected}")]
    WrongChain {
        /// The chain id asked for.
        expected: u64,
        /// The endpoint's chain id.
        got: u64,
    },
    /// No code at a contract's address.
    #[error("no contract at {address} on chain {chain_id}")]
    NoContract {
        /// The address.
        address: Address,
        /// The chain.
        chain_id: u64,
    },
    /// A JSON-RPC request failed (the node refused it or did not answer).
    #[error("{call} failed")]
    Transport {
        /// The RPC method (`eth_getLogs`) or what it was for.
        call: &'static str,
        /// The transport's error.
        #[source]
        source: TransportError,
    },
    /// A contract call failed without a revert (the node did not answer, or its answer did not
    /// decode).
    #[error("{call} failed")]
    Call {
        /// The contract function.
        call: &'static str,
        /// What failed (boxed: it is large, and errors travel by value).
        #[source]
        source: Box<alloy::contract::Error>,
    },
    /// A raw transaction whose callee the client does not name (a library deployment) reverted:
    /// decoded only as `Error(string)`, `Panic` or by name, never into a contract's typed errors.
    #[error("{call} reverted: {revert}")]
    Reverted {
        /// What was sent.
        call: &'static str,
        /// The decoded revert (boxed: it is large, and errors travel by value).
        revert: Box<Revert>,
    },
    /// A transaction was mined with status 0.
    #[error("{call}: transaction {tx} was mined but reverted")]
    TxReverted {
        /// The contract function.
        call: &'static str,
        /// The transaction.
        tx: B256,
    },
    /// A transaction was not mined in time.
    #[error("{call}: transaction {tx} not mined within {waited:?}")]
    NotMined {
        /// The contract function.
        call: &'static str,
        /// The transaction.
        tx: B256,
        /// How long the client waited.
        waited: Duration,
    },
    /// The node returned no latest block.
    #[error("the node returned no latest block")]
    NoLatestBlock,
    /// The node has no block with this number (not yet, or no longer after a reorg).
    #[error("block {0} is not on the chain")]
    MissingBlock(u64),
    /// The node returned a log without the block number it must have.
    #[error("the node returned a log without a block number")]
    LogWithoutBlock,
}

impl RpcError {
    /// Wraps a failed JSON-RPC request. A raw transaction's revert (the callee unknown here:
    /// `eth_estimateGas` and `eth_sendTransaction` answer with its data) becomes
    /// [`RpcError::Reverted`].
    pub(crate) fn transport(call: &'static str, e: TransportError) -> Self {
        match e.as_error_resp().and_then(|r| r.as_revert_data()) {
            Some(data) => {
                RpcError::Reverted { call, revert: Box::new(Revert::decode_unknown(&data)) }
            }
            None => RpcError::Transport { call, source: e },
        }
    }

    /// The decoded revert, if this is a raw transaction's.
    pub fn revert(&self) -> Option<&Revert> {
        match self {
            RpcError::Reverted { revert, .. } => Some(revert),
            _ => None,
        }
    }
}

/// A failed call to `contract`: its revert decoded against that contract's errors (two contracts
/// may declare an error alike, e.g. `InvalidTreasury()`: the callee's reading is the one that
/// holds), else the [`RpcError`].
pub(crate) fn contract_revert(
    contract: Contract,
    call: &'static str,
    e: alloy::contract::Error,
) -> Result<Box<Revert>, RpcError> {
    match e.as_revert_data() {
        Some(data) => Ok(Box::new(Revert::decode_for(contract, &data))),
        None => Err(RpcError::Call { call, source: Box::new(e) }),
    }
}

/// A uint256 that is not a BN254 scalar where the registry must return one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the contract returned {value}, not a field element")]
pub struct NotAField {
    /// The value.
    pub value: U256,
}

/// A private key that is not 32 bytes of hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the private key is not 32 bytes of hex")]
pub struct BadPrivateKey;

/// Errors of the registry's clients ([`MembershipReader`](super::MembershipReader),
/// [`MembershipWriter`](super::MembershipWriter)).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The endpoint or a transaction failed.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// A call reverted; the revert is decoded against the contract called (the registry, its
    /// price calculator, or the deposit token).
    #[error("{call} reverted: {revert}")]
    Reverted {
        /// The contract function.
        call: &'static str,
        /// The contract called.
        contract: Contract,
        /// The decoded revert (boxed: it is large, and errors travel by value).
        revert: Box<Revert>,
    },
    /// The registry returned a uint256 that is not a field element.
    #[error(transparent)]
    NotAField(#[from] NotAField),
    /// A mined transaction lacks the event it must emit.
    #[error("{call}: no {event} event in the receipt")]
    MissingEvent {
        /// The contract function.
        call: &'static str,
        /// The event expected.
        event: &'static str,
    },
    /// A registry event did not decode.
    #[error("undecodable {event} event in block {block:?}")]
    BadEvent {
        /// The event.
        event: &'static str,
        /// Its block, if known.
        block: Option<u64>,
        /// The decoder's error.
        #[source]
        source: Box<alloy::sol_types::Error>,
    },
    /// One registration needs more gas than a block holds.
    #[error("register needs up to {needed} gas, more than a block's {block_gas}")]
    BlockTooSmall {
        /// Gas one registration may need.
        needed: u64,
        /// The block gas limit.
        block_gas: u64,
    },
}

impl RegistryError {
    /// Wraps the error of a call to `contract` (see [`contract_revert`]).
    pub(crate) fn from_contract(
        contract: Contract,
        call: &'static str,
        e: alloy::contract::Error,
    ) -> Self {
        match contract_revert(contract, call, e) {
            Ok(revert) => RegistryError::Reverted { call, contract, revert },
            Err(e) => e.into(),
        }
    }

    /// A call to the registry ([`Self::from_contract`]).
    pub(crate) fn from_registry(call: &'static str, e: alloy::contract::Error) -> Self {
        Self::from_contract(Contract::Registry, call, e)
    }

    /// A call to the deposit token ([`Self::from_contract`]).
    pub(crate) fn from_token(call: &'static str, e: alloy::contract::Error) -> Self {
        Self::from_contract(Contract::Token, call, e)
    }

    /// The decoded registry error, if this is a revert of the registry (`SlashRevealTooEarly`,
    /// `InvalidIdCommitment`, ...).
    pub fn registry_error(&self) -> Option<&RlnMembershipErrors> {
        match self.revert()?.decoded.as_ref()? {
            DecodedRevert::Registry(e) => Some(e),
            _ => None,
        }
    }

    /// The decoded revert, if a call or a transaction reverted.
    pub fn revert(&self) -> Option<&Revert> {
        match self {
            RegistryError::Reverted { revert, .. } => Some(revert),
            RegistryError::Rpc(e) => e.revert(),
            _ => None,
        }
    }

    /// The name of the revert's error, if a call reverted (e.g. "InvalidIdCommitment").
    pub fn revert_name(&self) -> Option<&str> {
        self.revert().map(|r| r.name.as_str())
    }

    /// The endpoint's or the transaction's error, if that is what failed.
    pub fn rpc(&self) -> Option<&RpcError> {
        match self {
            RegistryError::Rpc(e) => Some(e),
            _ => None,
        }
    }
}

/// Errors of the tree sync ([`TreeSync`](super::TreeSync)).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A JSON-RPC request of the sync's own failed.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// Reading the registry failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Reading the registry's events in a block range failed (the sync retries with smaller
    /// ranges before it returns this).
    #[error("reading the registry's events in blocks {from}..={to} failed")]
    Logs {
        /// First block of the range.
        from: u64,
        /// Last block of the range.
        to: u64,
        /// The request's error.
        #[source]
        source: RpcError,
    },
    /// A block the sync needs is not (or no longer) on the chain: the chain was rewound below
    /// it (a reorg to a shorter chain, or a reset development node).
    #[error("block {0} is not on the chain")]
    MissingBlock(u64),
    /// The chain kept reorganizing while a chunk was read.
    #[error("the chain keeps reorganizing at block {0}")]
    Unstable(u64),
    /// A registered rate limit does not fit a u64 (never with the registry's bounds).
    #[error("rate limit {0} out of range")]
    RateLimitOutOfRange(U256),
    /// The synced tree's root differs from the contract's, even after reading every leaf from
    /// the contract.
    #[error(
        "the synced tree's root {ours} differs from the contract's {contract} at block {block}"
    )]
    TreeMismatch {
        /// The block.
        block: u64,
        /// Our root.
        ours: Field,
        /// The contract's root.
        contract: Field,
    },
    /// The tree store was synced from another registry.
    #[error("the tree store belongs to contract {stored} on chain {stored_chain}, not {asked} on chain {asked_chain}")]
    StoreMismatch {
        /// The store's registry.
        stored: Address,
        /// The store's chain.
        stored_chain: u64,
        /// The registry asked for.
        asked: Address,
        /// The chain asked for.
        asked_chain: u64,
    },
    /// The tree store could not be loaded (its task panicked or was cancelled).
    #[error("loading the tree store failed")]
    StoreTask(#[source] tokio::task::JoinError),
    /// The tree store failed.
    #[error(transparent)]
    Store(#[from] crate::tree::disk::StoreError),
}

impl SyncError {
    /// The registry's error, if reading the registry failed.
    pub fn registry(&self) -> Option<&RegistryError> {
        match self {
            SyncError::Registry(e) => Some(e),
            _ => None,
        }
    }

    /// The endpoint's error, if that is what failed (directly or in reading the registry).
    pub fn rpc(&self) -> Option<&RpcError> {
        match self {
            SyncError::Rpc(e) | SyncError::Logs { source: e, .. } => Some(e),
            SyncError::Registry(e) => e.rpc(),
            _ => None,
        }
    }
}

impl From<NotAField> for SyncError {
    fn from(e: NotAField) -> Self {
        SyncError::Registry(e.into())
    }
}

/// Errors of a registry deployment ([`deploy_registry`](super::deploy_registry)).
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The endpoint or a raw transaction (a library deployment) failed.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// A deployment or a setup call of the registry, its price calculator or the test token
    /// failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The bundled `libraries.json` is broken (a build problem).
    #[error(transparent)]
    Libraries(#[from] LibrariesError),
    /// The chain has no CREATE2 deployer to put a linked library at its fixed address.
    #[error("no CREATE2 deployer at {deployer} on chain {chain_id}: cannot deploy {library}")]
    NoCreate2Deployer {
        /// The deployer's expected address.
        deployer: Address,
        /// The chain.
        chain_id: u64,
        /// The library.
        library: &'static str,
    },
    /// A library deployment did not put code at the expected address.
    #[error("{library} did not land at {address}")]
    LibraryNotDeployed {
        /// The library.
        library: &'static str,
        /// Where it should be.
        address: Address,
    },
    /// A contract deployment's receipt has no contract address.
    #[error("the {contract} deployment has no address")]
    NoDeployedAddress {
        /// The contract.
        contract: &'static str,
    },
}

impl DeployError {
    /// The endpoint's or a transaction's error, if that is what failed.
    pub fn rpc(&self) -> Option<&RpcError> {
        match self {
            DeployError::Rpc(e) => Some(e),
            DeployError::Registry(e) => e.rpc(),
            _ => None,
        }
    }
}

/// Errors of the development-chain helpers ([`start_anvil`](super::start_anvil),
/// [`DevChain`](super::DevChain)).
#[derive(Debug, thiserror::Error)]
pub enum DevChainError {
    /// A local anvil did not start.
    #[error("cannot start anvil at {path} (run `make deps`, or set RLNKIT_ANVIL)")]
    AnvilStart {
        /// The binary.
        path: std::path::PathBuf,
        /// What failed.
        #[source]
        source: Box<alloy::node_bindings::NodeError>,
    },
    /// A JSON-RPC request (an `anvil_*`/`evm_*` method on a node without them, say) failed.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// A registry call failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A window of registrations was not mined as one block.
    #[error("register: transaction {tx} was not mined with its window in block {window_block} (mined in {mined_in:?}; block gas limit too low?)")]
    WindowNotMined {
        /// The transaction.
        tx: B256,
        /// The block `evm_mine` produced.
        window_block: u64,
        /// Where the transaction was mined, if at all.
        mined_in: Option<u64>,
    },
    /// A block holds another number of registrations than sent.
    #[error("register: block {block} has {got} registrations, expected {expected}")]
    WindowCount {
        /// The block.
        block: u64,
        /// Registrations found.
        got: usize,
        /// Registrations sent.
        expected: usize,
    },
}

impl DevChainError {
    /// The endpoint's or a transaction's error, if that is what failed.
    pub fn rpc(&self) -> Option<&RpcError> {
        match self {
            DevChainError::Rpc(e) => Some(e),
            DevChainError::Registry(e) => e.rpc(),
            _ => None,
        }
    }
}
