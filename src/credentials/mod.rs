//! Service credentials (issue 12): operators are paid per request with signed cumulative vouchers
//! against an escrow in the ServiceCredentials contract (SVC-ABI.md).
//!
//! - [`voucher`]: the EIP-712 voucher, its wire form, signing and the signature check;
//! - [`escrow`]: the escrow state kept in memory from the contract's events;
//! - [`check`]: the provider's per-request check (no RPC, no disk);
//! - [`payer`]: the client's running total, the next voucher, and its ledger on disk;
//! - [`store`]: served vouchers on disk (redb), so a restart loses no money;
//! - [`error`]: [`CredentialsError`], the client's errors (reverts decoded against the contract);
//! - [`client`]: reads of the contract over JSON-RPC (services, escrows, events), no signer;
//! - [`writer`]: its transactions (deposit, signers, thaw, withdraw, claim), a signer required;
//! - [`claimer`]: events into the book, served vouchers redeemed in batches;
//! - [`provider`]: the operator's paid service assembled (registration, store, checker, claimer).

pub mod check;
pub mod claimer;
pub mod client;
pub mod error;
pub mod escrow;
pub mod payer;
pub mod provider;
pub mod store;
pub mod voucher;
pub mod writer;

/// The contract's custom errors, as [`CredentialsError::credentials_error`] returns them.
pub use crate::chain::ServiceCredentialsErrors;
pub use check::{Accepted, Refusal, ServiceTerms, VoucherChecker};
pub use claimer::{ClaimError, ClaimPolicy, Claimer};
pub use client::{CredentialsReader, EscrowInfo, LIGHTPUSH_SERVICE_ID};
pub use error::CredentialsError;
pub use escrow::{Escrow, EscrowBook, EscrowEvent, SignerStatus};
pub use payer::{LedgerEntry, LedgerError, PaymentLedger, PaymentStream, ProviderTerms};
pub use provider::{Offer, PaidService};
pub use store::{StoreError, VoucherStore};
pub use voucher::{KeyCache, SignedVoucher, Voucher, VoucherDomain, VoucherError};
pub use writer::{ClaimReceipt, CredentialsConfig, CredentialsWriter};
