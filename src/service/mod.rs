//! A running relay service: [`RelayBuilder`] assembles the relay ([`crate::relay`]), its data
//! directory ([`DataDir`]), lightpush ([`crate::lightpush`]) with its payments and claimer
//! ([`crate::credentials`]) and slashing ([`crate::incentives`]) into one [`Relay`], from parts or
//! from a [`RelayConfig`] (what `rlnkit relay run` does). This is the top of the relay's
//! dependency graph: nothing below it imports it.

pub mod builder;
pub mod config;
pub mod data_dir;
pub mod localnet;
pub mod ready;

pub use builder::{NullifierLogLocation, Relay, RelayBuilder, RelayError};
pub use config::{
    ChainConfig, ConfigError, LightpushConfig, OperatorMembership, PaidConfig, RelayConfig,
};
pub use data_dir::{DataDir, DataDirError};
pub use ready::{ReadyError, RelayReady};
