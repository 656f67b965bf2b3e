//! [`CredentialsReader`]: reads of the ServiceCredentials contract over JSON-RPC (alloy, `sol!`
//! bindings from `contracts/artifacts/ServiceCredentials.json`): services, escrows, signers, the
//! fee, balances, and the contract's events as [`EscrowEvent`]s. It needs no signer; transactions
//! (deposit, signers, thaw, withdraw, register, claim) are
//! [`CredentialsWriter`](super::CredentialsWriter)'s, which cannot be built without one.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use serde::Serialize;

use super::error::CredentialsError;
use super::escrow::EscrowEvent;
use super::payer::ProviderTerms;
use super::voucher::{SignedVoucher, VoucherDomain};
use crate::chain::bindings::{IServiceCredentials, ServiceCredentials, TestToken};
use crate::chain::{connect_provider, RpcError};

type Result<T> = std::result::Result<T, CredentialsError>;

/// The lightpush service id in `registerService`.
pub const LIGHTPUSH_SERVICE_ID: u32 = 1;

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

/// Reads of one ServiceCredentials contract over JSON-RPC. Needs no signer; cheap to clone.
///
/// It has no transaction methods: sending one takes a
/// [`CredentialsWriter`](super::CredentialsWriter).
///
/// ```compile_fail
/// use rlnkit::chain::{Address, U256};
/// async fn f(r: rlnkit::credentials::CredentialsReader) {
///     let _ = r.deposit(Address::ZERO, Address::ZERO, U256::ZERO).await;
/// }
/// ```
#[derive(Clone, Debug)]
pub struct CredentialsReader {
    pub(super) provider: DynProvider,
    pub(super) contract: Address,
    pub(super) chain_id: u64,
}

pub(super) fn voucher_call(v: &SignedVoucher) -> IServiceCredentials::Voucher {
    let x = &v.voucher;
    IServiceCredentials::Voucher {
        payer: x.payer,
        provider: x.provider,
        token: x.token,
        payout: x.payout,
        cumulativeAmount: x.cumulativeAmount,
    }
}

impl CredentialsReader {
    /// Connects to the contract at `contract`, checking the chain id (when given) and that code
    /// is there.
    pub async fn connect(
        url: &str,
        contract: Address,
        expected_chain_id: Option<u64>,
    ) -> Result<Self> {
        let (provider, chain_id) = connect_provider(url, None, expected_chain_id).await?;
        Self::at(provider, chain_id, contract).await
    }

