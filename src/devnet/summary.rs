//! What a devnet reports: its [`Setup`] (addresses, processes, start-up time), live
//! [`Summary`] snapshots (per relay, the publishers, the slash, the payments) and the final
//! [`Report`].

use std::fmt;

use alloy::primitives::{Address, B256, U256};
use serde::Serialize;

use crate::field::Field;

/// How the devnet was set up.
#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    /// The working directory (relay data and logs, the synced tree, the members file).
    pub dir: std::path::PathBuf,
    /// anvil's JSON-RPC endpoint.
    pub rpc: String,
    /// The chain id.
    pub chain_id: u64,
    /// anvil's process id.
    pub anvil_pid: u32,
    /// The membership registry (proxy).
    pub registry: Address,
    /// The deposit and payment token.
    pub token: Address,
    /// The ServiceCredentials contract.
    pub credentials: Address,
    /// Memberships registered (the publishers, the lightpush operator and the fillers).
    pub members: u64,
    /// The registry's root after the registrations (= the synced tree's).
    pub root: Field,
    /// The pubsub topic.
    pub topic: String,
    /// The relays.
    pub relays: Vec<RelayInfo>,
    /// The honest publisher's member index.
    pub honest_index: u32,
    /// The spammer's member index and id commitment.
    pub spammer_index: u32,
    /// The spammer's id commitment.
    pub spammer: Field,
    /// The paying client (payer) address.
    pub payer: Address,
    /// The lightpush price per request (token base units).
    pub price: U256,
    /// Milliseconds from start until everything ran.
    pub startup_ms: u64,
}

/// One relay process.
#[derive(Debug, Clone, Serialize)]
pub struct RelayInfo {
    /// 1-based.
    pub index: usize,
    /// Its libp2p peer id.
    pub peer_id: String,
    /// An address to dial it at.
    pub addr: String,
    /// Its `/metrics` address.
    pub metrics: Option<std::net::SocketAddr>,
    /// The operator (signs its slashes, receives their rewards and its lightpush income).
    pub operator: Address,
    /// The OS process id.
    pub pid: u32,
    /// Whether it sells lightpush.
    pub lightpush: bool,
    /// Its log file.
    pub log: std::path::PathBuf,
}

/// One relay as seen through its metrics.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RelaySummary {
    /// 1-based.
    pub index: usize,
    /// Whether its process runs and its metrics answer.
    pub up: bool,
    /// Connected peers (`rlnkit_relay_peers`).
    pub peers: u64,
    /// Accepted messages (`waku_rln_valid_messages_total`).
    pub valid: u64,
    /// Rejected messages (`waku_rln_invalid_messages_total`, all reasons).
    pub invalid: u64,
    /// Double signals caught (`waku_rln_spam_messages_total`).
    pub spam: u64,
    /// Accepted messages it should have by now: everything published (the honest messages, the
    /// spammer's first message, the paid pushes).
    pub expected: u64,
}

/// The slash of the spammer, as the chain reports it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SlashSummary {
    /// The relay whose operator was paid (`None`: a receiver that is no relay's operator).
    pub catcher: Option<usize>,
    /// The reward receiver.
    pub reward_receiver: Address,
    /// The reward (token base units).
    pub reward: U256,
    /// The receiver's withdrawable balance at the registry (it includes the reward).
    pub withdrawable: U256,
    /// The treasury's share.
    pub treasury_amount: U256,
    /// The reveal transaction.
    pub tx: Option<B256>,
    /// Its block.
    pub block: u64,
}

/// The paying lightpush client and the operator's claims.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PaymentSummary {
    /// Pushes answered 200.
    pub pushes_ok: u64,
    /// Pushes refused or failed.
    pub pushes_failed: u64,
    /// What the client's vouchers add up to (token base units).
    pub paid: U256,
    /// What the operator collected from the escrow on chain (`claimMany`, fee included).
    pub collected: U256,
    /// What arrived at the operator's payout address.
    pub operator_received: U256,
}

