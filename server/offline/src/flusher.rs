//! [`OfflineFlusher`]: drains the durable offline log into Parquet files,
//! exactly once, and removes the files of groups deleted with
//! `--purge-offline`.
//!
//! Each round reads up to `max_rows` entries from the log, records the
//! range as the flush plan, writes one zstd Parquet file per group and
//! event-time hour under names derived from the range, makes them durable,
//! then commits (file list + log trim, atomically). A crash anywhere leaves
//! the plan in place; the next start redoes it with the same names.
//! When object storage fails, the status turns Blocked, writes go on into
//! the log, and rounds retry with backoff until storage is back.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use almanac_online::{Engine, FlushPlan, FlushedFile, OfflineLogEntry};
use almanac_types::FeatureGroup;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::batch::{entries_to_batch_of_width, entries_width};
use crate::compactor::{CompactionConfig, Compactor};
use crate::error::{OfflineError, Result};
use crate::files::FileMeta;
use crate::leases::QueryLeases;
use crate::paths::hour_start;
use crate::schema::schema_document;
use crate::status::FlushStatus;
use crate::store::OfflineStore;

/// How often and how much the flusher writes.
#[derive(Debug, Clone)]
pub struct FlusherConfig {
    /// Flush whatever the log holds at least this often.
    pub interval: Duration,
    /// Flush at once when the log holds this many entries; also the most
    /// entries one round takes.
    pub max_rows: usize,
    /// Longest wait between retries while storage is failing.
    pub max_backoff: Duration,
    /// When small files are merged.
    pub compaction: CompactionConfig,
    /// A pause between writing a flush's or a compaction's files and
    /// committing them. Zero in production; the crash tests set it so that
    /// a kill lands between the two, where exactly-once is at stake.
    pub pause_before_commit: Duration,
}

impl Default for FlusherConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            max_rows: 500_000,
            max_backoff: Duration::from_secs(10),
            pause_before_commit: Duration::ZERO,
            compaction: CompactionConfig::default(),
        }
    }
}

/// Moves the offline log into Parquet.
#[derive(Debug)]
pub struct OfflineFlusher {
    engine: Arc<Engine>,
    store: OfflineStore,
    config: FlusherConfig,
    status: Arc<FlushStatus>,
    leases: Arc<QueryLeases>,
    compactor: Compactor,
    /// Schema versions whose schema file is written, per group id.
    schema_files: HashMap<u64, u32>,
    /// Groups to purge, by id, with the lease epoch their purge waits for.
    purge_epochs: HashMap<u64, u64>,
}

/// How often the flusher checks whether the log has grown past `max_rows`.
const POLL: Duration = Duration::from_millis(100);

impl OfflineFlusher {
    pub fn new(engine: Arc<Engine>, store: OfflineStore, config: FlusherConfig) -> Self {
        let leases = Arc::new(QueryLeases::default());
        let compactor = Compactor::new(
            Arc::clone(&engine),
            store.clone(),
            config.compaction.clone(),
            Arc::clone(&leases),
        )
        .with_pause_before_commit(config.pause_before_commit);
        Self {
            engine,
            store,
            config,
            status: Arc::new(FlushStatus::default()),
            leases,
            compactor,
            schema_files: HashMap::new(),
            purge_epochs: HashMap::new(),
        }
    }

    /// The leases queries take so that compaction never deletes a file
    /// under them.
    pub fn leases(&self) -> Arc<QueryLeases> {
        Arc::clone(&self.leases)
    }

    /// The status the flusher keeps up to date.
    pub fn status(&self) -> Arc<FlushStatus> {
        Arc::clone(&self.status)
    }

