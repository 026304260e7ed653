//! What the file list remembers of each Parquet file: enough to prune by
//! event time and write time without opening the file.

use almanac_online::StoreError;
use serde::{Deserialize, Serialize};

/// The description of one offline file, kept in the engine's file list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    pub rows: u64,
    pub bytes: u64,
    pub min_event_micros: i64,
    pub max_event_micros: i64,
    pub min_write_micros: i64,
    pub max_write_micros: i64,
    /// The group's schema version the file was written with.
    pub schema_version: u32,
}

impl FileMeta {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes the entry of the file at `path`. An entry that does not
    /// decode is corruption, and every reader treats it so: a query of the
    /// group fails, and so does a compaction round, naming the file;
    /// nothing skips it silently.
    pub fn decode(path: &str, bytes: &[u8]) -> Result<Self, StoreError> {
        serde_json::from_slice(bytes).map_err(|error| {
            StoreError::Corrupt(format!(
                "the file list's entry for {path} does not decode: {error}"
            ))
        })
    }
}

/// A file of a group's offline table, as a query plans over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineFile {
    /// The object path within the offline store.
    pub path: String,
    pub meta: FileMeta,
}
