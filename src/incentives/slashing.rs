//! Slashing a spammer whose secret a relay recovered. The membership contract takes it in two
//! steps so the public reveal cannot be front-run: `commitSlash(keccak256(abi.encode(uint256
//! secret, address rewardReceiver, address sender)))`, then, at least one block later and within
//! the contract's window, `revealSlash(uint256 secret, address rewardReceiver)`; the reward goes to
//! the receiver (the relay operator's address).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::mpsc;

use crate::field::{keccak256, Field};
use crate::identity::id_commitment;
use crate::relay::validator::SpamEvent;

/// An Ethereum address.
pub type Address = [u8; 20];

/// keccak256(abi.encode(uint256 secret, address rewardReceiver, address sender)).
pub fn slash_commitment(secret: Field, receiver: Address, sender: Address) -> [u8; 32] {
    let mut buf = [0u8; 96];
    buf[..32].copy_from_slice(&secret.to_be_bytes());
    buf[44..64].copy_from_slice(&receiver);
    buf[76..96].copy_from_slice(&sender);
    keccak256(&buf)
}

/// Why a slash step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlashError {
    #[error("no active membership has this secret's id commitment")]
    NotAMember,
    #[error("the membership was already slashed")]
    AlreadySlashed,
    #[error("no commitment for this (secret, receiver, sender)")]
    NoCommitment,
    #[error("the reveal must come at least one block after the commitment")]
    TooEarly,
    #[error("the reveal window of the commitment has passed")]
    TooLate,
    #[error("timed out waiting for the commitment's block")]
    Timeout,
    #[error("slash backend: {0}")]
    Backend(String),
}

/// The result of a reveal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevealReceipt {
    pub block: u64,
    pub id_commitment: Field,
    /// Reward paid to the receiver (token base units).
    pub reward: u128,
}

/// The chain side of slashing (implemented by the chain client; in memory for tests).
pub trait SlashBackend: Send + Sync {
    /// The account that sends the transactions (the commitment binds to it).
    fn sender(&self) -> Address;
    fn block_number(&self) -> BoxFuture<'_, Result<u64, SlashError>>;
    /// Sends `commitSlash(commitment)`; returns the block it was included in.
    fn commit_slash(&self, commitment: [u8; 32]) -> BoxFuture<'_, Result<u64, SlashError>>;
    /// Sends `revealSlash(secret, receiver)`.
    fn reveal_slash(
        &self,
        secret: Field,
        receiver: Address,
    ) -> BoxFuture<'_, Result<RevealReceipt, SlashError>>;
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
}

impl SlashConfig {
    pub fn new(reward_receiver: Address) -> Self {
        SlashConfig {
            reward_receiver,
            poll: Duration::from_millis(200),
            max_wait: Duration::from_secs(120),
        }
    }
}

/// What happened to one spammer.
#[derive(Debug, Clone)]
pub struct SlashOutcome {
    pub id_commitment: Field,
    pub epoch: u64,
    pub commit_block: Option<u64>,
    pub result: Result<RevealReceipt, SlashError>,
}

/// Runs the commit-reveal flow for every spam event.
pub struct Slasher;

impl Slasher {
    /// Commits, waits until the commitment is on chain, reveals. A transaction sent after the
    /// commitment's block exists lands in a later block (with anvil's automine, the next one), which
    /// is what the contract requires (`block.number > commitBlock`).
    pub async fn slash(
        backend: &dyn SlashBackend,
        config: &SlashConfig,
        secret: Field,
    ) -> (Option<u64>, Result<RevealReceipt, SlashError>) {
        let c = slash_commitment(secret, config.reward_receiver, backend.sender());
        let commit_block = match backend.commit_slash(c).await {
            Ok(b) => b,
            Err(e) => return (None, Err(e)),
        };
        let end = tokio::time::Instant::now() + config.max_wait;
        loop {
            match backend.block_number().await {
                Ok(b) if b >= commit_block => break,
                Ok(_) => {}
                Err(e) => return (Some(commit_block), Err(e)),
            }
            if tokio::time::Instant::now() >= end {
                return (Some(commit_block), Err(SlashError::Timeout));
            }
            tokio::time::sleep(config.poll).await;
        }
        (Some(commit_block), backend.reveal_slash(secret, config.reward_receiver).await)
    }

    /// Consumes spam events (one slash per member), reporting outcomes.
    pub fn spawn(
        backend: Arc<dyn SlashBackend>,
        config: SlashConfig,
        mut events: mpsc::UnboundedReceiver<SpamEvent>,
    ) -> (tokio::task::JoinHandle<()>, mpsc::UnboundedReceiver<SlashOutcome>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut done = HashSet::new();
            while let Some(ev) = events.recv().await {
                if !done.insert(ev.id_commitment) {
                    continue;
                }
                let (commit_block, result) =
                    Slasher::slash(backend.as_ref(), &config, ev.secret).await;
                match &result {
                    Ok(r) => {
                        tracing::info!(id_commitment = %ev.id_commitment.to_hex(), reward = r.reward, "spammer slashed")
                    }
                    Err(e) => {
                        tracing::warn!(id_commitment = %ev.id_commitment.to_hex(), "slashing failed: {e}")
                    }
                }
                let _ = tx.send(SlashOutcome {
                    id_commitment: ev.id_commitment,
                    epoch: ev.epoch,
                    commit_block,
                    result,
                });
            }
        });
        (task, rx)
    }
}

