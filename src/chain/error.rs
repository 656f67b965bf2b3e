//! The chain module's error type and revert decoding.

use std::fmt;
use std::sync::OnceLock;

use alloy::dyn_abi::{DynSolValue, JsonAbiExt};
use alloy::json_abi::JsonAbi;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::sol_types::{SolError, SolInterface};

use super::bindings::{LinearPriceCalculator, RlnMembership, ServiceCredentials};

/// Errors of the chain client and the tree sync. Messages name no CLI flag: the CLI adds that
/// context.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
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
        source: alloy::transports::TransportError,
    },
    /// The endpoint serves another chain than the one asked for.
    #[error("the RPC endpoint is on chain {got}, expected chain {expected}")]
    WrongChain {
        /// The chain id asked for.
        expected: u64,
        /// The endpoint's chain id.
        got: u64,
    },
    /// No code at the registry address.
    #[error("no contract at {address} on chain {chain_id}")]
    NoContract {
        /// The address.
        address: Address,
        /// The chain.
        chain_id: u64,
    },
    /// A call or transaction reverted; the revert is decoded against the called contract.
    #[error("{call} reverted: {revert}")]
    Reverted {
        /// The contract function.
        call: &'static str,
        /// The contract called (`None` for a raw transaction whose callee the client does not
        /// know, e.g. a library deployment).
        contract: Option<Contract>,
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
    /// The provider has no service with this id registered on the credentials contract.
    #[error("provider {provider} has no service {service_id} registered")]
    NoService {
        /// The provider's address.
        provider: Address,
        /// The service id asked for.
        service_id: u32,
    },
    /// A transaction was not mined in time.
    #[error("{call}: transaction {tx} not mined within {waited:?}")]
    NotMined {
        /// The contract function.
        call: &'static str,
        /// The transaction.
        tx: B256,
        /// How long the client waited.
        waited: std::time::Duration,
    },
    /// An RPC call failed.
    #[error("{call} failed")]
    Rpc {
        /// The RPC method or contract function.
        call: &'static str,
        /// What failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The private key is not 32 bytes of hex.
    #[error("the private key is not 32 bytes of hex")]
    BadPrivateKey,
    /// A local anvil did not start.
    #[error("cannot start anvil at {path} (run `make deps`, or set RLNKIT_ANVIL)")]
    AnvilStart {
        /// The binary.
        path: std::path::PathBuf,
        /// What failed.
        #[source]
        source: Box<alloy::node_bindings::NodeError>,
    },
    /// The contract returned a uint256 that is not a BN254 scalar.
    #[error("the contract returned {value}, not a field element")]
    NotAField {
        /// The value.
        value: U256,
    },
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
        /// The event (or "registry" when its signature is unknown).
        event: &'static str,
        /// Its block, if known.
        block: Option<u64>,
        /// The decoder's error.
        #[source]
        source: Box<alloy::sol_types::Error>,
    },
    /// A contract's log matched an event's signature but its data did not decode.
    #[error("undecodable {contract} log")]
    UndecodableLog {
        /// The contract that emitted it.
        contract: &'static str,
        /// The decoder's error.
        #[source]
        source: alloy::sol_types::Error,
    },
    /// A log came without the block number it must have.
    #[error("a log without a block number")]
    LogWithoutBlock,
    /// A registered rate limit does not fit a u64 (never with the registry's bounds).
    #[error("rate limit {0} out of range")]
    RateLimitOutOfRange(U256),
    /// A block the sync needs is not (or no longer) on the chain.
    #[error("block {0} is not on the chain")]
    MissingBlock(u64),
    /// The chain kept reorganizing while a chunk was read.
    #[error("the chain keeps reorganizing at block {0}")]
    Unstable(u64),
    /// The bundled `libraries.json` is broken (a build problem).
    #[error("contracts/artifacts/libraries.json: {0}")]
    Libraries(String),
    /// The chain has no CREATE2 deployer to put a linked library at its fixed address.
    #[error("no CREATE2 deployer at {deployer} on chain {chain_id}: cannot deploy {library}")]
    NoCreate2Deployer {
        /// The deployer's expected address.
        deployer: Address,
        /// The chain.
        chain_id: u64,
        /// The library.
        library: String,
    },
    /// A library deployment did not put code at the expected address.
    #[error("{library} did not land at {address}")]
    LibraryNotDeployed {
        /// The library.
        library: String,
        /// Where it should be.
        address: Address,
    },
    /// A contract deployment's receipt has no contract address.
    #[error("the {contract} deployment has no address")]
    NoDeployedAddress {
        /// The contract.
        contract: &'static str,
    },
    /// The node returned no latest block.
    #[error("the node returned no latest block")]
    NoLatestBlock,
    /// One registration needs more gas than a block holds.
    #[error("register needs up to {needed} gas, more than a block's {block_gas}")]
    BlockTooSmall {
        /// Gas one registration may need.
        needed: u64,
        /// The block gas limit.
        block_gas: u64,
    },
    /// A development-chain window was not mined as one block (see `DevChain::register_many`).
    #[error("register: transaction {tx} was not mined with its window in block {window_block} (mined in {mined_in:?}; block gas limit too low?)")]
    WindowNotMined {
        /// The transaction.
        tx: B256,
        /// The block `evm_mine` produced.
        window_block: u64,
        /// Where the transaction was mined, if at all.
        mined_in: Option<u64>,
    },
    /// A development-chain block holds another number of registrations than sent.
    #[error("register: block {block} has {got} registrations, expected {expected}")]
    WindowCount {
        /// The block.
        block: u64,
        /// Registrations found.
        got: usize,
        /// Registrations sent.
        expected: usize,
    },
    /// The tree store could not be loaded (its task panicked or was cancelled).
    #[error("loading the tree store failed")]
    StoreTask(#[source] tokio::task::JoinError),
    /// The synced tree's root differs from the contract's.
    #[error(
        "the synced tree's root {ours} differs from the contract's {contract} at block {block}"
    )]
    TreeMismatch {
        /// The block.
        block: u64,
        /// Our root.
        ours: String,
        /// The contract's root.
        contract: String,
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
    /// The tree store failed.
    #[error(transparent)]
    Store(#[from] crate::tree::disk::StoreError),
}

impl ChainError {
    /// Wraps the error of a call to `contract`: a revert becomes [`ChainError::Reverted`] with
    /// the data decoded against that contract's errors (two contracts may declare an error alike,
    /// e.g. `InvalidTreasury()`: the callee's reading is the one that holds).
    pub(crate) fn from_contract(
        contract: Contract,
        call: &'static str,
        e: alloy::contract::Error,
    ) -> Self {
        match e.as_revert_data() {
            Some(data) => ChainError::Reverted {
                call,
                contract: Some(contract),
                revert: Box::new(Revert::decode_for(contract, &data)),
            },
            None => ChainError::Rpc { call, source: Box::new(e) },
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

    /// A call to the ServiceCredentials contract ([`Self::from_contract`]).
    pub(crate) fn from_credentials(call: &'static str, e: alloy::contract::Error) -> Self {
        Self::from_contract(Contract::Credentials, call, e)
    }

    /// Wraps an RPC error. A raw transaction's revert (the callee unknown here) is decoded only
    /// as `Error(string)`, `Panic` or by name, never into a contract's typed errors.
    pub(crate) fn rpc(
        call: &'static str,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        // Transport errors may carry revert data too (eth_estimateGas, eth_sendTransaction).
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
        if let Some(t) = boxed.downcast_ref::<alloy::transports::TransportError>() {
            if let Some(data) = t.as_error_resp().and_then(|r| r.as_revert_data()) {
                return ChainError::Reverted {
                    call,
                    contract: None,
                    revert: Box::new(Revert::decode_unknown(&data)),
                };
            }
        }
        ChainError::Rpc { call, source: boxed }
    }

    /// The decoded registry error, if this is a revert of the registry.
    pub fn registry_error(&self) -> Option<&RlnMembership::RlnMembershipErrors> {
        match self {
            ChainError::Reverted { revert, .. } => match &revert.decoded {
                Some(DecodedRevert::Registry(e)) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }

    /// The decoded ServiceCredentials error, if this is a revert of that contract
    /// (`StaleVoucher`, `UnauthorizedSigner`, `ThawNotEnded`, ...).
    pub fn credentials_error(&self) -> Option<&ServiceCredentials::ServiceCredentialsErrors> {
        match self {
            ChainError::Reverted { revert, .. } => match &revert.decoded {
                Some(DecodedRevert::Credentials(e)) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }

    /// The name of the custom error, if this is a decoded revert (e.g. "InvalidIdCommitment").
    pub fn revert_name(&self) -> Option<&str> {
        match self {
            ChainError::Reverted { revert, .. } => Some(&revert.name),
            _ => None,
        }
    }
}

/// The contracts rlnkit calls: a revert is decoded against the errors of the one called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Contract {
    /// The membership registry (`RlnMembership`, behind its proxy).
    Registry,
    /// The registry's price calculator (`LinearPriceCalculator`).
    PriceCalculator,
    /// The deposit token (an ERC20; `TestToken` on local chains).
    Token,
    /// The ServiceCredentials escrow.
    Credentials,
}

impl Contract {
    fn abi(self) -> &'static JsonAbi {
        let abis = all_abis();
        &abis[match self {
            Contract::Registry => 0,
            Contract::PriceCalculator => 1,
            Contract::Token => 2,
            Contract::Credentials => 3,
        }]
    }

    /// Its custom errors, typed, if `data` is one of them.
    fn decode_typed(self, data: &[u8]) -> Option<DecodedRevert> {
        match self {
            Contract::Registry => RlnMembership::RlnMembershipErrors::abi_decode(data)
                .ok()
                .map(DecodedRevert::Registry),
            Contract::PriceCalculator => {
                LinearPriceCalculator::LinearPriceCalculatorErrors::abi_decode(data)
                    .ok()
                    .map(DecodedRevert::PriceCalculator)
            }
            Contract::Credentials => ServiceCredentials::ServiceCredentialsErrors::abi_decode(data)
                .ok()
                .map(DecodedRevert::Credentials),
            Contract::Token => None,
        }
    }
}

/// A revert's data decoded: into the called contract's generated error enum when it is one of
/// its errors, and always into a printable `Name(arg, ...)`.
#[derive(Debug, Clone)]
pub struct Revert {
    /// Error name (`InvalidIdCommitment`, `Error` for a string reason, `Panic`, or `unknown`).
    pub name: String,
    /// Decoded arguments, printed (numbers in decimal, addresses checksummed, bytes in hex).
    pub args: Vec<String>,
    /// The typed error, when it is one of our contracts' (registry, price calculator,
    /// ServiceCredentials).
    pub decoded: Option<DecodedRevert>,
    /// The raw revert data.
    pub data: Bytes,
}

/// Typed custom errors of our contracts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodedRevert {
    /// An error of the registry.
    Registry(RlnMembership::RlnMembershipErrors),
    /// An error of the price calculator.
    PriceCalculator(LinearPriceCalculator::LinearPriceCalculatorErrors),
    /// An error of the ServiceCredentials contract.
    Credentials(ServiceCredentials::ServiceCredentialsErrors),
}

/// The ABIs of the registry, the price calculator, the token and ServiceCredentials, in that
/// order (an artifact that does not parse gives an empty ABI: names print as `unknown`).
fn all_abis() -> &'static [JsonAbi; 4] {
    static ABIS: OnceLock<[JsonAbi; 4]> = OnceLock::new();
    ABIS.get_or_init(|| {
        [
            include_str!("../../contracts/artifacts/RlnMembership.json"),
            include_str!("../../contracts/artifacts/LinearPriceCalculator.json"),
            include_str!("../../contracts/artifacts/TestToken.json"),
            include_str!("../../contracts/artifacts/ServiceCredentials.json"),
        ]
        .map(|s| {
            serde_json::from_str::<serde_json::Value>(s)
                .ok()
                .and_then(|v| serde_json::from_value::<JsonAbi>(v["abi"].clone()).ok())
                .unwrap_or_default()
        })
    })
}

fn show(v: &DynSolValue) -> String {
    match v {
        DynSolValue::Uint(u, _) => u.to_string(),
        DynSolValue::Int(i, _) => i.to_string(),
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::Address(a) => a.to_checksum(None),
        DynSolValue::FixedBytes(w, n) => format!("0x{}", alloy::hex::encode(&w[..*n])),
        DynSolValue::Bytes(b) => format!("0x{}", alloy::hex::encode(b)),
        DynSolValue::String(s) => format!("{s:?}"),
        DynSolValue::Array(a) | DynSolValue::FixedArray(a) | DynSolValue::Tuple(a) => {
            format!("[{}]", a.iter().map(show).collect::<Vec<_>>().join(", "))
        }
        other => format!("{other:?}"),
    }
}

impl Revert {
    /// Decodes the revert data of a call to `contract`: its custom errors (typed), else
    /// `Error(string)`, `Panic(uint256)`, or an error of a contract it called (by name only: a
    /// token's error inside `register`, say).
    pub fn decode_for(contract: Contract, data: &[u8]) -> Self {
        Self::with_decoded(data, contract.decode_typed(data), Some(contract))
    }

    /// Decodes revert data whose callee is unknown: `Error(string)`, `Panic(uint256)`, or the
    /// name of any of our contracts' errors with that selector (never typed).
    pub fn decode_unknown(data: &[u8]) -> Self {
        Self::with_decoded(data, None, None)
    }

    fn with_decoded(data: &[u8], decoded: Option<DecodedRevert>, callee: Option<Contract>) -> Self {
        let bytes = Bytes::copy_from_slice(data);
        if let Ok(r) = alloy::sol_types::Revert::abi_decode(data) {
            return Revert {
                name: "Error".into(),
                args: vec![format!("{:?}", r.reason)],
                decoded,
                data: bytes,
            };
        }
        if let Ok(p) = alloy::sol_types::Panic::abi_decode(data) {
            return Revert {
                name: "Panic".into(),
                args: vec![format!("0x{:x}", p.code)],
                decoded,
                data: bytes,
            };
        }
        if data.len() >= 4 {
            // The callee's errors first, then those of the contracts it may call.
            let first = callee.map(Contract::abi);
            for abi in first.into_iter().chain(all_abis().iter()) {
                for err in abi.errors() {
                    if err.selector().as_slice() == &data[..4] {
                        if let Ok(values) = err.abi_decode_input(&data[4..]) {
                            return Revert {
                                name: err.name.clone(),
                                args: values.iter().map(show).collect(),
                                decoded,
                                data: bytes,
                            };
                        }
                    }
                }
            }
        }
        Revert {
            name: "unknown".into(),
            args: vec![format!("0x{}", alloy::hex::encode(data))],
            decoded,
            data: bytes,
        }
    }
}

impl fmt::Display for Revert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name, self.args.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_errors_print_by_name() {
        let data = RlnMembership::InvalidIdCommitment { idCommitment: U256::ZERO }.abi_encode();
        let r = Revert::decode_for(Contract::Registry, &data);
        assert_eq!(r.to_string(), "InvalidIdCommitment(0)");
        assert!(matches!(
            r.decoded,
            Some(DecodedRevert::Registry(RlnMembership::RlnMembershipErrors::InvalidIdCommitment(
                _
            )))
        ));
        let data = RlnMembership::NothingToWithdraw {
            holder: Address::ZERO,
            token: Address::repeat_byte(1),
        }
        .abi_encode();
        assert_eq!(
            Revert::decode_for(Contract::Registry, &data).to_string(),
            format!(
                "NothingToWithdraw({}, {})",
                Address::ZERO.to_checksum(None),
                Address::repeat_byte(1).to_checksum(None)
            )
        );
        let data = alloy::sol_types::Revert::from("ERC20: insufficient allowance").abi_encode();
        assert_eq!(
            Revert::decode_for(Contract::Token, &data).to_string(),
            "Error(\"ERC20: insufficient allowance\")"
        );
        assert_eq!(Revert::decode_unknown(&[1, 2]).name, "unknown");
    }

    #[test]
    fn credentials_errors_decode_to_their_variant() {
        use ServiceCredentials::ServiceCredentialsErrors as E;
        let data = ServiceCredentials::StaleVoucher {
            cumulativeAmount: U256::from(5u64),
            collected: U256::from(7u64),
        }
        .abi_encode();
        let r = Revert::decode_for(Contract::Credentials, &data);
        assert_eq!(r.to_string(), "StaleVoucher(5, 7)");
        assert!(matches!(r.decoded, Some(DecodedRevert::Credentials(E::StaleVoucher(_)))));
        // Declared alike by the registry and the credentials contract: the callee's reading holds.
        let data = ServiceCredentials::InvalidTreasury {}.abi_encode();
        assert!(matches!(
            Revert::decode_for(Contract::Credentials, &data).decoded,
            Some(DecodedRevert::Credentials(E::InvalidTreasury(_)))
        ));
        assert!(matches!(
            Revert::decode_for(Contract::Registry, &data).decoded,
            Some(DecodedRevert::Registry(_))
        ));
        // A registry error met in a call to the credentials contract is not typed as the
        // registry's (the caller named the contract), only printed by name.
        let data = RlnMembership::InvalidIdCommitment { idCommitment: U256::ZERO }.abi_encode();
        let r = Revert::decode_for(Contract::Credentials, &data);
        assert_eq!((r.name.as_str(), r.decoded), ("InvalidIdCommitment", None));
        // Not a credentials error: decoded as usual.
        let data = alloy::sol_types::Revert::from("no").abi_encode();
        let r = Revert::decode_for(Contract::Credentials, &data);
        assert_eq!((r.name.as_str(), r.decoded), ("Error", None));
        // An unknown callee: never typed.
        let data = ServiceCredentials::InvalidTreasury {}.abi_encode();
        assert_eq!(Revert::decode_unknown(&data).decoded, None);
    }
}
