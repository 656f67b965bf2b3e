//! Slashing a spammer whose secret a relay recovered: the one commit-reveal flow of rlnkit. The
//! membership contract takes it in two steps so the public reveal cannot be front-run:
//! `commitSlash(keccak256(abi.encode(uint256 secret, address rewardReceiver, address sender)))`,
//! then, at least one block later and within the contract's window, `revealSlash(uint256 secret,
//! address rewardReceiver)`; the reward goes to the receiver (the relay operator's address).
//!
//! [`slash_member`] runs the flow for one secret, [`slash_spammers`] for a relay's stream of
//! [`SpamEvent`]s (journaled in [`SlashConfig::journal`] until done, so a restart resumes them);
//! both talk to the chain through a [`SlashBackend`] (the chain client's
//! `MembershipWriter` implements it; [`MemorySlashBackend`] stands in for tests and the demo).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::sol_types::SolValue;
use futures::future::BoxFuture;
use serde::Serialize;
use tokio::sync::mpsc;

use super::journal::{PendingSlash, SlashJournal};
use crate::field::Field;
use crate::identity::id_commitment;
use crate::relay::validator::SpamEvent;

/// The slash commitment exactly as the registry computes it:
/// keccak256(abi.encode(uint256 secret, address rewardReceiver, address sender)).
pub fn slash_commitment(secret: Field, reward_receiver: Address, sender: Address) -> B256 {
    keccak256(
        (U256::from_be_bytes(secret.to_be_bytes()), reward_receiver, sender).abi_encode_params(),
    )
}

/// Why a slash step failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SlashError {
    /// No active membership has this secret's id commitment.
    #[error("no active membership has this secret's id commitment")]
    NotAMember,
    /// The membership was slashed (or erased) already (the registry's `NothingToSlash`).
    #[error("the membership was already slashed")]
    AlreadySlashed,
    /// The sender committed to no (secret, receiver) like this one (`SlashNotCommitted`).
    #[error("no commitment for this (secret, receiver, sender)")]
    NoCommitment,
    /// The reveal came in the commitment's block (`SlashRevealTooEarly`).
    #[error("the reveal must come at least one block after the commitment")]
    TooEarly,
    /// The reveal window passed (`SlashRevealTooLate`).
    #[error("the reveal window of the commitment has passed")]
    TooLate,
    /// The double signaller is this node's own membership (listed with [`SlashConfig::spare`]):
    /// a node never slashes itself; the cause (a reused message id) needs an operator's look.
    #[error("the double signaller is this node's own membership: not slashed")]
    OwnMembership,
    /// The chain did not pass the commitment's block within [`SlashConfig::max_wait`].
    #[error("timed out waiting for the commitment's block")]
    Timeout,
    /// The backend failed otherwise (RPC, another revert); the source says how.
    #[error("slash backend: {0}")]
    Backend(#[source] Arc<dyn std::error::Error + Send + Sync>),
}

/// A mined slash commitment.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SlashCommit {
    /// What was committed ([`slash_commitment`]).
    pub commitment: B256,
    /// The block it was mined in.
    pub block: u64,
    /// The first block a reveal is accepted in.
    pub first_reveal_block: u64,
    /// The last block a reveal is accepted in.
    pub last_reveal_block: u64,
}

/// A reveal that slashed a membership.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Slashed {
    /// The slashed membership.
    pub id_commitment: Field,
    /// Its index in the tree.
    pub index: u32,
    /// Who was paid.
    pub reward_receiver: Address,
    /// The reward (token base units).
    pub reward: U256,
    /// The treasury's share of the deposit.
    pub treasury_amount: U256,
    /// The reveal transaction (`None` for the in-memory backend).
    pub tx: Option<B256>,
    /// The block of the reveal.
    pub block: u64,
}

/// The chain side of slashing (implemented by the chain client's writer; in memory for tests).
pub trait SlashBackend: Send + Sync {
    /// The account that sends the transactions (the commitment binds to it).
    fn sender(&self) -> Address;
    /// The latest block number.
    fn block_number(&self) -> BoxFuture<'_, Result<u64, SlashError>>;
    /// Sends `commitSlash(commitment)` and waits until it is mined.
    fn commit_slash(&self, commitment: B256) -> BoxFuture<'_, Result<SlashCommit, SlashError>>;
    /// Sends `revealSlash(secret, receiver)` and waits until it is mined.
    fn reveal_slash(
        &self,
        secret: Field,
        receiver: Address,
    ) -> BoxFuture<'_, Result<Slashed, SlashError>>;
}

