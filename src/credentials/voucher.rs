//! Cumulative EIP-712 vouchers (SVC-ABI.md): the struct, its domain, signing, the wire form a
//! lightpush request carries, and the signature check of the hot path.
//!
//! A voucher promises the provider `cumulativeAmount` in total for a (payer, provider, token);
//! each new voucher supersedes the last, so a node needs only the newest one. The signature is a
//! 65-byte `r ‖ s ‖ v` over the EIP-712 digest, by the payer or a signer it authorized, low-s
//! only (OpenZeppelin's ECDSA rules, which the contract applies).
//!
//! Verification uses libsecp256k1 (`secp256k1` crate) against the signer's public key, which the
//! node learns by recovering it once ([`KeyCache`]); later vouchers of that signer are verified,
//! not recovered. `benches/credentials.rs` compares it with k256 (alloy's signer).

use std::collections::HashMap;
use std::sync::RwLock;

use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use alloy::sol_types::{Eip712Domain, SolStruct};
use prost::Message as _;

alloy::sol! {
    /// The signed promise (SVC-ABI.md, EIP-712 type
    /// `Voucher(address payer,address provider,address token,address payout,uint256 cumulativeAmount)`).
    #[allow(missing_docs)]
    #[derive(Debug, PartialEq, Eq, Default)]
    struct Voucher {
        address payer;
        address provider;
        address token;
        address payout;
        uint256 cumulativeAmount;
    }
}

/// The EIP-712 domain name of the ServiceCredentials contract.
pub const DOMAIN_NAME: &str = "rlnkit ServiceCredentials";
/// The EIP-712 domain version.
pub const DOMAIN_VERSION: &str = "1";

/// half the secp256k1 group order: a signature with a larger `s` is refused (malleability).
const HALF_ORDER: U256 = U256::from_limbs([
    0xdfe9_2f46_681b_20a0,
    0x5d57_6e73_57a4_501d,
    0xffff_ffff_ffff_ffff,
    0x7fff_ffff_ffff_ffff,
]);

/// The contract a voucher is bound to: chain id and address (the EIP-712 domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VoucherDomain {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The ServiceCredentials contract.
    pub contract: Address,
}

impl VoucherDomain {
    /// The EIP-712 domain (name, version, chain id, verifying contract).
    pub fn eip712(&self) -> Eip712Domain {
        Eip712Domain::new(
            Some(DOMAIN_NAME.into()),
            Some(DOMAIN_VERSION.into()),
            Some(U256::from(self.chain_id)),
            Some(self.contract),
            None,
        )
    }

    /// The domain separator (`domainSeparator()` of the contract).
    pub fn separator(&self) -> B256 {
        self.eip712().separator()
    }

    /// The digest the signer signs (`hashVoucher(v)` of the contract).
    pub fn digest(&self, v: &Voucher) -> B256 {
        digest_with_separator(&self.separator(), v)
    }
}

/// `keccak256(0x1901 ‖ separator ‖ structHash(v))`, with the separator computed once.
pub fn digest_with_separator(separator: &B256, v: &Voucher) -> B256 {
    let mut buf = [0u8; 66];
    buf[0] = 0x19;
    buf[1] = 0x01;
    buf[2..34].copy_from_slice(separator.as_slice());
    buf[34..].copy_from_slice(v.eip712_hash_struct().as_slice());
    keccak256(buf)
}

/// A voucher with its domain, signature and the signer's address (the payer or a hot key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedVoucher {
    /// The contract (chain id, address) it is for.
    pub domain: VoucherDomain,
    /// The promise.
    pub voucher: Voucher,
    /// Who signed: the payer or a signer it authorized.
    pub signer: Address,
    /// 65 bytes `r ‖ s ‖ v` (v = 27 or 28).
    pub signature: [u8; 65],
}

/// Why a voucher could not be decoded or signed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum VoucherError {
    /// Not a protobuf `PaymentVoucher`.
    #[error("the voucher is not a valid PaymentVoucher protobuf")]
    Malformed,
    /// A field has the wrong length.
    #[error("voucher field {field} must be {expected} bytes, got {got}")]
    FieldLength {
        /// The field's name.
        field: &'static str,
        /// Its required length.
        expected: usize,
        /// What came.
        got: usize,
    },
    /// The signer failed to sign.
    #[error("cannot sign the voucher: {0}")]
    Sign(String),
}

/// Why a signature was refused.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// `s` above half the order, `v` not 27/28, or `r`/`s` out of range.
    #[error("the signature is not canonical (low-s, v = 27/28)")]
    NonCanonical,
    /// The signature does not verify for the claimed signer.
    #[error("the signature is not the claimed signer's")]
    WrongSigner,
}

