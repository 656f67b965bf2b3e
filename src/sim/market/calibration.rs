//! Where the market's costs come from: files produced by the project's own tools, never typed
//! in. A devnet run (`rlnkit --json devnet`) gives the lightpush price, the protocol fee and the
//! slash split as executed on chain; the forge gas report gives the gas of register, claim,
//! claimMany and slash; the capacity simulation's reports give bandwidth and CPU per relay and
//! how far double-signal spam travels. Only the price list (hosting, ETH and token prices) is an
//! input by nature. `docs/market/README.md` names the command that regenerates each file.

use std::path::{Path, PathBuf};

use alloy::primitives::U256;
use serde::{Deserialize, Serialize};

use crate::sim::model::{ModelInputError, ModelInputs};

/// The devnet's spammer membership: its rate limit (messages per epoch), `SPAMMER_LIMIT` in
/// `src/devnet/start.rs`. Its slashed deposit divided by this is the registry's deposit per
/// message slot.
pub const DEVNET_SPAMMER_LIMIT: u32 = 20;

/// Vouchers in the gas report's one `claimMany` call (`BATCH` in
/// `contracts/test/ServiceCredentials.gas.t.sol`).
pub const GAS_REPORT_CLAIM_MANY_BATCH: u64 = 100;

/// One token of the registry and the escrow (18 decimals).
const TOKEN: f64 = 1e18;

/// Why a calibration input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    /// A file could not be read.
    #[error("reading {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not the JSON or TOML it should be.
    #[error("{what} is not a valid {format} document: {reason}")]
    Format {
        /// Which input.
        what: &'static str,
        /// JSON or TOML.
        format: &'static str,
        /// The parser's explanation.
        reason: String,
    },
    /// The gas report has no entry for a function the market needs.
    #[error(
        "the gas report has no {contract}.{function} (run the gas tests: docs/market/README.md)"
    )]
    MissingGas {
        /// The contract's name.
        contract: &'static str,
        /// The function's name (signature prefix).
        function: &'static str,
    },
    /// The devnet report lacks something the market needs.
    #[error("the devnet report {0}")]
    Devnet(&'static str),
    /// The capacity report lacks something the market needs.
    #[error(transparent)]
    Capacity(#[from] ModelInputError),
    /// The attack report has no double-signal attack.
    #[error("the attack report has no double_signal attack")]
    NoDoubleSignal,
    /// A price in the price list is negative or not a number.
    #[error("the price list's {0} must be a non-negative number")]
    BadPrice(&'static str),
}

/// Where each calibration input is.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrationPaths {
    /// `rlnkit --json devnet` output.
    pub devnet: PathBuf,
    /// `forge test --gas-report --json` output.
    pub gas_report: PathBuf,
    /// An honest `rlnkit sim` report (the capacity model's input).
    pub capacity: PathBuf,
    /// An `rlnkit sim` report under attack (double signals).
    pub attack: PathBuf,
    /// The price list (TOML).
    pub prices: PathBuf,
}

impl CalibrationPaths {
    /// The committed inputs, relative to `root` (the repository).
    pub fn committed(root: &Path) -> Self {
        CalibrationPaths {
            devnet: root.join("docs/market/devnet.json"),
            gas_report: root.join("docs/market/gas-report.json"),
            capacity: root.join("docs/capacity/honest_250_2msgs.json"),
            attack: root.join("docs/capacity/attack_1000.json"),
            prices: root.join("docs/market/prices.toml"),
        }
    }
}

/// What hosting, ether and the token cost: the one input that is not measured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriceList {
    /// US dollars per token (the registry's and the escrow's token).
    pub token_usd: f64,
    /// US dollars per ether (gas is paid in ether).
    pub eth_usd: f64,
    /// A server that runs one relay, before traffic: US dollars per month.
    pub server_usd_per_month: f64,
    /// Traffic, in and out: US dollars per GB.
    pub bandwidth_usd_per_gb: f64,
    /// One CPU core: US dollars per month.
    pub cpu_usd_per_core_month: f64,
    /// What capital locked in deposits costs per year (a rate: 0.05 = 5%).
    pub capital_rate_per_year: f64,
    /// CPU the operator spends to prove one pushed message, milliseconds (BENCHMARKS.md).
    pub prove_ms_per_push: f64,
}