#[derive(Debug, Default)]
struct MemState {
    block: u64,
    stakes: HashMap<Field, u128>,
    slashed: HashSet<Field>,
    commitments: HashMap<[u8; 32], u64>,
    balances: HashMap<Address, u128>,
}

/// An in-memory stand-in for the membership contract's slashing (each transaction mines a
/// block, like anvil's automine).
pub struct MemorySlashBackend {
    sender: Address,
    /// Percent of the stake paid to the receiver.
    reward_percent: u128,
    /// Blocks after the commitment in which the reveal is accepted.
    reveal_window: u64,
    state: Mutex<MemState>,
}

impl MemorySlashBackend {
    pub fn new(sender: Address) -> Self {
        MemorySlashBackend {
            sender,
            reward_percent: 50,
            reveal_window: 256,
            state: Mutex::new(MemState { block: 1, ..Default::default() }),
        }
    }

    /// Registers a membership with a stake.
    pub fn add_member(&self, id_commitment: Field, stake: u128) {
        self.state.lock().expect("lock").stakes.insert(id_commitment, stake);
    }

    pub fn balance(&self, a: &Address) -> u128 {
        self.state.lock().expect("lock").balances.get(a).copied().unwrap_or(0)
    }

    pub fn is_slashed(&self, id_commitment: &Field) -> bool {
        self.state.lock().expect("lock").slashed.contains(id_commitment)
    }

    /// Mines an empty block.
    pub fn mine(&self) {
        self.state.lock().expect("lock").block += 1;
    }
}

impl SlashBackend for MemorySlashBackend {
    fn sender(&self) -> Address {
        self.sender
    }

    fn block_number(&self) -> BoxFuture<'_, Result<u64, SlashError>> {
        Box::pin(async move { Ok(self.state.lock().expect("lock").block) })
    }

    fn commit_slash(&self, commitment: [u8; 32]) -> BoxFuture<'_, Result<u64, SlashError>> {
        Box::pin(async move {
            let mut s = self.state.lock().expect("lock");
            s.block += 1;
            let b = s.block;
            s.commitments.insert(commitment, b);
            Ok(b)
        })
    }

    fn reveal_slash(
        &self,
        secret: Field,
        receiver: Address,
    ) -> BoxFuture<'_, Result<RevealReceipt, SlashError>> {
        Box::pin(async move {
            let mut s = self.state.lock().expect("lock");
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
            let stake = *s.stakes.get(&idc).ok_or(SlashError::NotAMember)?;
            let reward = stake * self.reward_percent / 100;
            s.slashed.insert(idc);
            s.commitments.remove(&c);
            *s.balances.entry(receiver).or_default() += reward;
            Ok(RevealReceipt { block, id_commitment: idc, reward })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_is_abi_encoded() {
        // abi.encode(uint256 1, address 0x..02, address 0x..03): three 32-byte big-endian words.
        let mut r = [0u8; 20];
        r[19] = 2;
        let mut s = [0u8; 20];
        s[19] = 3;
        let mut words = [0u8; 96];
        words[31] = 1;
        words[63] = 2;
        words[95] = 3;
        assert_eq!(slash_commitment(Field::ONE, r, s), keccak256(&words));
    }

    #[tokio::test]
    async fn commit_wait_reveal_pays_the_receiver_once() {
        let operator = [7u8; 20];
        let b = Arc::new(MemorySlashBackend::new([1u8; 20]));
        let secret = Field::from_u64(42);
        b.add_member(id_commitment(secret), 1000);
        let cfg = SlashConfig { poll: Duration::from_millis(1), ..SlashConfig::new(operator) };
        // Revealing without a commitment fails; so does a reveal in the commitment's block.
        assert_eq!(b.reveal_slash(secret, operator).await, Err(SlashError::NoCommitment));
        let (commit, r) = Slasher::slash(b.as_ref(), &cfg, secret).await;
        let r = r.unwrap();
        assert!(r.block > commit.unwrap());
        assert_eq!(r.reward, 500);
        assert_eq!(b.balance(&operator), 500);
        assert!(b.is_slashed(&id_commitment(secret)));
        let (_, again) = Slasher::slash(b.as_ref(), &cfg, secret).await;
        assert_eq!(again, Err(SlashError::AlreadySlashed));
        let (_, stranger) = Slasher::slash(b.as_ref(), &cfg, Field::from_u64(43)).await;
        assert_eq!(stranger, Err(SlashError::NotAMember));
    }

    #[tokio::test]
    async fn a_front_runner_cannot_use_anothers_commitment() {
        let b = MemorySlashBackend::new([1u8; 20]);
        let secret = Field::from_u64(42);
        b.add_member(id_commitment(secret), 1000);
        b.commit_slash(slash_commitment(secret, [7u8; 20], [1u8; 20])).await.unwrap();
        b.mine();
        // Someone who saw the reveal and tries to redirect the reward has no matching commitment.
        assert_eq!(b.reveal_slash(secret, [9u8; 20]).await, Err(SlashError::NoCommitment));
        assert!(b.reveal_slash(secret, [7u8; 20]).await.is_ok());
    }
}