    /// Runs until `shutdown` resolves, then flushes what is left (giving up
    /// after `drain_timeout` if storage is failing; the log keeps it).
    pub async fn run(mut self, shutdown: impl Future<Output = ()>, drain_timeout: Duration) {
        tokio::pin!(shutdown);
        let mut last_round = Instant::now();
        let mut backoff = Duration::ZERO;
        loop {
            let wait = if backoff.is_zero() { POLL } else { backoff };
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(wait) => {}
            }
            let due = last_round.elapsed() >= self.config.interval
                || self.engine.offline_backlog_total() >= self.config.max_rows as u64;
            if !due && backoff.is_zero() {
                continue;
            }
            last_round = Instant::now();
            match self.round().await {
                Ok(()) => {
                    backoff = Duration::ZERO;
                    self.status.set_active();
                }
                Err(error) => {
                    backoff =
                        (backoff * 2).clamp(Duration::from_millis(250), self.config.max_backoff);
                    tracing::warn!(%error, retry_in = ?backoff, "offline flush failed");
                    self.status
                        .set_blocked(error.to_string(), self.engine.now_micros());
                }
            }
        }
        if drain_timeout.is_zero() {
            return;
        }
        let drain = async {
            // Also finish a compaction whose replaced files wait for
            // queries, which have all ended by now.
            while self.engine.offline_backlog_total() > 0
                || self.engine.unfinished_flush().ok().flatten().is_some()
                || self.engine.unfinished_compaction().ok().flatten().is_some()
            {
                let backlog = self.engine.offline_backlog_total();
                if let Err(error) = self.round().await {
                    tracing::warn!(%error, "offline flush at shutdown failed; the log keeps the rest");
                    return;
                }
                if self.engine.offline_backlog_total() >= backlog {
                    // Nothing moved (a compaction waits for a query to
                    // drop its result): wait instead of spinning.
                    tokio::time::sleep(POLL).await;
                }
            }
        };
        if tokio::time::timeout(drain_timeout, drain).await.is_err() {
            tracing::warn!("offline flush at shutdown timed out; the log keeps the rest");
        }
    }

    /// One round: finish an interrupted flush, flush what the log holds
    /// (up to `max_rows`), purge the files of deleted groups, then merge
    /// small files.
    pub async fn round(&mut self) -> Result<()> {
        if let Some(plan) = self.engine.unfinished_flush()? {
            self.flush(plan).await?;
        }
        let first = self.engine.flushed_through()?;
        let entries = self.engine.read_offline_log(first, self.config.max_rows)?;
        if let Some((last, _)) = entries.last() {
            let plan = FlushPlan { first, last: *last };
            self.engine.begin_flush(plan)?;
            self.write_and_commit(plan, entries).await?;
        }
        self.purge_deleted_groups().await?;
        self.compactor.round().await
    }

    /// Redoes a recorded plan from the entries still in the log.
    async fn flush(&mut self, plan: FlushPlan) -> Result<()> {
        let mut entries = Vec::new();
        let mut from = plan.first;
        loop {
            let chunk = self.engine.read_offline_log(from, 65_536)?;
            let done = chunk.is_empty() || chunk.iter().any(|(seq, _)| *seq >= plan.last);
            for (sequence, entry) in chunk {
                if sequence <= plan.last {
                    from = sequence + 1;
                    entries.push((sequence, entry));
                }
            }
            if done {
                break;
            }
        }
        self.write_and_commit(plan, entries).await
    }

    async fn write_and_commit(
        &mut self,
        plan: FlushPlan,
        entries: Vec<(u64, OfflineLogEntry)>,
    ) -> Result<()> {
        let last_write = entries
            .iter()
            .map(|(_, e)| e.write_micros)
            .max()
            .unwrap_or(0);
        // group id -> hour -> entries, in log order.
        let mut parts: BTreeMap<u64, BTreeMap<i64, Vec<OfflineLogEntry>>> = BTreeMap::new();
        for (_, entry) in entries {
            parts
                .entry(entry.group_id)
                .or_default()
                .entry(hour_start(entry.record.event_time_micros))
                .or_default()
                .push(entry);
        }
        let mut files = Vec::new();
        for (group_id, hours) in parts {
            let Some(stored) = self.engine.stored_group(group_id) else {
                tracing::warn!(group_id, "offline log entries of an unknown group skipped");
                continue;
            };
            if stored.purge_offline {
                continue;
            }
            let group = Arc::new(stored.group.clone());
            self.write_schema_file(&group).await?;
            for (hour, rows) in hours {
                let path = self.store.root().data_file(&group, hour, plan, 0);
                let (bytes, meta) = encode_file(Arc::clone(&group), rows).await?;
                self.store
                    .objects()
                    .put(&path, PutPayload::from(bytes))
                    .await?;
                self.store.make_durable(&path)?;
                files.push(FlushedFile {
                    group_id,
                    path: path.to_string(),
                    meta: meta.encode(),
                });
            }
        }
        if !self.config.pause_before_commit.is_zero() {
            tokio::time::sleep(self.config.pause_before_commit).await;
        }
        self.engine.commit_flush(plan, &files, last_write)?;
        Ok(())
    }

    async fn write_schema_file(&mut self, group: &FeatureGroup) -> Result<()> {
        if self.schema_files.get(&group.id) == Some(&group.schema_version) {
            return Ok(());
        }
        let path = self.store.root().schema_file(group);
        let document = serde_json::to_vec_pretty(&schema_document(group))
            .map_err(|e| OfflineError::Config(e.to_string()))?;
        self.store
            .objects()
            .put(&path, PutPayload::from(document))
            .await?;
        self.store.make_durable(&path)?;
        self.schema_files.insert(group.id, group.schema_version);
        Ok(())
    }

    /// Deletes every object of groups deleted with `purge_offline`, once
    /// the queries that may still read them have ended: those that started
    /// before the purge was first seen (later ones cannot see the group).
    async fn purge_deleted_groups(&mut self) -> Result<()> {
        for stored in self.engine.groups_to_purge() {
            let epoch = *self
                .purge_epochs
                .entry(stored.group.id)
                .or_insert_with(|| self.leases.advance());
            if !self.leases.released_before(epoch) {
                continue;
            }
            let prefix = self.store.root().group_dir(&stored.group);
            let objects: Vec<_> = self
                .store
                .objects()
                .list(Some(&prefix))
                .try_collect()
                .await?;
            for object in objects {
                match self.store.objects().delete(&object.location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(error) => return Err(error.into()),
                }
            }
            if let Some(dir) = self.store.local_path(&prefix) {
                let _ = std::fs::remove_dir_all(dir);
            }
            self.engine.finish_offline_purge(stored.group.id).await?;
            self.purge_epochs.remove(&stored.group.id);
            tracing::info!(group = %stored.group.name, "offline files purged");
        }
        Ok(())
    }
}