/// How the slasher works.
#[derive(Debug, Clone)]
pub struct SlashConfig {
    /// Who receives the reward: the relay operator.
    pub reward_receiver: Address,
    /// How often to poll for the commitment's block.
    pub poll: Duration,
    /// How long to wait for it before giving up.
    pub max_wait: Duration,
    /// Memberships (id commitments) never slashed: the node's own.
    pub spared: HashSet<Field>,
    /// Where caught double signallers wait for their slash (default: in memory; a relay's data
    /// directory keeps it in a file, so a restart resumes them).
    pub journal: Arc<SlashJournal>,
}

impl SlashConfig {
    /// Pays `reward_receiver`; polls every 200 ms for up to 120 s.
    pub fn new(reward_receiver: Address) -> Self {
        SlashConfig {
            reward_receiver,
            poll: Duration::from_millis(200),
            max_wait: Duration::from_secs(120),
            spared: HashSet::new(),
            journal: Arc::new(SlashJournal::in_memory()),
        }
    }

    /// Never slashes this membership (an id commitment): the node's own. Its double signal is
    /// reported as [`SlashError::OwnMembership`] instead.
    pub fn spare(mut self, id_commitment: Field) -> Self {
        self.spared.insert(id_commitment);
        self
    }
}

/// What happened to one spammer.
#[derive(Debug, Clone)]
pub struct SlashOutcome {
    /// The member.
    pub id_commitment: Field,
    /// The epoch of the double signal.
    pub epoch: u64,
    /// The commitment, if it was mined.
    pub commit: Option<SlashCommit>,
    /// The reveal's result.
    pub result: Result<Slashed, SlashError>,
}

/// Slashes one member: commits, waits until the chain has the commitment's block, reveals. A
/// transaction sent after the commitment's block exists lands in a later block (with anvil's
/// automine, the next one), which is what the contract requires (`block.number > commitBlock`);
/// a reveal the chain still finds too early is retried until [`SlashConfig::max_wait`].
pub async fn slash_member(
    backend: &dyn SlashBackend,
    config: &SlashConfig,
    secret: Field,
) -> (Option<SlashCommit>, Result<Slashed, SlashError>) {
    let c = slash_commitment(secret, config.reward_receiver, backend.sender());
    let commit = match backend.commit_slash(c).await {
        Ok(commit) => commit,
        Err(e) => return (None, Err(e)),
    };
    let end = tokio::time::Instant::now() + config.max_wait;
    loop {
        match backend.block_number().await {
            Ok(b) if b >= commit.block => {
                match backend.reveal_slash(secret, config.reward_receiver).await {
                    Err(SlashError::TooEarly) => {}
                    result => return (Some(commit), result),
                }
            }
            Ok(_) => {}
            Err(e) => return (Some(commit), Err(e)),
        }
        if tokio::time::Instant::now() >= end {
            return (Some(commit), Err(SlashError::Timeout));
        }
        tokio::time::sleep(config.poll).await;
    }
}

