//! Almanac's offline tier: every write and delete of the durable offline
//! log, turned into Hive-partitioned, zstd-compressed Parquet on object
//! storage (a local folder or S3), exactly once.
//!
//! # Layout
//!
//! - [`flusher`]: [`OfflineFlusher`], the background task that drains the
//!   log into files, retries with backoff while storage fails, and purges
//!   the files of groups deleted with `purge_offline`.
//! - [`compactor`]: merges the small files of a partition, exactly once.
//! - [`leases`]: which files running queries may still read.
//! - [`store`]: [`OfflineStore`], opening the object store from a location.
//! - [`paths`]: every object path (group folder, data files, schema file).
//! - [`schema`]: the Arrow schema of a group's offline table.
//! - [`batch`]: log entries as Arrow record batches in that schema.
//! - [`files`]: what the file list keeps of each file, for pruning.
//! - [`status`]: Active or Blocked, for DescribeFeatureGroup.
//! - [`error`]: the [`OfflineError`] enum.

pub mod batch;
pub mod compactor;
pub mod error;
pub mod files;
pub mod flusher;
pub mod leases;
pub mod paths;
pub mod schema;
pub mod status;
pub mod store;

#[cfg(test)]
mod test_support;

pub use compactor::CompactionConfig;
pub use error::{OfflineError, Result};
pub use files::{FileMeta, OfflineFile};
pub use flusher::{FlusherConfig, OfflineFlusher};
pub use leases::{Lease, QueryLeases};
pub use paths::OfflineRoot;
pub use status::{Blocked, FlushStatus};
pub use store::OfflineStore;
