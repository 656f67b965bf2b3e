//! The market simulation (`rlnkit sim market`): its calibration read from the committed files,
//! money conserved through every path (vouchers, claims, fees, forfeits, deposits, slashes,
//! gas, hosting), runs reproducible from their seed, sweeps whose recommendation does not
//! depend on the seed, and the README's commands run exactly as written.

use std::path::{Path, PathBuf};

use rlnkit::sim::market::calibration::{CalibrationError, GAS_REPORT_CLAIM_MANY_BATCH};
use rlnkit::sim::market::{
    simulate, sweep, Calibration, CalibrationPaths, MarketConfig, MarketReport,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn calibration() -> Calibration {
    Calibration::load(&CalibrationPaths::committed(&root())).expect("the committed calibration")
}

fn small(cal: &Calibration) -> MarketConfig {
    MarketConfig { users: 1_000_000, agents: 5_000, days: 60, ..MarketConfig::calibrated(cal) }
}

#[test]
fn the_calibration_is_read_from_the_committed_devnet_gas_and_capacity_files() {
    let c = calibration();
    // The devnet (docs/market/devnet.json): 0.001 token per push, a 2.5% fee, half of a slashed
    // deposit to the slasher, 0.05 token of deposit per message slot.
    assert!((c.devnet_price_per_push - 0.001).abs() < 1e-12, "{c:?}");
    assert!((c.fee_rate - 0.025).abs() < 1e-3, "fee {}", c.fee_rate);
    assert!((c.slash_reward_share - 0.5).abs() < 1e-9);
    assert!((c.deposit_per_slot - 0.05).abs() < 1e-9);
    assert!(c.devnet_pushes > 0);
    // The forge gas report (docs/market/gas-report.json): register and slash near 0.8-0.9M gas,
    // a claim of one voucher under the 80k budget, claimMany under 20k per voucher.
    let g = c.gas;
    assert!((500_000.0..1_500_000.0).contains(&g.register), "{g:?}");
    assert!((500_000.0..2_000_000.0).contains(&g.slash), "{g:?}");
    assert!(g.claim(1) <= 80_000.0 && g.claim(1) > 21_000.0, "{g:?}");
    assert!(g.claim_per_voucher > 1_000.0 && g.claim_per_voucher <= 20_000.0, "{g:?}");
    assert!(g.claim(GAS_REPORT_CLAIM_MANY_BATCH) <= 20_000.0 * GAS_REPORT_CLAIM_MANY_BATCH as f64);
    // The capacity simulation (docs/capacity): amplification ~4, a millisecond-scale CPU cost
    // per message, and double signals never past the first hop.
    assert!((3.0..6.0).contains(&c.capacity.amplification), "{:?}", c.capacity);
    assert!((100.0..10_000.0).contains(&c.capacity.cpu_us_per_message), "{:?}", c.capacity);
    assert_eq!(c.double_signal_reach, 0.0);
    assert_eq!(c.prices.token_usd, 1.0);
}

#[test]
fn the_calibration_refuses_inputs_that_lack_what_it_needs() {
    let p = CalibrationPaths::committed(&root());
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    let (devnet, gas, cap, attack, prices) =
        (read(&p.devnet), read(&p.gas_report), read(&p.capacity), read(&p.attack), read(&p.prices));
    let no_claim_many = gas.replace("claimMany(", "claimSome(");
    assert!(matches!(
        Calibration::parse(&devnet, &no_claim_many, &cap, &attack, &prices),
        Err(CalibrationError::MissingGas { function: "claimMany", .. })
    ));
    let mut d: serde_json::Value = serde_json::from_str(&devnet).unwrap();
    d["data"]["summary"]["slash"] = serde_json::Value::Null;
    assert!(matches!(
        Calibration::parse(&d.to_string(), &gas, &cap, &attack, &prices),
        Err(CalibrationError::Devnet(_))
    ));
    let bad_prices = prices.replace("eth_usd = 3000.0", "eth_usd = -1.0");
    assert!(matches!(
        Calibration::parse(&devnet, &gas, &cap, &attack, &bad_prices),
        Err(CalibrationError::BadPrice("eth_usd"))
    ));
    assert!(matches!(
        Calibration::parse("not json", &gas, &cap, &attack, &prices),
        Err(CalibrationError::Format { .. })
    ));
}

/// Every flow of the run against the final balances: each token a payer paid is held by the
/// escrow or was received by an operator, the treasury, the chain (gas), hosting, or went back
/// to its payer.
fn assert_conserved(r: &MarketReport) {
    let b = &r.balances;
    let t = |f: fn(&rlnkit::sim::market::report::Flows) -> u64| r.total(f) as i128;
    assert_eq!(b.total, 0, "the ledger sums to zero: {b:?}");
    assert_eq!(
        b.escrow, r.unclaimed_at_end as i128,
        "the escrow holds exactly the unclaimed vouchers"
    );
    assert_eq!(
        t(|f| f.client_paid) + t(|f| f.spammer_paid),
        t(|f| f.claimed) + t(|f| f.forfeited) + b.escrow,
        "every voucher paid was claimed, forfeited back to its payer, or is still in escrow"
    );
    assert_eq!(b.clients, t(|f| f.forfeited), "clients got back exactly the forfeited vouchers");
    assert_eq!(b.treasury, t(|f| f.fees) + t(|f| f.slash_treasury));
    assert_eq!(b.chain, t(|f| f.gas));
    assert_eq!(b.hosting, t(|f| f.hosting));
    assert_eq!(
        b.registry,
        t(|f| f.deposits_in)
            - t(|f| f.deposits_out)
            - t(|f| f.slash_rewards)
            - t(|f| f.slash_treasury)
    );
    assert_eq!(b.spammers, 0, "spammers pay exactly what they spend");
    // Fees are the contract's: floor(claimed × rate) per claim.
    let claimed = t(|f| f.claimed) as f64;
    let fees = t(|f| f.fees) as f64;
    assert!(
        fees <= claimed * r.config.fee_rate
            && fees
                >= claimed * r.config.fee_rate
                    - r.days.iter().map(|d| d.claims as f64).sum::<f64>()
                    - 1.0
    );
}

#[test]
fn money_is_conserved_through_claims_fees_forfeits_deposits_and_slashes() {
    let mut cal = calibration();
    // Capital so dear that memberships used within their limit cost spammers more than
    // double signals do: the slash path runs.
    cal.prices.capital_rate_per_year = 1e6;
    // Spammers double-signal (a reach, a small deposit whose reward pays the slash at a low
    // gas price), operators claim, pay fees and hosting, some leave.
    let c = MarketConfig {
        fee_rate: 0.05,
        gas_gwei: 0.01,
        deposit_per_slot: 0.01,
        slash_reward_share: 0.5,
        double_signal_reach: 0.5,
        spam_value_median: 1.0,
        spam_volume: 1_000.0,
        ..small(&cal)
    };
    // Operators stay whatever their losses (the dear capital is the spammers' problem here).
    // Pushes dear enough that spammers do not buy them.
    let c =
        MarketConfig { grace_days: 100_000, price_per_push: 1.0, willingness_median: 10.0, ..c };
    let r = simulate(&c, &cal).unwrap();
    assert!(r.summary.slashes > 0, "slashes happened: {:?}", r.summary);
    assert!(r.total(|f| f.claimed) > 0 && r.total(|f| f.fees) > 0);
    assert!(r.total(|f| f.slash_rewards) > 0 && r.total(|f| f.hosting) > 0);
    assert_conserved(&r);

    let cal = calibration();
    // Gas so dear that claims do not pay: vouchers are forfeited back to their payers.
    let dear = MarketConfig { gas_gwei: 5_000.0, claim_threshold: 0.1, ..small(&cal) };
    let r = simulate(&dear, &cal).unwrap();
    assert!(r.total(|f| f.forfeited) > 0, "{:?}", r.summary);
    assert!(r.summary.operators_exited > 0, "operators leave a market that loses money");
    assert_conserved(&r);

    // Spam through paid lightpush and through memberships of its own.
    for (price, deposit) in [(1e-6, 0.05), (0.01, 0.05)] {
        let c = MarketConfig {
            price_per_push: price,
            deposit_per_slot: deposit,
            spam_value_median: 1.0,
            ..small(&cal)
        };
        let r = simulate(&c, &cal).unwrap();
        assert!(r.summary.spam_delivered_per_day > 0.0);
        assert_conserved(&r);
    }
}

#[test]
fn a_run_is_reproducible_from_its_seed() {
    let cal = calibration();
    let c = small(&cal);
    let a = serde_json::to_string(&simulate(&c, &cal).unwrap()).unwrap();
    let b = serde_json::to_string(&simulate(&c, &cal).unwrap()).unwrap();
    assert_eq!(a, b, "the same seed gives the same run");
    let other = MarketConfig { seed: 2, ..c };
    let o = serde_json::to_string(&simulate(&other, &cal).unwrap()).unwrap();
    assert_ne!(a, o, "another seed gives another run");
}

#[test]
fn sweeps_recommend_the_same_point_whatever_the_seed() {
    let cal = calibration();
    let base = MarketConfig { agents: 10_000, days: 90, ..MarketConfig::calibrated(&cal) };
    let mut prices = Vec::new();
    let mut fees = Vec::new();
    for seed in [1, 2, 3] {
        let c = MarketConfig { seed, ..base.clone() };
        let p = sweep::price(&c, &cal).unwrap();
        let rec = p.recommended[0].1.expect("a price is recommended");
        prices.push(rec);
        // The fee sweep at a smaller size: it runs several seeds per fee and fits a line.
        let f =
            sweep::fee(&MarketConfig { price_per_push: rec, agents: 5_000, ..c }, &cal).unwrap();
        assert!(f.points.iter().all(|p| p.runs as u64 == sweep::FEE_SEEDS));
        let fit = f.fit.expect("a line through the fee sweep");
        assert!(fit.slope < 0.0, "a fee costs operators: {fit:?}");
        fees.push(f.recommended[0].1.expect("a fee is recommended"));
    }
    eprintln!("recommended by seed: prices {prices:?}, fees {fees:?}");
    // The same grid point, or its neighbour where the rule's threshold falls at a grid
    // point's edge (the operators a price or fee funds vary by a few percent with the seed).
    let spread = |grid: &[f64], picks: &[f64]| {
        let step = |p: f64| grid.iter().position(|&q| q == p).unwrap() as i64;
        picks.iter().map(|&p| step(p)).max().unwrap()
            - picks.iter().map(|&p| step(p)).min().unwrap()
    };
    assert!(spread(&sweep::PRICES, &prices) <= 1, "price per push by seed: {prices:?}");
    assert!(spread(&sweep::FEES, &fees) <= 1, "fee rate by seed: {fees:?}");
}

#[test]
fn a_line_fit_reads_off_the_loss_point() {
    // y = 100 - 200 x: 5% of 100 is lost at x = 0.025.
    let pts: Vec<(f64, f64)> = [0.0, 0.05, 0.1].iter().map(|&x| (x, 100.0 - 200.0 * x)).collect();
    let f = sweep::LineFit::of(&pts, 0.05).unwrap();
    assert!((f.intercept - 100.0).abs() < 1e-9 && (f.slope + 200.0).abs() < 1e-9, "{f:?}");
    assert!((f.loss_at.unwrap() - 0.025).abs() < 1e-12);
    // A line that does not fall loses nothing; one x is no line.
    assert_eq!(sweep::LineFit::of(&[(0.0, 1.0), (1.0, 2.0)], 0.05).unwrap().loss_at, None);
    assert_eq!(sweep::LineFit::of(&[(0.0, 1.0)], 0.05), None);
}

#[test]
fn a_bad_parameter_is_refused_by_name() {
    let cal = calibration();
    let c = MarketConfig { fee_rate: 0.2, ..small(&cal) };
    let e = simulate(&c, &cal).unwrap_err();
    assert!(e.to_string().contains("fee_rate"), "{e}");
}

#[test]
fn the_committed_spam_per_hop_plot_is_redrawn_from_its_saved_report() {
    // The command of docs/CAPACITY.md, into a temporary file.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("spam_per_hop.svg");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_rlnkit"))
        .args(["sim", "spam-plot", "--report", "docs/capacity/attack_1000.json", "--out"])
        .arg(&out)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let svg =
        std::fs::read_to_string(&out).unwrap().replace(">\n", ">").replace("\n</text>", "</text>");
    // A bar per kind at the first hop (the sybil set's 887 validations), zeros beyond it.
    assert!(svg.contains("sybil_flood") && svg.contains(">887</text>"), "{svg}");
    assert!(svg.matches(">0</text>").count() >= 12, "zeros at hops 2 and 3 for the six kinds");
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_rlnkit"))
        .args(["sim", "spam-plot", "--report", "no-such-report.json", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-report.json"));
}