/// Consumes spam events on the current tokio runtime, slashing each member once, and reports the
/// outcomes.
pub fn slash_spammers(
    backend: Arc<dyn SlashBackend>,
    config: SlashConfig,
    mut events: mpsc::UnboundedReceiver<SpamEvent>,
) -> (tokio::task::JoinHandle<()>, mpsc::UnboundedReceiver<SlashOutcome>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut done = HashSet::new();
        // First what an earlier run of this relay caught and did not finish.
        let resumed = config.journal.pending();
        if !resumed.is_empty() {
            tracing::info!(count = resumed.len(), "resuming slashes a restart interrupted");
        }
        let mut resumed = resumed.into_iter();
        loop {
            let p = match resumed.next() {
                Some(p) => p,
                None => match events.recv().await {
                    Some(ev) => PendingSlash {
                        id_commitment: ev.id_commitment,
                        epoch: ev.epoch,
                        secret: ev.secret,
                    },
                    None => break,
                },
            };
            let ev = &p;
            if !done.insert(ev.id_commitment) {
                continue;
            }
            let (commit, result) = if config.spared.contains(&ev.id_commitment) {
                tracing::error!(id_commitment = %ev.id_commitment.to_hex(), epoch = ev.epoch,
                    "this node's own membership double-signalled (a message id was reused): not slashing it");
                (None, Err(SlashError::OwnMembership))
            } else {
                if let Err(e) = config.journal.add(p) {
                    tracing::warn!(error = %e, "the slash is not journaled: a restart before its reveal loses it");
                }
                slash_member(backend.as_ref(), &config, ev.secret).await
            };
            // Done, or never possible: forgotten. A failure that may pass (the chain, a timeout)
            // stays in the journal for the next start.
            let settled = matches!(
                &result,
                Ok(_)
                    | Err(SlashError::NotAMember
                        | SlashError::AlreadySlashed
                        | SlashError::OwnMembership)
            );
            if settled {
                if let Err(e) = config.journal.remove(&ev.id_commitment) {
                    tracing::warn!(error = %e, "the slash journal keeps a finished slash");
                }
            }
            match &result {
                Ok(r) => {
                    tracing::info!(id_commitment = %ev.id_commitment.to_hex(), reward = %r.reward, "spammer slashed")
                }
                Err(e) => {
                    tracing::warn!(id_commitment = %ev.id_commitment.to_hex(), "slashing failed: {e}")
                }
            }
            let _ = tx.send(SlashOutcome {
                id_commitment: ev.id_commitment,
                epoch: ev.epoch,
                commit,
                result,
            });
        }
    });
    (task, rx)
}

#[derive(Debug, Default)]
struct MemState {
    block: u64,
    /// Stake and tree index per member.
    members: HashMap<Field, (U256, u32)>,
    slashed: HashSet<Field>,
    commitments: HashMap<B256, u64>,
    balances: HashMap<Address, U256>,
}

/// An in-memory stand-in for the membership contract's slashing (each transaction mines a
/// block, like anvil's automine; half the stake goes to the receiver, the rest to the treasury).
#[derive(Debug)]
pub struct MemorySlashBackend {
    sender: Address,
    /// Percent of the stake paid to the receiver.
    reward_percent: u64,
    /// Blocks after the commitment in which the reveal is accepted.
    reveal_window: u64,
    state: Mutex<MemState>,
}

impl MemorySlashBackend {
    /// A chain at block 1 whose transactions come from `sender`.
    pub fn new(sender: Address) -> Self {
        MemorySlashBackend {
            sender,
            reward_percent: 50,
            reveal_window: 256,
            state: Mutex::new(MemState { block: 1, ..Default::default() }),
        }
    }

    fn state(&self) -> MutexGuard<'_, MemState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a membership with a stake (at the next tree index).
    pub fn add_member(&self, id_commitment: Field, stake: U256) {
        let mut s = self.state();
        let index = s.members.len() as u32;
        s.members.insert(id_commitment, (stake, index));
    }

    /// What `a` has been paid.
    pub fn balance(&self, a: &Address) -> U256 {
        self.state().balances.get(a).copied().unwrap_or_default()
    }

    /// Whether the member was slashed.
    pub fn is_slashed(&self, id_commitment: &Field) -> bool {
        self.state().slashed.contains(id_commitment)
    }

    /// Mines an empty block.
    pub fn mine(&self) {
        self.state().block += 1;
    }
}

impl SlashBackend for MemorySlashBackend {
    fn sender(&self) -> Address {
        self.sender
    }