/// A snapshot of the running devnet.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Milliseconds since the traffic started.
    pub elapsed_ms: u64,
    /// The chain's latest block.
    pub block: u64,
    /// Every relay.
    pub relays: Vec<RelaySummary>,
    /// Messages the honest publisher published.
    pub honest_published: u64,
    /// Messages it held back at its rate limit.
    pub honest_held_back: u64,
    /// Messages the spammer published (the first valid, then the double signal).
    pub spam_sent: u64,
    /// The slash, once it is on chain.
    pub slash: Option<SlashSummary>,
    /// The paying client.
    pub payments: PaymentSummary,
}

impl Summary {
    /// Whether every relay has accepted every message it should have (so far).
    pub fn all_delivered(&self) -> bool {
        !self.relays.is_empty() && self.relays.iter().all(|r| r.valid >= r.expected)
    }

    /// Whether every voucher the client paid with was claimed on chain.
    pub fn all_claimed(&self) -> bool {
        self.payments.collected == self.payments.paid
    }
}

/// One line for a live display.
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>5.1}s block {:>3} | relays", self.elapsed_ms as f64 / 1e3, self.block)?;
        for r in &self.relays {
            let mark = if r.up { "" } else { "(down)" };
            write!(f, " #{}{mark} {}/{}", r.index, r.valid, r.expected)?;
            if r.spam > 0 {
                write!(f, " spam {}", r.spam)?;
            }
        }
        write!(f, " | honest {} | spam {}", self.honest_published, self.spam_sent)?;
        match &self.slash {
            Some(s) => match s.catcher {
                Some(c) => write!(f, " slashed (relay {c} paid {})", tokens(s.reward))?,
                None => write!(f, " slashed (paid {})", s.reward_receiver)?,
            },
            None if self.spam_sent > 1 => write!(f, " slashing…")?,
            None => {}
        }
        write!(
            f,
            " | lightpush {} ok, paid {} claimed {}",
            self.payments.pushes_ok,
            tokens(self.payments.paid),
            tokens(self.payments.collected)
        )
    }
}

/// An amount of an 18-decimal token, as tokens with up to 6 decimals (`0.0045`).
pub fn tokens(amount: U256) -> String {
    let unit = U256::from(crate::chain::TOKEN_UNIT);
    let micro = (amount % unit) / U256::from(crate::chain::TOKEN_UNIT / 1_000_000);
    let frac = format!("{:06}", micro.to::<u64>());
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{}", amount / unit)
    } else {
        format!("{}.{frac}", amount / unit)
    }
}

/// The final report of a devnet run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// How it was set up.
    pub setup: Setup,
    /// The last snapshot (after the traffic stopped and the network settled).
    pub summary: Summary,
    /// Milliseconds the traffic ran.
    pub ran_ms: u64,
    /// Milliseconds the shutdown took (settling included).
    pub shutdown_ms: u64,
    /// Why it stopped.
    pub stopped_by: StopReason,
    /// What the faults cost, when it ran with chaos (not after Ctrl-C).
    pub chaos: Option<super::ChaosReport>,
}

/// Why a devnet stopped.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Its run time passed.
    RunFor,
    /// Ctrl-C.
    CtrlC,
    /// The caller shut it down.
    Shutdown,
}

#[cfg(test)]
mod tests {
    use super::tokens;
    use alloy::primitives::U256;

    #[test]
    fn tokens_shows_whole_tokens_and_up_to_six_decimals() {
        let unit = U256::from(crate::chain::TOKEN_UNIT);
        assert_eq!(tokens(U256::ZERO), "0");
        assert_eq!(tokens(unit * U256::from(3u64)), "3");
        assert_eq!(tokens(unit / U256::from(2u64)), "0.5");
        assert_eq!(tokens(U256::from(4_500_000_000_000_000u64)), "0.0045");
        assert_eq!(tokens(U256::from(1u64)), "0", "below a millionth: rounded down");
    }
}
