//! What the offline tier needs from the engine to move the offline log into
//! Parquet exactly once, and to show SQL every acknowledged write.
//!
//! A flush goes: [`Engine::begin_flush`] records the log range it covers
//! (the plan), the offline tier writes that range's files under names
//! derived from the range, then [`Engine::commit_flush`] in one atomic
//! batch trims the range from the log, adds the files to the file list and
//! clears the plan. After a crash the plan is still there and is redone with
//! the same names, so each entry lands in exactly one file.
//!
//! [`Engine::offline_view`] reads a group's file list and its entries still
//! in the log from one RocksDB snapshot, so a row is seen in one of the two,
//! never both or neither; it finds the entries through the log's by-group
//! index, without reading other groups' entries.

use std::collections::HashMap;
use std::sync::Arc;

use rocksdb::{DB, Direction, IteratorMode, ReadOptions, WriteBatch, WriteOptions};

use crate::catalog::{Catalog, StoredGroup};
use crate::db::cf;
use crate::engine::Engine;
use crate::error::{Result, StoreError};
use crate::flush_state::{
    FlushPlan, flushed_through, flushed_through_value, plan_value, read_plan,
};
use crate::keys::{
    CF_CATALOG, CF_LOG_BY_GROUP, CF_OFFLINE_FILES, CF_OFFLINE_LOG, COMPACTION_KEY, FLUSH_PLAN_KEY,
    FLUSHED_THROUGH_KEY, group_record_range, log_by_group_key, log_key, offline_file_key,
    path_of_offline_file_key,
};
use crate::log_index::{group_log_sequences, group_log_sequences_from};
use crate::offline_log::OfflineLogEntry;

/// A file a flush wrote, as the offline tier describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushedFile {
    pub group_id: u64,
    /// The object path, unique within the group.
    pub path: String,
    /// The offline tier's own description of the file (opaque here).
    pub meta: Vec<u8>,
}

/// A compaction: small files of one group merged into one. Recorded before
/// the output is written; `committed` once the file list has swapped the
/// inputs for the output; removed once the inputs are deleted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CompactionPlan {
    pub group_id: u64,
    pub inputs: Vec<String>,
    pub output: String,
    pub committed: bool,
}

/// A group's offline data at one instant: files and unflushed entries.
#[derive(Debug, Clone, Default)]
pub struct OfflineView {
    /// `(path, meta)` of every file, in path order.
    pub files: Vec<(String, Vec<u8>)>,
    /// The group's entries still in the log, in log order.
    pub pending: Vec<OfflineLogEntry>,
}

fn sync_options() -> WriteOptions {
    let mut options = WriteOptions::default();
    options.set_sync(true);
    options
}

impl Engine {
    /// The flush that was under way when the server stopped, if any.
    pub fn unfinished_flush(&self) -> Result<Option<FlushPlan>> {
        read_plan(&self.shared.db)
    }

    /// The first log sequence not yet flushed.
    pub fn flushed_through(&self) -> Result<u64> {
        flushed_through(&self.shared.db)
    }

    /// Durably records that a flush of `plan` is starting.
    pub fn begin_flush(&self, plan: FlushPlan) -> Result<()> {
        let db = &self.shared.db;
        db.put_cf_opt(
            cf(db, CF_CATALOG),
            FLUSH_PLAN_KEY,
            plan_value(plan),
            &sync_options(),
        )?;
        Ok(())
    }

