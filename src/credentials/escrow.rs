//! The escrow state a provider keeps in memory, built from the contract's events (no RPC per
//! request): per (payer, token) the balance, the thaw and what was collected; per (payer, signer)
//! the authorization and its revocation time.

use std::collections::{HashMap, HashSet};

use alloy::primitives::{Address, U256};

/// One event of the ServiceCredentials contract that concerns a provider (SVC-ABI.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscrowEvent {
    /// `Deposited(payer, provider, token, amount)`.
    Deposited {
        /// Who paid in.
        payer: Address,
        /// The token.
        token: Address,
        /// What arrived.
        amount: U256,
    },
    /// `ThawStarted(payer, provider, token, amount, thawEnd)` (amount 0 cancels).
    ThawStarted {
        /// The payer.
        payer: Address,
        /// The token.
        token: Address,
        /// How much will leave.
        amount: U256,
        /// When it may leave (unix seconds).
        thaw_end: u64,
    },
    /// `Withdrawn(payer, provider, token, amount)`.
    Withdrawn {
        /// The payer.
        payer: Address,
        /// The token.
        token: Address,
        /// What left.
        amount: U256,
    },
    /// `Claimed(payer, provider, token, payout, paid, fee, collected)`.
    Claimed {
        /// The payer.
        payer: Address,
        /// The token.
        token: Address,
        /// What left the escrow (payout + fee).
        paid: U256,
        /// Total collected from this escrow after the claim.
        collected: U256,
    },
    /// `SignerAuthorized(payer, signer)`.
    SignerAuthorized {
        /// The payer.
        payer: Address,
        /// Its hot key.
        signer: Address,
    },
    /// `SignerRevocationStarted(payer, signer, revokeAt)`.
    SignerRevocationStarted {
        /// The payer.
        payer: Address,
        /// Its hot key.
        signer: Address,
        /// From when the signer is no longer valid (unix seconds).
        revoke_at: u64,
    },
    /// `SignerRevoked(payer, signer)`.
    SignerRevoked {
        /// The payer.
        payer: Address,
        /// Its former hot key.
        signer: Address,
    },
}

/// One escrow (payer → this provider, one token).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Escrow {
    /// Tokens held.
    pub balance: U256,
    /// Amount that leaves at `thaw_end` (0: no thaw).
    pub thaw_amount: U256,
    /// When the thaw ends (unix seconds; 0: no thaw).
    pub thaw_end: u64,
    /// Total claimed so far (`collected(payer, provider, token)`).
    pub collected: U256,
}

impl Escrow {
    /// The highest cumulative amount the escrow can still pay: collected + balance.
    pub fn coverable(&self) -> U256 {
        self.collected.saturating_add(self.balance)
    }

    /// Whether a thaw is running.
    pub fn thawing(&self) -> bool {
        !self.thaw_amount.is_zero() && self.thaw_end != 0
    }
}

/// Whether a signer may sign for a payer at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignerStatus {
    /// The payer itself or an authorized signer.
    Valid,
    /// Never authorized (or revoked long ago).
    Unknown,
    /// Its revocation took effect.
    Revoked,
}

/// All escrows of one provider and their payers' signers.
#[derive(Debug, Default, Clone)]
pub struct EscrowBook {
    escrows: HashMap<(Address, Address), Escrow>,
    /// (payer, signer) → revoke time (None: no revocation started).
    signers: HashMap<(Address, Address), Option<u64>>,
    revoked: HashSet<(Address, Address)>,
}

