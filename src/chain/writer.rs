//! [`MembershipWriter`]: transactions to one membership registry, signed by its key. A writer
//! reads too (it dereferences to a [`MembershipReader`]); a missing signer is a type error, not a
//! run-time one.

use std::ops::Deref;
use std::time::Duration;

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::eips::BlockNumberOrTag;
use alloy::network::Ethereum;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use serde::Serialize;

use super::bindings::{RlnMembership, TestToken};
use super::client::{connect_provider, field_to_u256, u256_to_field, MembershipReader};
use super::error::{RegistryError, RpcError};
use super::revert::Contract;
use crate::field::Field;
use crate::incentives::{slash_commitment, SlashCommit, Slashed};

type Result<T> = std::result::Result<T, RegistryError>;

/// Registrations `register_many` sends before waiting for their receipts (fewer when a block
/// cannot hold that many).
const REGISTER_WINDOW: usize = 200;

/// A mined registration.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Registration {
    /// The leaf index.
    pub index: u32,
    /// The leaf: Poseidon(id_commitment, rate_limit).
    pub rate_commitment: Field,
    /// The transaction.
    pub tx: B256,
    /// Its block.
    pub block: u64,
    /// The deposit paid.
    pub deposit: U256,
    /// The deposit token.
    pub token: Address,
}

/// Gas, fees, first nonce and window size of a bulk registration.
pub(super) struct BulkPlan {
    pub(super) gas: u64,
    pub(super) max_fee: u128,
    pub(super) priority_fee: u128,
    pub(super) nonce: u64,
    pub(super) window: usize,
}

/// Transactions to one membership registry, signed by one key (cheap to clone).
#[derive(Clone, Debug)]
pub struct MembershipWriter {
    reader: MembershipReader,
    sender: Address,
    receipt_timeout: Duration,
}

impl From<MembershipWriter> for MembershipReader {
    fn from(w: MembershipWriter) -> Self {
        w.reader
    }
}

impl From<&MembershipWriter> for MembershipReader {
    fn from(w: &MembershipWriter) -> Self {
        w.reader.clone()
    }
}

/// A writer reads too.
impl Deref for MembershipWriter {
    type Target = MembershipReader;
    fn deref(&self) -> &MembershipReader {
        &self.reader
    }
}

impl MembershipWriter {
    /// Connects to the registry at `registry`, signing with `signer`.
    pub async fn connect(
        url: &str,
        signer: PrivateKeySigner,
        registry: Address,
        expected_chain_id: Option<u64>,
    ) -> Result<Self> {
        let sender = signer.address();
        let (provider, chain_id) = connect_provider(url, Some(signer), expected_chain_id).await?;
        Ok(Self::new(MembershipReader::at(provider, chain_id, registry).await?, sender))
    }

    /// `reader`'s provider must sign for `sender`.
    pub(super) fn new(reader: MembershipReader, sender: Address) -> Self {
        MembershipWriter { reader, sender, receipt_timeout: Duration::from_secs(300) }
    }

    /// How long to wait for a transaction to be mined (default 300 s).
    pub fn with_receipt_timeout(mut self, t: Duration) -> Self {
        self.receipt_timeout = t;
        self
    }

    /// The signer's address.
    pub fn sender(&self) -> Address {
        self.sender
    }

    /// The reading half.
    pub fn reader(&self) -> &MembershipReader {
        &self.reader
    }

    /// Waits for a transaction's receipt, polling quickly at first (local chains mine at once).
    pub(super) async fn wait_receipt(
        &self,
        call: &'static str,
        tx: B256,
    ) -> std::result::Result<TransactionReceipt, RpcError> {
        super::client::wait_receipt(&self.provider, call, tx, self.receipt_timeout).await
    }

    /// Sends a call to the registry and waits until it is mined; reverts are decoded against
    /// the registry's errors.
    pub(crate) async fn mined<D: CallDecoder>(
        &self,
        call: &'static str,
        b: CallBuilder<&DynProvider, D, Ethereum>,
    ) -> Result<TransactionReceipt> {
        self.mined_on(Contract::Registry, call, b).await
    }

    /// Sends a call to `contract` and waits until it is mined; reverts are decoded against
    /// `contract`'s errors.
    pub(crate) async fn mined_on<D: CallDecoder>(
        &self,
        contract: Contract,
        call: &'static str,
        b: CallBuilder<&DynProvider, D, Ethereum>,
    ) -> Result<TransactionReceipt> {
        let pending =
            b.send().await.map_err(|e| RegistryError::from_contract(contract, call, e))?;
        Ok(self.wait_receipt(call, *pending.tx_hash()).await?)
    }

