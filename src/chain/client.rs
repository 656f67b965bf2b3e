//! [`MembershipClient`]: deploy, register, extend, erase, withdraw, read the tree, slash.

use std::time::Duration;

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::eips::BlockNumberOrTag;
use alloy::network::{Ethereum, TransactionBuilder};
use alloy::primitives::{keccak256, Address, Bytes, B256, U256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolEvent, SolValue};
use serde::Serialize;

use super::bindings::{
    linked_libraries, ERC1967Proxy, LinearPriceCalculator, RlnMembership, TestToken,
};
use super::error::ChainError;
use crate::field::Field;
use crate::tree::{MerkleProof, DEFAULT_DEPTH};

type Result<T> = std::result::Result<T, ChainError>;

/// The registry's default reveal window (blocks).
const DEFAULT_SLASH_REVEAL_WINDOW: u32 = 256;

/// One token with 18 decimals.
pub const TOKEN_UNIT: u128 = 1_000_000_000_000_000_000;

/// The field element as a uint256.
pub fn field_to_u256(f: Field) -> U256 {
    U256::from_be_bytes(f.to_be_bytes())
}

/// A uint256 read from the chain as a field element (fails if it is not below r).
pub fn u256_to_field(v: U256) -> Result<Field> {
    Field::from_be_bytes(&v.to_be_bytes::<32>()).map_err(|e| {
        ChainError::Invalid(format!("the contract returned {v}, not a field element: {e}"))
    })
}

/// Parameters of a new deployment. The defaults are the deployed Waku RLN v2 contract's (rate
/// limit 20..600 per membership, 1,000,000 in total, active 180 days, grace 30 days, 0.05 tokens
/// per message per epoch) and the registry's slashing defaults.
#[derive(Debug, Clone, Serialize)]
pub struct DeployConfig {
    /// The deposit token; `None` deploys a [`TestToken`] (local chains only).
    pub token: Option<Address>,
    /// When deploying a test token: tokens minted to the deployer (smallest unit).
    pub mint_to_deployer: U256,
    /// Price of one message per epoch of rate limit (smallest token unit).
    pub price_per_message_per_epoch: U256,
    pub max_total_rate_limit: u32,
    pub min_membership_rate_limit: u32,
    pub max_membership_rate_limit: u32,
    /// Seconds.
    pub active_duration: u32,
    /// Seconds.
    pub grace_period: u32,
    /// Reward share of a slash in basis points (`None`: the contract's default, 5,000).
    pub slash_reward_bps: Option<u16>,
    /// Blocks (`None`: the contract's default, 256).
    pub slash_reveal_window: Option<u32>,
    /// Blocks (`None`: the contract's default, 7,200).
    pub withdrawal_delay: Option<u32>,
    /// Treasury receiving the rest of slashed deposits (`None`: the deployer).
    pub treasury: Option<Address>,
}

impl Default for DeployConfig {
    fn default() -> Self {
        DeployConfig {
            token: None,
            mint_to_deployer: U256::from(1_000_000u64) * U256::from(TOKEN_UNIT),
            price_per_message_per_epoch: U256::from(TOKEN_UNIT / 20),
            max_total_rate_limit: 1_000_000,
            min_membership_rate_limit: 20,
            max_membership_rate_limit: 600,
            active_duration: 180 * 24 * 3600,
            grace_period: 30 * 24 * 3600,
            slash_reward_bps: None,
            slash_reveal_window: None,
            withdrawal_delay: None,
            treasury: None,
        }
    }
}

/// Addresses of a deployment.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Deployment {
    pub chain_id: u64,
    /// The registry (the ERC1967 proxy): what every other call talks to.
    pub registry: Address,
    pub implementation: Address,
    pub token: Address,
    pub price_calculator: Address,
    pub poseidon_t2: Address,
    pub poseidon_t3: Address,
    /// Block of the proxy's initialization (where tree sync starts).
    pub deployed_block: u64,
}

