//! Incentives: the slashing flow that turns a relay's spam detection into a reward for its
//! operator (commit → at least one block → reveal), behind the [`SlashBackend`] trait (the chain
//! client implements it; [`MemorySlashBackend`] stands in for tests and the demo), and the
//! journal that lets a restarted relay finish the slashes it started. Payments for
//! services are [`crate::credentials`]'.

pub mod journal;
pub mod slashing;

pub use alloy::primitives::Address;
pub use journal::{JournalError, PendingSlash, SlashJournal};
pub use slashing::{
    slash_commitment, slash_member, slash_spammers, MemorySlashBackend, SlashBackend, SlashCommit,
    SlashConfig, SlashError, SlashOutcome, Slashed,
};
