//! Where the market's tokens are: every movement is a [`Ledger::transfer`] between two
//! accounts, in integer base units (10⁻⁹ token), so nothing is created or lost on the way and
//! the balances always sum to zero (`Outside` is what the market draws from the world).

use serde::Serialize;

/// Base units per token in the simulation (10⁻⁹ token: amounts stay exact integers).
pub const UNITS_PER_TOKEN: f64 = 1e9;

/// Tokens as base units, rounded to the nearest unit (negative and non-finite amounts are 0).
pub fn units(tokens: f64) -> u64 {
    if tokens.is_finite() && tokens > 0.0 {
        (tokens * UNITS_PER_TOKEN).round() as u64
    } else {
        0
    }
}

/// Base units as tokens.
pub fn tokens(units: i128) -> f64 {
    units as f64 / UNITS_PER_TOKEN
}

/// An account of the market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Account {
    /// The world outside the market: clients' and spammers' income, operators' capital.
    Outside,
    /// The light clients' wallets (together).
    Clients,
    /// The spammers' wallets (together).
    Spammers,
    /// The ServiceCredentials escrow: vouchers served but not yet claimed.
    Escrow,
    /// The membership registry: deposits held.
    Registry,
    /// The protocol treasury (fees, the rest of slashed deposits).
    Treasury,
    /// Gas paid to the chain's block producers.
    Chain,
    /// What operators pay for servers, traffic and CPU.
    Hosting,
    /// One operator's wallet.
    Operator(u32),
}

const FIXED: usize = 8;

impl Account {
    fn slot(self) -> usize {
        match self {
            Account::Outside => 0,
            Account::Clients => 1,
            Account::Spammers => 2,
            Account::Escrow => 3,
            Account::Registry => 4,
            Account::Treasury => 5,
            Account::Chain => 6,
            Account::Hosting => 7,
            Account::Operator(i) => FIXED + i as usize,
        }
    }
}

/// The balances of every account.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    balances: Vec<i128>,
    transfers: u64,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Ledger { balances: vec![0; FIXED], transfers: 0 }
    }

    /// Moves `amount` base units from `from` to `to` (zero amounts are not recorded).
    pub fn transfer(&mut self, from: Account, to: Account, amount: u64) {
        if amount == 0 || from == to {
            return;
        }
        let (f, t) = (from.slot(), to.slot());
        let need = f.max(t) + 1;
        if self.balances.len() < need {
            self.balances.resize(need, 0);
        }
        self.balances[f] -= amount as i128;
        self.balances[t] += amount as i128;
        self.transfers += 1;
    }

    /// An account's balance, base units (negative: it paid more than it received).
    pub fn balance(&self, a: Account) -> i128 {
        self.balances.get(a.slot()).copied().unwrap_or(0)
    }

    /// The sum of every balance: zero, whatever happened.
    pub fn total(&self) -> i128 {
        self.balances.iter().sum()
    }

    /// The sum of every operator's balance.
    pub fn operators_total(&self) -> i128 {
        self.balances.iter().skip(FIXED).sum()
    }

    /// Transfers recorded.
    pub fn transfers(&self) -> u64 {
        self.transfers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_move_money_without_creating_it() {
        let mut l = Ledger::new();
        l.transfer(Account::Outside, Account::Clients, 100);
        l.transfer(Account::Clients, Account::Escrow, 60);
        l.transfer(Account::Escrow, Account::Operator(7), 55);
        l.transfer(Account::Escrow, Account::Treasury, 5);
        assert_eq!(l.balance(Account::Clients), 40);
        assert_eq!(l.balance(Account::Escrow), 0);
        assert_eq!(l.balance(Account::Operator(7)), 55);
        assert_eq!(l.operators_total(), 55);
        assert_eq!(l.balance(Account::Outside), -100);
        assert_eq!(l.total(), 0);
        assert_eq!(l.transfers(), 4);
        assert_eq!(units(0.5), 500_000_000);
        assert_eq!(units(-1.0), 0);
    }
}
