//! Almanac's offline tier: every write and delete of the durable offline
//! log, turned into Hive-partitioned, zstd-compressed Parquet on object
//! storage (a local folder or S3), exactly once.
//!
//! # Layout
//!
//! The modules are private; what other crates use is re-exported here.
//!
//! - `flusher`: [`OfflineFlusher`], the background task that drains the
//!   log into a table format, exactly once, retries with backoff while
//!   storage fails, and purges groups deleted with `purge_offline` once no
//!   query reads them.
//! - `log`: what the flusher needs from the online engine
//!   ([`OfflineLog`]) and what the native format needs ([`FileList`]);
//!   the engine implements both.
//! - `format`: [`TableFormat`], the seam between the flusher and a table
//!   format (a second one, such as Apache Iceberg, implements it).
//! - `hive`: [`HiveParquet`], the native format: Hive-partitioned zstd
//!   Parquet, its file list committed with the log; with `compactor`,
//!   which merges the small files of a partition exactly once, and
//!   `parquet_file`, the one Parquet writer setting.
//! - `leases`: which files running queries may still read.
//! - `store`: [`OfflineStore`], opening the object store from a location.
//! - `paths`: every object path (group folder, data files, schema file).
//! - `schema`: the Arrow schema of a group's offline table.
//! - `batch`: log entries as Arrow record batches in that schema.
//! - `files`: what the file list keeps of each file, for pruning.
//! - `status`: Active or Blocked, for DescribeFeatureGroup.
//! - `error`: the [`OfflineError`] enum.

#![warn(unreachable_pub)]

mod batch;
mod compactor;
mod error;
mod files;
mod flusher;
mod format;
mod hive;
mod leases;
mod log;
mod parquet_file;
mod paths;
mod schema;
mod status;
mod store;

#[cfg(test)]
mod test_support;

pub use batch::entries_to_batch;
pub use compactor::CompactionConfig;
pub use error::{OfflineError, Result};
pub use files::{FileMeta, OfflineFile};
pub use flusher::{FlusherConfig, OfflineFlusher};
pub use format::TableFormat;
pub use hive::HiveParquet;
pub use leases::{Lease, QueryLeases};
pub use log::{FileList, OfflineLog};
pub use paths::OfflineRoot;
pub use schema::{IS_DELETED, WRITE_TIME, table_schema};
pub use status::{Blocked, FlushStatus};
pub use store::OfflineStore;
