//! A market scenario: the population, the mechanism's parameters and the agents' behaviour.
//! [`MarketConfig::calibrated`] starts from the measured values (the devnet's fee and slash split,
//! the registry's deposit); everything else is a behavioural assumption, named and documented
//! here and in docs/INCENTIVES.md.

use serde::Serialize;

use crate::sim::market::calibration::Calibration;

/// Why a scenario cannot run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// A parameter is out of its range.
    #[error("{name} = {value} is out of range ({range})")]
    OutOfRange {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: f64,
        /// What it may be.
        range: &'static str,
    },
}

/// One market scenario.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MarketConfig {
    /// Light clients paying for lightpush: the network's users the run represents.
    pub users: u32,
    /// Client agents simulated: each stands for `users / agents` clients that choose together
    /// (a cohort), so a sweep can run a million users' market with fewer agents. At most
    /// `users`.
    pub agents: u32,
    /// Days simulated.
    pub days: u32,
    /// Seed of every random draw (ChaCha8).
    pub seed: u64,

    // The mechanism.
    /// The list price of one push, tokens (operators spread around it, `price_spread`).
    pub price_per_push: f64,
    /// Operators' prices are `price_per_push × (1 ± price_spread)`, uniform.
    pub price_spread: f64,
    /// Protocol fee on every claim, to the treasury (the contract allows at most 0.10).
    pub fee_rate: f64,
    /// An operator claims once its unclaimed vouchers are worth this many tokens each on
    /// average (a claim's gas is mostly per voucher: the threshold bounds the share lost to it).
    pub claim_threshold: f64,
    /// ... and at the latest this many days after its oldest unclaimed voucher (the escrow's
    /// thaw: a payer may withdraw what is not claimed within it).
    pub claim_deadline_days: u32,
    /// Median gas price, gwei (the daily series wanders around it). Default 0.05: an L2 such as
    /// Linea, where the Waku Network's registry lives.
    pub gas_gwei: f64,
    /// Daily volatility of the gas price's logarithm.
    pub gas_volatility: f64,
    /// The registry's deposit per message slot (per message per epoch of rate limit), tokens.
    pub deposit_per_slot: f64,
    /// Share of a slashed deposit paid to the slasher (at most 0.5 in the contract).
    pub slash_reward_share: f64,
    /// Rate limit of one membership (messages per 600 s epoch; the deployment allows 20-600).
    pub membership_limit: u32,
    /// How long a membership is active, days (180 in the deployment).
    pub membership_days: u32,

    // Operators.
    /// Operators at day 0.
    pub initial_operators: u32,
    /// Spread of operators' hosting costs: each pays its cost × a lognormal factor of this sigma.
    pub cost_sigma: f64,
    /// Operators' daily chance of an outage ranges uniformly over [0, this].
    pub max_outage_chance: f64,
    /// An operator leaves after this many consecutive days of losses over its last 30 days.
    pub patience_days: u32,
    /// Days a new operator is given before losses count.
    pub grace_days: u32,
    /// Bursts: an operator holds memberships for this many times its mean pushes per epoch.
    pub burst_factor: f64,

    // Clients.
    /// Median messages per client per day (lognormal across clients).
    pub demand_median: f64,
    /// Sigma of the lognormal demand.
    pub demand_sigma: f64,
    /// Median price a client is willing to pay per message, tokens (lognormal).
    pub willingness_median: f64,
    /// Sigma of the lognormal willingness to pay.
    pub willingness_sigma: f64,
    /// Daily chance that a client compares its operator with a few others.
    pub switch_chance: f64,
    /// Operators a client samples when it compares.
    pub compare_with: u32,
    /// How much a client's choice weighs past service: score = price × (1 + this × failure share).
    pub service_weight: f64,

    // Spammers.
    /// Spammer agents.
    pub spammers: u32,
    /// Messages per day each spammer wants delivered.
    pub spam_volume: f64,
    /// Median value to a spammer of one delivered message, tokens (lognormal, sigma 1).
    pub spam_value_median: f64,
    /// Extra deliveries per double-signal message (measured: spam validated beyond the first
    /// hop per double-signal message sent).
    pub double_signal_reach: f64,
}