    /// Finishes the flush of `plan`: in one atomic, synced batch, adds
    /// `files` to the file list, removes the plan's entries from the log
    /// and clears the plan. `last_write_micros` is the write time of the
    /// plan's last entry.
    pub fn commit_flush(
        &self,
        plan: FlushPlan,
        files: &[FlushedFile],
        last_write_micros: i64,
    ) -> Result<()> {
        let db = &self.shared.db;
        let flushed = count_entries(db, plan)?;
        let mut batch = WriteBatch::default();
        for file in files {
            batch.put_cf(
                cf(db, CF_OFFLINE_FILES),
                offline_file_key(file.group_id, &file.path),
                &file.meta,
            );
        }
        batch.delete_range_cf(
            cf(db, CF_OFFLINE_LOG),
            log_key(plan.first),
            log_key(plan.last + 1),
        );
        for group_id in flushed.keys() {
            batch.delete_range_cf(
                cf(db, CF_LOG_BY_GROUP),
                log_by_group_key(*group_id, plan.first),
                log_by_group_key(*group_id, plan.last + 1),
            );
        }
        batch.delete_cf(cf(db, CF_CATALOG), FLUSH_PLAN_KEY);
        let next = plan.last + 1;
        batch.put_cf(
            cf(db, CF_CATALOG),
            FLUSHED_THROUGH_KEY,
            flushed_through_value(next, last_write_micros),
        );
        // The writer holds this lock across its own commits, so every entry
        // the flush read has been counted before it is taken off here.
        let mut backlog = self
            .shared
            .backlog
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        db.write_opt(batch, &sync_options())?;
        let mut still_waiting = Vec::new();
        for (group_id, count) in flushed {
            let Some(group) = backlog.get_mut(&group_id) else {
                continue;
            };
            group.entries = group.entries.saturating_sub(count);
            if group.entries == 0 {
                backlog.remove(&group_id);
            } else {
                still_waiting.push(group_id);
            }
        }
        for (group_id, oldest) in first_invocations(db, next, still_waiting)? {
            if let Some(group) = backlog.get_mut(&group_id) {
                group.oldest_api_invocation_micros = Some(oldest);
            }
        }
        Ok(())
    }

    /// The compaction under way when the server stopped, if any.
    pub fn unfinished_compaction(&self) -> Result<Option<CompactionPlan>> {
        let db = &self.shared.db;
        let Some(bytes) = db.get_cf(cf(db, CF_CATALOG), COMPACTION_KEY)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("offline/compaction: {e}")))
    }

    fn compaction_json(plan: &CompactionPlan) -> Result<Vec<u8>> {
        serde_json::to_vec(plan)
            .map_err(|e| StoreError::Corrupt(format!("offline/compaction: {e}")))
    }

    /// Durably records that a compaction is starting.
    pub fn begin_compaction(&self, plan: &CompactionPlan) -> Result<()> {
        let db = &self.shared.db;
        db.put_cf_opt(
            cf(db, CF_CATALOG),
            COMPACTION_KEY,
            Self::compaction_json(plan)?,
            &sync_options(),
        )?;
        Ok(())
    }

    /// Swaps the plan's inputs for its output in the file list, and marks
    /// the plan committed, in one atomic, synced batch.
    pub fn commit_compaction(&self, plan: &CompactionPlan, output_meta: &[u8]) -> Result<()> {
        let db = &self.shared.db;
        let mut batch = WriteBatch::default();
        for input in &plan.inputs {
            batch.delete_cf(
                cf(db, CF_OFFLINE_FILES),
                offline_file_key(plan.group_id, input),
            );
        }
        batch.put_cf(
            cf(db, CF_OFFLINE_FILES),
            offline_file_key(plan.group_id, &plan.output),
            output_meta,
        );
        let committed = CompactionPlan {
            committed: true,
            ..plan.clone()
        };
        batch.put_cf(
            cf(db, CF_CATALOG),
            COMPACTION_KEY,
            Self::compaction_json(&committed)?,
        );
        db.write_opt(batch, &sync_options())?;
        Ok(())
    }

    /// Forgets the compaction: its inputs are deleted (or, uncommitted, its
    /// output is).
    pub fn end_compaction(&self) -> Result<()> {
        let db = &self.shared.db;
        db.delete_cf_opt(cf(db, CF_CATALOG), COMPACTION_KEY, &sync_options())?;
        Ok(())
    }

    /// Entries in the offline log, over every group.
    pub fn offline_backlog_total(&self) -> u64 {
        let backlog = self
            .shared
            .backlog
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        backlog.values().map(|b| b.entries).sum()
    }

    /// Any group, live or deleted, by internal id.
    pub fn stored_group(&self, group_id: u64) -> Option<Arc<StoredGroup>> {
        self.catalog().stored_by_id(group_id)
    }

    /// Deleted groups whose offline files were asked to go and still exist.
    pub fn groups_to_purge(&self) -> Vec<Arc<StoredGroup>> {
        self.catalog().awaiting_offline_purge()
    }

    /// The files of a group, as committed by flushes.
    pub fn offline_files(&self, group_id: u64) -> Result<Vec<(String, Vec<u8>)>> {
        let db = &self.shared.db;
        read_files(db, group_id, ReadOptions::default())
    }

    /// Records that a deleted group's offline files are gone: drops them
    /// from the file list and marks the group purged.
    pub async fn finish_offline_purge(&self, group_id: u64) -> Result<()> {
        self.change_catalog(Box::new(move |catalog: &mut Catalog, db, batch| {
            let stored = catalog
                .stored_by_id(group_id)
                .ok_or_else(|| StoreError::Corrupt(format!("no group with id {group_id}")))?;
            let (start, end) = group_record_range(group_id);
            batch.delete_range_cf(cf(db, CF_OFFLINE_FILES), start, end);
            let mut stored = (*stored).clone();
            stored.offline_purged = true;
            catalog.stage(db, batch, &stored)?;
            Ok(stored)
        }))
        .await
        .map(|_| ())
    }

    /// A group's files and unflushed entries, from one consistent snapshot.
    pub fn offline_view(&self, group_id: u64) -> Result<OfflineView> {
        let db = &self.shared.db;
        let snapshot = db.snapshot();
        let mut options = ReadOptions::default();
        options.set_snapshot(&snapshot);
        let files = read_files(db, group_id, options)?;
        let mut options = ReadOptions::default();
        options.set_snapshot(&snapshot);
        let sequences = group_log_sequences(db, group_id, options)?;
        let mut pending = Vec::with_capacity(sequences.len());
        for chunk in sequences.chunks(4096) {
            let mut options = ReadOptions::default();
            options.set_snapshot(&snapshot);
            let keys: Vec<_> = chunk.iter().map(|&s| log_key(s)).collect();
            let log = cf(db, CF_OFFLINE_LOG);
            let values = db.batched_multi_get_cf_opt(log, &keys, true, &options);
            for (sequence, value) in chunk.iter().zip(values) {
                let value = value?.ok_or_else(|| {
                    StoreError::Corrupt(format!("offline log entry {sequence} is indexed but gone"))
                })?;
                pending.push(OfflineLogEntry::decode(&value)?);
            }
        }
        Ok(OfflineView { files, pending })
    }

    fn catalog(&self) -> std::sync::RwLockReadGuard<'_, Catalog> {
        self.shared
            .catalog
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }
}

