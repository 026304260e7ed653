//! What the offline tier needs from the online engine, as two traits:
//!
//! - [`OfflineLog`]: the durable offline log and its flush protocol
//!   (read a range, record it as the flush in progress, commit it), and the
//!   groups whose offline data must be purged. Every table format uses it.
//! - [`FileList`]: the list of Parquet files the native table format keeps
//!   next to the log, and the compaction protocol over it. Only
//!   [`crate::HiveParquet`] uses it.
//!
//! The engine implements both here; the flusher and the compactor see only
//! the traits, so tests can drive them over any implementation.

use std::fmt::Debug;
use std::sync::Arc;

use almanac_online::StoredGroup;
use almanac_online::{CompactionPlan, Engine, FlushPlan, FlushedFile, OfflineLogEntry, Result};
use almanac_types::FeatureGroup;
use async_trait::async_trait;

/// The durable offline log: every acknowledged write and delete, in order,
/// until a flush commits it to the offline store.
#[async_trait]
pub trait OfflineLog: Send + Sync + Debug {
    /// The clock writes are stamped with, in epoch microseconds.
    fn now_micros(&self) -> i64;

    /// How many entries wait in the log, over all groups.
    fn backlog(&self) -> u64;

    /// The first sequence not yet flushed.
    fn flushed_through(&self) -> Result<u64>;

    /// Up to `limit` entries from sequence `from` on, in log order.
    fn read(&self, from: u64, limit: usize) -> Result<Vec<(u64, OfflineLogEntry)>>;

    /// The flush recorded but not committed (after a crash), if any.
    fn unfinished_flush(&self) -> Result<Option<FlushPlan>>;

    /// Records `plan` durably before any of its files are written, so that
    /// a restart redoes exactly this range.
    fn begin_flush(&self, plan: FlushPlan) -> Result<()>;

    /// Ends `plan` in one atomic step: the range leaves the log, and
    /// `files` (empty for a table format that lists its files itself) join
    /// the file list.
    fn commit_flush(&self, plan: FlushPlan, files: &[FlushedFile], last_write: i64) -> Result<()>;

    /// A group by id, deleted or not (log entries outlive their group).
    fn stored_group(&self, group_id: u64) -> Option<Arc<StoredGroup>>;

    /// Deleted groups whose offline data is still to be removed.
    fn groups_to_purge(&self) -> Vec<Arc<StoredGroup>>;

    /// Records that a group's offline data is gone.
    async fn finish_purge(&self, group_id: u64) -> Result<()>;
}

/// The native table format's file list: `(path, meta)` per file and
/// group, and the one compaction that may be in progress.
pub trait FileList: Send + Sync + Debug {
    /// The live groups.
    fn groups(&self) -> Vec<Arc<FeatureGroup>>;

    /// `(path, meta)` of every listed file of a group, in path order.
    fn files(&self, group_id: u64) -> Result<Vec<(String, Vec<u8>)>>;

    /// The compaction recorded and not yet ended, if any.
    fn unfinished_compaction(&self) -> Result<Option<CompactionPlan>>;

    /// Records `plan` before its output is written.
    fn begin_compaction(&self, plan: &CompactionPlan) -> Result<()>;

    /// Swaps the inputs for the output in the file list, atomically.
    fn commit_compaction(&self, plan: &CompactionPlan, output_meta: &[u8]) -> Result<()>;

    /// Forgets the compaction once its leftovers are deleted.
    fn end_compaction(&self) -> Result<()>;
}

#[async_trait]
impl OfflineLog for Engine {
    fn now_micros(&self) -> i64 {
        Engine::now_micros(self)
    }

    fn backlog(&self) -> u64 {
        self.offline_backlog_total()
    }

    fn flushed_through(&self) -> Result<u64> {
        Engine::flushed_through(self)
    }

    fn read(&self, from: u64, limit: usize) -> Result<Vec<(u64, OfflineLogEntry)>> {
        self.read_offline_log(from, limit)
    }

    fn unfinished_flush(&self) -> Result<Option<FlushPlan>> {
        Engine::unfinished_flush(self)
    }

    fn begin_flush(&self, plan: FlushPlan) -> Result<()> {
        Engine::begin_flush(self, plan)
    }

    fn commit_flush(&self, plan: FlushPlan, files: &[FlushedFile], last_write: i64) -> Result<()> {
        Engine::commit_flush(self, plan, files, last_write)
    }

    fn stored_group(&self, group_id: u64) -> Option<Arc<StoredGroup>> {
        Engine::stored_group(self, group_id)
    }

    fn groups_to_purge(&self) -> Vec<Arc<StoredGroup>> {
        Engine::groups_to_purge(self)
    }

    async fn finish_purge(&self, group_id: u64) -> Result<()> {
        self.finish_offline_purge(group_id).await
    }
}

impl FileList for Engine {
    fn groups(&self) -> Vec<Arc<FeatureGroup>> {
        Engine::groups(self)
    }

    fn files(&self, group_id: u64) -> Result<Vec<(String, Vec<u8>)>> {
        self.offline_files(group_id)
    }

    fn unfinished_compaction(&self) -> Result<Option<CompactionPlan>> {
        Engine::unfinished_compaction(self)
    }

    fn begin_compaction(&self, plan: &CompactionPlan) -> Result<()> {
        Engine::begin_compaction(self, plan)
    }

    fn commit_compaction(&self, plan: &CompactionPlan, output_meta: &[u8]) -> Result<()> {
        Engine::commit_compaction(self, plan, output_meta)
    }

    fn end_compaction(&self) -> Result<()> {
        Engine::end_compaction(self)
    }
}