impl MarketConfig {
    /// The scenario with the mechanism's measured parameters (devnet fee, slash split,
    /// deposit, price) and the documented behavioural defaults.
    pub fn calibrated(c: &Calibration) -> Self {
        MarketConfig {
            users: 1_000_000,
            agents: 100_000,
            days: 90,
            seed: 1,
            price_per_push: c.devnet_price_per_push,
            price_spread: 0.1,
            fee_rate: c.fee_rate,
            claim_threshold: 0.1,
            claim_deadline_days: 6,
            gas_gwei: 0.05,
            gas_volatility: 0.3,
            deposit_per_slot: c.deposit_per_slot,
            slash_reward_share: c.slash_reward_share,
            membership_limit: 600,
            membership_days: 180,
            initial_operators: 100,
            cost_sigma: 0.3,
            max_outage_chance: 0.05,
            patience_days: 14,
            grace_days: 21,
            burst_factor: 3.0,
            demand_median: 10.0,
            demand_sigma: 1.0,
            willingness_median: 0.002,
            willingness_sigma: 1.0,
            switch_chance: 0.02,
            compare_with: 3,
            service_weight: 10.0,
            spammers: 20,
            spam_volume: 100_000.0,
            spam_value_median: 1e-5,
            double_signal_reach: c.double_signal_reach,
        }
    }

    /// Checks every parameter's range.
    pub fn check(&self) -> Result<(), ConfigError> {
        let range = |name, value: f64, lo: f64, hi: f64, range| {
            if value.is_finite() && value >= lo && value <= hi {
                Ok(())
            } else {
                Err(ConfigError::OutOfRange { name, value, range })
            }
        };
        range("users", self.users as f64, 1.0, 1e9, "1 to 10^9")?;
        range("agents", self.agents as f64, 1.0, self.users as f64, "1 to users")?;
        range("days", self.days as f64, 1.0, 3650.0, "1 to 3650")?;
        range("price_per_push", self.price_per_push, 0.0, 1e3, "0 to 1000 tokens")?;
        range("price_spread", self.price_spread, 0.0, 0.99, "0 to 0.99")?;
        range("fee_rate", self.fee_rate, 0.0, 0.1, "0 to 0.1 (the contract's MAX_FEE_BPS)")?;
        range("claim_threshold", self.claim_threshold, 0.0, 1e9, "0 to 10^9 tokens")?;
        range("claim_deadline_days", self.claim_deadline_days as f64, 1.0, 365.0, "1 to 365")?;
        range("gas_gwei", self.gas_gwei, 0.0, 1e5, "0 to 10^5")?;
        range("gas_volatility", self.gas_volatility, 0.0, 3.0, "0 to 3")?;
        range("deposit_per_slot", self.deposit_per_slot, 0.0, 1e6, "0 to 10^6 tokens")?;
        range(
            "slash_reward_share",
            self.slash_reward_share,
            0.0,
            0.5,
            "0 to 0.5 (MAX_SLASH_REWARD_BPS)",
        )?;
        range("membership_limit", self.membership_limit as f64, 1.0, 1e6, "1 to 10^6")?;
        range("membership_days", self.membership_days as f64, 1.0, 3650.0, "1 to 3650")?;
        range("initial_operators", self.initial_operators as f64, 1.0, 1e6, "1 to 10^6")?;
        range("cost_sigma", self.cost_sigma, 0.0, 3.0, "0 to 3")?;
        range("max_outage_chance", self.max_outage_chance, 0.0, 1.0, "0 to 1")?;
        range("burst_factor", self.burst_factor, 1.0, 1e3, "1 to 1000")?;
        range("demand_median", self.demand_median, 0.0, 1e6, "0 to 10^6")?;
        range("demand_sigma", self.demand_sigma, 0.0, 3.0, "0 to 3")?;
        range("willingness_median", self.willingness_median, 0.0, 1e3, "0 to 1000 tokens")?;
        range("willingness_sigma", self.willingness_sigma, 0.0, 3.0, "0 to 3")?;
        range("switch_chance", self.switch_chance, 0.0, 1.0, "0 to 1")?;
        range("compare_with", self.compare_with as f64, 1.0, 100.0, "1 to 100")?;
        range("service_weight", self.service_weight, 0.0, 1e3, "0 to 1000")?;
        range("spam_volume", self.spam_volume, 0.0, 1e12, "0 to 10^12")?;
        range("spam_value_median", self.spam_value_median, 0.0, 1e3, "0 to 1000 tokens")?;
        range("double_signal_reach", self.double_signal_reach, 0.0, 1e3, "0 to 1000")?;
        Ok(())
    }
}
