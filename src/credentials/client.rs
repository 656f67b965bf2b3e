//! [`CredentialsClient`]: the ServiceCredentials contract over JSON-RPC (alloy, `sol!` bindings
//! from `contracts/artifacts/ServiceCredentials.json`). Payer side: deposit (approving first),
//! authorize and revoke signers, thaw, withdraw, balances. Provider side: register the service,
//! claim, claim many, and read the contract's events into [`EscrowEvent`]s.

use std::time::Duration;

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::network::Ethereum;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, Log, TransactionReceipt};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use serde::Serialize;

use super::escrow::EscrowEvent;
use super::payer::ProviderTerms;
use super::voucher::{SignedVoucher, VoucherDomain};
use crate::chain::bindings::{IServiceCredentials, ServiceCredentials, TestToken};
use crate::chain::{connect_provider, ChainError};

type Result<T> = std::result::Result<T, ChainError>;

/// The lightpush service id in `registerService`.
pub const LIGHTPUSH_SERVICE_ID: u32 = 1;

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

/// An escrow as the contract reports it.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct EscrowInfo {
    /// Tokens held.
    pub balance: U256,
    /// Amount thawing.
    pub thaw_amount: U256,
    /// When the thaw ends (unix seconds, 0: none).
    pub thaw_end: u64,
    /// What the provider collected so far.
    pub collected: U256,
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

/// Client of one ServiceCredentials contract. Reads need no signer; transactions do.
#[derive(Clone, Debug)]
pub struct CredentialsClient {
    provider: DynProvider,
    contract: Address,
    sender: Option<Address>,
    chain_id: u64,
    receipt_timeout: Duration,
}

fn voucher_call(v: &SignedVoucher) -> IServiceCredentials::Voucher {
    let x = &v.voucher;
    IServiceCredentials::Voucher {
        payer: x.payer,
        provider: x.provider,
        token: x.token,
        payout: x.payout,
        cumulativeAmount: x.cumulativeAmount,
    }
}

impl CredentialsClient {
    /// Connects to the contract at `contract` (checks that code is there).
    pub async fn connect(
        url: &str,
        signer: Option<PrivateKeySigner>,
        contract: Address,
        expected_chain_id: Option<u64>,
    ) -> Result<Self> {
        let sender = signer.as_ref().map(|s| s.address());
        let (provider, chain_id) = connect_provider(url, signer, expected_chain_id).await?;
        let code =
            provider.get_code_at(contract).await.map_err(|e| ChainError::rpc("eth_getCode", e))?;
        if code.is_empty() {
            return Err(ChainError::NoContract { address: contract, chain_id });
        }
        Ok(CredentialsClient {
            provider,
            contract,
            sender,
            chain_id,
            receipt_timeout: Duration::from_secs(300),
        })
    }

    /// Deploys a ServiceCredentials contract and returns a client of it.
    pub async fn deploy(
        url: &str,
        signer: PrivateKeySigner,
        config: CredentialsConfig,
    ) -> Result<Self> {
        let sender = Some(signer.address());
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
        .map_err(|e| ChainError::from_contract("deploy ServiceCredentials", e))?;
        Ok(CredentialsClient {
            provider,
            contract: *c.address(),
            sender,
            chain_id,
            receipt_timeout: Duration::from_secs(300),
        })
    }