    /// Approves `amount` of the deposit token unless the allowance already covers it.
    async fn ensure_allowance(&self, token: Address, amount: U256) -> Result<()> {
        let me = self.sender;
        let t = TestToken::new(token, self.provider.clone());
        let allowance = t
            .allowance(me, self.registry)
            .call()
            .await
            .map_err(|e| RegistryError::from_token("allowance", e))?;
        if allowance < amount {
            self.mined_on(Contract::Token, "approve", t.approve(self.registry, amount)).await?;
        }
        Ok(())
    }

    /// Registers a membership (approving the deposit first if needed), after erasing
    /// `erase_first` (expired memberships or the sender's grace-period ones). Returns its index.
    pub async fn register(
        &self,
        id_commitment: Field,
        rate_limit: u32,
        erase_first: &[Field],
    ) -> Result<Registration> {
        let (token, deposit) = self.price(rate_limit).await?;
        self.ensure_allowance(token, deposit).await?;
        let erase: Vec<U256> = erase_first.iter().map(|f| field_to_u256(*f)).collect();
        let r = self
            .mined(
                "register",
                self.contract().register(field_to_u256(id_commitment), rate_limit, erase),
            )
            .await?;
        let ev = r.decoded_log::<RlnMembership::MembershipRegistered>().ok_or(
            RegistryError::MissingEvent { call: "register", event: "MembershipRegistered" },
        )?;
        Ok(Registration {
            index: ev.data.index,
            rate_commitment: crate::poseidon::poseidon2(
                id_commitment,
                Field::from_u64(rate_limit as u64),
            ),
            tx: r.transaction_hash,
            block: r.block_number.unwrap_or_default(),
            deposit,
            token,
        })
    }

    /// Registers many memberships quickly: one approval, then the transactions sent back to back
    /// with explicit nonces, fees and gas (no per-transaction round trips) in windows that fit
    /// in one block, each window's receipts awaited before the next. Returns the indices in order.
    ///
    /// A window never holds more than a block can take: anvil's automine mines what is ready when
    /// a transaction arrives, and leaves what did not fit in the pool until the next transaction,
    /// so a larger window would wait for receipts that never come.
    pub async fn register_many(
        &self,
        id_commitments: &[Field],
        rate_limit: u32,
    ) -> Result<Vec<u32>> {
        let Some(bulk) = self.prepare_bulk(id_commitments, rate_limit, REGISTER_WINDOW).await?
        else {
            return Ok(vec![]);
        };
        let mut nonce = bulk.nonce;
        let mut out = Vec::with_capacity(id_commitments.len());
        for window in id_commitments.chunks(bulk.window) {
            let hashes = self.send_registrations(&bulk, window, rate_limit, nonce).await?;
            nonce += window.len() as u64;
            for h in hashes {
                let r = self.wait_receipt("register", h).await?;
                let ev = r.decoded_log::<RlnMembership::MembershipRegistered>().ok_or(
                    RegistryError::MissingEvent { call: "register", event: "MembershipRegistered" },
                )?;
                out.push(ev.data.index);
            }
        }
        Ok(out)
    }

    /// The common part of bulk registration: one approval for all deposits, gas per transaction
    /// (room for a full tree path), fees, the first nonce and a window that fits in a block.
    pub(super) async fn prepare_bulk(
        &self,
        id_commitments: &[Field],
        rate_limit: u32,
        max_window: usize,
    ) -> Result<Option<BulkPlan>> {
        let me = self.sender;
        if id_commitments.is_empty() {
            return Ok(None);
        }
        let (token, deposit) = self.price(rate_limit).await?;
        self.ensure_allowance(token, deposit * U256::from(id_commitments.len())).await?;
        let c = self.contract();
        let first = c.register(field_to_u256(id_commitments[0]), rate_limit, vec![]);
        let gas =
            first.estimate_gas().await.map_err(|e| RegistryError::from_registry("register", e))?;
        // Later inserts hash more tree levels than the first one: leave room for a full path
        // (20 PoseidonT3 calls).
        let gas = gas * 2 + 500_000;
        let fees = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(|e| RpcError::transport("fees", e))?;
        let nonce = self
            .provider
            .get_transaction_count(me)
            .pending()
            .await
            .map_err(|e| RpcError::transport("eth_getTransactionCount", e))?;
        let latest = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(|e| RpcError::transport("eth_getBlockByNumber", e))?;
        let block_gas = latest.map(|b| b.header.gas_limit).ok_or(RpcError::NoLatestBlock)?;
        if gas > block_gas {
            return Err(RegistryError::BlockTooSmall { needed: gas, block_gas });
        }
        let window = ((block_gas / gas) as usize).clamp(1, max_window);
        Ok(Some(BulkPlan {
            gas,
            max_fee: fees.max_fee_per_gas * 2,
            priority_fee: fees.max_priority_fee_per_gas,
            nonce,
            window,
        }))
    }

