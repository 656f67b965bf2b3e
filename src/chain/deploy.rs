//! Deploying a registry: its linked libraries (at their CREATE2 addresses), the token, the price
//! calculator, the registry and its proxy.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use serde::Serialize;

use super::bindings::{
    linked_libraries, ERC1967Proxy, LinearPriceCalculator, RlnMembership, TestToken,
};
use super::client::{connect_provider, MembershipReader};
use super::error::{DeployError, RpcError};
use super::revert::Contract;
use super::writer::MembershipWriter;
use super::TOKEN_UNIT;

type Result<T> = std::result::Result<T, DeployError>;

/// The registry's default reveal window (blocks).
const DEFAULT_SLASH_REVEAL_WINDOW: u32 = 256;
/// The registry's default root acceptance window (seconds).
const DEFAULT_ROOT_ACCEPTANCE_WINDOW: u32 = 300;
/// The registry's default withdrawal delay (blocks).
const DEFAULT_WITHDRAWAL_DELAY: u32 = 7_200;

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
    /// Total rate limit of all memberships.
    pub max_total_rate_limit: u32,
    /// Smallest rate limit of one membership.
    pub min_membership_rate_limit: u32,
    /// Largest rate limit of one membership.
    pub max_membership_rate_limit: u32,
    /// Seconds.
    pub active_duration: u32,
    /// Seconds.
    pub grace_period: u32,
    /// Reward share of a slash in basis points (`None`: the contract's default, 5,000).
    pub slash_reward_bps: Option<u16>,
    /// Blocks (`None`: the contract's default, 256).
    pub slash_reveal_window: Option<u32>,
    /// Blocks (`None`: the contract's default, 7,200); above the reveal window plus the root
    /// acceptance window.
    pub withdrawal_delay: Option<u32>,
    /// Seconds a superseded root stays acceptable to relays (`None`: the contract's default, 300).
    pub root_acceptance_window: Option<u32>,
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
            root_acceptance_window: None,
            treasury: None,
        }
    }
}

/// Addresses of a deployment.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Deployment {
    /// The chain.
    pub chain_id: u64,
    /// The registry (the ERC1967 proxy): what every other call talks to.
    pub registry: Address,
    /// The registry's implementation behind the proxy.
    pub implementation: Address,
    /// The deposit token.
    pub token: Address,
    /// The price calculator.
    pub price_calculator: Address,
    /// The PoseidonT2 library.
    pub poseidon_t2: Address,
    /// The PoseidonT3 library.
    pub poseidon_t3: Address,
    /// Block of the proxy's initialization (where tree sync starts).
    pub deployed_block: u64,
}

/// Deploys the linked libraries (Poseidon, the tree), the token (unless given), the price calculator, the
/// registry implementation and its ERC1967 proxy (initialized in the same transaction), then
/// applies non-default slashing parameters. Returns a writer of the new registry, signing with
/// the deployer's key.
pub async fn deploy_registry(
    url: &str,
    signer: PrivateKeySigner,
    expected_chain_id: Option<u64>,
    cfg: &DeployConfig,
) -> Result<(MembershipWriter, Deployment)> {
    let deployer = signer.address();
    let (p, chain_id) = connect_provider(url, Some(signer), expected_chain_id).await?;
    // Until the proxy exists, the writer only sends deployments (no registry calls).
    let me = MembershipWriter::new(
        MembershipReader { provider: p.clone(), registry: Address::ZERO, chain_id },
        deployer,
    );
    // Libraries at their fixed CREATE2 addresses (the registry's bytecode is linked to them).
    let libs = linked_libraries()?;
    for lib in &libs {
        if p.get_code_at(lib.address)
            .await
            .map_err(|e| RpcError::transport("eth_getCode", e))?
            .is_empty()
        {
            if p.get_code_at(lib.create2_deployer)
                .await
                .map_err(|e| RpcError::transport("eth_getCode", e))?
                .is_empty()
            {
                return Err(DeployError::NoCreate2Deployer {
                    deployer: lib.create2_deployer,
                    chain_id,
                    library: lib.name,
                });
            }
            let tx = TransactionRequest::default()
                .with_to(lib.create2_deployer)
                .with_input(lib.calldata.clone());
            let pending = p
                .send_transaction(tx)
                .await
                .map_err(|e| RpcError::transport("deploy library", e))?;
            me.wait_receipt("deploy library", *pending.tx_hash()).await?;
            if p.get_code_at(lib.address)
                .await
                .map_err(|e| RpcError::transport("eth_getCode", e))?
                .is_empty()
            {
                return Err(DeployError::LibraryNotDeployed {
                    library: lib.name,
                    address: lib.address,
                });
            }
        }
    }
    let (poseidon_t2, poseidon_t3) = (libs[0].address, libs[1].address);
    let token = match cfg.token {
        Some(t) => t,
        None => {
            let r = me
                .mined_on(Contract::Token, "deploy TestToken", TestToken::deploy_builder(&p))
                .await?;
            let t = r
                .contract_address
                .ok_or(DeployError::NoDeployedAddress { contract: "TestToken" })?;
            if !cfg.mint_to_deployer.is_zero() {
                me.mined_on(
                    Contract::Token,
                    "TestToken.mint",
                    TestToken::new(t, p.clone()).mint(deployer, cfg.mint_to_deployer),
                )
                .await?;
            }
            t
        }
    };
    let r = me
        .mined_on(
            Contract::PriceCalculator,
            "deploy LinearPriceCalculator",
            LinearPriceCalculator::deploy_builder(&p, token, cfg.price_per_message_per_epoch),
        )
        .await?;
    let price_calculator = r
        .contract_address
        .ok_or(DeployError::NoDeployedAddress { contract: "LinearPriceCalculator" })?;
    let r = me.mined("deploy RlnMembership", RlnMembership::deploy_builder(&p)).await?;
    let implementation =
        r.contract_address.ok_or(DeployError::NoDeployedAddress { contract: "RlnMembership" })?;
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
    let registry =
        r.contract_address.ok_or(DeployError::NoDeployedAddress { contract: "ERC1967Proxy" })?;
    let me = MembershipWriter::new(
        MembershipReader { provider: p.clone(), registry, chain_id },
        deployer,
    );
    let reg = me.contract();
    // Order matters: reveal window + root window < withdrawal delay after every step. Raise the
    // delay first, then lower the windows, then raise them, then lower the delay.
    let (r0, w0, d0) =
        (DEFAULT_SLASH_REVEAL_WINDOW, DEFAULT_ROOT_ACCEPTANCE_WINDOW, DEFAULT_WITHDRAWAL_DELAY);
    let (r, w, d) = (
        cfg.slash_reveal_window.unwrap_or(r0),
        cfg.root_acceptance_window.unwrap_or(w0),
        cfg.withdrawal_delay.unwrap_or(d0),
    );
    if d > d0 {
        me.mined("setWithdrawalDelay", reg.setWithdrawalDelay(d)).await?;
    }
    if w < w0 {
        me.mined("setRootAcceptanceWindow", reg.setRootAcceptanceWindow(w)).await?;
    }
    if r < r0 {
        me.mined("setSlashRevealWindow", reg.setSlashRevealWindow(r)).await?;
    }
    if w > w0 {
        me.mined("setRootAcceptanceWindow", reg.setRootAcceptanceWindow(w)).await?;
    }
    if r > r0 {
        me.mined("setSlashRevealWindow", reg.setSlashRevealWindow(r)).await?;
    }
    if d < d0 {
        me.mined("setWithdrawalDelay", reg.setWithdrawalDelay(d)).await?;
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
