//! The key layout of every column family, built in this one place.
//!
//! | column family | key | value |
//! |---|---|---|
//! | `catalog` | `group/<id u64 BE>` | the group's JSON ([`StoredGroup`](crate::catalog::StoredGroup)) |
//! | `catalog` | `name/<name>` | id u64 BE, for live groups |
//! | `catalog` | `next_group_id` | u64 BE |
//! | `records` | `<group id u64 BE><record id>` | the encoded latest version |
//! | `expiry` | `<expires_at sortable i64 BE><group id u64 BE><record id>` | empty |
//! | `catalog` | `offline/flushed_through` | u64 BE, i64 BE: the first log sequence not yet in Parquet, and the write time of the last one that is |
//! | `catalog` | `offline/flush_plan` | two u64 BE: the log range a flush in progress covers |
//! | `catalog` | `offline/compaction` | JSON: the compaction in progress ([`CompactionPlan`](crate::flush::CompactionPlan)) |
//! | `offline_log` | `<sequence u64 BE>` | an [`OfflineLogEntry`](crate::offline_log::OfflineLogEntry) |
//! | `offline_log_by_group` | `<group id u64 BE><sequence u64 BE>` | empty: the log's entries of each group, so that a group's pending entries are found without reading the others' |
//! | `catalog` | `offline/log_by_group` | empty: set once `offline_log_by_group` covers the whole log (stores from before it are indexed at the next start) |
//! | `offline_files` | `<group id u64 BE><object path>` | the offline tier's description of a Parquet file |

/// Column family names.
pub(crate) const CF_CATALOG: &str = "catalog";
pub(crate) const CF_RECORDS: &str = "records";
pub(crate) const CF_EXPIRY: &str = "expiry";
pub(crate) const CF_OFFLINE_LOG: &str = "offline_log";
pub(crate) const CF_OFFLINE_FILES: &str = "offline_files";
pub(crate) const CF_LOG_BY_GROUP: &str = "offline_log_by_group";
pub(crate) const ALL_CFS: [&str; 6] = [
    CF_CATALOG,
    CF_RECORDS,
    CF_EXPIRY,
    CF_OFFLINE_LOG,
    CF_OFFLINE_FILES,
    CF_LOG_BY_GROUP,
];

/// Catalog key set once the by-group index covers the whole log.
pub(crate) const LOG_BY_GROUP_BUILT_KEY: &[u8] = b"offline/log_by_group";

/// Key of a log entry in the `offline_log_by_group` family.
pub(crate) fn log_by_group_key(group_id: u64, sequence: u64) -> Vec<u8> {
    [group_id.to_be_bytes(), sequence.to_be_bytes()].concat()
}

/// The sequence of an `offline_log_by_group` key.
pub(crate) fn sequence_of_log_by_group_key(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.get(8..16)?.try_into().ok()?))
}

/// The path of an `offline_files` key.
pub(crate) fn path_of_offline_file_key(key: &[u8]) -> &[u8] {
    key.get(8..).unwrap_or_default()
}

/// Catalog key of the first offline-log sequence not yet flushed.
pub(crate) const FLUSHED_THROUGH_KEY: &[u8] = b"offline/flushed_through";

/// Catalog key of the flush in progress, if any.
pub(crate) const FLUSH_PLAN_KEY: &[u8] = b"offline/flush_plan";

/// Catalog key of the compaction in progress, if any.
pub(crate) const COMPACTION_KEY: &[u8] = b"offline/compaction";

/// Key of a file in the `offline_files` family.
pub(crate) fn offline_file_key(group_id: u64, path: &str) -> Vec<u8> {
    record_key(group_id, path)
}

/// Catalog key of a group's definition.
pub(crate) fn group_key(id: u64) -> Vec<u8> {
    [b"group/".as_slice(), &id.to_be_bytes()].concat()
}

/// Prefix of every group definition key.
pub(crate) const GROUP_PREFIX: &[u8] = b"group/";

/// Catalog key mapping a live group's name to its id.
pub(crate) fn name_key(name: &str) -> Vec<u8> {
    [b"name/".as_slice(), name.as_bytes()].concat()
}

/// Catalog key of the next group id to hand out.
pub(crate) const NEXT_GROUP_ID_KEY: &[u8] = b"next_group_id";

/// Key of a record in the `records` family.
pub(crate) fn record_key(group_id: u64, record_id: &str) -> Vec<u8> {
    record_key_of_bytes(group_id, record_id.as_bytes())
}

/// [`record_key`] of a record id given as bytes (as other keys hold it).
pub(crate) fn record_key_of_bytes(group_id: u64, record_id: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + record_id.len());
    key.extend_from_slice(&group_id.to_be_bytes());
    key.extend_from_slice(record_id);
    key
}

/// The `[start, end)` range of a group's keys in the `records`,
/// `offline_files` and `offline_log_by_group` families.
pub(crate) fn group_record_range(group_id: u64) -> (Vec<u8>, Vec<u8>) {
    (
        group_id.to_be_bytes().to_vec(),
        (group_id + 1).to_be_bytes().to_vec(),
    )
}

/// The record id part of a `records` key.
pub(crate) fn record_id_of_key(key: &[u8]) -> &[u8] {
    key.get(8..).unwrap_or_default()
}

/// `i64` as big-endian bytes that sort in numeric order.
fn sortable_i64(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1 << 63)).to_be_bytes()
}

fn from_sortable_i64(bytes: [u8; 8]) -> i64 {
    (u64::from_be_bytes(bytes) ^ (1 << 63)) as i64
}

/// Key of an entry of the expiry index.
pub(crate) fn expiry_key(expires_at_micros: i64, group_id: u64, record_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(16 + record_id.len());
    key.extend_from_slice(&sortable_i64(expires_at_micros));
    key.extend_from_slice(&group_id.to_be_bytes());
    key.extend_from_slice(record_id.as_bytes());
    key
}

/// The first expiry key after every entry expiring at or before `micros`.
pub(crate) fn expiry_upper_bound(micros: i64) -> Vec<u8> {
    sortable_i64(micros.saturating_add(1)).to_vec()
}

/// Splits an expiry key into expiry, group id and record id.
pub(crate) fn parse_expiry_key(key: &[u8]) -> Option<(i64, u64, &[u8])> {
    let expires = from_sortable_i64(key.get(..8)?.try_into().ok()?);
    let group = u64::from_be_bytes(key.get(8..16)?.try_into().ok()?);
    Some((expires, group, key.get(16..)?))
}

/// Key of an offline-log entry.
pub(crate) fn log_key(sequence: u64) -> [u8; 8] {
    sequence.to_be_bytes()
}

/// The sequence number of an offline-log key.
pub(crate) fn parse_log_key(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_keys_sort_by_time() {
        let a = expiry_key(-5, 9, "z");
        let b = expiry_key(3, 1, "a");
        assert!(a < b);
        assert!(b < expiry_upper_bound(3));
        assert_eq!(parse_expiry_key(&a), Some((-5, 9, b"z".as_slice())));
    }

    #[test]
    fn group_ranges_hold_only_their_records() {
        let (start, end) = group_record_range(7);
        let key = record_key(7, "\u{ff}\u{ff}");
        assert!(start <= key && key < end);
        assert!(record_key(8, "") >= end);
    }
}
