//! Parameter sweeps: the same scenario at each value of one parameter (or a grid of two), the
//! metrics that parameter trades off, and the recommended value by a stated rule. Points run in
//! parallel; each is seeded by the scenario, so a sweep is as reproducible as one run.

use rayon::prelude::*;
use serde::Serialize;

use crate::sim::market::calibration::Calibration;
use crate::sim::market::config::{ConfigError, MarketConfig};
use crate::sim::market::report::MarketReport;
use crate::sim::market::run::simulate;

/// Prices per push swept, tokens.
pub const PRICES: [f64; 9] =
    [0.00001, 0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005];
/// Fee rates swept (the contract allows up to 0.10).
pub const FEES: [f64; 6] = [0.0, 0.01, 0.025, 0.05, 0.075, 0.1];
/// Claim thresholds swept, tokens per voucher.
pub const THRESHOLDS: [f64; 8] = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0];
/// Gas prices the claim thresholds are swept at, gwei (an L2, a quiet L1, a busy L1, a spike).
pub const GAS_PRICES: [f64; 4] = [0.05, 1.0, 10.0, 50.0];
/// Deposits per message slot swept, tokens.
pub const DEPOSITS: [f64; 6] = [0.0005, 0.005, 0.05, 0.5, 5.0, 50.0];
/// Slash reward shares swept (the contract allows up to 0.5).
pub const REWARD_SHARES: [f64; 4] = [0.1, 0.25, 0.4, 0.5];
/// Double-signal reaches the deposit is swept at: the measured one and a spammer that splits
/// its shares across the network so that each reaches half of it.
pub const SPLIT_REACH: f64 = 0.5;
/// Independent lightpush operators the network should keep per million users (a policy
/// target: no operator serves more than 1% of the clients on average).
pub const MIN_OPERATORS_PER_MILLION: f64 = 100.0;
/// A fee may cost at most this share of the operators the market keeps without a fee.
pub const MAX_FEE_OPERATOR_LOSS: f64 = 0.05;
/// Seeds run at each fee rate (the same seeds at every rate), averaged: a fee's effect on the
/// operators is a few percent, the size of one run's noise.
pub const FEE_SEEDS: u64 = 3;
/// Days at the end of a run over which the operators active are averaged.
pub const TAIL_DAYS: usize = 30;
/// A claim threshold may lose at most this share of revenue to gas and forfeits.
pub const MAX_GAS_SHARE: f64 = 0.05;

/// One point of a sweep: the parameter values and the run's key numbers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Point {
    /// The swept value.
    pub x: f64,
    /// The second parameter's value (grids), else 0.
    pub series: f64,
    /// Operators at the end.
    pub operators_end: u32,
    /// Operators active, mean over the last [`TAIL_DAYS`] days (and over the runs averaged).
    pub operators_mean: f64,
    /// Runs (seeds) averaged in this point.
    pub runs: u32,
    /// Of the operators active a third into the run, the share still active at the end.
    pub retained: f64,
    /// Operators that ever joined.
    pub operators_joined: u32,
    /// Operators that left.
    pub operators_exited: u32,
    /// Median operator's monthly profit, tokens.
    pub operator_profit_month_p50: f64,
    /// What a client pays per month, tokens.
    pub client_cost_per_month: f64,
    /// Share of the demand served.
    pub served_share: f64,
    /// The treasury's yearly income, tokens.
    pub treasury_per_year: f64,
    /// Revenue lost to claim gas and forfeited vouchers, per token paid.
    pub lost_to_gas_share: f64,
    /// Spam delivered per day.
    pub spam_per_day: f64,
    /// Cheapest cost per delivered spam message, tokens (infinite: no route).
    pub spam_cost_per_message: f64,
    /// Memberships slashed.
    pub slashes: u64,
    /// An operator's membership capital cost per month, tokens.
    pub capital_cost_month: f64,
}

