//! A record as the store keeps it: its identifier and one version of its
//! values.

use crate::value::Value;

/// A record identifier in canonical text form: an Integral identifier is its
/// decimal form, a String identifier the string itself. This is the online
/// store's key and what GetRecord takes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub String);

impl std::fmt::Display for RecordId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A record that passed the checks: its identifier, the version to store
/// and that version encoded (the size check encodes it anyway).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRecord {
    pub id: RecordId,
    pub record: Record,
    pub encoded: Vec<u8>,
}

/// One version of a record: its values in feature order plus what the
/// store keeps beside them.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The group's schema version when the record was written.
    pub schema_version: u32,
    pub event_time_micros: i64,
    pub expires_at_micros: Option<i64>,
    /// A soft-deleted record: reads never return it.
    pub tombstone: bool,
    /// One value per feature of the schema version it was written with;
    /// features added later read as null.
    pub values: Vec<Value>,
}

impl Record {
    /// The value of feature `index`, null when the record predates it.
    pub fn value(&self, index: usize) -> &Value {
        self.values.get(index).unwrap_or(&Value::Null)
    }

    /// Whether the record has expired at `now_micros`.
    pub fn is_expired(&self, now_micros: i64) -> bool {
        self.expires_at_micros.is_some_and(|at| at <= now_micros)
    }
}