impl PriceList {
    fn check(&self) -> Result<(), CalibrationError> {
        let fields = [
            ("token_usd", self.token_usd),
            ("eth_usd", self.eth_usd),
            ("server_usd_per_month", self.server_usd_per_month),
            ("bandwidth_usd_per_gb", self.bandwidth_usd_per_gb),
            ("cpu_usd_per_core_month", self.cpu_usd_per_core_month),
            ("capital_rate_per_year", self.capital_rate_per_year),
            ("prove_ms_per_push", self.prove_ms_per_push),
        ];
        for (name, v) in fields {
            if !v.is_finite() || v < 0.0 {
                return Err(CalibrationError::BadPrice(name));
            }
        }
        if self.token_usd == 0.0 {
            return Err(CalibrationError::BadPrice("token_usd"));
        }
        Ok(())
    }
}

/// Gas of the contract calls the market makes, whole transactions (forge's isolation mode).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Gas {
    /// `register` of one membership (median).
    pub register: f64,
    /// `withdraw` of one deposit.
    pub withdraw: f64,
    /// `claimMany` of n vouchers costs `claim_fixed + n × claim_per_voucher`: fitted through
    /// the steady single `claim` and the 100-voucher `claimMany`.
    pub claim_fixed: f64,
    /// The part of a claim that grows with each voucher.
    pub claim_per_voucher: f64,
    /// `commitSlash` + `revealSlash` (median).
    pub slash: f64,
}

impl Gas {
    /// Gas of a `claimMany` of `vouchers` vouchers.
    pub fn claim(&self, vouchers: u64) -> f64 {
        self.claim_fixed + self.claim_per_voucher * vouchers as f64
    }
}

/// Every measured number the market runs on.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    /// The lightpush price the devnet charged per push, tokens.
    pub devnet_price_per_push: f64,
    /// The protocol fee as executed on chain: (collected − received by the operator) / collected.
    pub fee_rate: f64,
    /// Share of a slashed deposit paid to the slasher, as executed on chain.
    pub slash_reward_share: f64,
    /// The registry's deposit per message slot (per message of rate limit per epoch), tokens.
    pub deposit_per_slot: f64,
    /// Pushes the devnet's paying client made (all answered and claimed, or the run failed).
    pub devnet_pushes: u64,
    /// Gas per contract call.
    pub gas: Gas,
    /// The capacity model (bandwidth and CPU per relay at a load), fed by the honest run.
    pub capacity: ModelInputs,
    /// Double-signal spam validated beyond the first hop per double-signal message sent (the
    /// attack run): how far a double signal gets.
    pub double_signal_reach: f64,
    /// The price list.
    pub prices: PriceList,
}

fn read(path: &Path) -> Result<String, CalibrationError> {
    std::fs::read_to_string(path)
        .map_err(|source| CalibrationError::Io { path: path.into(), source })
}

fn json(what: &'static str, text: &str) -> Result<serde_json::Value, CalibrationError> {
    serde_json::from_str(text).map_err(|e| CalibrationError::Format {
        what,
        format: "JSON",
        reason: e.to_string(),
    })
}

/// The part of a devnet report the market reads.
#[derive(Deserialize)]
struct DevnetReport {
    setup: DevnetSetup,
    summary: DevnetSummary,
}
#[derive(Deserialize)]
struct DevnetSetup {
    price: U256,
}
#[derive(Deserialize)]
struct DevnetSummary {
    payments: DevnetPayments,
    slash: Option<DevnetSlash>,
}
#[derive(Deserialize)]
struct DevnetPayments {
    pushes_ok: u64,
    paid: U256,
    collected: U256,
    operator_received: U256,
}
#[derive(Deserialize)]
struct DevnetSlash {
    reward: U256,
    treasury_amount: U256,
}

/// A forge gas report entry (`forge test --gas-report --json`).
#[derive(Deserialize)]
struct GasContract {
    contract: String,
    functions: std::collections::BTreeMap<String, GasStats>,
}
#[derive(Deserialize)]
struct GasStats {
    min: f64,
    median: f64,
}

fn tokens(v: U256) -> f64 {
    // Amounts in the devnet are far below 2^128 base units.
    v.saturating_to::<u128>() as f64 / TOKEN
}

impl Calibration {
    /// Reads and checks every input.
    pub fn load(paths: &CalibrationPaths) -> Result<Self, CalibrationError> {
        Self::parse(
            &read(&paths.devnet)?,
            &read(&paths.gas_report)?,
            &read(&paths.capacity)?,
            &read(&paths.attack)?,
            &read(&paths.prices)?,
        )
    }

