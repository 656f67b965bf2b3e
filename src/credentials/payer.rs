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

/// Why the payment ledger cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Reading or writing the file failed.
    #[error("payment ledger {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a payment ledger.
    #[error("{path} is not a payment ledger: {source}")]
    Parse {
        /// The file.
        path: std::path::PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

/// One payer's running total with one provider, in one contract and token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LedgerEntry {
    /// The chain.
    pub chain_id: u64,
    /// The ServiceCredentials contract.
    pub contract: Address,
    /// The provider.
    pub provider: Address,
    /// The payer.
    pub payer: Address,
    /// The token.
    pub token: Address,
    /// The cumulative amount promised by the last served request.
    pub paid: U256,
}

impl LedgerEntry {
    fn same_stream(&self, t: &ProviderTerms, payer: Address) -> bool {
        (self.chain_id, self.contract, self.provider, self.payer, self.token)
            == (t.domain.chain_id, t.domain.contract, t.provider, payer, t.token)
    }
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct LedgerFile {
    #[serde(default)]
    streams: Vec<LedgerEntry>,
}

/// A client's running totals on disk (JSON, replaced atomically and durably), so a restarted
/// client signs its next voucher from where it left off.
#[derive(Debug)]
pub struct PaymentLedger {
    path: std::path::PathBuf,
    entries: Vec<LedgerEntry>,
}

impl PaymentLedger {
    /// Opens the ledger file (an absent file is an empty ledger).
    pub fn open(path: impl Into<std::path::PathBuf>) -> Result<Self, LedgerError> {
        let path = path.into();
        let file: LedgerFile = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|source| LedgerError::Parse { path: path.clone(), source })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => LedgerFile::default(),
            Err(source) => return Err(LedgerError::Io { path, source }),
        };
        Ok(PaymentLedger { path, entries: file.streams })
    }

    /// Every stream's total.
    pub fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }

    /// What `payer` has promised the provider of `terms` so far (zero when unknown).
    pub fn paid(&self, terms: &ProviderTerms, payer: Address) -> U256 {
        self.entries
            .iter()
            .find(|e| e.same_stream(terms, payer))
            .map(|e| e.paid)
            .unwrap_or_default()
    }

    /// Records the stream's total (durably, before returning).
    pub fn record(&mut self, stream: &PaymentStream) -> Result<(), LedgerError> {
        let (t, payer) = (stream.terms(), stream.payer());
        let mut entries = self.entries.clone();
        match entries.iter_mut().find(|e| e.same_stream(t, payer)) {
            Some(e) => e.paid = stream.paid(),
            None => entries.push(LedgerEntry {
                chain_id: t.domain.chain_id,
                contract: t.domain.contract,
                provider: t.provider,
                payer,
                token: t.token,
                paid: stream.paid(),
            }),
        }
        let body = serde_json::to_vec_pretty(&LedgerFile { streams: entries.clone() })
            .expect("plain data serializes");
        crate::files::write_atomic(&self.path, &body, false)
            .map_err(|source| LedgerError::Io { path: self.path.clone(), source })?;
        self.entries = entries;
        Ok(())
    }
}

#[cfg(test)]
mod ledger_tests {
    use super::*;
    use alloy::primitives::B256;

    fn terms(provider: u8) -> ProviderTerms {
        ProviderTerms {
            domain: VoucherDomain { chain_id: 31337, contract: Address::from([7; 20]) },
            provider: Address::from([provider; 20]),
            token: Address::from([3; 20]),
            payout: Address::from([4; 20]),
            price: U256::from(10),
        }
    }

    #[test]
    fn totals_survive_a_reopen_per_provider() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payments.json");
        let key = PrivateKeySigner::from_bytes(&B256::from([1; 32])).unwrap();
        let mut ledger = PaymentLedger::open(&path).unwrap();
        let mut a = PaymentStream::new(terms(2), key.address(), key.clone(), U256::ZERO);
        let v = a.next().unwrap();
        a.served(&v);
        ledger.record(&a).unwrap();
        let b = PaymentStream::new(terms(5), key.address(), key.clone(), U256::from(70));
        ledger.record(&b).unwrap();
        let ledger = PaymentLedger::open(&path).unwrap();
        assert_eq!(ledger.paid(&terms(2), key.address()), U256::from(10));
        assert_eq!(ledger.paid(&terms(5), key.address()), U256::from(70));
        assert_eq!(ledger.paid(&terms(9), key.address()), U256::ZERO);
        assert_eq!(ledger.entries().len(), 2);
        std::fs::write(&path, b"not json").unwrap();
        assert!(matches!(PaymentLedger::open(&path), Err(LedgerError::Parse { .. })));
    }
}
