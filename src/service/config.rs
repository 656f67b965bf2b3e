//! [`RelayConfig`]: everything `rlnkit relay run` runs, as one value a library user can build
//! too; [`RelayBuilder::from_config`] connects to the chain, opens the data directory and
//! assembles the relay, its lightpush service (free or paid, proving with the operator's
//! membership), the claimer and the slasher. The CLI only maps its flags and TOML file to it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use libp2p::Multiaddr;

use super::builder::RelayBuilder;
use super::data_dir::{DataDir, DataDirError};
use crate::chain::{ContractRoots, MembershipReader, MembershipWriter, RegistryError};
use crate::circuit::CircuitKeys;
use crate::credentials::{
    ClaimError, ClaimPolicy, CredentialsError, CredentialsWriter, Offer, PaidService,
};
use crate::epoch::{RlnIdentifier, WAKU_EPOCH_SECONDS};
use crate::field::Field;
use crate::identity::{Identity, UserMessageLimit};
use crate::incentives::SlashConfig;
use crate::lightpush::LightpushServer;
use crate::prover::Prover;
use crate::relay::message_ids::{MessageIdError, MessageIdLog};
use crate::relay::publisher::Publisher;
use crate::roots::{AcceptedRoots, StaticRoots};
use crate::tree::{MerkleTree, TreeError, DEFAULT_DEPTH};
use crate::verifier::Verifier;

