//! The market, one day at a time: operators enter and leave, clients choose and pay, spammers
//! pick their cheapest route, operators claim and pay their costs. Every draw comes from one
//! ChaCha8 stream seeded by the scenario, in a fixed order, so a seed fixes the run.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::sim::market::calibration::Calibration;
use crate::sim::market::config::{ConfigError, MarketConfig};
use crate::sim::market::ledger::{tokens, units, Account, Ledger};
use crate::sim::market::report::{Balances, Day, Flows, MarketReport, Quantiles, SpamDay, Summary};
use crate::sim::model::ModelInputs;

/// Epochs of 600 s in a day.
const EPOCHS_PER_DAY: f64 = 144.0;
/// Days of profit an operator looks back over when it decides to stay.
const LOOKBACK: usize = 30;
/// No operator.
const NONE: u32 = u32::MAX;

struct Operator {
    price: u64,
    cost_factor: f64,
    outage_chance: f64,
    joined: u32,
    left: Option<u32>,
    active: bool,
    /// Share of pushes served, smoothed over days: what clients know of its past service.
    reputation: f64,
    fail_today: f64,
    pushes: u64,
    failed: u64,
    revenue: u64,
    unclaimed: u64,
    unclaimed_payers: u64,
    claim_epoch: u32,
    oldest_unclaimed: Option<u32>,
    memberships: u64,
    deposit: u64,
    profits: [f64; LOOKBACK],
    losing_days: u32,
    /// Today's slash rewards net of the slash's gas, tokens.
    slash_income: f64,
}

impl Operator {
    fn score(&self, service_weight: f64) -> f64 {
        self.price as f64 * (1.0 + service_weight * (1.0 - self.reputation))
    }
}

struct Spammer {
    value: f64,
    memberships: u64,
}

