//! Almanac's online tier on RocksDB.
//!
//! The [`Engine`] keeps, per feature group, the latest version of each
//! record for microsecond reads, the feature-group catalog, a TTL index,
//! and the durable offline log from which the offline tier builds Parquet.
//!
//! # Layout
//!
//! The modules are private; what other crates use is re-exported here.
//!
//! - `engine`: [`Engine`], its configuration and the write entry points.
//! - `control`: creating, changing and deleting feature groups.
//! - `reads`: GetRecord, BatchGetRecord (multi-get), ListRecords, and
//!   reading the offline log.
//! - `writer`: the single writer thread; group commit, read-compare-write
//!   of event times, offline-log sequence numbers.
//! - `recovery`: the startup scans: where the offline log ends and the
//!   backlog per group.
//! - `log_index`: the offline log by group, so one group's entries are
//!   read without the others'.
//! - `flush_state`: the stored flush plan and flush progress.
//! - `catalog`: persisted feature-group definitions and their snapshot.
//! - `offline_log`: the encoding of offline-log entries and the backlog.
//! - `flush`: what the offline tier uses to flush the log exactly once
//!   (flush plans, the file list) and to read a group consistently.
//! - `ttl`: the background purge of expired records.
//! - `keys`: every key layout, in one place.
//! - `db`: opening RocksDB; the [`Durability`] setting.
//! - `error`: the [`StoreError`] enum.
//!
//! # Durability
//!
//! A write is acknowledged only after its RocksDB batch, holding both the
//! online change and its offline-log entry, is in the write-ahead log:
//! fsynced with [`Durability::Fsync`] (the default), handed to the OS with
//! [`Durability::OsBuffered`].

#![warn(unreachable_pub)]

mod catalog;
mod control;
mod db;
mod engine;
mod error;
mod flush;
mod flush_state;
mod keys;
mod log_index;
mod offline_log;
mod reads;
mod recovery;
mod ttl;
mod writer;

pub use catalog::StoredGroup;
pub use control::{FeatureMetadataUpdate, GroupUpdate};
pub use db::Durability;
pub use engine::{DeleteRequest, Engine, EngineConfig, PutEntry, QueuedRows, TargetStores};
pub use error::{Result, StoreError};
pub use flush::{CompactionPlan, FlushedFile, OfflineView};
pub use flush_state::FlushPlan;
pub use offline_log::{Backlog, OfflineLogEntry};
pub use reads::{
    BatchGetOutcome, BatchGetRequest, ListedRecord, MAX_LIST_PAGE, MAX_LIST_SCAN, RecordView,
};
pub use ttl::{purge_all_expired, run_purge_loop};
