//! Scans of the store at startup: where the offline log ends and how much
//! of it each group has waiting.

use std::collections::HashMap;

use rocksdb::{DB, Direction, IteratorMode};

use crate::db::cf;
use crate::error::{Result, StoreError};
use crate::flush_state::read_flushed_through;
use crate::keys::CF_OFFLINE_LOG;
use crate::offline_log::{Backlog, OfflineLogEntry};

/// Where the offline log ends: what the writer continues from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogEnd {
    pub next_sequence: u64,
    pub last_write_micros: i64,
}

/// Finds the end of the offline log. Sequence numbers keep growing after
/// the flusher trims the log, so files named by them never repeat.
pub(crate) fn find_log_end(db: &DB) -> Result<LogEnd> {
    let (flushed_through, last_flushed_write) = read_flushed_through(db)?;
    let mut iter = db.iterator_cf(cf(db, CF_OFFLINE_LOG), IteratorMode::End);
    let (next_sequence, last_write_micros) = match iter.next() {
        Some(item) => {
            let (key, value) = item?;
            let sequence = crate::keys::parse_log_key(&key)
                .ok_or_else(|| StoreError::Corrupt("offline log key".into()))?;
            let entry = OfflineLogEntry::decode(&value)?;
            (sequence + 1, entry.write_micros)
        }
        None => (0, last_flushed_write),
    };
    Ok(LogEnd {
        next_sequence: next_sequence.max(flushed_through),
        last_write_micros,
    })
}

/// Counts, per group, the offline-log entries not yet trimmed.
pub(crate) fn scan_backlog(db: &DB) -> Result<HashMap<u64, Backlog>> {
    let mut backlog: HashMap<u64, Backlog> = HashMap::new();
    for item in db.iterator_cf(
        cf(db, CF_OFFLINE_LOG),
        IteratorMode::From(&[], Direction::Forward),
    ) {
        let (_, value) = item?;
        let (group_id, api) = OfflineLogEntry::decode_header(&value)?;
        backlog.entry(group_id).or_default().add(api);
    }
    Ok(backlog)
}