    /// Signs and sends one window of registrations (nonces from `nonce` on), all at once.
    pub(super) async fn send_registrations(
        &self,
        bulk: &BulkPlan,
        window: &[Field],
        rate_limit: u32,
        nonce: u64,
    ) -> Result<Vec<B256>> {
        let c = self.contract();
        let sends = window.iter().enumerate().map(|(k, id)| {
            let call = c
                .register(field_to_u256(*id), rate_limit, vec![])
                .nonce(nonce + k as u64)
                .gas(bulk.gas)
                .max_fee_per_gas(bulk.max_fee)
                .max_priority_fee_per_gas(bulk.priority_fee)
                .chain_id(self.chain_id);
            async move {
                call.send()
                    .await
                    .map(|p| *p.tx_hash())
                    .map_err(|e| RegistryError::from_registry("register", e))
            }
        });
        futures::future::try_join_all(sends).await
    }

    /// Extends the sender's grace-period memberships.
    pub async fn extend(&self, id_commitments: &[Field]) -> Result<B256> {
        let ids = id_commitments.iter().map(|f| field_to_u256(*f)).collect();
        Ok(self
            .mined("extendMemberships", self.contract().extendMemberships(ids))
            .await?
            .transaction_hash)
    }

    /// Erases memberships: lazily (leaves stay in the tree) or fully (leaves set to 0).
    pub async fn erase(&self, id_commitments: &[Field], full: bool) -> Result<B256> {
        let ids: Vec<U256> = id_commitments.iter().map(|f| field_to_u256(*f)).collect();
        let r = if full {
            self.mined("eraseMemberships", self.contract().eraseMemberships_1(ids, true)).await?
        } else {
            self.mined("eraseMemberships", self.contract().eraseMemberships_0(ids)).await?
        };
        Ok(r.transaction_hash)
    }

    /// Withdraws everything withdrawable in `token` (default: the deposit token). Returns the amount.
    pub async fn withdraw(&self, token: Option<Address>) -> Result<U256> {
        let token = match token {
            Some(t) => t,
            None => self.deposit_token().await?,
        };
        let r = self.mined("withdraw", self.contract().withdraw(token)).await?;
        Ok(r.decoded_log::<RlnMembership::DepositWithdrawn>()
            .map(|l| l.data.amount)
            .unwrap_or_default())
    }

    /// Step 1 of a slash: commits to (secret, reward receiver, sender). The secret stays local.
    /// The whole flow (commit, wait, reveal) is [`crate::incentives::slash_member`].
    pub async fn commit_slash(
        &self,
        secret: Field,
        reward_receiver: Address,
    ) -> Result<SlashCommit> {
        let me = self.sender;
        self.send_slash_commitment(slash_commitment(secret, reward_receiver, me)).await
    }

    /// Sends `commitSlash(commitment)` and waits until it is mined.
    pub(crate) async fn send_slash_commitment(&self, commitment: B256) -> Result<SlashCommit> {
        let r = self.mined("commitSlash", self.contract().commitSlash(commitment)).await?;
        let ev = r
            .decoded_log::<RlnMembership::SlashCommitted>()
            .ok_or(RegistryError::MissingEvent { call: "commitSlash", event: "SlashCommitted" })?;
        Ok(SlashCommit {
            commitment,
            block: r.block_number.unwrap_or_default(),
            first_reveal_block: ev.data.firstRevealBlock.try_into().unwrap_or(u64::MAX),
            last_reveal_block: ev.data.lastRevealBlock.try_into().unwrap_or(u64::MAX),
        })
    }

    /// Step 2 of a slash: reveals the secret (from the committing sender, after the commit block).
    pub async fn reveal_slash(&self, secret: Field, reward_receiver: Address) -> Result<Slashed> {
        let r = self
            .mined(
                "revealSlash",
                self.contract().revealSlash(field_to_u256(secret), reward_receiver),
            )
            .await?;
        let ev = r.decoded_log::<RlnMembership::MembershipSlashed>().ok_or(
            RegistryError::MissingEvent { call: "revealSlash", event: "MembershipSlashed" },
        )?;
        Ok(Slashed {
            id_commitment: u256_to_field(ev.data.idCommitment)?,
            index: ev.data.index,
            reward_receiver: ev.data.rewardReceiver,
            reward: ev.data.reward,
            treasury_amount: ev.data.treasuryAmount,
            tx: Some(r.transaction_hash),
            block: r.block_number.unwrap_or_default(),
        })
    }
}
