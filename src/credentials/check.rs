//! The provider's voucher check, the hot path of a paid request: decode, compare with the terms
//! and the in-memory escrow state, verify the signature against the signer's known key, and
//! advance the payer's cumulative amount by the price. No RPC, no disk.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use alloy::primitives::{Address, B256, U256};

use super::escrow::{EscrowBook, EscrowEvent, SignerStatus};
use super::voucher::{
    digest_with_separator, KeyCache, SignatureError, SignedVoucher, VoucherDomain, VoucherError,
};

/// What a provider sells one request for (its `registerService` entry and its contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceTerms {
    /// The contract and chain vouchers must be for.
    pub domain: VoucherDomain,
    /// This node's provider address.
    pub provider: Address,
    /// The token it is paid in.
    pub token: Address,
    /// Where its earnings go (signed into every voucher).
    pub payout: Address,
    /// Price of one request in token units.
    pub price: U256,
    /// Refuse a payer whose thaw ends, or a hot key whose revocation takes effect, within this
    /// many seconds (the claimer needs the time to claim what was served).
    pub thaw_margin_secs: u64,
}

/// Why a request was not paid for (402), with what the client needs to correct it.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No voucher in the request.
    #[error("no voucher (one request costs {price})")]
    Missing {
        /// The price of one request.
        price: U256,
    },
    /// The voucher does not decode.
    #[error("malformed voucher: {0}")]
    Malformed(#[from] VoucherError),
    /// Another chain or contract.
    #[error("voucher for chain {chain_id} contract {contract}, this node takes chain {expected_chain} contract {expected_contract}")]
    OtherDomain {
        /// The voucher's chain.
        chain_id: u64,
        /// The voucher's contract.
        contract: Address,
        /// Ours.
        expected_chain: u64,
        /// Ours.
        expected_contract: Address,
    },
    /// Another provider.
    #[error("voucher for provider {got}, this node is {expected}")]
    OtherProvider {
        /// The voucher's provider.
        got: Address,
        /// This node.
        expected: Address,
    },
    /// Another token or payout address than this node's terms.
    #[error("voucher terms differ: token {token} payout {payout}, this node takes token {expected_token} payout {expected_payout}")]
    OtherTerms {
        /// The voucher's token.
        token: Address,
        /// The voucher's payout.
        payout: Address,
        /// Ours.
        expected_token: Address,
        /// Ours.
        expected_payout: Address,
    },
    /// At or below what was already served: replayed or out of date.
    #[error("stale voucher: cumulative {got} is not above the last served {last}")]
    Stale {
        /// The voucher's amount.
        got: U256,
        /// The last amount served.
        last: U256,
        /// What the next voucher must carry.
        expected: U256,
    },
    /// Above the last but less than one more request's price.
    #[error("short voucher: cumulative {got} does not cover one more request")]
    Short {
        /// The voucher's amount.
        got: U256,
        /// What the next voucher must carry.
        expected: U256,
    },
    /// The payer has no escrow with this node.
    #[error("no escrow from payer {payer} with this node: deposit first")]
    NoEscrow {
        /// The payer.
        payer: Address,
    },
    /// The escrow cannot pay this much.
    #[error(
        "escrow spent: cumulative {got} exceeds what the escrow covers ({coverable}); deposit more"
    )]
    Insufficient {
        /// The voucher's amount.
        got: U256,
        /// collected + balance.
        coverable: U256,
    },
    /// The payer's thaw ends too soon for this node to claim safely.
    #[error("the payer's escrow is thawing (ends at {thaw_end}); cancel the thaw to be served")]
    Thawing {
        /// When the thaw ends.
        thaw_end: u64,
    },
    /// The signer was never authorized by the payer.
    #[error("signer {signer} is not authorized by payer {payer}")]
    UnauthorizedSigner {
        /// The payer.
        payer: Address,
        /// The signer.
        signer: Address,
    },
    /// The signer's authorization was revoked.
    #[error("signer {signer} was revoked by payer {payer}")]
    RevokedSigner {
        /// The payer.
        payer: Address,
        /// The signer.
        signer: Address,
    },
    /// The signer's revocation takes effect too soon for this node to claim its voucher.
    #[error("signer {signer} of payer {payer} is being revoked (from {revoke_at}); sign with the payer's key or another signer")]
    RevokingSigner {
        /// The payer.
        payer: Address,
        /// The signer.
        signer: Address,
        /// When the revocation takes effect (unix seconds).
        revoke_at: u64,
    },
    /// The signature is not the signer's (forged or tampered).
    #[error("bad signature: {0}")]
    BadSignature(#[from] SignatureError),
}