/// The wire form, carried in `EligibilityProof.proof_of_payment` (protobuf, fixed-size byte
/// fields; amounts are 32-byte big-endian).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PaymentVoucher {
    /// EIP-155 chain id of the contract.
    #[prost(uint64, tag = "1")]
    pub chain_id: u64,
    /// ServiceCredentials contract, 20 bytes.
    #[prost(bytes = "vec", tag = "2")]
    pub contract: Vec<u8>,
    /// 20 bytes.
    #[prost(bytes = "vec", tag = "3")]
    pub payer: Vec<u8>,
    /// 20 bytes.
    #[prost(bytes = "vec", tag = "4")]
    pub provider: Vec<u8>,
    /// 20 bytes.
    #[prost(bytes = "vec", tag = "5")]
    pub token: Vec<u8>,
    /// 20 bytes.
    #[prost(bytes = "vec", tag = "6")]
    pub payout: Vec<u8>,
    /// 32 bytes, big-endian.
    #[prost(bytes = "vec", tag = "7")]
    pub cumulative_amount: Vec<u8>,
    /// 20 bytes; the payer when empty.
    #[prost(bytes = "vec", tag = "8")]
    pub signer: Vec<u8>,
    /// 65 bytes r ‖ s ‖ v.
    #[prost(bytes = "vec", tag = "9")]
    pub signature: Vec<u8>,
}

fn fixed<const N: usize>(field: &'static str, b: &[u8]) -> Result<[u8; N], VoucherError> {
    b.try_into().map_err(|_| VoucherError::FieldLength { field, expected: N, got: b.len() })
}

impl SignedVoucher {
    /// Signs `voucher` for `domain` with `key` (the payer's key or an authorized hot key).
    pub fn sign(
        domain: VoucherDomain,
        voucher: Voucher,
        key: &PrivateKeySigner,
    ) -> Result<Self, VoucherError> {
        let digest = domain.digest(&voucher);
        let sig = key.sign_hash_sync(&digest).map_err(|e| VoucherError::Sign(e.to_string()))?;
        // alloy's signer normalizes s (k256 signs low-s).
        let signature: [u8; 65] = sig.as_bytes();
        Ok(SignedVoucher { domain, voucher, signer: key.address(), signature })
    }

    /// The protobuf bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let v = &self.voucher;
        PaymentVoucher {
            chain_id: self.domain.chain_id,
            contract: self.domain.contract.to_vec(),
            payer: v.payer.to_vec(),
            provider: v.provider.to_vec(),
            token: v.token.to_vec(),
            payout: v.payout.to_vec(),
            cumulative_amount: v.cumulativeAmount.to_be_bytes::<32>().to_vec(),
            signer: if self.signer == v.payer { Vec::new() } else { self.signer.to_vec() },
            signature: self.signature.to_vec(),
        }
        .encode_to_vec()
    }

    /// Decodes the protobuf bytes (lengths checked; the signature is not).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VoucherError> {
        let p = PaymentVoucher::decode(bytes).map_err(|_| VoucherError::Malformed)?;
        let addr = |f, b: &[u8]| fixed::<20>(f, b).map(Address::from);
        let payer = addr("payer", &p.payer)?;
        let signer = if p.signer.is_empty() { payer } else { addr("signer", &p.signer)? };
        Ok(SignedVoucher {
            domain: VoucherDomain {
                chain_id: p.chain_id,
                contract: addr("contract", &p.contract)?,
            },
            voucher: Voucher {
                payer,
                provider: addr("provider", &p.provider)?,
                token: addr("token", &p.token)?,
                payout: addr("payout", &p.payout)?,
                cumulativeAmount: U256::from_be_bytes(fixed::<32>(
                    "cumulative_amount",
                    &p.cumulative_amount,
                )?),
            },
            signer,
            signature: fixed::<65>("signature", &p.signature)?,
        })
    }

    /// r ‖ s as libsecp256k1's compact signature, refusing high s and v other than 27/28.
    fn compact(&self) -> Result<secp256k1::ecdsa::Signature, SignatureError> {
        let s = U256::from_be_slice(&self.signature[32..64]);
        let v = self.signature[64];
        if s > HALF_ORDER || s.is_zero() || !(v == 27 || v == 28) {
            return Err(SignatureError::NonCanonical);
        }
        secp256k1::ecdsa::Signature::from_compact(&self.signature[..64])
            .map_err(|_| SignatureError::NonCanonical)
    }

    /// Recovers the signer's public key from the signature over `digest` (done once per signer).
    pub fn recover_key(&self, digest: &B256) -> Result<secp256k1::PublicKey, SignatureError> {
        self.compact()?;
        let id = secp256k1::ecdsa::RecoveryId::try_from(i32::from(self.signature[64] - 27))
            .map_err(|_| SignatureError::NonCanonical)?;
        let rs = secp256k1::ecdsa::RecoverableSignature::from_compact(&self.signature[..64], id)
            .map_err(|_| SignatureError::NonCanonical)?;
        let msg = secp256k1::Message::from_digest(digest.0);
        secp256k1::SECP256K1.recover_ecdsa(msg, &rs).map_err(|_| SignatureError::WrongSigner)
    }
}