impl Point {
    fn of(x: f64, series: f64, r: &MarketReport) -> Self {
        let s = &r.summary;
        let cheapest = r
            .days
            .iter()
            .rev()
            .take(30)
            .map(|d| d.spam.cheapest_cost_per_message)
            .fold(f64::INFINITY, f64::min);
        let c = &r.config;
        let tail = &r.days[r.days.len().saturating_sub(TAIL_DAYS)..];
        let operators_mean =
            tail.iter().map(|d| d.operators_active as f64).sum::<f64>() / tail.len().max(1) as f64;
        Point {
            x,
            series,
            operators_end: s.operators_end,
            operators_mean,
            runs: 1,
            retained: s.retained,
            operators_joined: s.operators_joined,
            operators_exited: s.operators_exited,
            operator_profit_month_p50: s.operator_profit_month_p50,
            client_cost_per_month: s.client_cost_per_month,
            served_share: s.served_share,
            treasury_per_year: s.treasury_per_year,
            lost_to_gas_share: s.claim_gas_share + s.forfeited_share,
            spam_per_day: s.spam_delivered_per_day,
            spam_cost_per_message: if cheapest.is_finite() { cheapest } else { -1.0 },
            slashes: s.slashes,
            capital_cost_month: c.deposit_per_slot
                * c.membership_limit as f64
                * r.calibration.prices.capital_rate_per_year
                / 12.0,
        }
    }

    /// The mean of runs of one point (several seeds): counts rounded to the nearest integer.
    fn mean(runs: &[Point]) -> Option<Point> {
        let first = runs.first()?;
        let n = runs.len() as f64;
        let avg = |f: &dyn Fn(&Point) -> f64| runs.iter().map(f).sum::<f64>() / n;
        let count =
            |f: &dyn Fn(&Point) -> u64| (runs.iter().map(f).sum::<u64>() as f64 / n).round();
        Some(Point {
            x: first.x,
            series: first.series,
            operators_end: count(&|p| p.operators_end.into()) as u32,
            operators_mean: avg(&|p| p.operators_mean),
            runs: runs.iter().map(|p| p.runs).sum(),
            retained: avg(&|p| p.retained),
            operators_joined: count(&|p| p.operators_joined.into()) as u32,
            operators_exited: count(&|p| p.operators_exited.into()) as u32,
            operator_profit_month_p50: avg(&|p| p.operator_profit_month_p50),
            client_cost_per_month: avg(&|p| p.client_cost_per_month),
            served_share: avg(&|p| p.served_share),
            treasury_per_year: avg(&|p| p.treasury_per_year),
            lost_to_gas_share: avg(&|p| p.lost_to_gas_share),
            spam_per_day: avg(&|p| p.spam_per_day),
            spam_cost_per_message: if runs.iter().all(|p| p.spam_cost_per_message >= 0.0) {
                avg(&|p| p.spam_cost_per_message)
            } else {
                -1.0
            },
            slashes: count(&|p| p.slashes) as u64,
            capital_cost_month: first.capital_cost_month,
        })
    }
}

/// A least-squares line through a sweep's points, `y = intercept + slope × x`, and where it has
/// lost a given share of its value at x = 0.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct LineFit {
    /// The line's value at x = 0.
    pub intercept: f64,
    /// Its slope.
    pub slope: f64,
    /// The x at which the line is `loss` below its intercept (None: the line does not fall).
    pub loss_at: Option<f64>,
    /// The share of the intercept lost at `loss_at`.
    pub loss: f64,
}

impl LineFit {
    /// Fits `points` (x, y); None for fewer than two distinct x.
    pub fn of(points: &[(f64, f64)], loss: f64) -> Option<LineFit> {
        let n = points.len() as f64;
        let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
        let my = points.iter().map(|p| p.1).sum::<f64>() / n;
        let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
        if points.len() < 2 || sxx <= 0.0 {
            return None;
        }
        let slope = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>() / sxx;
        let intercept = my - slope * mx;
        let loss_at = (slope < 0.0 && intercept > 0.0).then(|| loss * intercept / -slope);
        Some(LineFit { intercept, slope, loss_at, loss })
    }

    /// The line's value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// A sweep and its recommendation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Sweep {
    /// The swept parameter.
    pub parameter: &'static str,
    /// The second parameter of a grid (empty for a line).
    pub series_parameter: &'static str,
    /// Every point.
    pub points: Vec<Point>,
    /// The recommended value of the parameter, per series value (one entry for a line).
    pub recommended: Vec<(f64, Option<f64>)>,
    /// The rule that picked it.
    pub rule: String,
    /// The line the rule reads its recommendation from, for the sweeps that fit one.
    pub fit: Option<LineFit>,
}