impl Refusal {
    /// A short label for metrics (`rlnkit_lightpush_refused_total{reason}`).
    pub fn label(&self) -> &'static str {
        match self {
            Refusal::Missing { .. } => "missing",
            Refusal::Malformed(_) => "malformed",
            Refusal::OtherDomain { .. } => "other_domain",
            Refusal::OtherProvider { .. } => "other_provider",
            Refusal::OtherTerms { .. } => "other_terms",
            Refusal::Stale { .. } => "stale",
            Refusal::Short { .. } => "short",
            Refusal::NoEscrow { .. } => "no_escrow",
            Refusal::Insufficient { .. } => "insufficient",
            Refusal::Thawing { .. } => "thawing",
            Refusal::UnauthorizedSigner { .. } => "unauthorized_signer",
            Refusal::RevokedSigner { .. } => "revoked_signer",
            Refusal::RevokingSigner { .. } => "revoking_signer",
            Refusal::BadSignature(_) => "bad_signature",
        }
    }

    /// The cumulative amount the client should sign next, when the refusal says it.
    pub fn expected(&self) -> Option<U256> {
        match self {
            Refusal::Stale { expected, .. } | Refusal::Short { expected, .. } => Some(*expected),
            Refusal::Missing { price } => Some(*price),
            _ => None,
        }
    }
}

/// A voucher the check accepted: the payer's cumulative advanced from `previous` to
/// `voucher.voucher.cumulativeAmount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The voucher (to keep on disk and claim).
    pub voucher: SignedVoucher,
    /// The payer's cumulative before it.
    pub previous: U256,
}

impl Accepted {
    /// What this request earned.
    pub fn earned(&self) -> U256 {
        self.voucher.voucher.cumulativeAmount - self.previous
    }
}

/// The provider's check: terms, escrow book, known signer keys, served amounts.
#[derive(Debug)]
pub struct VoucherChecker {
    terms: ServiceTerms,
    separator: B256,
    book: RwLock<EscrowBook>,
    keys: KeyCache,
    /// payer → last cumulative amount served.
    served: Mutex<HashMap<Address, U256>>,
}

impl VoucherChecker {
    /// A checker with an empty book; `served` restores the last amounts served (from the store).
    pub fn new(terms: ServiceTerms, served: impl IntoIterator<Item = (Address, U256)>) -> Self {
        VoucherChecker {
            separator: terms.domain.separator(),
            terms,
            book: RwLock::new(EscrowBook::new()),
            keys: KeyCache::new(),
            served: Mutex::new(served.into_iter().collect()),
        }
    }

    /// The terms.
    pub fn terms(&self) -> &ServiceTerms {
        &self.terms
    }

