//! [`MembershipReader`]: reads of one membership registry over JSON-RPC (no signer). Transactions
//! are [`MembershipWriter`](super::MembershipWriter)'s, deployment is
//! [`deploy_registry`](super::deploy_registry)'s, anvil-only helpers are
//! [`DevChain`](super::DevChain)'s.

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use serde::Serialize;

use super::bindings::{LinearPriceCalculator, RlnMembership, TestToken};
use super::error::{NotAField, RegistryError, RpcError};
use super::revert::Contract;
use crate::field::Field;
use crate::tree::{MerkleProof, DEFAULT_DEPTH};

type Result<T> = std::result::Result<T, RegistryError>;

/// One token with 18 decimals.
pub const TOKEN_UNIT: u128 = 1_000_000_000_000_000_000;

/// The field element as a uint256.
pub fn field_to_u256(f: Field) -> U256 {
    U256::from_be_bytes(f.to_be_bytes())
}

/// A uint256 read from the chain as a field element (fails if it is not below r).
pub fn u256_to_field(v: U256) -> std::result::Result<Field, NotAField> {
    Field::from_be_bytes(&v.to_be_bytes::<32>()).map_err(|_| NotAField { value: v })
}

/// A registered membership as the contract reports it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MembershipInfo {
    /// The member's id commitment.
    pub id_commitment: Field,
    /// Messages per epoch.
    pub rate_limit: u32,
    /// The leaf index.
    pub index: u32,
    /// The leaf: Poseidon(id_commitment, rate_limit).
    pub rate_commitment: Field,
    /// Who registered (and can extend, erase, withdraw).
    pub holder: Address,
    /// The deposit token.
    pub token: Address,
    /// The deposit (token base units).
    pub deposit: U256,
    /// Unix seconds.
    pub grace_period_start: u64,
    /// Unix seconds.
    pub expiration: u64,
    /// Whether the membership is in its grace period.
    pub in_grace_period: bool,
    /// Whether it expired.
    pub expired: bool,
}

/// Reads of one membership registry over JSON-RPC. Needs no signer; cheap to clone.
///
/// It has no transaction methods: sending one takes a [`MembershipWriter`](super::MembershipWriter).
///
/// ```compile_fail
/// async fn f(r: rlnkit::chain::MembershipReader) {
///     r.register(rlnkit::Field::ONE, 20, &[]).await;
/// }
/// ```
#[derive(Clone, Debug)]
pub struct MembershipReader {
    pub(super) provider: DynProvider,
    pub(super) registry: Address,
    pub(super) chain_id: u64,
}

/// Polls for `tx`'s receipt (5 ms, doubling up to 1 s) until it is mined or `timeout` passes;
/// a mined transaction with status 0 is [`RpcError::TxReverted`].
pub(crate) async fn wait_receipt(
    provider: &DynProvider,
    call: &'static str,
    tx: B256,
    timeout: Duration,
) -> std::result::Result<alloy::rpc::types::TransactionReceipt, RpcError> {
    let start = std::time::Instant::now();
    let mut delay = Duration::from_millis(5);
    loop {
        if let Some(r) =
            provider.get_transaction_receipt(tx).await.map_err(|e| RpcError::transport(call, e))?
        {
            if !r.status() {
                return Err(RpcError::TxReverted { call, tx });
            }
            return Ok(r);
        }
        if start.elapsed() > timeout {
            return Err(RpcError::NotMined { call, tx, waited: timeout });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(1));
    }
}

/// Connects to `url` (http/https), signing with `signer` when given, and checks the chain id.
/// Returns the provider and the chain id.
pub async fn connect_provider(
    url: &str,
    signer: Option<PrivateKeySigner>,
    expected_chain_id: Option<u64>,
) -> std::result::Result<(DynProvider, u64), RpcError> {
    let parsed: alloy::transports::http::reqwest::Url =
        url.parse().map_err(|_| RpcError::BadUrl { url: url.to_string() })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(RpcError::BadUrl { url: url.to_string() });
    }
    let provider = match signer {
        // Nonces come from the node each time (no local cache): several clients may share an
        // account, register_many sets nonces itself, and test chains revert.
        Some(s) => ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(EthereumWallet::from(s))
            .connect_http(parsed)
            .erased(),
        None => ProviderBuilder::new().connect_http(parsed).erased(),
    };
    let chain_id = match tokio::time::timeout(Duration::from_secs(15), provider.get_chain_id())
        .await
    {
        Ok(Ok(id)) => id,
        Ok(Err(e)) => return Err(RpcError::Unreachable { url: url.to_string(), source: e }),
        Err(_) => {
            return Err(RpcError::Unreachable {
                url: url.to_string(),
                source: alloy::transports::TransportErrorKind::custom_str("no answer within 15 s"),
            })
        }
    };
    if let Some(expected) = expected_chain_id {
        if expected != chain_id {
            return Err(RpcError::WrongChain { expected, got: chain_id });
        }
    }
    Ok((provider, chain_id))
}