/// A registered membership as the contract reports it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MembershipInfo {
    pub id_commitment: Field,
    pub rate_limit: u32,
    pub index: u32,
    /// The leaf: Poseidon(id_commitment, rate_limit).
    pub rate_commitment: Field,
    pub holder: Address,
    pub token: Address,
    pub deposit: U256,
    /// Unix seconds.
    pub grace_period_start: u64,
    /// Unix seconds.
    pub expiration: u64,
    pub in_grace_period: bool,
    pub expired: bool,
}

/// A mined registration.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Registration {
    pub index: u32,
    pub rate_commitment: Field,
    pub tx: B256,
    pub block: u64,
    pub deposit: U256,
    pub token: Address,
}

/// A mined slash commitment.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SlashCommit {
    pub commitment: B256,
    pub block: u64,
    pub first_reveal_block: u64,
    pub last_reveal_block: u64,
}

/// A mined slash.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SlashOutcome {
    pub id_commitment: Field,
    pub index: u32,
    pub reward_receiver: Address,
    pub reward: U256,
    pub treasury_amount: U256,
    pub tx: B256,
    pub block: u64,
}

/// The slash commitment exactly as the registry computes it:
/// keccak256(abi.encode(uint256 secret, address rewardReceiver, address sender)).
pub fn slash_commitment(secret: Field, reward_receiver: Address, sender: Address) -> B256 {
    keccak256((field_to_u256(secret), reward_receiver, sender).abi_encode_params())
}

/// Registrations `register_many` sends before waiting for their receipts (fewer when a block
/// cannot hold that many).
const REGISTER_WINDOW: usize = 200;
/// Registrations `register_many_dev` mines per block (fewer when a block cannot hold that many).
const DEV_REGISTER_WINDOW: usize = 500;

/// Gas, fees, first nonce and window size of a bulk registration.
struct Bulk {
    gas: u64,
    max_fee: u128,
    priority_fee: u128,
    nonce: u64,
    window: usize,
}

/// Client of one membership registry over JSON-RPC. Reads need no signer; transactions do.
#[derive(Clone, Debug)]
pub struct MembershipClient {
    provider: DynProvider,
    registry: Address,
    sender: Option<Address>,
    chain_id: u64,
    receipt_timeout: Duration,
}

/// Connects to `url` (http/https), with a wallet when a signer is given, and checks the chain id.
pub async fn connect_provider(
    url: &str,
    signer: Option<PrivateKeySigner>,
    expected_chain_id: Option<u64>,
) -> Result<(DynProvider, u64, Option<Address>)> {
    let parsed: alloy::transports::http::reqwest::Url =
        url.parse().map_err(|_| ChainError::BadUrl { url: url.to_string() })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ChainError::BadUrl { url: url.to_string() });
    }
    let sender = signer.as_ref().map(|s| s.address());
    let provider = match signer {
        // Nonces come from the node each time (no local cache): several clients may share an
        // account, register_many sets nonces itself, and test chains revert.
        Some(s) => ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(s)
            .connect_http(parsed)
            .erased(),
        None => ProviderBuilder::new().connect_http(parsed).erased(),
    };
    let chain_id = match tokio::time::timeout(Duration::from_secs(15), provider.get_chain_id())
        .await
    {
        Ok(Ok(id)) => id,
        Ok(Err(e)) => return Err(ChainError::Unreachable { url: url.to_string(), source: e }),
        Err(_) => {
            return Err(ChainError::Unreachable {
                url: url.to_string(),
                source: alloy::transports::TransportErrorKind::custom_str("no answer within 15 s"),
            })
        }
    };
    if let Some(expected) = expected_chain_id {
        if expected != chain_id {
            return Err(ChainError::WrongChain { expected, got: chain_id });
        }
    }
    Ok((provider, chain_id, sender))
}