/// Why a relay could not be assembled from its config.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither static roots nor a registry to read them from.
    #[error("no acceptable roots: give static roots, a members file, or a registry to follow")]
    NoRoots,
    /// Slashing or a paid service needs the operator's key.
    #[error("{0} needs the operator's key")]
    NoOperatorKey(&'static str),
    /// Slashing needs a registry.
    #[error("slashing needs the registry's address")]
    SlashingNeedsRegistry,
    /// A membership that proves must keep its message ids, and a paid service its vouchers.
    #[error("{0} needs a data directory")]
    NeedsDataDir(&'static str),
    /// The operator's identity is not in its members list.
    #[error("the operator identity (limit {limit}) is not among the {members} members given")]
    OperatorNotMember {
        /// Its message limit.
        limit: u64,
        /// How many members were given.
        members: usize,
    },
    /// The members do not fit a tree.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// The data directory failed.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The operator's message-id file failed.
    #[error(transparent)]
    MessageIds(#[from] MessageIdError),
    /// The registry's client failed (connecting, reading roots).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The ServiceCredentials client failed (connecting).
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The paid service could not start (registration, store, first sync).
    #[error("starting the paid lightpush service: {0}")]
    Paid(#[from] ClaimError),
}

/// The chain a relay follows.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// The membership registry (its roots are accepted under its time rule, see
    /// [`ContractRoots`]; slashing goes there).
    pub registry: Option<Address>,
    /// How often the registry's new roots are read (well below its `rootAcceptanceWindow`).
    pub roots_poll: Duration,
    /// The operator's key: slashing transactions and the paid service's registration and
    /// claims.
    pub operator_key: Option<PrivateKeySigner>,
}

impl ChainConfig {
    /// A chain at `rpc_url`, roots read every 2 s ([`crate::chain::DEFAULT_ROOT_REFRESH`]), no
    /// registry, no key.
    pub fn new(rpc_url: impl Into<String>) -> Self {
        ChainConfig {
            rpc_url: rpc_url.into(),
            registry: None,
            roots_poll: crate::chain::DEFAULT_ROOT_REFRESH,
            operator_key: None,
        }
    }
}

/// The operator's own RLN membership, which proves messages that come without a proof.
#[derive(Debug, Clone)]
pub struct OperatorMembership {
    /// The identity.
    pub identity: Identity,
    /// Its message limit.
    pub limit: UserMessageLimit,
    /// The members (rate commitments in tree order) its Merkle path is taken from.
    pub members: Vec<Field>,
}

/// A paid lightpush: the ServiceCredentials contract, the offer, the claim policy.
#[derive(Debug, Clone)]
pub struct PaidConfig {
    /// The ServiceCredentials contract.
    pub credentials: Address,
    /// What one request costs (registered on chain if it differs).
    pub offer: Offer,
    /// When the claimer claims.
    pub policy: ClaimPolicy,
}

/// The lightpush service.
#[derive(Debug, Clone, Default)]
pub struct LightpushConfig {
    /// Prove messages without a proof with this membership.
    pub operator: Option<OperatorMembership>,
    /// Charge per request (needs the chain's operator key and a data directory).
    pub paid: Option<PaidConfig>,
}

/// Everything a relay runs with. `RelayConfig::new(keys)` gives Waku's defaults; set what differs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The circuit keys (the verifying key judges messages; the proving key proves the
    /// operator's).
    pub keys: Arc<CircuitKeys>,
    /// Pubsub topics served.
    pub topics: Vec<String>,
    /// The application's RLN identifier.
    pub rln_identifier: RlnIdentifier,
    /// Epoch length in seconds.
    pub epoch_seconds: u64,
    /// Listen addresses.
    pub listen: Vec<Multiaddr>,
    /// Peers dialled at start.
    pub peers: Vec<Multiaddr>,
    /// Where state survives restarts (node key, nullifier log, message ids, vouchers).
    pub data_dir: Option<PathBuf>,
    /// Serve `/metrics` and `/health` here.
    pub metrics_server: Option<SocketAddr>,
    /// Roots accepted besides the registry's (e.g. a members file's): with a registry, a root of
    /// either is accepted.
    pub static_roots: Vec<Field>,
    /// Memberships reported in the metrics.
    pub memberships: Option<u64>,
    /// The chain followed (roots from the registry when it names one).
    pub chain: Option<ChainConfig>,
    /// Slash double signallers, paying the reward to this address (None: no slashing; the
    /// operator key's address when [`Address::ZERO`]).
    pub slash_reward_to: Option<Address>,
    /// Serve lightpush.
    pub lightpush: Option<LightpushConfig>,
}

impl RelayConfig {
    /// Waku's defaults: cluster 1 shard 0, the Waku RLN identifier, 600 s epochs, listening on
    /// `/ip4/0.0.0.0/tcp/60000`, nothing else.
    pub fn new(keys: Arc<CircuitKeys>) -> Self {
        RelayConfig {
            keys,
            topics: vec![crate::relay::shard_topic(1, 0)],
            rln_identifier: RlnIdentifier::waku(),
            epoch_seconds: WAKU_EPOCH_SECONDS,
            listen: vec!["/ip4/0.0.0.0/tcp/60000".parse().expect("a multiaddr")],
            peers: Vec::new(),
            data_dir: None,
            metrics_server: None,
            static_roots: Vec::new(),
            memberships: None,
            chain: None,
            slash_reward_to: None,
            lightpush: None,
        }
    }
}

impl RelayBuilder {
    /// Assembles a relay from `config`: reads the registry's roots (polled) or takes the static
    /// ones, connects the slasher and the paid service to the chain, opens the data directory.
    /// Start it with [`RelayBuilder::start`].
    pub async fn from_config(config: RelayConfig) -> Result<RelayBuilder, ConfigError> {
        let chain = config.chain.as_ref();
        let registry = chain.and_then(|c| c.registry.map(|r| (c, r)));
        let roots: Arc<dyn AcceptedRoots> = match registry {
            Some((c, registry)) => {
                let reader = MembershipReader::connect(&c.rpc_url, registry, None).await?;
                let chain = ContractRoots::polling(reader, c.roots_poll).await?;
                if config.static_roots.is_empty() {
                    chain
                } else {
                    // Both: the registry's window and the roots given (e.g. a members file).
                    Arc::new(EitherRoots(
                        chain,
                        StaticRoots::new(config.static_roots.iter().copied()),
                    ))
                }
            }
            None if config.static_roots.is_empty() => return Err(ConfigError::NoRoots),
            None => Arc::new(StaticRoots::new(config.static_roots.iter().copied())),
        };
        let data_dir = config.data_dir.clone().map(DataDir::open).transpose()?;
        let mut builder = RelayBuilder::new(Verifier::new(config.keys.verifying_key()), roots)
            .topics(config.topics.clone())
            .rln_identifier(config.rln_identifier)
            .epoch_seconds(config.epoch_seconds)
            .listen(config.listen.clone())
            .bootstrap_peers(config.peers.clone());
        if let Some(d) = &data_dir {
            builder = builder.data_dir(d.path());
        }
        if let Some(n) = config.memberships {
            builder = builder.memberships(n);
        }
        if let Some(addr) = config.metrics_server {
            builder = builder.metrics_server(addr);
        }
        if let Some(receiver) = config.slash_reward_to {
            let (c, registry) = registry.ok_or(ConfigError::SlashingNeedsRegistry)?;
            let key = c.operator_key.clone().ok_or(ConfigError::NoOperatorKey("slashing"))?;
            let receiver = if receiver.is_zero() { key.address() } else { receiver };
            let writer = MembershipWriter::connect(&c.rpc_url, key, registry, None).await?;
            builder = builder.slashing(Arc::new(writer), SlashConfig::new(receiver));
        }
        if let Some(lp) = &config.lightpush {
            let mut server = LightpushServer::new(config.topics.clone());
            if let Some(op) = &lp.operator {
                let dir = data_dir
                    .as_ref()
                    .ok_or(ConfigError::NeedsDataDir("proving with the operator's membership"))?;
                server = server.with_publisher(operator_publisher(&config, op, dir)?);
            }
            if let Some(paid) = &lp.paid {
                let c = chain.ok_or(ConfigError::NoOperatorKey("a paid service"))?;
                let key =
                    c.operator_key.clone().ok_or(ConfigError::NoOperatorKey("a paid service"))?;
                let dir = data_dir.as_ref().ok_or(ConfigError::NeedsDataDir("a paid service"))?;
                let writer =
                    CredentialsWriter::connect(&c.rpc_url, key, paid.credentials, None).await?;
                let service =
                    PaidService::start(writer, paid.offer, dir.vouchers(), paid.policy).await?;
                if service.registered {
                    tracing::info!(price = %service.terms.price, "registered lightpush on chain");
                }
                server = server.paid(service.checker, service.store);
                builder = builder.claimer(service.claimer);
            }
            builder = builder.lightpush(server);
        }
        Ok(builder)
    }
}

/// The operator's publisher: its Merkle path from the members, its message ids on disk.
fn operator_publisher(
    config: &RelayConfig,
    op: &OperatorMembership,
    dir: &DataDir,
) -> Result<Publisher, ConfigError> {
    let tree = MerkleTree::from_leaves(DEFAULT_DEPTH, &op.members)?;
    let leaf = op.identity.rate_commitment(op.limit);
    let index =
        op.members.iter().position(|&m| m == leaf).ok_or(ConfigError::OperatorNotMember {
            limit: op.limit.get(),
            members: op.members.len(),
        })?;
    let ids =
        MessageIdLog::open(dir.message_ids(), op.identity.commitment(), config.rln_identifier)?;
    Ok(Publisher::new(
        Prover::new(config.keys.clone()),
        op.identity.clone(),
        op.limit,
        tree.proof(index as u64)?,
    )
    .with_rln_identifier(config.rln_identifier)
    .with_epoch_seconds(config.epoch_seconds)
    .with_message_ids(ids))
}

/// Roots accepted by either source (the registry's window, or roots given by the operator).
struct EitherRoots(Arc<ContractRoots>, StaticRoots);

impl AcceptedRoots for EitherRoots {
    fn contains_root(&self, root: &Field) -> bool {
        self.1.contains_root(root) || self.0.contains_root(root)
    }

    fn roots(&self) -> Vec<Field> {
        let mut r = self.1.roots();
        r.extend(self.0.roots());
        r
    }

    fn note_unknown_root(&self) {
        self.0.note_unknown_root()
    }
}
