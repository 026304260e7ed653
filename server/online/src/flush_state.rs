//! The two flush records of the catalog column family, built and parsed
//! only here:
//!
//! - `offline/flush_plan`: the flush under way, `first` then `last` log
//!   sequence, each a big-endian u64;
//! - `offline/flushed_through`: the first sequence not yet flushed
//!   (big-endian u64), then the write time of the last flushed entry
//!   (big-endian i64).

use rocksdb::DB;

use crate::db::cf;
use crate::error::{Result, StoreError};
use crate::keys::{CF_CATALOG, FLUSH_PLAN_KEY, FLUSHED_THROUGH_KEY};

/// The log range a flush covers: sequences `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushPlan {
    pub first: u64,
    pub last: u64,
}

/// The stored form of `plan`.
pub(crate) fn plan_value(plan: FlushPlan) -> Vec<u8> {
    [plan.first.to_be_bytes(), plan.last.to_be_bytes()].concat()
}

/// The flush under way, if one is recorded.
pub(crate) fn read_plan(db: &DB) -> Result<Option<FlushPlan>> {
    let Some(bytes) = db.get_cf(cf(db, CF_CATALOG), FLUSH_PLAN_KEY)? else {
        return Ok(None);
    };
    let (first, last) = two_words(&bytes, "offline/flush_plan")?;
    Ok(Some(FlushPlan { first, last }))
}

/// The stored form of "flushed up to `next`, the last entry written at
/// `last_write_micros`".
pub(crate) fn flushed_through_value(next: u64, last_write_micros: i64) -> Vec<u8> {
    [next.to_be_bytes(), last_write_micros.to_be_bytes()].concat()
}

/// The first sequence not yet flushed and the write time of the last
/// flushed entry; `(0, 0)` on a new store.
pub(crate) fn read_flushed_through(db: &DB) -> Result<(u64, i64)> {
    let Some(bytes) = db.get_cf(cf(db, CF_CATALOG), FLUSHED_THROUGH_KEY)? else {
        return Ok((0, 0));
    };
    let (next, last_write) = two_words(&bytes, "offline/flushed_through")?;
    Ok((next, last_write as i64))
}

/// The first sequence not yet flushed (0 on a new store).
pub(crate) fn flushed_through(db: &DB) -> Result<u64> {
    Ok(read_flushed_through(db)?.0)
}

/// Two big-endian words; anything else is corruption of `what`.
fn two_words(bytes: &[u8], what: &str) -> Result<(u64, u64)> {
    let corrupt = || StoreError::Corrupt(what.into());
    let word = |range: std::ops::Range<usize>| -> Result<u64> {
        let slice = bytes.get(range).ok_or_else(corrupt)?;
        Ok(u64::from_be_bytes(slice.try_into().map_err(|_| corrupt())?))
    };
    if bytes.len() != 16 {
        return Err(corrupt());
    }
    Ok((word(0..8)?, word(8..16)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_and_short_ones_are_corrupt() {
        let plan = FlushPlan { first: 7, last: 9 };
        assert_eq!(two_words(&plan_value(plan), "plan").unwrap(), (7, 9));
        let (next, write) = two_words(&flushed_through_value(10, -5), "f").unwrap();
        assert_eq!((next, write as i64), (10, -5));
        assert!(matches!(
            two_words(&[0; 15], "offline/flush_plan"),
            Err(StoreError::Corrupt(what)) if what == "offline/flush_plan"
        ));
    }
}