    /// A reader of the contract at `contract` through an existing provider (checks for code).
    pub(super) async fn at(
        provider: DynProvider,
        chain_id: u64,
        contract: Address,
    ) -> Result<Self> {
        let code = provider
            .get_code_at(contract)
            .await
            .map_err(|e| RpcError::transport("eth_getCode", e))?;
        if code.is_empty() {
            return Err(RpcError::NoContract { address: contract, chain_id }.into());
        }
        Ok(CredentialsReader { provider, contract, chain_id })
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

    pub(super) fn c(&self) -> ServiceCredentials::ServiceCredentialsInstance<DynProvider> {
        ServiceCredentials::new(self.contract, self.provider.clone())
    }

    // ------------------------------------------------------------------ reads

    /// A provider's service terms (`service(provider, id)`) as a client needs them.
    pub async fn service(&self, provider: Address, service_id: u32) -> Result<ProviderTerms> {
        let r = self
            .c()
            .service(provider, service_id)
            .call()
            .await
            .map_err(|e| CredentialsError::from_credentials("service", e))?;
        if r.token == Address::ZERO {
            return Err(CredentialsError::NoService { provider, service_id });
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
            .map_err(|e| CredentialsError::from_credentials("escrow", e))?;
        let collected = self
            .c()
            .collected(payer, provider, token)
            .call()
            .await
            .map_err(|e| CredentialsError::from_credentials("collected", e))?;
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
            .map_err(|e| CredentialsError::from_credentials("isAuthorized", e))
    }

    /// The protocol fee (basis points) and the treasury.
    pub async fn fee(&self) -> Result<(u16, Address)> {
        let bps = self
            .c()
            .feeBps()
            .call()
            .await
            .map_err(|e| CredentialsError::from_credentials("feeBps", e))?;
        let t = self
            .c()
            .treasury()
            .call()
            .await
            .map_err(|e| CredentialsError::from_credentials("treasury", e))?;
        Ok((bps, t))
    }

    /// Protocol fees credited to the treasury in `token` and not pulled yet (`withdrawFees`).
    pub async fn accrued_fees(&self, token: Address) -> Result<U256> {
        self.c()
            .accruedFees(token)
            .call()
            .await
            .map_err(|e| CredentialsError::from_credentials("accruedFees", e))
    }

    /// The contract's EIP-712 digest of a voucher (to cross-check the local one).
    pub async fn hash_voucher(&self, v: &SignedVoucher) -> Result<B256> {
        self.c()
            .hashVoucher(voucher_call(v))
            .call()
            .await
            .map_err(|e| CredentialsError::from_credentials("hashVoucher", e))
    }

    /// ERC20 balance.
    pub async fn token_balance(&self, token: Address, holder: Address) -> Result<U256> {
        TestToken::new(token, self.provider.clone())
            .balanceOf(holder)
            .call()
            .await
            .map_err(|e| CredentialsError::from_token("balanceOf", e))
    }

    /// The latest block number.
    pub async fn block_number(&self) -> Result<u64> {
        self.provider
            .get_block_number()
            .await
            .map_err(|e| RpcError::transport("eth_blockNumber", e).into())
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
            .map_err(|e| RpcError::transport("eth_getLogs", e))?;
        logs.extend(
            self.provider
                .get_logs(&signers)
                .await
                .map_err(|e| RpcError::transport("eth_getLogs", e))?,
        );
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        let mut out = Vec::with_capacity(logs.len());
        for l in &logs {
            let bad = |event: &'static str| {
                move |e: alloy::sol_types::Error| CredentialsError::BadEvent {
                    event,
                    block: l.block_number,
                    source: Box::new(e),
                }
            };
            let t0 = l.topic0().copied().unwrap_or_default();
            let ev = if t0 == S::Deposited::SIGNATURE_HASH {
                let e = l.log_decode::<S::Deposited>().map_err(bad("Deposited"))?.inner.data;
                EscrowEvent::Deposited { payer: e.payer, token: e.token, amount: e.amount }
            } else if t0 == S::ThawStarted::SIGNATURE_HASH {
                let e = l.log_decode::<S::ThawStarted>().map_err(bad("ThawStarted"))?.inner.data;
                EscrowEvent::ThawStarted {
                    payer: e.payer,
                    token: e.token,
                    amount: e.amount,
                    thaw_end: e.thawEnd,
                }
            } else if t0 == S::Withdrawn::SIGNATURE_HASH {
                let e = l.log_decode::<S::Withdrawn>().map_err(bad("Withdrawn"))?.inner.data;
                EscrowEvent::Withdrawn { payer: e.payer, token: e.token, amount: e.amount }
            } else if t0 == S::Claimed::SIGNATURE_HASH {
                let e = l.log_decode::<S::Claimed>().map_err(bad("Claimed"))?.inner.data;
                EscrowEvent::Claimed {
                    payer: e.payer,
                    token: e.token,
                    paid: e.paid,
                    collected: e.collected,
                }
            } else if t0 == S::SignerAuthorized::SIGNATURE_HASH {
                let e = l
                    .log_decode::<S::SignerAuthorized>()
                    .map_err(bad("SignerAuthorized"))?
                    .inner
                    .data;
                EscrowEvent::SignerAuthorized { payer: e.payer, signer: e.signer }
            } else if t0 == S::SignerRevocationStarted::SIGNATURE_HASH {
                let e = l
                    .log_decode::<S::SignerRevocationStarted>()
                    .map_err(bad("SignerRevocationStarted"))?
                    .inner
                    .data;
                EscrowEvent::SignerRevocationStarted {
                    payer: e.payer,
                    signer: e.signer,
                    revoke_at: e.revokeAt,
                }
            } else if t0 == S::SignerRevoked::SIGNATURE_HASH {
                let e =
                    l.log_decode::<S::SignerRevoked>().map_err(bad("SignerRevoked"))?.inner.data;
                EscrowEvent::SignerRevoked { payer: e.payer, signer: e.signer }
            } else {
                continue;
            };
            out.push(ev);
        }
        Ok(out)
    }
}
