//! [`TableFormat`]: how flushed rows become a table on object storage. The
//! flusher owns the protocol around it (which log range, when to commit,
//! when a purge may run); a format owns its files and metadata.
//!
//! A flush of log range `plan` goes, per group:
//! [`TableFormat::write`], then once for the whole flush
//! [`TableFormat::publish`], then [`crate::OfflineLog::commit_flush`] with
//! the files written. A crash at any point leaves the plan recorded, and
//! the next start calls the same steps again with the same plan and rows,
//! so each step must be idempotent for a given plan:
//!
//! - [`crate::HiveParquet`], the native format, names its files after the
//!   plan (a redo overwrites them) and publishes nothing itself: the file
//!   list commits with the log.
//! - A format with a catalog of its own (Apache Iceberg) would commit its
//!   snapshot in `publish`, tagged with the plan, and on a redo find the
//!   tag and skip; it would pass no files to the log's commit.

use std::fmt::Debug;
use std::sync::Arc;

use almanac_online::{FlushPlan, FlushedFile, OfflineLogEntry};
use almanac_types::FeatureGroup;
use async_trait::async_trait;

use crate::error::Result;

/// A table format of the offline store.
#[async_trait]
pub trait TableFormat: Send + Sync + Debug {
    /// Writes the rows of one flush for one group (in log order) durably,
    /// where no reader sees them yet, and describes what it wrote.
    async fn write(
        &mut self,
        plan: FlushPlan,
        group: &Arc<FeatureGroup>,
        rows: Vec<OfflineLogEntry>,
    ) -> Result<Vec<FlushedFile>>;

    /// Makes the files of `plan` visible in the format's own metadata, if
    /// it keeps any; called before the log commits the plan.
    async fn publish(&mut self, plan: FlushPlan, files: &[FlushedFile]) -> Result<()>;

    /// Removes every object of a deleted group. The flusher calls it once
    /// no running query can read them.
    async fn purge(&mut self, group: &FeatureGroup) -> Result<()>;

    /// Upkeep between flushes (merging small files), at most one bounded
    /// step per call.
    async fn maintain(&mut self) -> Result<()>;

    /// Whether upkeep was left half done and must finish before shutdown.
    fn maintenance_pending(&self) -> Result<bool>;
}