fn read_files(db: &DB, group_id: u64, mut options: ReadOptions) -> Result<Vec<(String, Vec<u8>)>> {
    let (start, end) = group_record_range(group_id);
    options.set_iterate_upper_bound(end);
    let mut files = Vec::new();
    for item in db.iterator_cf_opt(
        cf(db, CF_OFFLINE_FILES),
        options,
        IteratorMode::From(&start, Direction::Forward),
    ) {
        let (key, value) = item?;
        let path = String::from_utf8(path_of_offline_file_key(&key).to_vec())
            .map_err(|_| StoreError::Corrupt("offline file path".into()))?;
        files.push((path, value.to_vec()));
    }
    Ok(files)
}

/// The number of entries of each group in the plan's range.
fn count_entries(db: &DB, plan: FlushPlan) -> Result<HashMap<u64, u64>> {
    let mut counts: HashMap<u64, u64> = HashMap::new();
    let mut options = ReadOptions::default();
    options.set_iterate_upper_bound(log_key(plan.last + 1));
    let start = log_key(plan.first);
    for item in db.iterator_cf_opt(
        cf(db, CF_OFFLINE_LOG),
        options,
        IteratorMode::From(&start, Direction::Forward),
    ) {
        let (_, value) = item?;
        *counts
            .entry(OfflineLogEntry::decode_header(&value)?.0)
            .or_default() += 1;
    }
    Ok(counts)
}

/// The invocation time of the first entry from `from` on of each of
/// `groups` (all of which have one), found through the by-group index.
fn first_invocations(db: &DB, from: u64, groups: Vec<u64>) -> Result<Vec<(u64, i64)>> {
    let mut found = Vec::with_capacity(groups.len());
    for group_id in groups {
        let first = group_log_sequences_from(db, group_id, from, ReadOptions::default(), 1)?;
        let Some(sequence) = first.first() else {
            continue;
        };
        if let Some(value) = db.get_cf(cf(db, CF_OFFLINE_LOG), log_key(*sequence))? {
            found.push((group_id, OfflineLogEntry::decode_header(&value)?.1));
        }
    }
    Ok(found)
}