fn run_grid(
    base: &MarketConfig,
    cal: &Calibration,
    grid: Vec<(f64, f64)>,
    set: impl Fn(&mut MarketConfig, f64, f64) + Sync,
) -> Result<Vec<Point>, ConfigError> {
    grid.into_par_iter()
        .map(|(x, s)| {
            let mut c = base.clone();
            set(&mut c, x, s);
            simulate(&c, cal).map(|r| Point::of(x, s, &r))
        })
        .collect()
}

/// The operators a market of `users` clients should keep.
pub fn operators_target(users: u32) -> u32 {
    ((users as f64 / 1e6 * MIN_OPERATORS_PER_MILLION).ceil() as u32).max(3)
}

/// Price per push against the operators the market keeps: the cheapest price at which the
/// market keeps its target of operators ([`operators_target`]) and its claims pay: at most
/// [`MAX_GAS_SHARE`] of the revenue lost to claim gas and forfeited vouchers. Entry drives the
/// established operators' profit toward zero at any price: the price sets how many operators
/// it funds, and whether a small payer's voucher is worth its claim's gas.
pub fn price(base: &MarketConfig, cal: &Calibration) -> Result<Sweep, ConfigError> {
    let points = run_grid(base, cal, PRICES.iter().map(|&p| (p, 0.0)).collect(), |c, x, _| {
        c.price_per_push = x
    })?;
    let target = operators_target(base.users);
    let rec = points
        .iter()
        .find(|p| p.operators_end >= target && p.lost_to_gas_share <= MAX_GAS_SHARE)
        .map(|p| p.x);
    Ok(Sweep {
        parameter: "price_per_push",
        series_parameter: "",
        points,
        recommended: vec![(0.0, rec)],
        fit: None,
        rule: format!(
            "the lowest price at which the market keeps {target} operators at the end ({MIN_OPERATORS_PER_MILLION} per million users) and loses at most {:.0}% of its revenue to claim gas and forfeited vouchers",
            MAX_GAS_SHARE * 100.0
        ),
    })
}

/// The seeds a point of the fee sweep runs: `FEE_SEEDS` seeds drawn from the scenario's (the
/// same at every fee: common random numbers).
pub fn fee_seeds(seed: u64) -> Vec<u64> {
    (0..FEE_SEEDS).map(|k| seed.wrapping_add(k.wrapping_mul(0x9E37_79B9_7F4A_7C15))).collect()
}

/// Fee rate against the treasury's income and operator exits. Each fee runs the same
/// [`FEE_SEEDS`] seeds, averaged; a least-squares line through the operators kept (mean over
/// the last [`TAIL_DAYS`] days) against the fee gives the fee that costs
/// [`MAX_FEE_OPERATOR_LOSS`] of the fee-free market's operators; the recommendation is the
/// highest grid fee at or below it (the contract's 10% at most). The line smooths the run's
/// noise that one point would pass on to the pick.
pub fn fee(base: &MarketConfig, cal: &Calibration) -> Result<Sweep, ConfigError> {
    let seeds = fee_seeds(base.seed);
    let grid = FEES.iter().flat_map(|&f| (0..seeds.len()).map(move |k| (f, k as f64))).collect();
    let runs = run_grid(base, cal, grid, |c, x, k| {
        c.fee_rate = x;
        c.seed = seeds[k as usize];
    })?;
    let points: Vec<Point> = FEES
        .iter()
        .filter_map(|&f| {
            let at: Vec<Point> = runs
                .iter()
                .filter(|p| p.x == f)
                .map(|p| Point { series: 0.0, ..p.clone() })
                .collect();
            Point::mean(&at)
        })
        .collect();
    let line: Vec<(f64, f64)> = points.iter().map(|p| (p.x, p.operators_mean)).collect();
    let fit = LineFit::of(&line, MAX_FEE_OPERATOR_LOSS);
    let limit = fit.and_then(|f| f.loss_at).unwrap_or(f64::INFINITY).min(0.1);
    let rec = FEES
        .iter()
        .copied()
        .filter(|&f| f <= limit + 1e-12)
        .fold(None, |a: Option<f64>, f| Some(a.map_or(f, |a| a.max(f))));
    Ok(Sweep {
        parameter: "fee_rate",
        series_parameter: "",
        points,
        recommended: vec![(0.0, rec)],
        fit,
        rule: format!(
            "the highest fee on the grid (within the contract's 10%) at or below the fee where a least-squares line through the operators kept (mean of the last {TAIL_DAYS} days, averaged over the same {FEE_SEEDS} seeds at every fee) has lost {:.0}% of its fee-free value",
            MAX_FEE_OPERATOR_LOSS * 100.0
        ),
    })
}