    /// The calibration from the inputs' texts.
    pub fn parse(
        devnet: &str,
        gas_report: &str,
        capacity: &str,
        attack: &str,
        prices: &str,
    ) -> Result<Self, CalibrationError> {
        let d = json("the devnet report", devnet)?;
        let d = d.get("data").cloned().unwrap_or(d);
        let d: DevnetReport = serde_json::from_value(d).map_err(|e| CalibrationError::Format {
            what: "the devnet report",
            format: "JSON",
            reason: e.to_string(),
        })?;
        let p = &d.summary.payments;
        if p.pushes_ok == 0 || p.collected.is_zero() {
            return Err(CalibrationError::Devnet("has no paid push claimed on chain"));
        }
        if p.collected != p.paid {
            return Err(CalibrationError::Devnet("shows vouchers paid but not claimed"));
        }
        let slash = d.summary.slash.ok_or(CalibrationError::Devnet("has no slash"))?;
        let slashed = slash.reward + slash.treasury_amount;
        if slashed.is_zero() {
            return Err(CalibrationError::Devnet("slashed nothing"));
        }

        let g: Vec<GasContract> = serde_json::from_value(json("the gas report", gas_report)?)
            .map_err(|e| CalibrationError::Format {
                what: "the gas report",
                format: "JSON",
                reason: e.to_string(),
            })?;
        let find = |contract: &'static str, function: &'static str| {
            g.iter()
                .filter(|c| c.contract.rsplit(':').next() == Some(contract))
                .flat_map(|c| c.functions.iter())
                .find(|(sig, _)| sig.split('(').next() == Some(function))
                .map(|(_, s)| s)
                .ok_or(CalibrationError::MissingGas { contract, function })
        };
        let claim = find("ServiceCredentials", "claim")?.min;
        let many = find("ServiceCredentials", "claimMany")?.median;
        let per_voucher = (many - claim) / (GAS_REPORT_CLAIM_MANY_BATCH - 1) as f64;
        let gas = Gas {
            register: find("RlnMembership", "register")?.median,
            withdraw: find("RlnMembership", "withdraw")?.median,
            claim_fixed: claim - per_voucher,
            claim_per_voucher: per_voucher,
            slash: find("RlnMembership", "commitSlash")?.median
                + find("RlnMembership", "revealSlash")?.median,
        };

        let capacity =
            ModelInputs::from_sim_report(&json("the capacity report", capacity)?, 1e6, 1024.0)?;
        let a = json("the attack report", attack)?;
        let a = a.get("data").unwrap_or(&a);
        let ds = a
            .get("attacks")
            .and_then(|v| v.as_array())
            .and_then(|v| {
                v.iter().find(|k| k.get("kind").and_then(|k| k.as_str()) == Some("double_signal"))
            })
            .ok_or(CalibrationError::NoDoubleSignal)?;
        let num = |k: &str| ds.get(k).and_then(serde_json::Value::as_f64).unwrap_or(0.0);
        let sent = num("spam_published");
        if sent <= 0.0 {
            return Err(CalibrationError::NoDoubleSignal);
        }
        let prices: PriceList = toml::from_str(prices).map_err(|e| CalibrationError::Format {
            what: "the price list",
            format: "TOML",
            reason: e.to_string(),
        })?;
        prices.check()?;

        Ok(Calibration {
            devnet_price_per_push: tokens(d.setup.price),
            fee_rate: tokens(p.collected - p.operator_received) / tokens(p.collected),
            slash_reward_share: tokens(slash.reward) / tokens(slashed),
            deposit_per_slot: tokens(slashed) / DEVNET_SPAMMER_LIMIT as f64,
            devnet_pushes: p.pushes_ok,
            gas,
            capacity,
            double_signal_reach: num("beyond_first_hop") / sent,
            prices,
        })
    }

    /// Tokens per unit of gas at `gwei`.
    pub fn gas_tokens(&self, gas: f64, gwei: f64) -> f64 {
        gas * gwei * 1e-9 * self.prices.eth_usd / self.prices.token_usd
    }

    /// Tokens per US dollar.
    pub fn usd_tokens(&self, usd: f64) -> f64 {
        usd / self.prices.token_usd
    }
}