/// Encodes the rows of one file as zstd Parquet, off the async threads.
async fn encode_file(
    group: Arc<FeatureGroup>,
    rows: Vec<OfflineLogEntry>,
) -> Result<(Bytes, FileMeta)> {
    tokio::task::spawn_blocking(move || {
        let width = entries_width(rows.iter());
        let batch = entries_to_batch_of_width(&group, width, rows.iter())?;
        let buffer = encode_batches(batch.schema(), std::slice::from_ref(&batch))?;
        let event = rows.iter().map(|e| e.record.event_time_micros);
        let write = rows.iter().map(|e| e.write_micros);
        let meta = FileMeta {
            rows: rows.len() as u64,
            bytes: buffer.len() as u64,
            min_event_micros: event.clone().min().unwrap_or(0),
            max_event_micros: event.max().unwrap_or(0),
            min_write_micros: write.clone().min().unwrap_or(0),
            max_write_micros: write.max().unwrap_or(0),
            schema_version: group.schema_version,
        };
        Ok((Bytes::from(buffer), meta))
    })
    .await
    .map_err(|e| OfflineError::Config(format!("parquet encoder stopped: {e}")))?
}

/// Batches as one zstd Parquet file: the same writer settings for flushed
/// and compacted files, so both are byte-for-byte reproducible.
pub(crate) fn encode_batches(
    schema: arrow::datatypes::SchemaRef,
    batches: &[arrow::array::RecordBatch],
) -> Result<Vec<u8>> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_max_row_group_row_count(Some(128 * 1024))
        .build();
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, schema, Some(properties))?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(buffer)
}
