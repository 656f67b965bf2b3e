//! The capacity simulation: N real relay nodes in one process (rust-libp2p gossipsub with noise
//! and yamux over the in-memory transport or TCP on loopback, each with its own [`Validator`]
//! and in-memory nullifier log, all sharing one verifying key), a random topology, honest load
//! and attackers, and what the network did with them: delivery, latency, spam per hop,
//! graylisting, bandwidth, amplification, CPU and memory.
//!
//! Proofs are made before the load starts (the embedded development keys), so the run measures
//! the network; the validators run real batched pairings. `rlnkit sim` is the command;
//! BENCHMARKS.md and docs/CAPACITY.md hold the measured numbers.
//!
//! [`market`] (`rlnkit sim market`) is the economic simulation built on those numbers: operators,
//! clients and spammers over simulated days (docs/INCENTIVES.md).
//!
//! [`Validator`]: crate::relay::Validator

pub mod config;
pub mod market;
pub mod model;
pub mod plot;
pub mod report;
pub mod run;
pub mod sys;
pub mod topology;
pub mod workload;

pub use config::{AttackKind, Attackers, SimConfig};
pub use report::SimReport;
pub use run::{run, Phase, Progress, SimError};