impl MembershipReader {
    /// Connects to the registry at `registry` (the proxy address), checking that code is there.
    pub async fn connect(
        url: &str,
        registry: Address,
        expected_chain_id: Option<u64>,
    ) -> Result<Self> {
        let (provider, chain_id) = connect_provider(url, None, expected_chain_id).await?;
        Self::at(provider, chain_id, registry).await
    }

    /// A reader of the registry at `registry` through an existing provider.
    pub(super) async fn at(
        provider: DynProvider,
        chain_id: u64,
        registry: Address,
    ) -> Result<Self> {
        let code = provider
            .get_code_at(registry)
            .await
            .map_err(|e| RpcError::transport("eth_getCode", e))?;
        if code.is_empty() {
            return Err(RpcError::NoContract { address: registry, chain_id }.into());
        }
        Ok(MembershipReader { provider, registry, chain_id })
    }

    /// The registry (proxy) address.
    pub fn registry(&self) -> Address {
        self.registry
    }

    /// The chain id of the endpoint.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The underlying provider (for tests and tools; the library's API does not need it).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    pub(crate) fn contract(&self) -> RlnMembership::RlnMembershipInstance<DynProvider> {
        RlnMembership::new(self.registry, self.provider.clone())
    }

    /// Block in which the registry was initialized.
    pub async fn deployed_block(&self) -> Result<u64> {
        Ok(self
            .contract()
            .deployedBlockNumber()
            .call()
            .await
            .map_err(|e| RegistryError::from_registry("deployedBlockNumber", e))? as u64)
    }

    /// The deposit for a rate limit: (token, amount).
    pub async fn price(&self, rate_limit: u32) -> Result<(Address, U256)> {
        let calc = self
            .contract()
            .priceCalculator()
            .call()
            .await
            .map_err(|e| RegistryError::from_registry("priceCalculator", e))?;
        let r = LinearPriceCalculator::new(calc, self.provider.clone())
            .calculate(rate_limit)
            .call()
            .await
            .map_err(|e| RegistryError::from_contract(Contract::PriceCalculator, "calculate", e))?;
        Ok((r._0, r._1))
    }

    /// The deposit token of new memberships.
    pub async fn deposit_token(&self) -> Result<Address> {
        Ok(self.price(1).await?.0)
    }

    /// The current root of the registry's tree.
    pub async fn root(&self) -> Result<Field> {
        Ok(u256_to_field(
            self.contract()
                .root()
                .call()
                .await
                .map_err(|e| RegistryError::from_registry("root", e))?,
        )?)
    }

    /// The most recent roots (newest last, like every root list in rlnkit), without the zero
    /// slots of a young registry.
    pub async fn recent_roots(&self) -> Result<Vec<Field>> {
        let roots = self
            .contract()
            .getRecentRoots()
            .call()
            .await
            .map_err(|e| RegistryError::from_registry("getRecentRoots", e))?;
        // The contract lists them newest first.
        Ok(roots
            .into_iter()
            .rev()
            .filter(|r| !r.is_zero())
            .map(u256_to_field)
            .collect::<std::result::Result<_, _>>()?)
    }

    /// The registry's recent roots with the time each was superseded (unix seconds; 0 for the
    /// current root), newest last, and its `rootAcceptanceWindow` (seconds), as of `block`.
    pub async fn recent_roots_with_times(&self, block: u64) -> Result<(Vec<(Field, u64)>, u64)> {
        let c = self.contract();
        let roots = c
            .getRecentRoots()
            .block(block.into())
            .call()
            .await
            .map_err(|e| RegistryError::from_registry("getRecentRoots", e))?;
        let times = c
            .getRecentRootsSupersededAt()
            .block(block.into())
            .call()
            .await
            .map_err(|e| RegistryError::from_registry("getRecentRootsSupersededAt", e))?;
        let window = c
            .rootAcceptanceWindow()
            .block(block.into())
            .call()
            .await
            .map_err(|e| RegistryError::from_registry("rootAcceptanceWindow", e))?;
        let mut out = Vec::new();
        // The contract lists them newest first.
        for (r, t) in roots.into_iter().zip(times).rev() {
            if !r.is_zero() {
                out.push((u256_to_field(r)?, t.saturating_to::<u64>()));
            }
        }
        Ok((out, u64::from(window)))
    }

    /// The roots the registry stored in blocks `from..=to`, in chain order, each with the
    /// timestamp of its block (when it superseded the root before it).
    pub async fn stored_roots(&self, from: u64, to: u64) -> Result<Vec<(Field, u64)>> {
        let filter = alloy::rpc::types::Filter::new()
            .address(self.registry)
            .event_signature(RlnMembership::RootStored::SIGNATURE_HASH)
            .from_block(from)
            .to_block(to);
        let logs = self
            .provider
            .get_logs(&filter)
            .await
            .map_err(|e| RpcError::transport("eth_getLogs", e))?;
        let mut out = Vec::with_capacity(logs.len());
        let mut last: Option<(u64, u64)> = None; // (block, timestamp)
        for log in logs.iter().filter(|l| !l.removed) {
            let block = log.block_number.ok_or(RpcError::LogWithoutBlock)?;
            let ev = log.log_decode::<RlnMembership::RootStored>().map_err(|e| {
                RegistryError::BadEvent {
                    event: "RootStored",
                    block: Some(block),
                    source: Box::new(e),
                }
            })?;
            let ts = match (log.block_timestamp, last) {
                (Some(ts), _) => ts,
                (None, Some((b, ts))) if b == block => ts,
                (None, _) => {
                    self.provider
                        .get_block_by_number(block.into())
                        .await
                        .map_err(|e| RpcError::transport("eth_getBlockByNumber", e))?
                        .ok_or(RpcError::MissingBlock(block))?
                        .header
                        .timestamp
                }
            };
            last = Some((block, ts));
            out.push((u256_to_field(ev.inner.data.newRoot)?, ts));
        }
        Ok(out)
    }

    /// The number of slots ever used (the next new index).
    pub async fn next_free_index(&self) -> Result<u32> {
        self.contract()
            .nextFreeIndex()
            .call()
            .await
            .map_err(|e| RegistryError::from_registry("nextFreeIndex", e))
    }

    /// nextFreeIndex as of a block.
    pub async fn next_free_index_at(&self, block: u64) -> Result<u32> {
        self.contract()
            .nextFreeIndex()
            .block(block.into())
            .call()
            .await
            .map_err(|e| RegistryError::from_registry("nextFreeIndex", e))
    }

    /// The Merkle path of the leaf at `index`, from the contract (stateless mode: no tree sync).
    pub async fn merkle_proof(&self, index: u32) -> Result<MerkleProof> {
        let path = self
            .contract()
            .getMerkleProof(alloy::primitives::aliases::U40::from(index))
            .call()
            .await
            .map_err(|e| RegistryError::from_registry("getMerkleProof", e))?;
        let path_elements =
            path.iter().map(|v| u256_to_field(*v)).collect::<std::result::Result<Vec<_>, _>>()?;
        let identity_path_index = (0..DEFAULT_DEPTH).map(|l| ((index >> l) & 1) as u8).collect();
        Ok(MerkleProof { path_elements, identity_path_index })
    }

    /// Leaves at indices `start..=end` (below nextFreeIndex), optionally as of a block.
    pub async fn leaves(&self, start: u32, end: u32, block: Option<u64>) -> Result<Vec<Field>> {
        let c = self.contract();
        let mut call = c.getRateCommitmentsInRangeBoundsInclusive(start, end);
        if let Some(b) = block {
            call = call.block(b.into());
        }
        let v = call.call().await.map_err(|e| {
            RegistryError::from_registry("getRateCommitmentsInRangeBoundsInclusive", e)
        })?;
        Ok(v.into_iter().map(u256_to_field).collect::<std::result::Result<_, _>>()?)
    }

    /// A membership by id commitment, `None` if not registered (or erased).
    pub async fn membership_info(&self, id_commitment: Field) -> Result<Option<MembershipInfo>> {
        let c = self.contract();
        let id = field_to_u256(id_commitment);
        let info = c
            .getMembershipInfo(id)
            .call()
            .await
            .map_err(|e| RegistryError::from_registry("getMembershipInfo", e))?;
        if info._0 == 0 {
            return Ok(None);
        }
        let m = c
            .memberships(id)
            .call()
            .await
            .map_err(|e| RegistryError::from_registry("memberships", e))?;
        let in_grace_period = c
            .isInGracePeriod(id)
            .call()
            .await
            .map_err(|e| RegistryError::from_registry("isInGracePeriod", e))?;
        let expired = c
            .isExpired(id)
            .call()
            .await
            .map_err(|e| RegistryError::from_registry("isExpired", e))?;
        let grace_start: u64 = m.gracePeriodStartTimestamp.try_into().unwrap_or(u64::MAX);
        Ok(Some(MembershipInfo {
            id_commitment,
            rate_limit: info._0,
            index: info._1,
            rate_commitment: u256_to_field(info._2)?,
            holder: m.holder,
            token: m.token,
            deposit: m.depositAmount,
            grace_period_start: grace_start,
            expiration: grace_start.saturating_add(m.gracePeriodDuration as u64),
            in_grace_period,
            expired,
        }))
    }

    /// What `withdraw(token)` would pay `holder` now.
    pub async fn withdrawable(&self, holder: Address, token: Address) -> Result<U256> {
        self.contract()
            .withdrawableBalance(holder, token)
            .call()
            .await
            .map_err(|e| RegistryError::from_registry("withdrawableBalance", e))
    }

    /// The slashes (`MembershipSlashed` events) in blocks `from..=to` (default: up to the
    /// latest), in chain order: who was slashed, who was paid and how much.
    pub async fn slashes(
        &self,
        from: u64,
        to: Option<u64>,
    ) -> Result<Vec<crate::incentives::Slashed>> {
        let mut filter = alloy::rpc::types::Filter::new()
            .address(self.registry)
            .event_signature(RlnMembership::MembershipSlashed::SIGNATURE_HASH)
            .from_block(from);
        if let Some(to) = to {
            filter = filter.to_block(to);
        }
        let logs = self
            .provider
            .get_logs(&filter)
            .await
            .map_err(|e| RpcError::transport("eth_getLogs", e))?;
        let mut out = Vec::with_capacity(logs.len());
        for log in &logs {
            let ev = log
                .log_decode::<RlnMembership::MembershipSlashed>()
                .map_err(|source| RegistryError::BadEvent {
                    event: "MembershipSlashed",
                    block: log.block_number,
                    source: Box::new(source),
                })?
                .inner
                .data;
            out.push(crate::incentives::Slashed {
                id_commitment: u256_to_field(ev.idCommitment)?,
                index: ev.index,
                reward_receiver: ev.rewardReceiver,
                reward: ev.reward,
                treasury_amount: ev.treasuryAmount,
                tx: log.transaction_hash,
                block: log.block_number.ok_or(RpcError::LogWithoutBlock)?,
            });
        }
        Ok(out)
    }

    /// ERC20 balance.
    pub async fn token_balance(&self, token: Address, holder: Address) -> Result<U256> {
        TestToken::new(token, self.provider.clone())
            .balanceOf(holder)
            .call()
            .await
            .map_err(|e| RegistryError::from_token("balanceOf", e))
    }

    /// Current block number.
    pub async fn block_number(&self) -> Result<u64> {
        self.provider
            .get_block_number()
            .await
            .map_err(|e| RpcError::transport("eth_blockNumber", e).into())
    }

    /// The registry's event signatures that change the tree, for log filters.
    pub fn tree_event_signatures() -> Vec<B256> {
        vec![
            RlnMembership::MembershipRegistered::SIGNATURE_HASH,
            RlnMembership::MembershipErased::SIGNATURE_HASH,
            RlnMembership::MembershipSlashed::SIGNATURE_HASH,
            RlnMembership::RootStored::SIGNATURE_HASH,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dead_or_bad_endpoint_is_the_rpc_layers_error() {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let e = connect_provider("http://127.0.0.1:1", None, None).await.unwrap_err();
        assert!(matches!(&e, RpcError::Unreachable { url, .. } if url == "http://127.0.0.1:1"));
        let e =
            MembershipReader::connect("http://127.0.0.1:1", Address::ZERO, None).await.unwrap_err();
        assert!(matches!(e.rpc(), Some(RpcError::Unreachable { .. })), "{e}");
        for url in ["ws://127.0.0.1:8545", "not a url"] {
            let e = connect_provider(url, None, None).await.unwrap_err();
            assert!(matches!(&e, RpcError::BadUrl { url: u } if u == url), "{e}");
        }
    }
}