/// The Ethereum address of a public key: the last 20 bytes of keccak(x ‖ y).
pub fn address_of(key: &secp256k1::PublicKey) -> Address {
    let uncompressed = key.serialize_uncompressed();
    Address::from_slice(&keccak256(&uncompressed[1..])[12..])
}

/// The signers' public keys, learned by recovering each signer's first voucher; later vouchers
/// are verified against the known key (one libsecp256k1 verification, no recovery).
#[derive(Debug, Default)]
pub struct KeyCache {
    keys: RwLock<HashMap<Address, secp256k1::PublicKey>>,
}

impl KeyCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks that `v.signature` over `digest` is by `v.signer`.
    pub fn verify(&self, v: &SignedVoucher, digest: &B256) -> Result<(), SignatureError> {
        let known = self.keys.read().unwrap_or_else(|e| e.into_inner()).get(&v.signer).copied();
        match known {
            Some(key) => {
                let sig = v.compact()?;
                let msg = secp256k1::Message::from_digest(digest.0);
                secp256k1::SECP256K1
                    .verify_ecdsa(msg, &sig, &key)
                    .map_err(|_| SignatureError::WrongSigner)
            }
            None => {
                let key = v.recover_key(digest)?;
                if address_of(&key) != v.signer {
                    return Err(SignatureError::WrongSigner);
                }
                self.keys.write().unwrap_or_else(|e| e.into_inner()).insert(v.signer, key);
                Ok(())
            }
        }
    }

    /// How many signers' keys are known.
    pub fn len(&self) -> usize {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no key is known yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&B256::from([n; 32])).unwrap()
    }

    fn domain() -> VoucherDomain {
        VoucherDomain { chain_id: 31337, contract: Address::from([7; 20]) }
    }

    fn voucher(payer: Address, amount: u64) -> Voucher {
        Voucher {
            payer,
            provider: Address::from([2; 20]),
            token: Address::from([3; 20]),
            payout: Address::from([4; 20]),
            cumulativeAmount: U256::from(amount),
        }
    }

    #[test]
    fn type_string_is_the_agreed_one() {
        assert_eq!(
            Voucher::eip712_encode_type(),
            "Voucher(address payer,address provider,address token,address payout,uint256 cumulativeAmount)"
        );
    }

    #[test]
    fn signed_voucher_round_trips_and_verifies() {
        let k = key(1);
        let sv = SignedVoucher::sign(domain(), voucher(k.address(), 10), &k).unwrap();
        let back = SignedVoucher::from_bytes(&sv.to_bytes()).unwrap();
        assert_eq!(back, sv);
        let cache = KeyCache::new();
        let d = domain().digest(&sv.voucher);
        cache.verify(&back, &d).unwrap(); // recovered
        assert_eq!(cache.len(), 1);
        cache.verify(&back, &d).unwrap(); // verified against the known key
                                          // alloy's own recovery agrees.
        let sig = alloy::primitives::Signature::from_raw(&sv.signature).unwrap();
        assert_eq!(sig.recover_address_from_prehash(&d).unwrap(), k.address());
    }

    #[test]
    fn tampered_or_high_s_signatures_are_refused() {
        let k = key(1);
        let sv = SignedVoucher::sign(domain(), voucher(k.address(), 10), &k).unwrap();
        let cache = KeyCache::new();
        let d = domain().digest(&sv.voucher);
        cache.verify(&sv, &d).unwrap();
        // More money than signed: the digest changes, the known key refuses.
        let mut more = sv.clone();
        more.voucher.cumulativeAmount = U256::from(11);
        let d2 = domain().digest(&more.voucher);
        assert_eq!(cache.verify(&more, &d2), Err(SignatureError::WrongSigner));
        // Someone else's key claiming to be the payer: recovery gives another address.
        let other = SignedVoucher::sign(domain(), voucher(k.address(), 10), &key(9)).unwrap();
        let forged = SignedVoucher { signer: k.address(), ..other };
        assert_eq!(KeyCache::new().verify(&forged, &d), Err(SignatureError::WrongSigner));
        // The malleable twin (n - s, flipped v) is refused.
        let n = U256::from_be_slice(&secp256k1::constants::CURVE_ORDER);
        let s = U256::from_be_slice(&sv.signature[32..64]);
        let mut twin = sv.clone();
        twin.signature[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
        twin.signature[64] ^= 1;
        assert_eq!(cache.verify(&twin, &d), Err(SignatureError::NonCanonical));
    }

    #[test]
    fn bad_wire_forms_are_typed_errors() {
        assert_eq!(SignedVoucher::from_bytes(&[0xff, 0xff]), Err(VoucherError::Malformed));
        let k = key(1);
        let sv = SignedVoucher::sign(domain(), voucher(k.address(), 1), &k).unwrap();
        let mut p = PaymentVoucher::decode(sv.to_bytes().as_slice()).unwrap();
        p.signature.pop();
        assert_eq!(
            SignedVoucher::from_bytes(&p.encode_to_vec()),
            Err(VoucherError::FieldLength { field: "signature", expected: 65, got: 64 })
        );
    }
}
