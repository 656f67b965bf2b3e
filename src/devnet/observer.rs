//! The observer: every relay's `/metrics` and the chain (slashes, rewards, escrow, balances)
//! read into a [`Summary`] about every 500 ms.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use tokio::sync::watch;

use super::process;
use super::traffic::{lock, SharedCounters};
use super::{PaymentSummary, RelaySummary, SlashSummary, Summary};
use crate::chain::MembershipReader;
use crate::credentials::CredentialsReader;

/// Reads the relays' metrics and the chain into snapshots.
pub(super) struct Observer {
    /// The relays (their metrics address changes when one restarts).
    pub(super) relays: process::Relays,
    pub(super) operators: Vec<Address>,
    pub(super) reader: MembershipReader,
    pub(super) credentials: CredentialsReader,
    pub(super) token: Address,
    pub(super) payer: Address,
    pub(super) lp_operator: Address,
    pub(super) received_before: U256,
    pub(super) spammer: crate::field::Field,
    pub(super) from_block: u64,
    pub(super) counters: SharedCounters,
    pub(super) started: Instant,
}

impl Observer {
    pub(super) async fn run(self, tx: watch::Sender<Summary>) {
        let mut last = Summary::default();
        loop {
            let next = self.observe(&last).await;
            last = next.clone();
            if tx.send(next).is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn observe(&self, last: &Summary) -> Summary {
        // The time first: a snapshot stamped after the traffic stopped has its final counts.
        let elapsed_ms = self.started.elapsed().as_millis() as u64;
        let c = lock(&self.counters).clone();
        let mut s = Summary {
            elapsed_ms,
            honest_published: c.honest_published,
            honest_held_back: c.honest_held_back,
            spam_sent: c.spam_sent,
            slash: last.slash.clone(),
            block: last.block,
            payments: PaymentSummary {
                pushes_ok: c.pushes_ok,
                pushes_failed: c.pushes_failed,
                paid: c.paid,
                ..last.payments.clone()
            },
            relays: Vec::new(),
        };
        // Every relay accepts each of these once (the lightpush relay judges its own publishes
        // like any other message).
        let published = c.honest_published + c.spam_sent.min(1) + c.pushes_ok;
        let metrics: Vec<Option<SocketAddr>> =
            process::lock(&self.relays).iter().map(|r| r.metrics_addr()).collect();
        for (i, addr) in metrics.iter().enumerate() {
            let index = i + 1;
            let mut r = RelaySummary { index, expected: published, ..Default::default() };
            if let Some(m) = match addr {
                Some(a) => process::scrape(*a).await,
                None => None,
            } {
                r.up = true;
                r.peers = m.get("rlnkit_relay_peers");
                r.valid = m.get("waku_rln_valid_messages_total");
                r.invalid = m.get("waku_rln_invalid_messages_total");
                r.spam = m.get("waku_rln_spam_messages_total");
            }
            s.relays.push(r);
        }
        if let Ok(b) = self.reader.block_number().await {
            s.block = b;
        }
        if s.slash.is_none() && c.spam_sent > 1 {
            if let Ok(slashes) = self.reader.slashes(self.from_block, None).await {
                if let Some(x) = slashes.into_iter().find(|x| x.id_commitment == self.spammer) {
                    let withdrawable =
                        self.reader.withdrawable(x.reward_receiver, self.token).await;
                    s.slash = Some(SlashSummary {
                        catcher: self
                            .operators
                            .iter()
                            .position(|o| *o == x.reward_receiver)
                            .map(|i| i + 1),
                        reward_receiver: x.reward_receiver,
                        reward: x.reward,
                        withdrawable: withdrawable.unwrap_or_default(),
                        treasury_amount: x.treasury_amount,
                        tx: x.tx,
                        block: x.block,
                    });
                }
            }
        }
        if let Ok(e) = self.credentials.escrow(self.payer, self.lp_operator, self.token).await {
            s.payments.collected = e.collected;
        }
        if let Ok(b) = self.reader.token_balance(self.token, self.lp_operator).await {
            s.payments.operator_received = b.saturating_sub(self.received_before);
        }
        s
    }
}