/// Claim threshold against the share of revenue lost to gas, at several gas prices: per gas
/// price, the smallest threshold that loses at most 1%.
pub fn claim_threshold(base: &MarketConfig, cal: &Calibration) -> Result<Sweep, ConfigError> {
    let grid = GAS_PRICES.iter().flat_map(|&g| THRESHOLDS.iter().map(move |&t| (t, g))).collect();
    let points = run_grid(base, cal, grid, |c, x, s| {
        c.claim_threshold = x;
        c.gas_gwei = s;
    })?;
    let recommended = GAS_PRICES
        .iter()
        .map(|&g| {
            let rec = points
                .iter()
                .find(|p| p.series == g && p.lost_to_gas_share <= MAX_GAS_SHARE)
                .map(|p| p.x);
            (g, rec)
        })
        .collect();
    Ok(Sweep {
        parameter: "claim_threshold",
        series_parameter: "gas_gwei",
        points,
        recommended,
        fit: None,
        rule: format!(
            "per gas price, the smallest threshold that loses at most {:.0}% of revenue to claim gas and forfeited vouchers",
            MAX_GAS_SHARE * 100.0
        ),
    })
}

/// Deposit per slot and slash reward share against what a spammer gains, at a double-signal
/// reach (the measured one, or [`SPLIT_REACH`]): the smallest deposit at which double signals
/// cost more per delivered message than paying for lightpush, and the reward share closest to
/// the penalty-maximizing end that still pays the slasher's gas.
pub fn deposit(base: &MarketConfig, cal: &Calibration, reach: f64) -> Result<Sweep, ConfigError> {
    let grid = REWARD_SHARES.iter().flat_map(|&r| DEPOSITS.iter().map(move |&d| (d, r))).collect();
    let points = run_grid(base, cal, grid, |c, x, s| {
        c.deposit_per_slot = x;
        c.slash_reward_share = s;
        c.double_signal_reach = reach;
    })?;
    let limit = base.membership_limit as f64;
    let recommended = REWARD_SHARES
        .iter()
        .map(|&r| {
            let rec = DEPOSITS.iter().copied().find(|&d| {
                let dep = d * limit;
                let slashed = r * dep > cal.gas_tokens(cal.gas.slash, base.gas_gwei * 2.0);
                let penalty = if slashed { dep * (1.0 - r) } else { 0.0 };
                let per_message = if reach > 0.0 {
                    (penalty + cal.gas_tokens(cal.gas.register, base.gas_gwei)) / (limit * reach)
                } else {
                    f64::INFINITY
                };
                slashed && per_message >= base.price_per_push
            });
            (r, rec)
        })
        .collect();
    Ok(Sweep {
        parameter: "deposit_per_slot",
        series_parameter: "slash_reward_share",
        points,
        recommended,
        fit: None,
        rule: "per reward share, the smallest deposit whose reward pays the slash's gas at twice the median gas price and whose penalty makes a delivered double signal dearer than a paid push".into(),
    })
}

/// Every sweep of docs/INCENTIVES.md.
#[derive(Debug, Clone, Serialize)]
pub struct Sweeps {
    /// Price per push.
    pub price: Sweep,
    /// Fee rate (at the recommended price).
    pub fee: Sweep,
    /// Claim threshold at several gas prices.
    pub claim_threshold: Sweep,
    /// Deposit and reward share, double signals as measured.
    pub deposit_measured: Sweep,
    /// Deposit and reward share, double signals split across the network.
    pub deposit_split: Sweep,
}

/// Runs every sweep around `base`: the fee sweep at the price sweep's recommendation.
pub fn all(base: &MarketConfig, cal: &Calibration) -> Result<Sweeps, ConfigError> {
    let price = price(base, cal)?;
    let mut at_price = base.clone();
    if let Some(p) = price.recommended[0].1 {
        at_price.price_per_push = p;
    }
    Ok(Sweeps {
        fee: fee(&at_price, cal)?,
        claim_threshold: claim_threshold(&at_price, cal)?,
        deposit_measured: deposit(&at_price, cal, cal.double_signal_reach)?,
        deposit_split: deposit(&at_price, cal, SPLIT_REACH)?,
        price,
    })
}
