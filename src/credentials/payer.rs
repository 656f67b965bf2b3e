//! The paying client's side of a voucher stream: what it owes a provider so far, the next voucher
//! to sign, and the correction a 402 asks for.

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;

use super::voucher::{SignedVoucher, Voucher, VoucherDomain, VoucherError};

/// A provider's terms as the client sees them (from `service(provider, id)` on chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderTerms {
    /// The contract and chain.
    pub domain: VoucherDomain,
    /// The provider.
    pub provider: Address,
    /// The token it is paid in.
    pub token: Address,
    /// Its payout address (signed into the voucher).
    pub payout: Address,
    /// Price per request.
    pub price: U256,
}

/// A payer's running total with one provider; signs vouchers with the payer's key or a hot key.
#[derive(Debug, Clone)]
pub struct PaymentStream {
    terms: ProviderTerms,
    payer: Address,
    key: PrivateKeySigner,
    paid: U256,
}

impl PaymentStream {
    /// A stream for `payer` (signing with `key`, the payer's own or an authorized signer's) that
    /// has already promised `paid` in total.
    pub fn new(terms: ProviderTerms, payer: Address, key: PrivateKeySigner, paid: U256) -> Self {
        PaymentStream { terms, payer, key, paid }
    }

    /// The terms.
    pub fn terms(&self) -> &ProviderTerms {
        &self.terms
    }

    /// The payer.
    pub fn payer(&self) -> Address {
        self.payer
    }

    /// The cumulative amount promised by the last served request.
    pub fn paid(&self) -> U256 {
        self.paid
    }

    /// Signs a voucher for a cumulative amount.
    pub fn sign(&self, cumulative: U256) -> Result<SignedVoucher, VoucherError> {
        let v = Voucher {
            payer: self.payer,
            provider: self.terms.provider,
            token: self.terms.token,
            payout: self.terms.payout,
            cumulativeAmount: cumulative,
        };
        SignedVoucher::sign(self.terms.domain, v, &self.key)
    }

    /// The voucher for one more request: paid + price.
    pub fn next(&self) -> Result<SignedVoucher, VoucherError> {
        self.sign(self.paid.saturating_add(self.terms.price))
    }

    /// Whether a correction to `expected` is one this client accepts: at most one price above
    /// what it believes it paid (a node cannot make it sign for requests it did not make).
    pub fn acceptable_correction(&self, expected: U256) -> bool {
        if expected <= self.paid {
            return false;
        }
        // A fresh client (no record) trusts the node's count; otherwise at most one request more.
        self.paid.is_zero()
            || expected <= self.paid.saturating_add(self.terms.price.saturating_mul(U256::from(2)))
    }

    /// Records a served request paid with `v`.
    pub fn served(&mut self, v: &SignedVoucher) {
        self.paid = self.paid.max(v.voucher.cumulativeAmount);
    }

    /// Adopts the node's record of what was paid (`expected - price`), after a corrective 402.
    pub fn resync(&mut self, expected: U256) {
        self.paid = expected.saturating_sub(self.terms.price);
    }
}
