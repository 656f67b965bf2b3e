//! The market simulation (`rlnkit sim market`): whether the incentives hold. Agents over
//! simulated days: operators whose monthly cost comes from the capacity model (bandwidth and CPU
//! per relay at the simulated load, times a price list) enter while the expected profit is
//! positive and leave after repeated losses; clients with a daily demand and a price they will
//! pay pick operators by price and past service and pay per push with vouchers; operators
//! claim them in batches by their claim policy at the day's gas price, a fee going to the
//! treasury; spammers weigh the messages they gain against prices, deposits and slashing.
//!
//! Calibrated, not typed in ([`calibration`]): the lightpush price, fee and slash split from a
//! devnet run, gas from the forge gas report, per-relay resources from the capacity simulation.
//! Deterministic from a seed (ChaCha8); every token moves through one [`ledger::Ledger`].
//! [`sweep`] varies one mechanism parameter at a time and recommends a value by a stated rule;
//! docs/INCENTIVES.md is the RFC built from it.

pub mod calibration;
pub mod config;
pub mod ledger;
pub mod plot;
pub mod report;
pub mod run;
pub mod sweep;

pub use calibration::{Calibration, CalibrationError, CalibrationPaths, PriceList};
pub use config::{ConfigError, MarketConfig};
pub use report::{Day, MarketReport};
pub use run::simulate;