    /// The contract's address.
    pub fn address(&self) -> Address {
        self.contract
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The voucher domain of this contract.
    pub fn domain(&self) -> VoucherDomain {
        VoucherDomain { chain_id: self.chain_id, contract: self.contract }
    }

    /// The signer's address, if any.
    pub fn sender(&self) -> Option<Address> {
        self.sender
    }

    fn c(&self) -> ServiceCredentials::ServiceCredentialsInstance<DynProvider> {
        ServiceCredentials::new(self.contract, self.provider.clone())
    }

    fn signer(&self, call: &'static str) -> Result<Address> {
        self.sender.ok_or(ChainError::ReadOnly { call })
    }

    async fn mined<D: CallDecoder>(
        &self,
        call: &'static str,
        b: CallBuilder<&DynProvider, D, Ethereum>,
    ) -> Result<TransactionReceipt> {
        let pending = b.send().await.map_err(|e| ChainError::from_contract(call, e))?;
        let tx = *pending.tx_hash();
        crate::chain::wait_receipt(&self.provider, call, tx, self.receipt_timeout).await
    }

    // ------------------------------------------------------------------ reads

    /// A provider's service terms (`service(provider, id)`) as a client needs them.
    pub async fn service(&self, provider: Address, service_id: u32) -> Result<ProviderTerms> {
        let r = self
            .c()
            .service(provider, service_id)
            .call()
            .await
            .map_err(|e| ChainError::from_contract("service", e))?;
        if r.token == Address::ZERO {
            return Err(ChainError::NoService { provider, service_id });
        }
        Ok(ProviderTerms {
            domain: self.domain(),
            provider,
            token: r.token,
            payout: r.payout,
            price: r.pricePerRequest,
        })
    }

    /// The escrow of (payer, provider, token) and what was collected from it.
    pub async fn escrow(
        &self,
        payer: Address,
        provider: Address,
        token: Address,
    ) -> Result<EscrowInfo> {
        let e = self
            .c()
            .escrow(payer, provider, token)
            .call()
            .await
            .map_err(|e| ChainError::from_contract("escrow", e))?;
        let collected = self
            .c()
            .collected(payer, provider, token)
            .call()
            .await
            .map_err(|e| ChainError::from_contract("collected", e))?;
        Ok(EscrowInfo {
            balance: e.balance,
            thaw_amount: e.thawAmount,
            thaw_end: e.thawEnd,
            collected,
        })
    }

    /// Whether `signer` may sign for `payer` now.
    pub async fn is_authorized(&self, payer: Address, signer: Address) -> Result<bool> {
        self.c()
            .isAuthorized(payer, signer)
            .call()
            .await
            .map_err(|e| ChainError::from_contract("isAuthorized", e))
    }

    /// The protocol fee (basis points) and the treasury.
    pub async fn fee(&self) -> Result<(u16, Address)> {
        let bps =
            self.c().feeBps().call().await.map_err(|e| ChainError::from_contract("feeBps", e))?;
        let t = self
            .c()
            .treasury()
            .call()
            .await
            .map_err(|e| ChainError::from_contract("treasury", e))?;
        Ok((bps, t))
    }

    /// The contract's EIP-712 digest of a voucher (to cross-check the local one).
    pub async fn hash_voucher(&self, v: &SignedVoucher) -> Result<B256> {
        self.c()
            .hashVoucher(voucher_call(v))
            .call()
            .await
            .map_err(|e| ChainError::from_contract("hashVoucher", e))
    }

    /// ERC20 balance.
    pub async fn token_balance(&self, token: Address, holder: Address) -> Result<U256> {
        TestToken::new(token, self.provider.clone())
            .balanceOf(holder)
            .call()
            .await
            .map_err(|e| ChainError::from_contract("balanceOf", e))
    }

    /// The latest block number.
    pub async fn block_number(&self) -> Result<u64> {
        self.provider.get_block_number().await.map_err(|e| ChainError::rpc("eth_blockNumber", e))
    }

    /// The escrow events of `provider` (and every signer event) in blocks `from..=to`, in chain order.
    pub async fn escrow_events(
        &self,
        provider: Address,
        from: u64,
        to: u64,
    ) -> Result<Vec<EscrowEvent>> {
        use ServiceCredentials as S;
        let by_provider = Filter::new()
            .address(self.contract)
            .from_block(from)
            .to_block(to)
            .event_signature(vec![
                S::Deposited::SIGNATURE_HASH,
                S::ThawStarted::SIGNATURE_HASH,
                S::Withdrawn::SIGNATURE_HASH,
                S::Claimed::SIGNATURE_HASH,
            ])
            .topic2(provider.into_word());
        let signers =
            Filter::new().address(self.contract).from_block(from).to_block(to).event_signature(
                vec![
                    S::SignerAuthorized::SIGNATURE_HASH,
                    S::SignerRevocationStarted::SIGNATURE_HASH,
                    S::SignerRevoked::SIGNATURE_HASH,
                ],
            );
        let mut logs: Vec<Log> = self
            .provider
            .get_logs(&by_provider)
            .await
            .map_err(|e| ChainError::rpc("eth_getLogs", e))?;
        logs.extend(
            self.provider
                .get_logs(&signers)
                .await
                .map_err(|e| ChainError::rpc("eth_getLogs", e))?,
        );
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        let mut out = Vec::with_capacity(logs.len());
        for l in &logs {
            let bad = |e: alloy::sol_types::Error| ChainError::UndecodableLog {
                contract: "ServiceCredentials",
                source: e,
            };
            let t0 = l.topic0().copied().unwrap_or_default();
            let ev = if t0 == S::Deposited::SIGNATURE_HASH {
                let e = l.log_decode::<S::Deposited>().map_err(bad)?.inner.data;
                EscrowEvent::Deposited { payer: e.payer, token: e.token, amount: e.amount }
            } else if t0 == S::ThawStarted::SIGNATURE_HASH {
                let e = l.log_decode::<S::ThawStarted>().map_err(bad)?.inner.data;
                EscrowEvent::ThawStarted {
                    payer: e.payer,
                    token: e.token,
                    amount: e.amount,
                    thaw_end: e.thawEnd,
                }
            } else if t0 == S::Withdrawn::SIGNATURE_HASH {
                let e = l.log_decode::<S::Withdrawn>().map_err(bad)?.inner.data;
                EscrowEvent::Withdrawn { payer: e.payer, token: e.token, amount: e.amount }
            } else if t0 == S::Claimed::SIGNATURE_HASH {
                let e = l.log_decode::<S::Claimed>().map_err(bad)?.inner.data;
                EscrowEvent::Claimed {
                    payer: e.payer,
                    token: e.token,
                    paid: e.paid,
                    collected: e.collected,
                }
            } else if t0 == S::SignerAuthorized::SIGNATURE_HASH {
                let e = l.log_decode::<S::SignerAuthorized>().map_err(bad)?.inner.data;
                EscrowEvent::SignerAuthorized { payer: e.payer, signer: e.signer }
            } else if t0 == S::SignerRevocationStarted::SIGNATURE_HASH {
                let e = l.log_decode::<S::SignerRevocationStarted>().map_err(bad)?.inner.data;
                EscrowEvent::SignerRevocationStarted {
                    payer: e.payer,
                    signer: e.signer,
                    revoke_at: e.revokeAt,
                }
            } else if t0 == S::SignerRevoked::SIGNATURE_HASH {
                let e = l.log_decode::<S::SignerRevoked>().map_err(bad)?.inner.data;
                EscrowEvent::SignerRevoked { payer: e.payer, signer: e.signer }
            } else {
                continue;
            };
            out.push(ev);
        }
        Ok(out)
    }

    // ------------------------------------------------------------------ payer side

    /// Deposits `amount` of `token` into the sender's escrow for `provider` (approving first).
    pub async fn deposit(&self, provider: Address, token: Address, amount: U256) -> Result<B256> {
        let me = self.signer("deposit")?;
        let t = TestToken::new(token, self.provider.clone());
        let allowance = t
            .allowance(me, self.contract)
            .call()
            .await
            .map_err(|e| ChainError::from_contract("allowance", e))?;
        if allowance < amount {
            self.mined("approve", t.approve(self.contract, amount)).await?;
        }
        let r = self.mined("deposit", self.c().deposit(provider, token, amount)).await?;
        Ok(r.transaction_hash)
    }

    /// Authorizes a hot key to sign vouchers for the sender.
    pub async fn authorize_signer(&self, signer: Address) -> Result<B256> {
        self.signer("authorizeSigner")?;
        Ok(self.mined("authorizeSigner", self.c().authorizeSigner(signer)).await?.transaction_hash)
    }

    /// Starts revoking a signer (valid until now + signerThawPeriod).
    pub async fn start_signer_revocation(&self, signer: Address) -> Result<B256> {
        self.signer("startSignerRevocation")?;
        Ok(self
            .mined("startSignerRevocation", self.c().startSignerRevocation(signer))
            .await?
            .transaction_hash)
    }

    /// Completes a revocation after its time.
    pub async fn revoke_signer(&self, signer: Address) -> Result<B256> {
        self.signer("revokeSigner")?;
        Ok(self.mined("revokeSigner", self.c().revokeSigner(signer)).await?.transaction_hash)
    }

    /// Starts (0: cancels) a thaw of the sender's escrow with `provider`.
    pub async fn thaw(&self, provider: Address, token: Address, amount: U256) -> Result<B256> {
        self.signer("thaw")?;
        Ok(self.mined("thaw", self.c().thaw(provider, token, amount)).await?.transaction_hash)
    }

    /// Withdraws the thawed amount after the thaw; returns what came back.
    pub async fn withdraw(&self, provider: Address, token: Address) -> Result<U256> {
        self.signer("withdraw")?;
        let r = self.mined("withdraw", self.c().withdraw(provider, token)).await?;
        Ok(r.inner
            .logs()
            .iter()
            .find_map(|l| l.log_decode::<ServiceCredentials::Withdrawn>().ok())
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
        self.signer("registerService")?;
        Ok(self
            .mined("registerService", self.c().registerService(service_id, token, price, payout))
            .await?
            .transaction_hash)
    }

    fn claim_receipt(r: &TransactionReceipt) -> ClaimReceipt {
        let (mut paid, mut fee) = (U256::ZERO, U256::ZERO);
        for l in r.inner.logs() {
            if let Ok(e) = l.log_decode::<ServiceCredentials::Claimed>() {
                paid += e.inner.data.paid;
                fee += e.inner.data.fee;
            }
        }
        ClaimReceipt {
            paid,
            fee,
            tx: r.transaction_hash,
            block: r.block_number.unwrap_or_default(),
        }
    }

    /// Claims one voucher (up to `max_amount`).
    pub async fn claim(&self, v: &SignedVoucher, max_amount: U256) -> Result<ClaimReceipt> {
        self.signer("claim")?;
        let sig = Bytes::copy_from_slice(&v.signature);
        let r = self.mined("claim", self.c().claim(voucher_call(v), sig, max_amount)).await?;
        Ok(Self::claim_receipt(&r))
    }

    /// Claims many vouchers (same token and payout) in one transaction.
    pub async fn claim_many(&self, vs: &[SignedVoucher]) -> Result<ClaimReceipt> {
        self.signer("claimMany")?;
        let calls: Vec<_> = vs.iter().map(voucher_call).collect();
        let sigs: Vec<Bytes> = vs.iter().map(|v| Bytes::copy_from_slice(&v.signature)).collect();
        let r = self.mined("claimMany", self.c().claimMany(calls, sigs)).await?;
        Ok(Self::claim_receipt(&r))
    }
}