impl MembershipClient {
    /// Connects to the registry at `registry` (the proxy address).
    pub async fn connect(
        url: &str,
        signer: Option<PrivateKeySigner>,
        registry: Address,
        expected_chain_id: Option<u64>,
    ) -> Result<Self> {
        let (provider, chain_id, sender) = connect_provider(url, signer, expected_chain_id).await?;
        let code =
            provider.get_code_at(registry).await.map_err(|e| ChainError::rpc("eth_getCode", e))?;
        if code.is_empty() {
            return Err(ChainError::NoContract { address: registry, chain_id });
        }
        Ok(MembershipClient {
            provider,
            registry,
            sender,
            chain_id,
            receipt_timeout: Duration::from_secs(300),
        })
    }

    /// Deploys the Poseidon libraries, the token (unless given), the price calculator, the
    /// registry implementation and its ERC1967 proxy (initialized in the same transaction), then
    /// applies non-default slashing parameters. Returns a client of the new registry.
    pub async fn deploy(
        url: &str,
        signer: PrivateKeySigner,
        expected_chain_id: Option<u64>,
        cfg: &DeployConfig,
    ) -> Result<(Self, Deployment)> {
        let (provider, chain_id, sender) =
            connect_provider(url, Some(signer), expected_chain_id).await?;
        let deployer = sender.expect("a signer was given");
        let mut me = MembershipClient {
            provider,
            registry: Address::ZERO,
            sender,
            chain_id,
            receipt_timeout: Duration::from_secs(300),
        };
        let p = me.provider.clone();
        // Libraries at their fixed CREATE2 addresses (the registry's bytecode is linked to them).
        let libs = linked_libraries().map_err(ChainError::Invalid)?;
        for lib in &libs {
            if p.get_code_at(lib.address)
                .await
                .map_err(|e| ChainError::rpc("eth_getCode", e))?
                .is_empty()
            {
                if p.get_code_at(lib.create2_deployer)
                    .await
                    .map_err(|e| ChainError::rpc("eth_getCode", e))?
                    .is_empty()
                {
                    return Err(ChainError::Invalid(format!(
                        "no CREATE2 deployer at {} on chain {chain_id}: cannot deploy {}",
                        lib.create2_deployer, lib.name
                    )));
                }
                let tx = TransactionRequest::default()
                    .with_to(lib.create2_deployer)
                    .with_input(lib.calldata.clone());
                let pending = p
                    .send_transaction(tx)
                    .await
                    .map_err(|e| ChainError::rpc("deploy library", e))?;
                me.wait_receipt("deploy library", *pending.tx_hash()).await?;
                if p.get_code_at(lib.address)
                    .await
                    .map_err(|e| ChainError::rpc("eth_getCode", e))?
                    .is_empty()
                {
                    return Err(ChainError::Invalid(format!(
                        "{} did not land at {}",
                        lib.name, lib.address
                    )));
                }
            }
        }
        let (poseidon_t2, poseidon_t3) = (libs[0].address, libs[1].address);
        let token = match cfg.token {
            Some(t) => t,
            None => {
                let r = me.mined("deploy TestToken", TestToken::deploy_builder(&p)).await?;
                let t = r.contract_address.ok_or_else(|| {
                    ChainError::Invalid("TestToken deployment has no address".into())
                })?;
                if !cfg.mint_to_deployer.is_zero() {
                    me.mined(
                        "TestToken.mint",
                        TestToken::new(t, p.clone()).mint(deployer, cfg.mint_to_deployer),
                    )
                    .await?;
                }
                t
            }
        };
        let r = me
            .mined(
                "deploy LinearPriceCalculator",
                LinearPriceCalculator::deploy_builder(&p, token, cfg.price_per_message_per_epoch),
            )
            .await?;
        let price_calculator = r.contract_address.ok_or_else(|| {
            ChainError::Invalid("LinearPriceCalculator deployment has no address".into())
        })?;
        let r = me.mined("deploy RlnMembership", RlnMembership::deploy_builder(&p)).await?;
        let implementation = r
            .contract_address
            .ok_or_else(|| ChainError::Invalid("RlnMembership deployment has no address".into()))?;
        let init = RlnMembership::initializeCall {
            _priceCalculator: price_calculator,
            _maxTotalRateLimit: cfg.max_total_rate_limit,
            _minMembershipRateLimit: cfg.min_membership_rate_limit,
            _maxMembershipRateLimit: cfg.max_membership_rate_limit,
            _activeDuration: cfg.active_duration,
            _gracePeriod: cfg.grace_period,
        }
        .abi_encode();
        let r = me
            .mined(
                "deploy ERC1967Proxy + initialize",
                ERC1967Proxy::deploy_builder(&p, implementation, Bytes::from(init)),
            )
            .await?;
        let registry = r
            .contract_address
            .ok_or_else(|| ChainError::Invalid("proxy deployment has no address".into()))?;
        me.registry = registry;
        let reg = me.contract();
        // Order matters: the reveal window must stay below the withdrawal delay.
        if let Some(d) = cfg.withdrawal_delay {
            if d > DEFAULT_SLASH_REVEAL_WINDOW {
                me.mined("setWithdrawalDelay", reg.setWithdrawalDelay(d)).await?;
            }
        }
        if let Some(w) = cfg.slash_reveal_window {
            me.mined("setSlashRevealWindow", reg.setSlashRevealWindow(w)).await?;
        }
        if let Some(d) = cfg.withdrawal_delay {
            if d <= DEFAULT_SLASH_REVEAL_WINDOW {
                me.mined("setWithdrawalDelay", reg.setWithdrawalDelay(d)).await?;
            }
        }
        if let Some(b) = cfg.slash_reward_bps {
            me.mined("setSlashRewardBps", reg.setSlashRewardBps(b)).await?;
        }
        if let Some(t) = cfg.treasury {
            me.mined("setTreasury", reg.setTreasury(t)).await?;
        }
        let deployed_block = me.deployed_block().await?;
        let d = Deployment {
            chain_id,
            registry,
            implementation,
            token,
            price_calculator,
            poseidon_t2,
            poseidon_t3,
            deployed_block,
        };
        Ok((me, d))
    }

