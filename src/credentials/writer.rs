//! [`CredentialsWriter`]: transactions to the ServiceCredentials contract, signed by one key.
//! Payer side: deposit (approving first), authorize and revoke signers, thaw, withdraw. Provider
//! side: register the service, claim, claim many. A writer reads too (it dereferences to a
//! [`CredentialsReader`]); a missing signer is a type error, not a run-time one.

use std::ops::Deref;
use std::time::Duration;

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::network::Ethereum;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::DynProvider;
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolInterface;
use serde::Serialize;

use super::client::{voucher_call, CredentialsReader};
use super::error::CredentialsError;
use super::voucher::SignedVoucher;
use crate::chain::bindings::{ServiceCredentials, TestToken};
use crate::chain::{connect_provider, Contract};

type Result<T> = std::result::Result<T, CredentialsError>;

/// Parameters of a new ServiceCredentials deployment.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CredentialsConfig {
    /// Contract owner (sets the fee and the treasury).
    pub owner: Address,
    /// Receives the protocol fee.
    pub treasury: Address,
    /// Protocol fee in basis points (<= 1000).
    pub fee_bps: u16,
    /// Seconds between a thaw and the withdrawal.
    pub thaw_period: u64,
    /// Seconds a revoked signer stays valid.
    pub signer_thaw_period: u64,
}

/// A mined claim: what left the escrows, the fee of it, the transaction.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct ClaimReceipt {
    /// Paid out of the escrows (fee included).
    pub paid: U256,
    /// Of which to the treasury.
    pub fee: U256,
    /// The transaction.
    pub tx: B256,
    /// Its block.
    pub block: u64,
}

/// Transactions to one ServiceCredentials contract, signed by one key (cheap to clone).
#[derive(Clone, Debug)]
pub struct CredentialsWriter {
    reader: CredentialsReader,
    sender: Address,
    receipt_timeout: Duration,
}

/// A writer reads too.
impl Deref for CredentialsWriter {
    type Target = CredentialsReader;
    fn deref(&self) -> &CredentialsReader {
        &self.reader
    }
}

impl From<CredentialsWriter> for CredentialsReader {
    fn from(w: CredentialsWriter) -> Self {
        w.reader
    }
}

fn claim_receipt(r: &TransactionReceipt) -> ClaimReceipt {
    let (mut paid, mut fee) = (U256::ZERO, U256::ZERO);
    for l in r.inner.logs() {
        if let Ok(e) = l.log_decode::<ServiceCredentials::Claimed>() {
            paid += e.inner.data.paid;
            fee += e.inner.data.fee;
        }
    }
    ClaimReceipt { paid, fee, tx: r.transaction_hash, block: r.block_number.unwrap_or_default() }
}

impl CredentialsWriter {
    /// Connects to the contract at `contract`, signing with `signer` (checks the chain id when
    /// given, and that code is there).
    pub async fn connect(
        url: &str,
        signer: PrivateKeySigner,
        contract: Address,
        expected_chain_id: Option<u64>,
    ) -> Result<Self> {
        let sender = signer.address();
        let (provider, chain_id) = connect_provider(url, Some(signer), expected_chain_id).await?;
        Ok(Self::new(CredentialsReader::at(provider, chain_id, contract).await?, sender))
    }

    /// Deploys a ServiceCredentials contract and returns a writer of it, signing with `signer`.
    pub async fn deploy(
        url: &str,
        signer: PrivateKeySigner,
        config: CredentialsConfig,
    ) -> Result<Self> {
        let sender = signer.address();
        let (provider, chain_id) = connect_provider(url, Some(signer), None).await?;
        let c = ServiceCredentials::deploy(
            provider.clone(),
            config.owner,
            config.treasury,
            config.fee_bps,
            config.thaw_period,
            config.signer_thaw_period,
        )
        .await
        .map_err(|e| CredentialsError::from_credentials("deploy ServiceCredentials", e))?;
        let reader = CredentialsReader { provider, contract: *c.address(), chain_id };
        Ok(Self::new(reader, sender))
    }

    /// `reader`'s provider must sign for `sender`.
    fn new(reader: CredentialsReader, sender: Address) -> Self {
        CredentialsWriter { reader, sender, receipt_timeout: Duration::from_secs(300) }
    }

    /// How long to wait for a transaction to be mined (default 300 s).
    pub fn with_receipt_timeout(mut self, t: Duration) -> Self {
        self.receipt_timeout = t;
        self
    }

    /// The signer's address: the payer of its deposits, the provider of its claims.
    pub fn sender(&self) -> Address {
        self.sender
    }

    /// The reading half.
    pub fn reader(&self) -> &CredentialsReader {
        &self.reader
    }

    /// Sends a call to the contract and waits until it is mined; reverts are decoded against
    /// its errors.
    async fn mined<D: CallDecoder>(
        &self,
        call: &'static str,
        b: CallBuilder<&DynProvider, D, Ethereum>,
    ) -> Result<TransactionReceipt> {
        self.mined_on(Contract::Credentials, call, b).await
    }

