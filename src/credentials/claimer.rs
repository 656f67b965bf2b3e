//! The provider's claimer: follows the contract's events into the checker's escrow book and
//! redeems the served vouchers (from the store) in `claimMany` batches: on a schedule, when the
//! unclaimed amount passes a threshold, and always before a payer's thaw ends or a hot key's
//! revocation takes effect. A voucher the contract refuses (its signer revoked, a bad signature)
//! is left out of the batch by the typed revert, so it never blocks the others' payment.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::U256;

use super::check::VoucherChecker;
use super::error::CredentialsError;
use super::store::{StoreError, VoucherStore};
use super::voucher::SignedVoucher;
use super::writer::{ClaimReceipt, CredentialsWriter};
use crate::chain::ServiceCredentialsErrors as E;

/// When to claim.
#[derive(Debug, Clone, Copy)]
pub struct ClaimPolicy {
    /// Claim whatever is unclaimed at least this often.
    pub interval: Duration,
    /// Claim as soon as the unclaimed total reaches this (token units).
    pub threshold: U256,
    /// Claim a payer's voucher when its thaw ends, or its signer's revocation takes effect,
    /// within this many seconds.
    pub thaw_margin_secs: u64,
    /// How often to read new events.
    pub poll: Duration,
}

impl Default for ClaimPolicy {
    fn default() -> Self {
        ClaimPolicy {
            interval: Duration::from_secs(3600),
            threshold: U256::MAX,
            thaw_margin_secs: 600,
            poll: Duration::from_secs(12),
        }
    }
}

/// Errors of the claimer.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The contract's client failed.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Follows events and claims; one per provider.
#[derive(Debug)]
pub struct Claimer {
    client: CredentialsWriter,
    checker: Arc<VoucherChecker>,
    store: Arc<VoucherStore>,
    policy: ClaimPolicy,
    next_block: u64,
    last_claim: Instant,
}

impl Claimer {
    /// A claimer that reads events from block `from_block` on.
    pub fn new(
        client: CredentialsWriter,
        checker: Arc<VoucherChecker>,
        store: Arc<VoucherStore>,
        policy: ClaimPolicy,
        from_block: u64,
    ) -> Self {
        Claimer {
            client,
            checker,
            store,
            policy,
            next_block: from_block,
            last_claim: Instant::now(),
        }
    }

    /// Reads new events into the checker's escrow book. Returns how many were applied.
    pub async fn sync(&mut self) -> Result<usize, ClaimError> {
        let head = self.client.block_number().await?;
        if head < self.next_block {
            return Ok(0);
        }
        let provider = self.checker.terms().provider;
        let events = self.client.escrow_events(provider, self.next_block, head).await?;
        self.checker.apply_events(&events);
        self.next_block = head + 1;
        Ok(events.len())
    }

    /// The stored vouchers with something left to collect, and the total (limited by escrows).
    pub fn unclaimed(&self) -> Result<(Vec<SignedVoucher>, U256), ClaimError> {
        let book = self.checker.book();
        let token = self.checker.terms().token;
        let mut out = Vec::new();
        let mut total = U256::ZERO;
        for v in self.store.all()? {
            if v.voucher.token != token {
                continue;
            }
            let Some(e) = book.escrow(v.voucher.payer, token) else { continue };
            let owed = v.voucher.cumulativeAmount.saturating_sub(e.collected).min(e.balance);
            if !owed.is_zero() {
                total += owed;
                out.push(v);
            }
        }
        Ok((out, total))
    }

    /// Whether the policy says to claim now (`now`: unix seconds).
    pub fn due(&self, vouchers: &[SignedVoucher], total: U256, now: u64) -> bool {
        if vouchers.is_empty() {
            return false;
        }
        if total >= self.policy.threshold || self.last_claim.elapsed() >= self.policy.interval {
            return true;
        }
        let book = self.checker.book();
        let token = self.checker.terms().token;
        let soon = now.saturating_add(self.policy.thaw_margin_secs);
        vouchers.iter().any(|v| {
            let payer = v.voucher.payer;
            let thaw_ends =
                book.escrow(payer, token).is_some_and(|e| e.thawing() && e.thaw_end <= soon);
            let signer_goes = book.signer_revoke_at(payer, v.signer).is_some_and(|at| at <= soon);
            thaw_ends || signer_goes
        })
    }