impl EscrowBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one event (in chain order).
    pub fn apply(&mut self, ev: &EscrowEvent) {
        match *ev {
            EscrowEvent::Deposited { payer, token, amount } => {
                let e = self.escrows.entry((payer, token)).or_default();
                e.balance = e.balance.saturating_add(amount);
            }
            EscrowEvent::ThawStarted { payer, token, amount, thaw_end } => {
                let e = self.escrows.entry((payer, token)).or_default();
                e.thaw_amount = amount;
                e.thaw_end = if amount.is_zero() { 0 } else { thaw_end };
            }
            EscrowEvent::Withdrawn { payer, token, amount } => {
                let e = self.escrows.entry((payer, token)).or_default();
                e.balance = e.balance.saturating_sub(amount);
                e.thaw_amount = U256::ZERO;
                e.thaw_end = 0;
            }
            EscrowEvent::Claimed { payer, token, paid, collected } => {
                let e = self.escrows.entry((payer, token)).or_default();
                e.balance = e.balance.saturating_sub(paid);
                e.collected = collected;
            }
            EscrowEvent::SignerAuthorized { payer, signer } => {
                self.signers.insert((payer, signer), None);
                self.revoked.remove(&(payer, signer));
            }
            EscrowEvent::SignerRevocationStarted { payer, signer, revoke_at } => {
                self.signers.insert((payer, signer), Some(revoke_at));
            }
            EscrowEvent::SignerRevoked { payer, signer } => {
                self.signers.remove(&(payer, signer));
                self.revoked.insert((payer, signer));
            }
        }
    }

    /// The escrow of (payer, token), if any event created it.
    pub fn escrow(&self, payer: Address, token: Address) -> Option<&Escrow> {
        self.escrows.get(&(payer, token))
    }

    /// Every escrow, as ((payer, token), state).
    pub fn escrows(&self) -> impl Iterator<Item = (&(Address, Address), &Escrow)> {
        self.escrows.iter()
    }

    /// When `signer`'s revocation for `payer` takes effect, if one was started (the payer itself
    /// and signers without a revocation: `None`).
    pub fn signer_revoke_at(&self, payer: Address, signer: Address) -> Option<u64> {
        self.signers.get(&(payer, signer)).copied().flatten()
    }

    /// Whether `signer` may sign for `payer` at `now` (unix seconds). The contract keeps a
    /// signer valid until its revocation time; this node stops trusting it at that time.
    pub fn signer_status(&self, payer: Address, signer: Address, now: u64) -> SignerStatus {
        if payer == signer {
            return SignerStatus::Valid;
        }
        match self.signers.get(&(payer, signer)) {
            Some(None) => SignerStatus::Valid,
            Some(Some(at)) if now < *at => SignerStatus::Valid,
            Some(Some(_)) => SignerStatus::Revoked,
            None if self.revoked.contains(&(payer, signer)) => SignerStatus::Revoked,
            None => SignerStatus::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_build_the_state() {
        let (p, t, s) = (Address::from([1; 20]), Address::from([2; 20]), Address::from([3; 20]));
        let mut b = EscrowBook::new();
        b.apply(&EscrowEvent::Deposited { payer: p, token: t, amount: U256::from(100) });
        b.apply(&EscrowEvent::Claimed {
            payer: p,
            token: t,
            paid: U256::from(30),
            collected: U256::from(30),
        });
        let e = *b.escrow(p, t).unwrap();
        assert_eq!(
            (e.balance, e.collected, e.coverable()),
            (U256::from(70), U256::from(30), U256::from(100))
        );
        b.apply(&EscrowEvent::ThawStarted {
            payer: p,
            token: t,
            amount: U256::from(70),
            thaw_end: 50,
        });
        assert!(b.escrow(p, t).unwrap().thawing());
        b.apply(&EscrowEvent::Withdrawn { payer: p, token: t, amount: U256::from(70) });
        let e = *b.escrow(p, t).unwrap();
        assert!(!e.thawing() && e.balance.is_zero() && e.coverable() == U256::from(30));

        assert_eq!(b.signer_status(p, p, 0), SignerStatus::Valid);
        assert_eq!(b.signer_status(p, s, 0), SignerStatus::Unknown);
        b.apply(&EscrowEvent::SignerAuthorized { payer: p, signer: s });
        assert_eq!(b.signer_status(p, s, 0), SignerStatus::Valid);
        b.apply(&EscrowEvent::SignerRevocationStarted { payer: p, signer: s, revoke_at: 10 });
        assert_eq!(b.signer_status(p, s, 9), SignerStatus::Valid);
        assert_eq!(b.signer_status(p, s, 10), SignerStatus::Revoked);
        b.apply(&EscrowEvent::SignerRevoked { payer: p, signer: s });
        assert_eq!(b.signer_status(p, s, 0), SignerStatus::Revoked);
    }
}
