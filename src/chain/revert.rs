//! Revert decoding: a revert's data read against the errors of the contract the caller named
//! ([`Revert::decode_for`]), typed when it is one of that contract's ([`DecodedRevert`]) and
//! always printable by name (`InvalidIdCommitment(0)`).

use std::fmt;
use std::sync::OnceLock;

use alloy::dyn_abi::{DynSolValue, JsonAbiExt};
use alloy::json_abi::JsonAbi;
use alloy::primitives::Bytes;
use alloy::sol_types::{SolError, SolInterface};

use super::bindings::{LinearPriceCalculator, RlnMembership, ServiceCredentials};

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
    use alloy::primitives::{Address, U256};

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