    /// Which vouchers of a refused batch the contract's error names, so the rest can be claimed
    /// without them; `None` when the error is not about one voucher (the batch is not retried).
    fn refused_vouchers(e: &CredentialsError, batch: &[SignedVoucher]) -> Option<Vec<usize>> {
        let refused: Vec<usize> = match e.credentials_error()? {
            // The signer the contract recovered; the batch holds one voucher per payer.
            E::UnauthorizedSigner(u) => batch
                .iter()
                .enumerate()
                .filter(|(_, v)| v.voucher.payer == u.payer)
                .map(|(i, _)| i)
                .collect(),
            E::MalformedSignature(m) => vec![usize::try_from(m.index).ok()?],
            E::MixedBatch(m) => vec![usize::try_from(m.index).ok()?],
            _ => return None,
        };
        (!refused.is_empty() && refused.iter().all(|&i| i < batch.len())).then_some(refused)
    }

    /// `claimMany` of `vouchers`; a voucher the contract refuses is left out and the rest is
    /// claimed (`None`: every voucher was refused).
    async fn claim_batch(
        &self,
        mut vouchers: Vec<SignedVoucher>,
    ) -> Result<Option<(ClaimReceipt, usize)>, ClaimError> {
        while !vouchers.is_empty() {
            match self.client.claim_many(&vouchers).await {
                Ok(r) => return Ok(Some((r, vouchers.len()))),
                Err(e) => {
                    let Some(refused) = Self::refused_vouchers(&e, &vouchers) else {
                        return Err(e.into());
                    };
                    for &i in refused.iter().rev() {
                        let v = vouchers.remove(i);
                        tracing::warn!(
                            payer = %v.voucher.payer,
                            signer = %v.signer,
                            cumulative = %v.voucher.cumulativeAmount,
                            error = %e,
                            "the contract refuses this voucher; claiming the others without it"
                        );
                    }
                }
            }
        }
        Ok(None)
    }

    /// Claims every voucher with something left, now (one `claimMany`, without the vouchers
    /// the contract refuses), then reads its events.
    pub async fn claim_now(&mut self) -> Result<Option<ClaimReceipt>, ClaimError> {
        self.sync().await?;
        let (mut vouchers, _) = self.unclaimed()?;
        // The contract skips (pays nothing for) a voucher whose signer was revoked: do not pay
        // gas to send it. It stays in the store.
        let now = crate::relay::unix_now_ns() / 1_000_000_000;
        let book = self.checker.book();
        vouchers.retain(|v| {
            let valid = matches!(
                book.signer_status(v.voucher.payer, v.signer, now),
                super::SignerStatus::Valid
            );
            if !valid {
                tracing::debug!(payer = %v.voucher.payer, signer = %v.signer, "not claiming a voucher of a revoked signer");
            }
            valid
        });

        let Some((r, n)) = self.claim_batch(vouchers).await? else { return Ok(None) };
        self.last_claim = Instant::now();
        self.sync().await?;
        tracing::info!(vouchers = n, paid = %r.paid, fee = %r.fee, tx = %r.tx, "claimed");
        Ok(Some(r))
    }

    /// One round: sync, and claim if due.
    pub async fn tick(&mut self, now: u64) -> Result<Option<ClaimReceipt>, ClaimError> {
        self.sync().await?;
        let (vouchers, total) = self.unclaimed()?;
        if self.due(&vouchers, total, now) {
            return self.claim_now().await;
        }
        Ok(None)
    }

    /// Runs rounds every `policy.poll` until the task is dropped; errors are logged and retried.
    pub async fn run(self) {
        let (_keep, stop) = tokio::sync::oneshot::channel::<()>();
        self.run_until(stop).await;
    }

    /// Runs rounds every `policy.poll` until `stop` fires (or its sender is dropped), then claims
    /// everything served and unclaimed once more, so an operator that stops is paid for what it
    /// served. Returns that last claim's receipt (None: nothing was left, or it failed: logged).
    pub async fn run_until(
        mut self,
        mut stop: tokio::sync::oneshot::Receiver<()>,
    ) -> Option<ClaimReceipt> {
        loop {
            // A round is never interrupted (a claim in flight is seen through).
            let now = crate::relay::unix_now_ns() / 1_000_000_000;
            if let Err(e) = self.tick(now).await {
                tracing::warn!(error = %e, "claimer round failed; retrying");
            }
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep(self.policy.poll) => {}
            }
        }
        match self.claim_now().await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "the claim at shutdown failed: run `rlnkit credentials claim` against the store");
                None
            }
        }
    }
}
