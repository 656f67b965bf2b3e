//! The chain module's error type and revert decoding.

use std::fmt;
use std::sync::OnceLock;

use alloy::dyn_abi::{DynSolValue, JsonAbiExt};
use alloy::json_abi::JsonAbi;
use alloy::primitives::{Address, Bytes, B256};
use alloy::sol_types::{SolError, SolInterface};

use super::bindings::{LinearPriceCalculator, RlnMembership};

/// Errors of the chain client and the tree sync.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("invalid RPC URL {url:?} (expected http://host:port)")]
    BadUrl { url: String },
    #[error("cannot reach the RPC endpoint {url} (is the node running?)")]
    Unreachable {
        url: String,
        #[source]
        source: alloy::transports::TransportError,
    },
    #[error("the RPC endpoint is on chain {got}, expected chain {expected} (check --rpc and --chain-id)")]
    WrongChain { expected: u64, got: u64 },
    #[error("no contract at {address} on chain {chain_id} (check --contract)")]
    NoContract { address: Address, chain_id: u64 },
    #[error("{call} reverted: {revert}")]
    Reverted { call: &'static str, revert: Revert },
    #[error("{call}: transaction {tx} was mined but reverted")]
    TxReverted { call: &'static str, tx: B256 },
    #[error("{call} failed")]
    Rpc {
        call: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{call} needs a signer: set RLNKIT_PRIVATE_KEY or pass --private-key-file")]
    NoSigner { call: &'static str },
    #[error("{0}")]
    Invalid(String),
    #[error(
        "the synced tree's root {ours} differs from the contract's {contract} at block {block}"
    )]
    TreeMismatch { block: u64, ours: String, contract: String },
    #[error("the tree store belongs to contract {stored} on chain {stored_chain}, not {asked} on chain {asked_chain}")]
    StoreMismatch { stored: Address, stored_chain: u64, asked: Address, asked_chain: u64 },
    #[error(transparent)]
    Store(#[from] crate::tree::disk::StoreError),
}

impl ChainError {
    /// Wraps a contract call error: reverts become [`ChainError::Reverted`] with the error decoded.
    pub(crate) fn from_contract(call: &'static str, e: alloy::contract::Error) -> Self {
        match e.as_revert_data() {
            Some(data) => ChainError::Reverted { call, revert: Revert::decode(&data) },
            None => ChainError::Rpc { call, source: Box::new(e) },
        }
    }

    pub(crate) fn rpc(
        call: &'static str,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        // Transport errors may carry revert data too (eth_estimateGas, eth_sendTransaction).
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
        if let Some(t) = boxed.downcast_ref::<alloy::transports::TransportError>() {
            if let Some(data) = t.as_error_resp().and_then(|r| r.as_revert_data()) {
                return ChainError::Reverted { call, revert: Revert::decode(&data) };
            }
        }
        ChainError::Rpc { call, source: boxed }
    }

    /// The decoded registry error, if this is a revert of the registry.
    pub fn registry_error(&self) -> Option<&RlnMembership::RlnMembershipErrors> {
        match self {
            ChainError::Reverted {
                revert: Revert { decoded: Some(DecodedRevert::Registry(e)), .. },
                ..
            } => Some(e),
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

/// A revert's data decoded: into the generated error enums when it is one of our contracts'
/// errors, and always into a printable `Name(arg, ...)`.
#[derive(Debug, Clone)]
pub struct Revert {
    /// Error name (`InvalidIdCommitment`, `Error` for a string reason, `Panic`, or `unknown`).
    pub name: String,
    /// Decoded arguments, printed (numbers in decimal, addresses checksummed, bytes in hex).
    pub args: Vec<String>,
    /// The typed error, when it is one of the registry's or the price calculator's.
    pub decoded: Option<DecodedRevert>,
    /// The raw revert data.
    pub data: Bytes,
}

/// Typed custom errors of our contracts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodedRevert {
    Registry(RlnMembership::RlnMembershipErrors),
    PriceCalculator(LinearPriceCalculator::LinearPriceCalculatorErrors),
}

fn all_abis() -> &'static Vec<JsonAbi> {
    static ABIS: OnceLock<Vec<JsonAbi>> = OnceLock::new();
    ABIS.get_or_init(|| {
        [
            include_str!("../../contracts/artifacts/RlnMembership.json"),
            include_str!("../../contracts/artifacts/LinearPriceCalculator.json"),
            include_str!("../../contracts/artifacts/TestToken.json"),
        ]
        .iter()
        .filter_map(|s| serde_json::from_str::<serde_json::Value>(s).ok())
        .filter_map(|v| serde_json::from_value::<JsonAbi>(v["abi"].clone()).ok())
        .collect()
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
    /// Decodes revert data: our custom errors, `Error(string)`, `Panic(uint256)`.
    pub fn decode(data: &[u8]) -> Self {
        let bytes = Bytes::copy_from_slice(data);
        let decoded = if let Ok(e) = RlnMembership::RlnMembershipErrors::abi_decode(data) {
            Some(DecodedRevert::Registry(e))
        } else if let Ok(e) = LinearPriceCalculator::LinearPriceCalculatorErrors::abi_decode(data) {
            Some(DecodedRevert::PriceCalculator(e))
        } else {
            None
        };
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
            for abi in all_abis() {
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
    use alloy::primitives::U256;

    #[test]
    fn custom_errors_print_by_name() {
        let data = RlnMembership::InvalidIdCommitment { idCommitment: U256::ZERO }.abi_encode();
        let r = Revert::decode(&data);
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
            Revert::decode(&data).to_string(),
            format!(
                "NothingToWithdraw({}, {})",
                Address::ZERO.to_checksum(None),
                Address::repeat_byte(1).to_checksum(None)
            )
        );
        let data = alloy::sol_types::Revert::from("ERC20: insufficient allowance").abi_encode();
        assert_eq!(Revert::decode(&data).to_string(), "Error(\"ERC20: insufficient allowance\")");
        assert_eq!(Revert::decode(&[1, 2]).name, "unknown");
    }
}
