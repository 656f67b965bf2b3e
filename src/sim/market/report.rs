//! What a market run reports: one [`Day`] per simulated day (operators, their profit, what
//! clients paid, the treasury's income, gas, spam), its exact token [`Flows`], and a
//! [`Summary`] of the last 30 days scaled to a month and a year.

use serde::Serialize;

use crate::sim::market::calibration::Calibration;
use crate::sim::market::config::MarketConfig;
use crate::sim::market::ledger::tokens;

/// One day's token movements, exact base units (10⁻⁹ token).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Flows {
    /// Clients' vouchers for pushes served (clients to escrow).
    pub client_paid: u64,
    /// Spammers' vouchers for pushes served (spammers to escrow).
    pub spammer_paid: u64,
    /// Vouchers claimed (escrow to operators and treasury).
    pub claimed: u64,
    /// The fee part of the claims (escrow to treasury).
    pub fees: u64,
    /// Vouchers not claimed before the escrow's thaw ended, returned to their payers.
    pub forfeited: u64,
    /// Deposits paid into the registry (operators' and spammers' memberships).
    pub deposits_in: u64,
    /// Deposits returned from the registry to operators that left.
    pub deposits_out: u64,
    /// Slashed deposits paid to the slashers.
    pub slash_rewards: u64,
    /// Slashed deposits paid to the treasury.
    pub slash_treasury: u64,
    /// Gas (claims, registrations, withdrawals, slashes) paid to the chain.
    pub gas: u64,
    /// Hosting paid by operators.
    pub hosting: u64,
}

/// Quantiles of a distribution.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Quantiles {
    /// 10th percentile.
    pub p10: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Mean.
    pub mean: f64,
}

impl Quantiles {
    /// The quantiles of `v` (sorted in place); zeros when empty.
    pub fn of(v: &mut [f64]) -> Self {
        if v.is_empty() {
            return Quantiles::default();
        }
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        Quantiles {
            p10: q(0.1),
            p50: q(0.5),
            p90: q(0.9),
            mean: v.iter().sum::<f64>() / v.len() as f64,
        }
    }
}

/// One simulated day.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Day {
    /// Day number, from 0.
    pub day: u32,
    /// The day's gas price, gwei.
    pub gas_gwei: f64,
    /// Operators serving at the end of the day.
    pub operators_active: u32,
    /// Operators that joined today.
    pub operators_entered: u32,
    /// Operators that left today.
    pub operators_exited: u32,
    /// Today's profit of the active operators, tokens (revenue net of the fee, minus hosting,
    /// gas, forfeited vouchers and the cost of the capital in their deposits; slash rewards
    /// included).
    pub operator_profit: Quantiles,
    /// Client messages pushed and paid for.
    pub messages_served: u64,
    /// Client messages their operator failed to push (an outage): not paid.
    pub messages_failed: u64,
    /// Client messages not sent because the price was above what the client would pay.
    pub messages_priced_out: u64,
    /// Mean price clients paid per message served, tokens.
    pub client_cost_per_message: f64,
    /// Claims made (one `claimMany` each).
    pub claims: u32,
    /// The treasury's income today: fees and the treasury's share of slashed deposits, tokens.
    pub treasury_income: f64,
    /// Gas operators paid today (claims, registrations, withdrawals, slashes), tokens.
    pub operator_gas: f64,
    /// Spam messages sent today, by the route the spammers chose.
    pub spam: SpamDay,
    /// Network-wide messages per second (clients and spam), the load the relays carry.
    pub network_messages_per_second: f64,
    /// Bandwidth one relay receives at that load (capacity model), Mbps.
    pub relay_mbps: f64,
    /// Hosting of one relay at that load before an operator's own cost factor, tokens per day.
    pub relay_cost_per_day: f64,
    /// The exact token flows.
    pub flows: Flows,
}

/// A day's spam.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct SpamDay {
    /// Spammers that found spamming worth it today.
    pub active_spammers: u32,
    /// Spam pushed through paying lightpush (the spammer pays the price).
    pub via_lightpush: u64,
    /// Spam sent within the rate limit of memberships bought for it.
    pub via_memberships: u64,
    /// Double-signal messages sent (each caught at the first hop; reach × these delivered).
    pub via_double_signal: u64,
    /// Spam delivered to the network.
    pub delivered: f64,
    /// What it cost the spammers: prices paid, gas, capital locked, deposits slashed (tokens).
    pub cost: f64,
    /// Memberships slashed.
    pub slashes: u32,
    /// The cheapest cost per delivered spam message over the routes, tokens.
    pub cheapest_cost_per_message: f64,
}

/// The last 30 days (or the whole run if shorter), per month and per year.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// Operators at the end.
    pub operators_end: u32,
    /// The most operators active on one day.
    pub operators_peak: u32,
    /// Operators that ever joined (initial ones included).
    pub operators_joined: u32,
    /// Operators that left.
    pub operators_exited: u32,
    /// Of the operators active a third into the run, the share still active at the end.
    pub retained: f64,
    /// Median active operator's profit per month, tokens.
    pub operator_profit_month_p50: f64,
    /// 10th percentile of the operators' monthly profit, tokens.
    pub operator_profit_month_p10: f64,
    /// Median active operator's revenue per month (net of the fee), tokens.
    pub operator_revenue_month_p50: f64,
    /// What a client pays per message served, tokens.
    pub client_cost_per_message: f64,
    /// What a client pays per month on average, tokens.
    pub client_cost_per_month: f64,
    /// Share of the client demand served.
    pub served_share: f64,
    /// The treasury's income per year at the last 30 days' rate, tokens.
    pub treasury_per_year: f64,
    /// Gas spent on claims per token claimed (the whole run).
    pub claim_gas_share: f64,
    /// Vouchers forfeited per token paid (the whole run).
    pub forfeited_share: f64,
    /// Spam delivered per day (mean of the last 30 days).
    pub spam_delivered_per_day: f64,
    /// What spam cost the spammers per delivered message (the last 30 days), tokens.
    pub spam_cost_per_message: f64,
    /// Memberships slashed (the whole run).
    pub slashes: u64,
}

/// The final balances, base units.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Balances {
    /// The world outside (negative: what it put in).
    pub outside: i128,
    /// Clients.
    pub clients: i128,
    /// Spammers.
    pub spammers: i128,
    /// The escrow (vouchers not yet claimed).
    pub escrow: i128,
    /// The registry (deposits held).
    pub registry: i128,
    /// The treasury.
    pub treasury: i128,
    /// Gas paid to the chain.
    pub chain: i128,
    /// Hosting paid.
    pub hosting: i128,
    /// All operators together.
    pub operators: i128,
    /// The sum of all the above: 0.
    pub total: i128,
}

/// A market run.
#[derive(Debug, Clone, Serialize)]
pub struct MarketReport {
    /// The scenario.
    pub config: MarketConfig,
    /// The measured inputs.
    pub calibration: Calibration,
    /// Every day.
    pub days: Vec<Day>,
    /// The last 30 days, scaled.
    pub summary: Summary,
    /// Where every token ended up.
    pub balances: Balances,
    /// Vouchers served but not claimed at the end, as the operators count them (base units).
    pub unclaimed_at_end: u64,
}

impl MarketReport {
    /// The sum of a flow over every day.
    pub fn total(&self, f: impl Fn(&Flows) -> u64) -> u128 {
        self.days.iter().map(|d| f(&d.flows) as u128).sum()
    }

    /// The treasury's income over the run, tokens.
    pub fn treasury_total(&self) -> f64 {
        tokens((self.total(|f| f.fees) + self.total(|f| f.slash_treasury)) as i128)
    }
}