    /// Sends a call to `contract` and waits until it is mined; reverts are decoded against
    /// `contract`'s errors.
    async fn mined_on<D: CallDecoder>(
        &self,
        contract: Contract,
        call: &'static str,
        b: CallBuilder<&DynProvider, D, Ethereum>,
    ) -> Result<TransactionReceipt> {
        let pending =
            b.send().await.map_err(|e| CredentialsError::from_contract(contract, call, e))?;
        let tx = *pending.tx_hash();
        Ok(crate::chain::wait_receipt(&self.provider, call, tx, self.receipt_timeout).await?)
    }

    // ------------------------------------------------------------------ payer side

    /// Deposits `amount` of `token` into the sender's escrow for `provider` (approving first).
    pub async fn deposit(&self, provider: Address, token: Address, amount: U256) -> Result<B256> {
        let me = self.sender;
        let t = TestToken::new(token, self.provider.clone());
        let allowance = t
            .allowance(me, self.contract)
            .call()
            .await
            .map_err(|e| CredentialsError::from_token("allowance", e))?;
        if allowance < amount {
            self.mined_on(Contract::Token, "approve", t.approve(self.contract, amount)).await?;
        }
        let r = self.mined("deposit", self.c().deposit(provider, token, amount)).await?;
        Ok(r.transaction_hash)
    }

    /// Authorizes a hot key to sign vouchers for the sender.
    pub async fn authorize_signer(&self, signer: Address) -> Result<B256> {
        Ok(self.mined("authorizeSigner", self.c().authorizeSigner(signer)).await?.transaction_hash)
    }

    /// Starts revoking a signer (valid until now + signerThawPeriod, never shorter than the thaw).
    pub async fn start_signer_revocation(&self, signer: Address) -> Result<B256> {
        Ok(self
            .mined("startSignerRevocation", self.c().startSignerRevocation(signer))
            .await?
            .transaction_hash)
    }

    /// Completes a revocation after its time.
    pub async fn revoke_signer(&self, signer: Address) -> Result<B256> {
        Ok(self.mined("revokeSigner", self.c().revokeSigner(signer)).await?.transaction_hash)
    }

    /// Starts (0: cancels) a thaw of the sender's escrow with `provider`.
    pub async fn thaw(&self, provider: Address, token: Address, amount: U256) -> Result<B256> {
        Ok(self.mined("thaw", self.c().thaw(provider, token, amount)).await?.transaction_hash)
    }

    /// Withdraws the thawed amount after the thaw; returns what came back.
    pub async fn withdraw(&self, provider: Address, token: Address) -> Result<U256> {
        let r = self.mined("withdraw", self.c().withdraw(provider, token)).await?;
        Ok(r.inner
            .logs()
            .iter()
            .find_map(|l| l.log_decode::<ServiceCredentials::Withdrawn>().ok())
            .map(|e| e.inner.data.amount)
            .unwrap_or_default())
    }

    /// The treasury pulls the protocol fees accrued in `token`; returns what it was paid.
    pub async fn withdraw_fees(&self, token: Address) -> Result<U256> {
        let r = self.mined("withdrawFees", self.c().withdrawFees(token)).await?;
        Ok(r.inner
            .logs()
            .iter()
            .find_map(|l| l.log_decode::<ServiceCredentials::FeesWithdrawn>().ok())
            .map(|e| e.inner.data.amount)
            .unwrap_or_default())
    }

    // ------------------------------------------------------------------ provider side

    /// Registers (or updates) the sender's service.
    pub async fn register_service(
        &self,
        service_id: u32,
        token: Address,
        price: U256,
        payout: Address,
    ) -> Result<B256> {
        Ok(self
            .mined("registerService", self.c().registerService(service_id, token, price, payout))
            .await?
            .transaction_hash)
    }

    /// Claims one voucher (up to `max_amount`).
    pub async fn claim(&self, v: &SignedVoucher, max_amount: U256) -> Result<ClaimReceipt> {
        let sig = Bytes::copy_from_slice(&v.signature);
        let r = self.mined("claim", self.c().claim(voucher_call(v), sig, max_amount)).await?;
        Ok(claim_receipt(&r))
    }

    /// Claims many vouchers (same token and payout) in one transaction. A voucher the contract
    /// refuses (a revoked signer, another token or payout) is skipped by the contract and logged
    /// here; the others are paid.
    pub async fn claim_many(&self, vs: &[SignedVoucher]) -> Result<ClaimReceipt> {
        let calls: Vec<_> = vs.iter().map(voucher_call).collect();
        let sigs: Vec<Bytes> = vs.iter().map(|v| Bytes::copy_from_slice(&v.signature)).collect();
        let r = self.mined("claimMany", self.c().claimMany(calls, sigs)).await?;
        for l in r.inner.logs() {
            if let Ok(e) = l.log_decode::<ServiceCredentials::VoucherSkipped>() {
                let reason =
                    ServiceCredentials::ServiceCredentialsErrors::abi_decode(&e.inner.data.reason)
                        .map(|e| format!("{e:?}"))
                        .unwrap_or_else(|_| alloy::hex::encode(&e.inner.data.reason));
                let payer = usize::try_from(e.inner.data.index)
                    .ok()
                    .and_then(|i| vs.get(i))
                    .map(|v| v.voucher.payer);
                tracing::warn!(index = %e.inner.data.index, ?payer, %reason, "claimMany skipped a voucher the contract refuses");
            }
        }
        Ok(claim_receipt(&r))
    }
}