    /// How long to wait for a transaction to be mined (default 300 s).
    pub fn with_receipt_timeout(mut self, t: Duration) -> Self {
        self.receipt_timeout = t;
        self
    }

    pub fn registry(&self) -> Address {
        self.registry
    }
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }
    /// The signer's address, if any.
    pub fn sender(&self) -> Option<Address> {
        self.sender
    }
    /// The underlying provider (for tests and tools; the library's API does not need it).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    pub(crate) fn contract(&self) -> RlnMembership::RlnMembershipInstance<DynProvider> {
        RlnMembership::new(self.registry, self.provider.clone())
    }

    fn signer(&self, call: &'static str) -> Result<Address> {
        self.sender.ok_or(ChainError::NoSigner { call })
    }

    /// Waits for a transaction's receipt, polling quickly at first (local chains mine at once).
    async fn wait_receipt(&self, call: &'static str, tx: B256) -> Result<TransactionReceipt> {
        let start = std::time::Instant::now();
        let mut delay = Duration::from_millis(5);
        loop {
            if let Some(r) = self
                .provider
                .get_transaction_receipt(tx)
                .await
                .map_err(|e| ChainError::rpc(call, e))?
            {
                if !r.status() {
                    return Err(ChainError::TxReverted { call, tx });
                }
                return Ok(r);
            }
            if start.elapsed() > self.receipt_timeout {
                return Err(ChainError::Invalid(format!(
                    "{call}: transaction {tx} not mined within {:?}",
                    self.receipt_timeout
                )));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }

    /// Sends a call and waits until it is mined; reverts are decoded.
    pub(crate) async fn mined<D: CallDecoder>(
        &self,
        call: &'static str,
        b: CallBuilder<&DynProvider, D, Ethereum>,
    ) -> Result<TransactionReceipt> {
        let pending = b.send().await.map_err(|e| ChainError::from_contract(call, e))?;
        self.wait_receipt(call, *pending.tx_hash()).await
    }

    // ------------------------------------------------------------------ reads

    /// Block in which the registry was initialized.
    pub async fn deployed_block(&self) -> Result<u64> {
        Ok(self
            .contract()
            .deployedBlockNumber()
            .call()
            .await
            .map_err(|e| ChainError::from_contract("deployedBlockNumber", e))? as u64)
    }

    /// The deposit for a rate limit: (token, amount).
    pub async fn price(&self, rate_limit: u32) -> Result<(Address, U256)> {
        let calc = self
            .contract()
            .priceCalculator()
            .call()
            .await
            .map_err(|e| ChainError::from_contract("priceCalculator", e))?;
        let r = LinearPriceCalculator::new(calc, self.provider.clone())
            .calculate(rate_limit)
            .call()
            .await
            .map_err(|e| ChainError::from_contract("calculate", e))?;
        Ok((r._0, r._1))
    }

    /// The deposit token of new memberships.
    pub async fn deposit_token(&self) -> Result<Address> {
        Ok(self.price(1).await?.0)
    }

    /// The current root of the registry's tree.
    pub async fn root(&self) -> Result<Field> {
        u256_to_field(
            self.contract()
                .root()
                .call()
                .await
                .map_err(|e| ChainError::from_contract("root", e))?,
        )
    }

    /// The most recent roots (newest first), without the zero slots of a young registry.
    pub async fn recent_roots(&self) -> Result<Vec<Field>> {
        let roots = self
            .contract()
            .getRecentRoots()
            .call()
            .await
            .map_err(|e| ChainError::from_contract("getRecentRoots", e))?;
        roots.into_iter().filter(|r| !r.is_zero()).map(u256_to_field).collect()
    }

    /// The number of slots ever used (the next new index).
    pub async fn next_free_index(&self) -> Result<u32> {
        self.contract()
            .nextFreeIndex()
            .call()
            .await
            .map_err(|e| ChainError::from_contract("nextFreeIndex", e))
    }

    /// nextFreeIndex as of a block.
    pub async fn next_free_index_at(&self, block: u64) -> Result<u32> {
        self.contract()
            .nextFreeIndex()
            .block(block.into())
            .call()
            .await
            .map_err(|e| ChainError::from_contract("nextFreeIndex", e))
    }

    /// The Merkle path of the leaf at `index`, from the contract (stateless mode: no tree sync).
    pub async fn merkle_proof(&self, index: u32) -> Result<MerkleProof> {
        let path = self
            .contract()
            .getMerkleProof(alloy::primitives::aliases::U40::from(index))
            .call()
            .await
            .map_err(|e| ChainError::from_contract("getMerkleProof", e))?;
        let path_elements = path.iter().map(|v| u256_to_field(*v)).collect::<Result<Vec<_>>>()?;
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
            ChainError::from_contract("getRateCommitmentsInRangeBoundsInclusive", e)
        })?;
        v.into_iter().map(u256_to_field).collect()
    }

    /// A membership by id commitment, `None` if not registered (or erased).
    pub async fn membership_info(&self, id_commitment: Field) -> Result<Option<MembershipInfo>> {
        let c = self.contract();
        let id = field_to_u256(id_commitment);
        let info = c
            .getMembershipInfo(id)
            .call()
            .await
            .map_err(|e| ChainError::from_contract("getMembershipInfo", e))?;
        if info._0 == 0 {
            return Ok(None);
        }
        let m = c
            .memberships(id)
            .call()
            .await
            .map_err(|e| ChainError::from_contract("memberships", e))?;
        let in_grace_period = c
            .isInGracePeriod(id)
            .call()
            .await
            .map_err(|e| ChainError::from_contract("isInGracePeriod", e))?;
        let expired =
            c.isExpired(id).call().await.map_err(|e| ChainError::from_contract("isExpired", e))?;
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
            .map_err(|e| ChainError::from_contract("withdrawableBalance", e))
    }

    /// ERC20 balance.
    pub async fn token_balance(&self, token: Address, holder: Address) -> Result<U256> {
        TestToken::new(token, self.provider.clone())
            .balanceOf(holder)
            .call()
            .await
            .map_err(|e| ChainError::from_contract("balanceOf", e))
    }

    // ------------------------------------------------------------------ transactions

    /// Mints test tokens (only works with the unrestricted [`TestToken`] of local deployments).
    pub async fn mint_test_tokens(&self, token: Address, to: Address, amount: U256) -> Result<()> {
        self.signer("mint")?;
        self.mined("TestToken.mint", TestToken::new(token, self.provider.clone()).mint(to, amount))
            .await?;
        Ok(())
    }

    /// Approves `amount` of the deposit token unless the allowance already covers it.
    async fn ensure_allowance(&self, token: Address, amount: U256) -> Result<()> {
        let me = self.signer("approve")?;
        let t = TestToken::new(token, self.provider.clone());
        let allowance = t
            .allowance(me, self.registry)
            .call()
            .await
            .map_err(|e| ChainError::from_contract("allowance", e))?;
        if allowance < amount {
            self.mined("approve", t.approve(self.registry, amount)).await?;
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
        self.signer("register")?;
        let (token, deposit) = self.price(rate_limit).await?;
        self.ensure_allowance(token, deposit).await?;
        let erase: Vec<U256> = erase_first.iter().map(|f| field_to_u256(*f)).collect();
        let r = self
            .mined(
                "register",
                self.contract().register(field_to_u256(id_commitment), rate_limit, erase),
            )
            .await?;
        let ev = r
            .decoded_log::<RlnMembership::MembershipRegistered>()
            .ok_or_else(|| ChainError::Invalid("register: no MembershipRegistered event".into()))?;
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
                let ev =
                    r.decoded_log::<RlnMembership::MembershipRegistered>().ok_or_else(|| {
                        ChainError::Invalid(
                            "register: no MembershipRegistered event (reverted?)".into(),
                        )
                    })?;
                out.push(ev.data.index);
            }
        }
        Ok(out)
    }

    /// Like [`MembershipClient::register_many`], for development nodes only (anvil): automine
    /// is turned off, each window (as many registrations as fit in one block, at most 500) is
    /// mined in one block with `evm_mine`, and checked with one `eth_getLogs` for the block's
    /// `MembershipRegistered` events instead of a receipt per transaction. Automine is restored
    /// afterwards, also on error. Much faster than one block per registration on anvil, whose
    /// cost per block grows with the chain's state; raise the block gas limit (anvil
    /// `--gas-limit`) for larger windows. Nodes without the `evm_*` methods give an error.
    pub async fn register_many_dev(
        &self,
        id_commitments: &[Field],
        rate_limit: u32,
    ) -> Result<Vec<u32>> {
        let Some(bulk) = self.prepare_bulk(id_commitments, rate_limit, DEV_REGISTER_WINDOW).await?
        else {
            return Ok(vec![]);
        };
        let automine = self
            .provider
            .anvil_get_auto_mine()
            .await
            .map_err(|e| ChainError::rpc("anvil_getAutomine", e))?;
        if automine {
            self.provider
                .anvil_set_auto_mine(false)
                .await
                .map_err(|e| ChainError::rpc("anvil_setAutomine", e))?;
        }
        let res = self.register_mined_windows(&bulk, id_commitments, rate_limit).await;
        if automine {
            let restored = self
                .provider
                .anvil_set_auto_mine(true)
                .await
                .map_err(|e| ChainError::rpc("anvil_setAutomine", e));
            if res.is_ok() {
                restored?;
            }
        }
        res
    }

    async fn register_mined_windows(
        &self,
        bulk: &Bulk,
        id_commitments: &[Field],
        rate_limit: u32,
    ) -> Result<Vec<u32>> {
        let mut nonce = bulk.nonce;
        let mut out = Vec::with_capacity(id_commitments.len());
        for window in id_commitments.chunks(bulk.window) {
            let hashes = self.send_registrations(bulk, window, rate_limit, nonce).await?;
            nonce += window.len() as u64;
            self.provider.evm_mine(None).await.map_err(|e| ChainError::rpc("evm_mine", e))?;
            let block = self
                .provider
                .get_block_number()
                .await
                .map_err(|e| ChainError::rpc("eth_blockNumber", e))?;
            let filter = Filter::new()
                .address(self.registry)
                .event_signature(RlnMembership::MembershipRegistered::SIGNATURE_HASH)
                .from_block(block)
                .to_block(block);
            let logs = self
                .provider
                .get_logs(&filter)
                .await
                .map_err(|e| ChainError::rpc("eth_getLogs", e))?;
            let mut events = Vec::with_capacity(logs.len());
            for log in &logs {
                let ev = log
                    .log_decode::<RlnMembership::MembershipRegistered>()
                    .map_err(|e| ChainError::Invalid(format!("bad MembershipRegistered log: {e}")))?
                    .inner
                    .data;
                events.push((ev.idCommitment, ev.index));
            }
            // Transactions are mined in nonce order, so the events come in window order.
            for (k, id) in window.iter().enumerate() {
                match events.get(k) {
                    Some((c, index)) if *c == field_to_u256(*id) => out.push(*index),
                    _ => {
                        let tx = hashes[k];
                        return Err(match self.provider.get_transaction_receipt(tx).await.map_err(|e| ChainError::rpc("eth_getTransactionReceipt", e))? {
                            Some(r) if !r.status() => ChainError::TxReverted { call: "register", tx },
                            Some(r) => ChainError::Invalid(format!("register: transaction {tx} mined in block {:?}, not with its window in block {block}", r.block_number)),
                            None => ChainError::Invalid(format!("register: transaction {tx} not mined by evm_mine (block gas limit too low for {} registrations?)", window.len())),
                        });
                    }
                }
            }
            if events.len() != window.len() {
                return Err(ChainError::Invalid(format!(
                    "register: block {block} has {} registrations, expected {}",
                    events.len(),
                    window.len()
                )));
            }
        }
        Ok(out)
    }

    /// The common part of bulk registration: one approval for all deposits, gas per transaction
    /// (room for a full tree path), fees, the first nonce and a window that fits in a block.
    async fn prepare_bulk(
        &self,
        id_commitments: &[Field],
        rate_limit: u32,
        max_window: usize,
    ) -> Result<Option<Bulk>> {
        let me = self.signer("register")?;
        if id_commitments.is_empty() {
            return Ok(None);
        }
        let (token, deposit) = self.price(rate_limit).await?;
        self.ensure_allowance(token, deposit * U256::from(id_commitments.len())).await?;
        let c = self.contract();
        let first = c.register(field_to_u256(id_commitments[0]), rate_limit, vec![]);
        let gas =
            first.estimate_gas().await.map_err(|e| ChainError::from_contract("register", e))?;
        // Later inserts hash more tree levels than the first one: leave room for a full path
        // (20 PoseidonT3 calls).
        let gas = gas * 2 + 500_000;
        let fees =
            self.provider.estimate_eip1559_fees().await.map_err(|e| ChainError::rpc("fees", e))?;
        let nonce = self
            .provider
            .get_transaction_count(me)
            .pending()
            .await
            .map_err(|e| ChainError::rpc("eth_getTransactionCount", e))?;
        let latest = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(|e| ChainError::rpc("eth_getBlockByNumber", e))?;
        let block_gas = latest
            .map(|b| b.header.gas_limit)
            .ok_or_else(|| ChainError::Invalid("no latest block".into()))?;
        if gas > block_gas {
            return Err(ChainError::Invalid(format!(
                "register needs up to {gas} gas, more than a block's {block_gas}"
            )));
        }
        let window = ((block_gas / gas) as usize).clamp(1, max_window);
        Ok(Some(Bulk {
            gas,
            max_fee: fees.max_fee_per_gas * 2,
            priority_fee: fees.max_priority_fee_per_gas,
            nonce,
            window,
        }))
    }

    /// Signs and sends one window of registrations (nonces from `nonce` on), all at once.
    async fn send_registrations(
        &self,
        bulk: &Bulk,
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
                    .map_err(|e| ChainError::from_contract("register", e))
            }
        });
        futures::future::try_join_all(sends).await
    }

    /// Extends the sender's grace-period memberships.
    pub async fn extend(&self, id_commitments: &[Field]) -> Result<B256> {
        self.signer("extendMemberships")?;
        let ids = id_commitments.iter().map(|f| field_to_u256(*f)).collect();
        Ok(self
            .mined("extendMemberships", self.contract().extendMemberships(ids))
            .await?
            .transaction_hash)
    }

    /// Erases memberships: lazily (leaves stay in the tree) or fully (leaves set to 0).
    pub async fn erase(&self, id_commitments: &[Field], full: bool) -> Result<B256> {
        self.signer("eraseMemberships")?;
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
        self.signer("withdraw")?;
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
    pub async fn commit_slash(
        &self,
        secret: Field,
        reward_receiver: Address,
    ) -> Result<SlashCommit> {
        let me = self.signer("commitSlash")?;
        let commitment = slash_commitment(secret, reward_receiver, me);
        let r = self.mined("commitSlash", self.contract().commitSlash(commitment)).await?;
        let ev = r
            .decoded_log::<RlnMembership::SlashCommitted>()
            .ok_or_else(|| ChainError::Invalid("commitSlash: no SlashCommitted event".into()))?;
        Ok(SlashCommit {
            commitment,
            block: r.block_number.unwrap_or_default(),
            first_reveal_block: ev.data.firstRevealBlock.try_into().unwrap_or(u64::MAX),
            last_reveal_block: ev.data.lastRevealBlock.try_into().unwrap_or(u64::MAX),
        })
    }

    /// Step 2 of a slash: reveals the secret (from the committing sender, after the commit block).
    pub async fn reveal_slash(
        &self,
        secret: Field,
        reward_receiver: Address,
    ) -> Result<SlashOutcome> {
        self.signer("revealSlash")?;
        let r = self
            .mined(
                "revealSlash",
                self.contract().revealSlash(field_to_u256(secret), reward_receiver),
            )
            .await?;
        let ev = r
            .decoded_log::<RlnMembership::MembershipSlashed>()
            .ok_or_else(|| ChainError::Invalid("revealSlash: no MembershipSlashed event".into()))?;
        Ok(SlashOutcome {
            id_commitment: u256_to_field(ev.data.idCommitment)?,
            index: ev.data.index,
            reward_receiver: ev.data.rewardReceiver,
            reward: ev.data.reward,
            treasury_amount: ev.data.treasuryAmount,
            tx: r.transaction_hash,
            block: r.block_number.unwrap_or_default(),
        })
    }

    /// Commit, wait until the chain is past the commit block, reveal.
    pub async fn slash(
        &self,
        secret: Field,
        reward_receiver: Address,
    ) -> Result<(SlashCommit, SlashOutcome)> {
        let commit = self.commit_slash(secret, reward_receiver).await?;
        let start = std::time::Instant::now();
        loop {
            match self.reveal_slash(secret, reward_receiver).await {
                Err(e)
                    if e.revert_name() == Some("SlashRevealTooEarly")
                        && start.elapsed() < self.receipt_timeout =>
                {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                other => return other.map(|o| (commit, o)),
            }
        }
    }

    /// Current block number.
    pub async fn block_number(&self) -> Result<u64> {
        self.provider.get_block_number().await.map_err(|e| ChainError::rpc("eth_blockNumber", e))
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