    fn block_number(&self) -> BoxFuture<'_, Result<u64, SlashError>> {
        Box::pin(async move { Ok(self.state().block) })
    }

    fn commit_slash(&self, commitment: B256) -> BoxFuture<'_, Result<SlashCommit, SlashError>> {
        Box::pin(async move {
            let mut s = self.state();
            s.block += 1;
            let block = s.block;
            s.commitments.insert(commitment, block);
            Ok(SlashCommit {
                commitment,
                block,
                first_reveal_block: block + 1,
                last_reveal_block: block + self.reveal_window,
            })
        })
    }

    fn reveal_slash(
        &self,
        secret: Field,
        receiver: Address,
    ) -> BoxFuture<'_, Result<Slashed, SlashError>> {
        Box::pin(async move {
            let mut s = self.state();
            s.block += 1;
            let block = s.block;
            let c = slash_commitment(secret, receiver, self.sender);
            let committed = *s.commitments.get(&c).ok_or(SlashError::NoCommitment)?;
            if block <= committed {
                return Err(SlashError::TooEarly);
            }
            if block > committed + self.reveal_window {
                return Err(SlashError::TooLate);
            }
            let idc = id_commitment(secret);
            if s.slashed.contains(&idc) {
                return Err(SlashError::AlreadySlashed);
            }
            let (stake, index) = *s.members.get(&idc).ok_or(SlashError::NotAMember)?;
            let reward = stake * U256::from(self.reward_percent) / U256::from(100);
            s.slashed.insert(idc);
            s.commitments.remove(&c);
            *s.balances.entry(receiver).or_default() += reward;
            Ok(Slashed {
                id_commitment: idc,
                index,
                reward_receiver: receiver,
                reward,
                treasury_amount: stake - reward,
                tx: None,
                block,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_is_abi_encoded() {
        // abi.encode(uint256 1, address 0x..02, address 0x..03): three 32-byte big-endian words.
        let (r, s) = (Address::with_last_byte(2), Address::with_last_byte(3));
        let mut words = [0u8; 96];
        words[31] = 1;
        words[63] = 2;
        words[95] = 3;
        assert_eq!(slash_commitment(Field::ONE, r, s), keccak256(words));
    }

    #[tokio::test]
    async fn commit_wait_reveal_pays_the_receiver_once() {
        let operator = Address::repeat_byte(7);
        let b = Arc::new(MemorySlashBackend::new(Address::repeat_byte(1)));
        let secret = Field::from_u64(42);
        b.add_member(id_commitment(secret), U256::from(1000));
        let cfg = SlashConfig { poll: Duration::from_millis(1), ..SlashConfig::new(operator) };
        // Revealing without a commitment fails.
        assert!(matches!(b.reveal_slash(secret, operator).await, Err(SlashError::NoCommitment)));
        let (commit, r) = slash_member(b.as_ref(), &cfg, secret).await;
        let (commit, r) = (commit.unwrap(), r.unwrap());
        assert!(r.block > commit.block);
        assert_eq!(commit.commitment, slash_commitment(secret, operator, b.sender()));
        assert_eq!(r.reward, U256::from(500));
        assert_eq!(r.reward + r.treasury_amount, U256::from(1000));
        assert_eq!(b.balance(&operator), U256::from(500));
        assert!(b.is_slashed(&id_commitment(secret)));
        let (_, again) = slash_member(b.as_ref(), &cfg, secret).await;
        assert!(matches!(again, Err(SlashError::AlreadySlashed)));
        let (_, stranger) = slash_member(b.as_ref(), &cfg, Field::from_u64(43)).await;
        assert!(matches!(stranger, Err(SlashError::NotAMember)));
    }

    #[tokio::test]
    async fn a_front_runner_cannot_use_anothers_commitment() {
        let (me, operator) = (Address::repeat_byte(1), Address::repeat_byte(7));
        let b = MemorySlashBackend::new(me);
        let secret = Field::from_u64(42);
        b.add_member(id_commitment(secret), U256::from(1000));
        b.commit_slash(slash_commitment(secret, operator, me)).await.unwrap();
        b.mine();
        // Someone who saw the reveal and tries to redirect the reward has no matching commitment.
        let thief = Address::repeat_byte(9);
        assert!(matches!(b.reveal_slash(secret, thief).await, Err(SlashError::NoCommitment)));
        assert!(b.reveal_slash(secret, operator).await.is_ok());
    }

    /// A backend whose chain reports the commitment's block before it accepts the reveal: the
    /// flow retries the reveal instead of failing.
    struct Lagging {
        inner: MemorySlashBackend,
        refusals: Mutex<u32>,
    }

    impl SlashBackend for Lagging {
        fn sender(&self) -> Address {
            self.inner.sender()
        }
        fn block_number(&self) -> BoxFuture<'_, Result<u64, SlashError>> {
            self.inner.block_number()
        }
        fn commit_slash(&self, c: B256) -> BoxFuture<'_, Result<SlashCommit, SlashError>> {
            self.inner.commit_slash(c)
        }
        fn reveal_slash(&self, s: Field, r: Address) -> BoxFuture<'_, Result<Slashed, SlashError>> {
            let mut n = self.refusals.lock().unwrap();
            if *n > 0 {
                *n -= 1;
                return Box::pin(async { Err(SlashError::TooEarly) });
            }
            self.inner.reveal_slash(s, r)
        }
    }

    #[tokio::test]
    async fn a_reveal_found_too_early_is_retried() {
        let operator = Address::repeat_byte(7);
        let b = Lagging { inner: MemorySlashBackend::new(operator), refusals: Mutex::new(2) };
        let secret = Field::from_u64(5);
        b.inner.add_member(id_commitment(secret), U256::from(10));
        let cfg = SlashConfig { poll: Duration::from_millis(1), ..SlashConfig::new(operator) };
        let (_, r) = slash_member(&b, &cfg, secret).await;
        assert_eq!(r.unwrap().reward, U256::from(5));
        assert_eq!(*b.refusals.lock().unwrap(), 0);
    }

    #[tokio::test]
    async fn the_nodes_own_membership_is_never_slashed() {
        let operator = Address::repeat_byte(7);
        let b = Arc::new(MemorySlashBackend::new(operator));
        let (own, other) = (Field::from_u64(11), Field::from_u64(12));
        b.add_member(id_commitment(own), U256::from(1000));
        b.add_member(id_commitment(other), U256::from(1000));
        let cfg = SlashConfig { poll: Duration::from_millis(1), ..SlashConfig::new(operator) }
            .spare(id_commitment(own));
        let (tx, rx) = mpsc::unbounded_channel();
        let (_task, mut outcomes) = slash_spammers(b.clone(), cfg, rx);
        let share = crate::relay::Share { x: Field::ONE, y: Field::ONE, message_hash: [0; 32] };
        let event = |secret: Field| SpamEvent {
            pubsub_topic: "/waku/2/rs/1/0".into(),
            epoch: 1,
            nullifier: Field::ONE,
            secret,
            id_commitment: id_commitment(secret),
            first: share,
            second: share,
        };
        tx.send(event(own)).unwrap();
        tx.send(event(other)).unwrap();
        let first = outcomes.recv().await.unwrap();
        assert_eq!(first.id_commitment, id_commitment(own));
        assert!(matches!(first.result, Err(SlashError::OwnMembership)));
        assert!(first.commit.is_none(), "nothing was committed on chain");
        let second = outcomes.recv().await.unwrap();
        assert_eq!(second.result.unwrap().reward, U256::from(500));
        // The spared membership keeps its stake: a slash attempt of it by another node still works.
        assert!(b.reveal_slash(own, operator).await.is_err());
    }

    /// A relay killed between commit and reveal: its journal still holds the member, and the
    /// slasher of the restarted relay finishes the slash before any new event; a slash that can
    /// never happen is forgotten, one that may (the chain failed) is kept.
    #[tokio::test]
    async fn a_restart_resumes_the_slashes_its_journal_holds() {
        let operator = Address::repeat_byte(7);
        let b = Arc::new(MemorySlashBackend::new(operator));
        let (caught, gone) = (Field::from_u64(21), Field::from_u64(22));
        b.add_member(id_commitment(caught), U256::from(1000));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slashes.json");
        let journal = SlashJournal::open(&path).unwrap();
        for secret in [caught, gone] {
            let id_commitment = id_commitment(secret);
            journal.add(PendingSlash { id_commitment, epoch: 3, secret }).unwrap();
        }
        // The restart: a new slasher on the same file, no new event.
        let journal = Arc::new(SlashJournal::open(&path).unwrap());
        let cfg = SlashConfig {
            poll: Duration::from_millis(1),
            journal: journal.clone(),
            ..SlashConfig::new(operator)
        };
        let (_tx, rx) = mpsc::unbounded_channel();
        let (_task, mut outcomes) = slash_spammers(b.clone(), cfg, rx);
        let first = outcomes.recv().await.unwrap();
        assert_eq!(first.id_commitment, id_commitment(caught));
        assert_eq!(first.result.unwrap().reward, U256::from(500));
        let second = outcomes.recv().await.unwrap();
        assert!(matches!(second.result, Err(SlashError::NotAMember)), "{:?}", second.result);
        assert!(journal.pending().is_empty());
        assert!(SlashJournal::open(&path).unwrap().pending().is_empty(), "forgotten on disk too");
    }
}