/// A uniform draw in [0, 1) and a second one from the same 64 bits.
fn two_uniforms(rng: &mut ChaCha8Rng) -> (f64, f64) {
    let x = rng.next_u64();
    let s = 1.0 / (1u64 << 32) as f64;
    ((x >> 32) as f64 * s, (x & 0xffff_ffff) as f64 * s)
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let (u, v) = two_uniforms(rng);
    (-2.0 * (1.0 - u).ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

fn lognormal(rng: &mut ChaCha8Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// The market's state during a run.
struct Market<'a> {
    cfg: &'a MarketConfig,
    cal: &'a Calibration,
    load: ModelInputs,
    rng: ChaCha8Rng,
    ledger: Ledger,
    operators: Vec<Operator>,
    active: Vec<u32>,
    // Clients, one entry each.
    demand: Vec<f32>,
    /// Payers one agent stands for (vouchers in a claim).
    cohort_payers: u64,
    willingness: Vec<u64>,
    chosen: Vec<u32>,
    mark_op: Vec<u32>,
    mark_epoch: Vec<u32>,
    unhappy: Vec<bool>,
    spammers: Vec<Spammer>,
    gas_log: f64,
    /// Gas operators paid today, base units.
    operator_gas: u64,
    /// Gas operators paid for claims over the run, base units.
    claim_gas: u64,
    /// Yesterday's network load, messages per day.
    load_per_day: f64,
}

impl<'a> Market<'a> {
    fn new(cfg: &'a MarketConfig, cal: &'a Calibration) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let n = cfg.agents as usize;
        let cohort = cfg.users as f64 / cfg.agents as f64;
        let mut demand = Vec::with_capacity(n);
        let mut willingness = Vec::with_capacity(n);
        for _ in 0..n {
            demand.push((lognormal(&mut rng, cfg.demand_median, cfg.demand_sigma) * cohort) as f32);
            willingness.push(units(lognormal(
                &mut rng,
                cfg.willingness_median,
                cfg.willingness_sigma,
            )));
        }
        let spammers = (0..cfg.spammers)
            .map(|_| Spammer {
                value: lognormal(&mut rng, cfg.spam_value_median, 1.0),
                memberships: 0,
            })
            .collect();
        // The capacity model per message per day of the whole network.
        let load = ModelInputs { users: 1.0, ..cal.capacity.clone() };
        let mut m = Market {
            cfg,
            cal,
            load,
            rng,
            ledger: Ledger::new(),
            operators: Vec::new(),
            active: Vec::new(),
            demand,
            willingness,
            cohort_payers: cohort.round().max(1.0) as u64,
            chosen: vec![NONE; n],
            mark_op: vec![NONE; n],
            mark_epoch: vec![0; n],
            unhappy: vec![false; n],
            spammers,
            gas_log: 0.0,
            operator_gas: 0,
            claim_gas: 0,
            load_per_day: 0.0,
        };
        for _ in 0..cfg.initial_operators {
            m.add_operator(0);
        }
        // Day 0's load: every client's expected demand.
        m.load_per_day = m.demand.iter().map(|&d| d as f64).sum();
        m
    }

    fn add_operator(&mut self, day: u32) {
        let spread = self.cfg.price_spread * (2.0 * self.rng.gen::<f64>() - 1.0);
        let cost_factor = lognormal(&mut self.rng, 1.0, self.cfg.cost_sigma);
        let outage_chance = self.rng.gen::<f64>() * self.cfg.max_outage_chance;
        self.active.push(self.operators.len() as u32);
        self.operators.push(Operator {
            price: units(self.cfg.price_per_push * (1.0 + spread)),
            cost_factor,
            outage_chance,
            joined: day,
            left: None,
            active: true,
            // No failure on record yet: the share an operator without outages would have.
            reputation: 0.99,
            fail_today: 0.0,
            pushes: 0,
            failed: 0,
            revenue: 0,
            unclaimed: 0,
            unclaimed_payers: 0,
            claim_epoch: 0,
            oldest_unclaimed: None,
            memberships: 0,
            deposit: 0,
            profits: [0.0; LOOKBACK],
            losing_days: 0,
            slash_income: 0.0,
        });
    }

    /// Hosting of one relay at the current load, tokens per day, before its cost factor; and
    /// the relay's Mbps.
    fn relay_cost(&self) -> (f64, f64) {
        let row = self.load.row(self.load_per_day);
        let p = &self.cal.prices;
        let gb_per_day = row.per_relay_bps * 2.0 / 8.0 * 86_400.0 / 1e9;
        let usd = p.server_usd_per_month / 30.0
            + gb_per_day * p.bandwidth_usd_per_gb
            + row.per_relay_cpu_cores * p.cpu_usd_per_core_month / 30.0;
        (self.cal.usd_tokens(usd), row.per_relay_bps / 1e6)
    }

    /// A membership's cost of capital per day, tokens.
    fn membership_capital_per_day(&self) -> f64 {
        self.cfg.deposit_per_slot
            * self.cfg.membership_limit as f64
            * self.cal.prices.capital_rate_per_year
            / 365.0
    }

    /// The operator a client picks: the best score among its current one and a few others.
    fn choose(&mut self, current: u32) -> u32 {
        if self.active.is_empty() {
            return NONE;
        }
        let w = self.cfg.service_weight;
        let mut best = NONE;
        let mut best_score = f64::INFINITY;
        if current != NONE && self.operators[current as usize].active {
            best = current;
            best_score = self.operators[current as usize].score(w);
        }
        for _ in 0..self.cfg.compare_with {
            let o = self.active[self.rng.gen_range(0..self.active.len())];
            let s = self.operators[o as usize].score(w);
            if s < best_score {
                best = o;
                best_score = s;
            }
        }
        best
    }

    fn claim(&mut self, i: usize, gwei: f64, forced: bool, flows: &mut Flows) -> (bool, f64) {
        let o = &self.operators[i];
        if o.unclaimed == 0 {
            return (false, 0.0);
        }
        let gas = units(self.cal.gas_tokens(self.cal.gas.claim(o.unclaimed_payers.max(1)), gwei));
        let fee = (o.unclaimed as f64 * self.cfg.fee_rate).floor() as u64;
        let net = o.unclaimed - fee;
        let me = Account::Operator(i as u32);
        // The cost to the operator: the claim's gas, or the vouchers it gives up (they were
        // counted as revenue when served).
        let (claimed, cost) = if gas < net {
            self.ledger.transfer(Account::Escrow, me, net);
            self.ledger.transfer(Account::Escrow, Account::Treasury, fee);
            self.ledger.transfer(me, Account::Chain, gas);
            flows.claimed += o.unclaimed;
            flows.fees += fee;
            flows.gas += gas;
            self.operator_gas += gas;
            self.claim_gas += gas;
            (true, gas)
        } else if forced {
            // Not worth its gas: the payers withdraw it after the thaw.
            self.ledger.transfer(Account::Escrow, Account::Clients, o.unclaimed);
            flows.forfeited += o.unclaimed;
            (false, o.unclaimed)
        } else {
            return (false, 0.0);
        };
        let o = &mut self.operators[i];
        o.unclaimed = 0;
        o.unclaimed_payers = 0;
        o.claim_epoch += 1;
        o.oldest_unclaimed = None;
        (claimed, tokens(cost as i128))
    }

    fn day(&mut self, day: u32) -> Day {
        let cfg = self.cfg;
        let mut flows = Flows::default();
        self.operator_gas = 0;
        // The gas price: a mean-reverting walk of its logarithm around the median.
        self.gas_log = 0.8 * self.gas_log + cfg.gas_volatility * normal(&mut self.rng);
        let gwei = cfg.gas_gwei * self.gas_log.exp();

        // Outages.
        for &o in &self.active {
            let op = &mut self.operators[o as usize];
            let (u, v) = two_uniforms(&mut self.rng);
            op.fail_today = if u < op.outage_chance { v } else { 0.0 };
            op.pushes = 0;
            op.failed = 0;
            op.revenue = 0;
            op.slash_income = 0.0;
        }

        // Clients.
        let (mut served, mut failed, mut priced_out) = (0u64, 0u64, 0u64);
        for c in 0..self.demand.len() {
            let mut op = self.chosen[c];
            let (u, v) = two_uniforms(&mut self.rng);
            let gone = op == NONE || !self.operators[op as usize].active;
            if gone || self.unhappy[c] || u < cfg.switch_chance {
                op = self.choose(op);
                self.chosen[c] = op;
                self.unhappy[c] = false;
            }
            // Messages today: demand × U(0.5, 1.5), rounded at random (mean = demand).
            let want = self.demand[c] as f64 * (0.5 + v);
            let frac = want.fract();
            let (w2, _) = two_uniforms(&mut self.rng);
            let m = want as u64 + u64::from(w2 < frac);
            if m == 0 {
                continue;
            }
            if op == NONE {
                priced_out += m;
                continue;
            }
            let o = &mut self.operators[op as usize];
            if o.price > self.willingness[c] {
                priced_out += m;
                self.unhappy[c] = true;
                continue;
            }
            let lost = (m as f64 * o.fail_today).round() as u64;
            if lost > 0 {
                self.unhappy[c] = true;
            }
            let ok = m - lost;
            served += ok;
            failed += lost;
            o.pushes += ok;
            o.failed += lost;
            o.revenue += ok * o.price;
            if ok > 0 && (self.mark_op[c] != op || self.mark_epoch[c] != o.claim_epoch) {
                self.mark_op[c] = op;
                self.mark_epoch[c] = o.claim_epoch;
                o.unclaimed_payers += self.cohort_payers;
            }
        }
        let mut client_paid = 0u64;
        for &o in &self.active {
            client_paid += self.operators[o as usize].revenue;
        }
        self.ledger.transfer(Account::Outside, Account::Clients, client_paid);
        for &o in &self.active {
            let r = self.operators[o as usize].revenue;
            self.ledger.transfer(Account::Clients, Account::Escrow, r);
        }
        flows.client_paid = client_paid;

        let spam = self.spam(gwei, &mut flows);

        // Operators: costs, memberships, claims, profit.
        let (relay_cost, relay_mbps) = self.relay_cost();
        let capital = self.membership_capital_per_day();
        let p = &self.cal.prices;
        let prove_cost_per_push = self.cal.usd_tokens(
            p.prove_ms_per_push / 1e3 / 3600.0 / 24.0 / 30.0 * p.cpu_usd_per_core_month,
        );
        let slots_per_membership = cfg.membership_limit as f64 * EPOCHS_PER_DAY;
        let mut profits = Vec::with_capacity(self.active.len());
        let mut claims = 0u32;
        let mut exited = 0u32;
        let active = std::mem::take(&mut self.active);
        let mut still = Vec::with_capacity(active.len());
        for &oi in &active {
            let i = oi as usize;
            let me = Account::Operator(oi);
            let (revenue, pushes, fee_rate) =
                (self.operators[i].revenue, self.operators[i].pushes, cfg.fee_rate);
            let mut profit =
                tokens(revenue as i128) * (1.0 - fee_rate) + self.operators[i].slash_income;
            {
                let o = &mut self.operators[i];
                o.unclaimed += revenue;
                if revenue > 0 && o.oldest_unclaimed.is_none() {
                    o.oldest_unclaimed = Some(day);
                }
                let total = o.pushes + o.failed;
                let ok =
                    if total == 0 { 1.0 - o.fail_today } else { o.pushes as f64 / total as f64 };
                o.reputation = 0.9 * o.reputation + 0.1 * ok;
            }
            // Hosting.
            let hosting = units(
                (relay_cost + pushes as f64 * prove_cost_per_push) * self.operators[i].cost_factor,
            );
            self.ledger.transfer(me, Account::Hosting, hosting);
            flows.hosting += hosting;
            profit -= tokens(hosting as i128);
            // Memberships for its pushes (bursts included), registered as needed.
            let need =
                ((pushes as f64 * cfg.burst_factor / slots_per_membership).ceil() as u64).max(1);
            while self.operators[i].memberships < need {
                let deposit = units(cfg.deposit_per_slot * cfg.membership_limit as f64);
                let gas = units(self.cal.gas_tokens(self.cal.gas.register, gwei));
                self.ledger.transfer(me, Account::Registry, deposit);
                self.ledger.transfer(me, Account::Chain, gas);
                flows.deposits_in += deposit;
                flows.gas += gas;
                self.operator_gas += gas;
                profit -= tokens(gas as i128);
                let o = &mut self.operators[i];
                o.memberships += 1;
                o.deposit += deposit;
            }
            profit -= capital * self.operators[i].memberships as f64;
            // Claims.
            let o = &self.operators[i];
            let due = o.oldest_unclaimed.is_some_and(|d| day - d >= cfg.claim_deadline_days);
            let per_voucher = o.unclaimed as f64 / o.unclaimed_payers.max(1) as f64;
            if per_voucher >= units(cfg.claim_threshold) as f64 || due {
                let (claimed, cost) = self.claim(i, gwei, due, &mut flows);
                claims += u32::from(claimed);
                profit -= cost;
            }
            // Stay or leave.
            let o = &mut self.operators[i];
            o.profits[day as usize % LOOKBACK] = profit;
            profits.push(profit);
            if day - o.joined >= cfg.grace_days && o.profits.iter().sum::<f64>() < 0.0 {
                o.losing_days += 1;
            } else {
                o.losing_days = 0;
            }
            if o.losing_days >= cfg.patience_days {
                o.left = Some(day);
                self.leave(i, gwei, &mut flows);
                exited += 1;
            } else {
                still.push(oi);
            }
        }
        self.active = still;

        // Entry: a newcomer joins while it expects to profit: an even share of today's
        // revenue (net of the fee and of the gas operators pay) among the operators and itself,
        // against its own hosting and capital. At most 10% more operators a day.
        let net_revenue: f64 =
            active.iter().map(|&o| tokens(self.operators[o as usize].revenue as i128)).sum::<f64>()
                * (1.0 - cfg.fee_rate)
                - tokens(self.operator_gas as i128);
        let candidates = ((self.active.len() as f64 * 0.1).ceil() as u32).max(1);
        let mut entered = 0;
        for _ in 0..candidates {
            let expected = net_revenue / (self.active.len() + 1) as f64;
            let cost_factor = lognormal(&mut self.rng, 1.0, cfg.cost_sigma);
            if expected > relay_cost * cost_factor + capital {
                self.add_operator(day + 1);
                entered += 1;
            }
        }

        self.load_per_day = served as f64 + spam.delivered;
        let quantiles = Quantiles::of(&mut profits);
        Day {
            day,
            gas_gwei: gwei,
            operators_active: self.active.len() as u32,
            operators_entered: entered,
            operators_exited: exited,
            operator_profit: quantiles,
            messages_served: served,
            messages_failed: failed,
            messages_priced_out: priced_out,
            client_cost_per_message: if served == 0 {
                0.0
            } else {
                tokens(client_paid as i128) / served as f64
            },
            claims,
            treasury_income: tokens((flows.fees + flows.slash_treasury) as i128),
            operator_gas: tokens(self.operator_gas as i128),
            spam,
            network_messages_per_second: (served as f64 + spam.delivered) / 86_400.0,
            relay_mbps,
            relay_cost_per_day: relay_cost,
            flows,
        }
    }

    /// An operator leaves: a last claim (or its vouchers forfeited), its deposits withdrawn.
    fn leave(&mut self, i: usize, gwei: f64, flows: &mut Flows) {
        self.claim(i, gwei, true, flows);
        let me = Account::Operator(i as u32);
        let o = &mut self.operators[i];
        o.active = false;
        let deposit = std::mem::take(&mut o.deposit);
        let withdrawals = std::mem::take(&mut o.memberships);
        self.ledger.transfer(Account::Registry, me, deposit);
        flows.deposits_out += deposit;
        let gas = units(self.cal.gas_tokens(self.cal.gas.withdraw, gwei)) * withdrawals.min(1);
        self.ledger.transfer(me, Account::Chain, gas);
        flows.gas += gas;
        self.operator_gas += gas;
    }

    /// The spammers' day: each takes its cheapest route if a delivered message is worth it.
    fn spam(&mut self, gwei: f64, flows: &mut Flows) -> SpamDay {
        let cfg = self.cfg;
        let cal = self.cal;
        let limit = cfg.membership_limit as f64;
        let deposit = cfg.deposit_per_slot * limit;
        // 1. Paying lightpush at the cheapest operator.
        let cheapest =
            self.active.iter().copied().min_by_key(|&o| self.operators[o as usize].price);
        let lightpush =
            cheapest.map_or(f64::INFINITY, |o| tokens(self.operators[o as usize].price as i128));
        // 2. Memberships of its own, used up to the rate limit: capital and gas, amortized.
        let per_membership_day = self.membership_capital_per_day()
            + cal.gas_tokens(cal.gas.register + cal.gas.withdraw, gwei)
                / cfg.membership_days as f64;
        let memberships = per_membership_day / (limit * EPOCHS_PER_DAY);
        // 3. Double signals: a membership spends every message id twice in one epoch and is
        // slashed if slashing pays the catcher; `reach` extra deliveries per message.
        let slash_pays = cfg.slash_reward_share * deposit > cal.gas_tokens(cal.gas.slash, gwei);
        let penalty = if slash_pays { deposit * (1.0 - cfg.slash_reward_share) } else { 0.0 };
        let double_signal = if cfg.double_signal_reach > 0.0 {
            (penalty + cal.gas_tokens(cal.gas.register, gwei)) / (limit * cfg.double_signal_reach)
        } else {
            f64::INFINITY
        };
        let cheapest_cost = lightpush.min(memberships).min(double_signal);
        let mut s = SpamDay { cheapest_cost_per_message: cheapest_cost, ..SpamDay::default() };
        let volume = cfg.spam_volume;
        for j in 0..self.spammers.len() {
            if self.spammers[j].value < cheapest_cost || volume <= 0.0 || !cheapest_cost.is_finite()
            {
                continue;
            }
            s.active_spammers += 1;
            if cheapest_cost == lightpush {
                let o = cheapest.expect("a finite price has an operator") as usize;
                let n = volume.round() as u64;
                let paid = n * self.operators[o].price;
                self.ledger.transfer(Account::Outside, Account::Spammers, paid);
                self.ledger.transfer(Account::Spammers, Account::Escrow, paid);
                flows.spammer_paid += paid;
                let op = &mut self.operators[o];
                op.pushes += n;
                op.revenue += paid;
                op.unclaimed_payers += 1;
                s.via_lightpush += n;
                s.delivered += n as f64;
                s.cost += tokens(paid as i128);
            } else if cheapest_cost == memberships {
                let need = (volume / (limit * EPOCHS_PER_DAY)).ceil() as u64;
                let sp = &mut self.spammers[j];
                let new = need.saturating_sub(sp.memberships);
                sp.memberships += new;
                let dep = units(deposit) * new;
                let gas = units(cal.gas_tokens(cal.gas.register, gwei)) * new;
                self.ledger.transfer(Account::Outside, Account::Spammers, dep + gas);
                self.ledger.transfer(Account::Spammers, Account::Registry, dep);
                self.ledger.transfer(Account::Spammers, Account::Chain, gas);
                flows.deposits_in += dep;
                flows.gas += gas;
                s.via_memberships += volume.round() as u64;
                s.delivered += volume;
                s.cost += tokens(gas as i128) + self.membership_capital_per_day() * need as f64;
            } else {
                let burnt = (volume / (limit * cfg.double_signal_reach)).ceil() as u64;
                let dep = units(deposit) * burnt;
                let gas = units(cal.gas_tokens(cal.gas.register, gwei)) * burnt;
                self.ledger.transfer(Account::Outside, Account::Spammers, dep + gas);
                self.ledger.transfer(Account::Spammers, Account::Registry, dep);
                self.ledger.transfer(Account::Spammers, Account::Chain, gas);
                flows.deposits_in += dep;
                flows.gas += gas;
                s.via_double_signal += burnt * 2 * cfg.membership_limit as u64;
                s.delivered += burnt as f64 * limit * cfg.double_signal_reach;
                s.cost += tokens(gas as i128);
                if slash_pays && !self.active.is_empty() {
                    // Each is slashed by the operator of one of its first hops.
                    for _ in 0..burnt {
                        let o = self.active[self.rng.gen_range(0..self.active.len())];
                        let reward =
                            (units(deposit) as f64 * cfg.slash_reward_share).floor() as u64;
                        let rest = units(deposit) - reward;
                        let sgas = units(cal.gas_tokens(cal.gas.slash, gwei));
                        self.ledger.transfer(Account::Registry, Account::Operator(o), reward);
                        self.ledger.transfer(Account::Registry, Account::Treasury, rest);
                        self.ledger.transfer(Account::Operator(o), Account::Chain, sgas);
                        flows.slash_rewards += reward;
                        flows.slash_treasury += rest;
                        flows.gas += sgas;
                        self.operator_gas += sgas;
                        self.operators[o as usize].slash_income +=
                            tokens(reward as i128) - tokens(sgas as i128);
                        s.slashes += 1;
                        s.cost += tokens(units(deposit) as i128);
                    }
                }
            }
        }
        s
    }
}

/// Runs a market scenario.
pub fn simulate(cfg: &MarketConfig, cal: &Calibration) -> Result<MarketReport, ConfigError> {
    cfg.check()?;
    let mut m = Market::new(cfg, cal);
    let mut days = Vec::with_capacity(cfg.days as usize);
    for d in 0..cfg.days {
        days.push(m.day(d));
    }
    let unclaimed_at_end: u64 = m.operators.iter().map(|o| o.unclaimed).sum();
    let summary = summarize(cfg, &days, &m);
    let l = &m.ledger;
    let balances = Balances {
        outside: l.balance(Account::Outside),
        clients: l.balance(Account::Clients),
        spammers: l.balance(Account::Spammers),
        escrow: l.balance(Account::Escrow),
        registry: l.balance(Account::Registry),
        treasury: l.balance(Account::Treasury),
        chain: l.balance(Account::Chain),
        hosting: l.balance(Account::Hosting),
        operators: l.operators_total(),
        total: l.total(),
    };
    Ok(MarketReport {
        config: cfg.clone(),
        calibration: cal.clone(),
        days,
        summary,
        balances,
        unclaimed_at_end,
    })
}

fn summarize(cfg: &MarketConfig, days: &[Day], m: &Market<'_>) -> Summary {
    let tail = &days[days.len().saturating_sub(LOOKBACK)..];
    let n = tail.len().max(1) as f64;
    let window = tail.len().min(LOOKBACK);
    let mut monthly = Vec::new();
    let mut revenue = Vec::new();
    let last = days.len() as u32;
    for o in m.operators.iter().filter(|o| o.active) {
        // Operators that served the whole window.
        if last - o.joined < window as u32 {
            continue;
        }
        let sum: f64 = (0..window).map(|k| o.profits[(last as usize - 1 - k) % LOOKBACK]).sum();
        monthly.push(sum / window as f64 * 30.0);
        revenue.push(tokens(o.revenue as i128) * (1.0 - cfg.fee_rate) * 30.0);
    }
    let profit = Quantiles::of(&mut monthly);
    let rev = Quantiles::of(&mut revenue);
    let sum = |f: &dyn Fn(&Day) -> f64| tail.iter().map(f).sum::<f64>();
    let served = sum(&|d| d.messages_served as f64);
    let paid = sum(&|d| tokens(d.flows.client_paid as i128));
    let wanted = sum(&|d| (d.messages_served + d.messages_failed + d.messages_priced_out) as f64);
    let total = |f: &dyn Fn(&Flows) -> u64| days.iter().map(|d| f(&d.flows) as f64).sum::<f64>();
    let claimed = total(&|f| f.claimed);
    let claim_gas = m.claim_gas as f64;
    let spam_delivered = sum(&|d| d.spam.delivered);
    let joined = m.operators.len() as u32;
    let end = m.active.len() as u32;
    // Survival: of the operators active a third into the run, those still active at the end.
    let d0 = last / 3;
    let was = |o: &&Operator| o.joined <= d0 && o.left.is_none_or(|l| l > d0);
    let then = m.operators.iter().filter(was).count();
    let stayed = m.operators.iter().filter(was).filter(|o| o.active).count();
    Summary {
        operators_end: end,
        operators_peak: days.iter().map(|d| d.operators_active).max().unwrap_or(0),
        operators_joined: joined,
        operators_exited: days.iter().map(|d| d.operators_exited).sum(),
        retained: if then == 0 { 0.0 } else { stayed as f64 / then as f64 },
        operator_profit_month_p50: profit.p50,
        operator_profit_month_p10: profit.p10,
        operator_revenue_month_p50: rev.p50,
        client_cost_per_message: if served == 0.0 { 0.0 } else { paid / served },
        client_cost_per_month: paid / n * 30.0 / cfg.users.max(1) as f64,
        served_share: if wanted == 0.0 { 0.0 } else { served / wanted },
        treasury_per_year: sum(&|d| d.treasury_income) / n * 365.0,
        claim_gas_share: if claimed == 0.0 { 0.0 } else { claim_gas / claimed },
        forfeited_share: {
            let paid = total(&|f| f.client_paid + f.spammer_paid);
            if paid == 0.0 {
                0.0
            } else {
                total(&|f| f.forfeited) / paid
            }
        },
        spam_delivered_per_day: spam_delivered / n,
        spam_cost_per_message: if spam_delivered == 0.0 {
            0.0
        } else {
            sum(&|d| d.spam.cost) / spam_delivered
        },
        slashes: days.iter().map(|d| d.spam.slashes as u64).sum(),
    }
}
