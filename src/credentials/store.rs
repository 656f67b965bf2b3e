//! Served vouchers on disk (redb): the newest voucher of every payer, written before the request
//! is served, so a restart loses no money. The claimer reads it; the checker restores the last
//! served amounts from it.

use std::path::Path;

use alloy::primitives::{Address, U256};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::voucher::{SignedVoucher, VoucherError};

/// payer ‖ token → the encoded newest voucher.
const TABLE: TableDefinition<[u8; 40], &[u8]> = TableDefinition::new("vouchers_v1");

/// Errors of the voucher store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("voucher store database: {0}")]
    Db(#[from] redb::Error),
    /// A stored voucher does not decode (a damaged file).
    #[error("voucher store holds a damaged voucher: {0}")]
    Corrupt(#[from] VoucherError),
}

macro_rules! db_err {
    ($($t:ty),*) => {$(impl From<$t> for StoreError { fn from(e: $t) -> Self { StoreError::Db(e.into()) } })*};
}
db_err!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// The newest served voucher per (payer, token).
#[derive(Debug)]
pub struct VoucherStore {
    db: redb::Database,
}

fn key(payer: Address, token: Address) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..20].copy_from_slice(payer.as_slice());
    k[20..].copy_from_slice(token.as_slice());
    k
}

impl VoucherStore {
    /// Opens (or creates) the store file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let db = redb::Database::create(path.as_ref())?;
        let w = db.begin_write()?;
        w.open_table(TABLE)?;
        w.commit()?;
        Ok(VoucherStore { db })
    }

    /// Keeps `v` if it is newer than the stored voucher of its payer (durably committed).
    pub fn save(&self, v: &SignedVoucher) -> Result<(), StoreError> {
        let k = key(v.voucher.payer, v.voucher.token);
        let w = self.db.begin_write()?;
        {
            let mut t = w.open_table(TABLE)?;
            let newer = match t.get(&k)? {
                Some(old) => {
                    SignedVoucher::from_bytes(old.value())?.voucher.cumulativeAmount
                        < v.voucher.cumulativeAmount
                }
                None => true,
            };
            if newer {
                t.insert(&k, v.to_bytes().as_slice())?;
            }
        }
        w.commit()?;
        Ok(())
    }

    /// Every stored voucher.
    pub fn all(&self) -> Result<Vec<SignedVoucher>, StoreError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(TABLE)?;
        let mut out = Vec::new();
        for entry in t.iter()? {
            let (_, v) = entry?;
            out.push(SignedVoucher::from_bytes(v.value())?);
        }
        Ok(out)
    }

    /// The newest voucher of (payer, token).
    pub fn get(&self, payer: Address, token: Address) -> Result<Option<SignedVoucher>, StoreError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(TABLE)?;
        Ok(match t.get(&key(payer, token))? {
            Some(v) => Some(SignedVoucher::from_bytes(v.value())?),
            None => None,
        })
    }

    /// (payer, cumulative served) for `token`: what a restarted checker starts from.
    pub fn served(&self, token: Address) -> Result<Vec<(Address, U256)>, StoreError> {
        Ok(self
            .all()?
            .into_iter()
            .filter(|v| v.voucher.token == token)
            .map(|v| (v.voucher.payer, v.voucher.cumulativeAmount))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::voucher::{Voucher, VoucherDomain};
    use super::*;
    use alloy::primitives::B256;
    use alloy::signers::local::PrivateKeySigner;

    #[test]
    fn newest_voucher_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.redb");
        let k = PrivateKeySigner::from_bytes(&B256::from([1; 32])).unwrap();
        let d = VoucherDomain { chain_id: 1, contract: Address::from([7; 20]) };
        let v = |n: u64| {
            let voucher = Voucher {
                payer: k.address(),
                provider: Address::from([2; 20]),
                token: Address::from([3; 20]),
                payout: Address::from([4; 20]),
                cumulativeAmount: U256::from(n),
            };
            SignedVoucher::sign(d, voucher, &k).unwrap()
        };
        {
            let s = VoucherStore::open(&path).unwrap();
            s.save(&v(10)).unwrap();
            s.save(&v(30)).unwrap();
            s.save(&v(20)).unwrap(); // older: ignored
        }
        let s = VoucherStore::open(&path).unwrap();
        assert_eq!(s.all().unwrap(), vec![v(30)]);
        assert_eq!(s.served(Address::from([3; 20])).unwrap(), vec![(k.address(), U256::from(30))]);
    }
}