    /// Applies contract events to the escrow book.
    pub fn apply_events<'a>(&self, events: impl IntoIterator<Item = &'a EscrowEvent>) {
        let mut book = self.book.write().unwrap_or_else(|e| e.into_inner());
        for ev in events {
            book.apply(ev);
        }
    }

    /// A copy of the escrow book.
    pub fn book(&self) -> EscrowBook {
        self.book.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The last cumulative amount served to `payer`.
    pub fn served(&self, payer: Address) -> U256 {
        self.served
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&payer)
            .copied()
            .unwrap_or_default()
    }

    /// Checks an encoded voucher (`None`: the request had none) for one request at `now` (unix
    /// seconds); on success the payer's served amount is advanced (call [`Self::release`] if the
    /// request is then not served).
    pub fn check(&self, encoded: Option<&[u8]>, now: u64) -> Result<Accepted, Refusal> {
        let t = &self.terms;
        let Some(encoded) = encoded else { return Err(Refusal::Missing { price: t.price }) };
        let sv = SignedVoucher::from_bytes(encoded)?;
        let v = &sv.voucher;
        if sv.domain != t.domain {
            return Err(Refusal::OtherDomain {
                chain_id: sv.domain.chain_id,
                contract: sv.domain.contract,
                expected_chain: t.domain.chain_id,
                expected_contract: t.domain.contract,
            });
        }
        if v.provider != t.provider {
            return Err(Refusal::OtherProvider { got: v.provider, expected: t.provider });
        }
        if v.token != t.token || v.payout != t.payout {
            return Err(Refusal::OtherTerms {
                token: v.token,
                payout: v.payout,
                expected_token: t.token,
                expected_payout: t.payout,
            });
        }
        // Who signed, before anything about the payer is read: a stranger's voucher in a
        // payer's name learns nothing of that payer's amounts or escrow.
        let digest = digest_with_separator(&self.separator, v);
        self.keys.verify(&sv, &digest)?;
        let book = self.book.read().unwrap_or_else(|e| e.into_inner());
        match book.signer_status(v.payer, sv.signer, now) {
            SignerStatus::Valid => {
                // Claims of its vouchers fail once the revocation takes effect.
                if let Some(revoke_at) = book.signer_revoke_at(v.payer, sv.signer) {
                    if revoke_at <= now.saturating_add(t.thaw_margin_secs) {
                        return Err(Refusal::RevokingSigner {
                            payer: v.payer,
                            signer: sv.signer,
                            revoke_at,
                        });
                    }
                }
            }
            SignerStatus::Unknown => {
                return Err(Refusal::UnauthorizedSigner { payer: v.payer, signer: sv.signer })
            }
            SignerStatus::Revoked => {
                return Err(Refusal::RevokedSigner { payer: v.payer, signer: sv.signer })
            }
        }
        // The payer (or its signer) is speaking: now its state.
        let got = v.cumulativeAmount;
        let last = self.served(v.payer);
        let expected = last.saturating_add(t.price);
        if got <= last {
            return Err(Refusal::Stale { got, last, expected });
        }
        if got < expected {
            return Err(Refusal::Short { got, expected });
        }
        let escrow = book.escrow(v.payer, t.token).ok_or(Refusal::NoEscrow { payer: v.payer })?;
        if got > escrow.coverable() {
            return Err(Refusal::Insufficient { got, coverable: escrow.coverable() });
        }
        if escrow.thawing() && escrow.thaw_end <= now.saturating_add(t.thaw_margin_secs) {
            return Err(Refusal::Thawing { thaw_end: escrow.thaw_end });
        }
        drop(book);
        // Advance atomically: a concurrent request of the same payer may have moved it.
        let mut served = self.served.lock().unwrap_or_else(|e| e.into_inner());
        let now_last = served.get(&v.payer).copied().unwrap_or_default();
        if now_last != last {
            let expected = now_last.saturating_add(t.price);
            if got <= now_last {
                return Err(Refusal::Stale { got, last: now_last, expected });
            }
            if got < expected {
                return Err(Refusal::Short { got, expected });
            }
        }
        served.insert(v.payer, got);
        drop(served);
        Ok(Accepted { voucher: sv, previous: now_last })
    }

    /// Undoes an accepted check whose request was not served (if nothing advanced since).
    pub fn release(&self, a: &Accepted) {
        let payer = a.voucher.voucher.payer;
        let mut served = self.served.lock().unwrap_or_else(|e| e.into_inner());
        if served.get(&payer) == Some(&a.voucher.voucher.cumulativeAmount) {
            if a.previous.is_zero() {
                served.remove(&payer);
            } else {
                served.insert(payer, a.previous);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::voucher::Voucher;
    use super::*;
    use alloy::signers::local::PrivateKeySigner;

    fn key(n: u8) -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&B256::from([n; 32])).unwrap()
    }

    fn terms() -> ServiceTerms {
        ServiceTerms {
            domain: VoucherDomain { chain_id: 31337, contract: Address::from([7; 20]) },
            provider: Address::from([2; 20]),
            token: Address::from([3; 20]),
            payout: Address::from([4; 20]),
            price: U256::from(10),
            thaw_margin_secs: 60,
        }
    }

    fn signed(t: &ServiceTerms, k: &PrivateKeySigner, payer: Address, amount: u64) -> Vec<u8> {
        let v = Voucher {
            payer,
            provider: t.provider,
            token: t.token,
            payout: t.payout,
            cumulativeAmount: U256::from(amount),
        };
        SignedVoucher::sign(t.domain, v, k).unwrap().to_bytes()
    }

    fn checker(deposit: u64) -> (VoucherChecker, PrivateKeySigner) {
        let c = VoucherChecker::new(terms(), []);
        let k = key(1);
        c.apply_events(&[EscrowEvent::Deposited {
            payer: k.address(),
            token: terms().token,
            amount: U256::from(deposit),
        }]);
        (c, k)
    }

    #[test]
    fn cumulative_vouchers_are_served_in_order_until_the_escrow_is_spent() {
        let (c, k) = checker(25);
        let t = terms();
        assert_eq!(c.check(None, 0), Err(Refusal::Missing { price: t.price }));
        let a = c.check(Some(&signed(&t, &k, k.address(), 10)), 0).unwrap();
        assert_eq!(a.earned(), U256::from(10));
        let again = c.check(Some(&signed(&t, &k, k.address(), 10)), 0).unwrap_err();
        assert_eq!(again.expected(), Some(U256::from(20)));
        assert_eq!(again.label(), "stale");
        assert_eq!(
            c.check(Some(&signed(&t, &k, k.address(), 15)), 0).unwrap_err().label(),
            "short"
        );
        c.check(Some(&signed(&t, &k, k.address(), 20)), 0).unwrap();
        let spent = c.check(Some(&signed(&t, &k, k.address(), 30)), 0).unwrap_err();
        assert_eq!(spent, Refusal::Insufficient { got: U256::from(30), coverable: U256::from(25) });
        assert_eq!(c.served(k.address()), U256::from(20));
    }

    #[test]
    fn wrong_parties_signers_and_domains_are_refused() {
        let (c, k) = checker(100);
        let t = terms();
        let mut other = t;
        other.provider = Address::from([9; 20]);
        assert_eq!(
            c.check(Some(&signed(&other, &k, k.address(), 10)), 0).unwrap_err().label(),
            "other_provider"
        );
        let mut other = t;
        other.domain.chain_id = 1;
        assert_eq!(
            c.check(Some(&signed(&other, &k, k.address(), 10)), 0).unwrap_err().label(),
            "other_domain"
        );
        let mut other = t;
        other.payout = Address::from([9; 20]);
        assert_eq!(
            c.check(Some(&signed(&other, &k, k.address(), 10)), 0).unwrap_err().label(),
            "other_terms"
        );
        // A hot key: unknown, then authorized, then revoked.
        let hot = key(5);
        let v = signed(&t, &hot, k.address(), 10);
        assert_eq!(c.check(Some(&v), 0).unwrap_err().label(), "unauthorized_signer");
        c.apply_events(&[EscrowEvent::SignerAuthorized {
            payer: k.address(),
            signer: hot.address(),
        }]);
        c.check(Some(&v), 0).unwrap();
        c.apply_events(&[EscrowEvent::SignerRevocationStarted {
            payer: k.address(),
            signer: hot.address(),
            revoke_at: 5,
        }]);
        // Still valid on chain until 5, but too soon to claim what this node would serve now.
        assert_eq!(
            c.check(Some(&signed(&t, &hot, k.address(), 20)), 0).unwrap_err().label(),
            "revoking_signer"
        );
        assert_eq!(
            c.check(Some(&signed(&t, &hot, k.address(), 20)), 5).unwrap_err().label(),
            "revoked_signer"
        );
        // A voucher signed by a stranger in the payer's name.
        let forged = signed(&t, &key(6), k.address(), 20);
        let mut sv = SignedVoucher::from_bytes(&forged).unwrap();
        sv.signer = k.address();
        assert_eq!(c.check(Some(&sv.to_bytes()), 0).unwrap_err().label(), "bad_signature");
        assert_eq!(c.check(Some(b"\xff\xff"), 0).unwrap_err().label(), "malformed");
        assert_eq!(c.served(k.address()), U256::from(10), "no refusal moved the amount");
    }

    #[test]
    fn a_thaw_ending_soon_refuses_and_release_undoes() {
        let (c, k) = checker(100);
        let t = terms();
        let a = c.check(Some(&signed(&t, &k, k.address(), 10)), 0).unwrap();
        c.release(&a);
        assert_eq!(c.served(k.address()), U256::ZERO);
        c.apply_events(&[EscrowEvent::ThawStarted {
            payer: k.address(),
            token: t.token,
            amount: U256::from(50),
            thaw_end: 100,
        }]);
        c.check(Some(&signed(&t, &k, k.address(), 10)), 0).unwrap();
        assert_eq!(
            c.check(Some(&signed(&t, &k, k.address(), 20)), 50).unwrap_err().label(),
            "thawing"
        );
    }

    #[test]
    fn a_strangers_voucher_learns_nothing_about_the_payer() {
        let (c, k) = checker(100);
        let t = terms();
        c.check(Some(&signed(&t, &k, k.address(), 10)), 0).unwrap();
        // A stranger signs in the payer's name with a stale amount and with one beyond the
        // escrow: both are refused for the signer alone, never with the payer's amounts.
        let stranger = key(6);
        for amount in [5, 10_000] {
            let r = c.check(Some(&signed(&t, &stranger, k.address(), amount)), 0).unwrap_err();
            assert_eq!(
                r,
                Refusal::UnauthorizedSigner { payer: k.address(), signer: stranger.address() }
            );
            assert_eq!(r.expected(), None, "no amount of the payer's in the answer");
        }
        // A forged signature claiming the payer as signer: refused before any state.
        let mut sv = SignedVoucher::from_bytes(&signed(&t, &stranger, k.address(), 5)).unwrap();
        sv.signer = k.address();
        assert_eq!(c.check(Some(&sv.to_bytes()), 0).unwrap_err().label(), "bad_signature");
    }
}
