//! [`Compactor`]: merges the small files of an hour partition into one, so
//! that a group written a little at a time does not end up as thousands of
//! tiny files.
//!
//! Like a flush, a compaction is recorded before its output is written. It
//! commits by swapping the inputs for the output in the file list in one
//! atomic step, then deletes the inputs once every query that started
//! before the commit has finished ([`QueryLeases`]). After a crash, a
//! committed compaction deletes its inputs; an uncommitted one deletes its
//! output, and the inputs stay as they were. Each row is in exactly one
//! listed file at every moment.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use almanac_online::CompactionPlan;
use almanac_types::FeatureGroup;
use arrow::array::{ArrayRef, RecordBatch, new_null_array};
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{OfflineError, Result};
use crate::files::FileMeta;
use crate::leases::QueryLeases;
use crate::log::FileList;
use crate::parquet_file::encode_batches;
use crate::paths::{compacted_file, data_file_range, partition_of};
use crate::schema::table_schema_of_width;
use crate::store::OfflineStore;

/// When files count as small and how many make a compaction.
#[derive(Debug, Clone)]
pub struct CompactionConfig {
    /// Compact a partition once it has this many small files; 0 turns
    /// compaction off.
    pub min_files: usize,
    /// Files below this size are small.
    pub small_file_bytes: u64,
    /// Largest total input of one compaction.
    pub max_input_bytes: u64,
}

impl Default for CompactionConfig {
    fn default() -> Self {
        Self {
            min_files: 10,
            small_file_bytes: 32 << 20,
            max_input_bytes: 256 << 20,
        }
    }
}

/// A compaction to run: the group, the plan, and the inputs' descriptions.
type Candidate = (Arc<FeatureGroup>, CompactionPlan, Vec<FileMeta>);

/// Merges small files, one compaction at a time.
#[derive(Debug)]
pub(crate) struct Compactor {
    files: Arc<dyn FileList>,
    store: OfflineStore,
    config: CompactionConfig,
    leases: Arc<QueryLeases>,
    /// The epoch of the committed compaction whose inputs wait for older
    /// queries; `None` after a restart, when no query is running.
    committed_epoch: Option<u64>,
    /// See [`crate::FlusherConfig::pause_before_commit`].
    pause_before_commit: Duration,
}

impl Compactor {
    pub(crate) fn new(
        files: Arc<dyn FileList>,
        store: OfflineStore,
        config: CompactionConfig,
        leases: Arc<QueryLeases>,
    ) -> Self {
        Self {
            files,
            store,
            config,
            leases,
            committed_epoch: None,
            pause_before_commit: Duration::ZERO,
        }
    }

    /// Pauses between writing the output and committing (a test hook).
    pub(crate) fn with_pause_before_commit(mut self, pause: Duration) -> Self {
        self.pause_before_commit = pause;
        self
    }

    /// Finishes the compaction in progress, if it can, then starts and
    /// finishes at most one more.
    pub(crate) async fn round(&mut self) -> Result<()> {
        if let Some(plan) = self.files.unfinished_compaction()?
            && !self.finish(&plan).await?
        {
            return Ok(());
        }
        if self.config.min_files == 0 {
            return Ok(());
        }
        let Some((group, plan, metas)) = self.pick()? else {
            return Ok(());
        };
        self.files.begin_compaction(&plan)?;
        let meta = self.merge(&group, &plan, &metas).await?;
        if !self.pause_before_commit.is_zero() {
            tokio::time::sleep(self.pause_before_commit).await;
        }
        self.files.commit_compaction(&plan, &meta.encode())?;
        self.committed_epoch = Some(self.leases.advance());
        let committed = CompactionPlan {
            committed: true,
            ..plan
        };
        self.finish(&committed).await?;
        Ok(())
    }

    /// Completes `plan`; false while older queries may still read its
    /// inputs.
    async fn finish(&mut self, plan: &CompactionPlan) -> Result<bool> {
        if plan.committed {
            if let Some(epoch) = self.committed_epoch
                && !self.leases.released_before(epoch)
            {
                return Ok(false);
            }
            for input in &plan.inputs {
                self.delete(&Path::from(input.as_str())).await?;
            }
        } else {
            self.delete(&Path::from(plan.output.as_str())).await?;
        }
        self.files.end_compaction()?;
        self.committed_epoch = None;
        Ok(true)
    }

    async fn delete(&self, path: &Path) -> Result<()> {
        match self.store.objects().delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// The first partition, over live groups, with enough small files.
    fn pick(&self) -> Result<Option<Candidate>> {
        for group in self.files.groups() {
            let mut partitions: BTreeMap<&str, Vec<(&str, FileMeta)>> = BTreeMap::new();
            let files = self.files.files(group.id)?;
            for (path, meta) in &files {
                let meta = FileMeta::decode(path, meta)?;
                if meta.bytes < self.config.small_file_bytes && data_file_range(path).is_some() {
                    partitions
                        .entry(partition_of(path))
                        .or_default()
                        .push((path, meta));
                }
            }
            for (partition, mut small) in partitions {
                if small.len() < self.config.min_files {
                    continue;
                }
                small.sort_by_key(|(path, _)| data_file_range(path));
                let mut total = 0;
                let chosen: Vec<(&str, FileMeta)> = small
                    .into_iter()
                    .take_while(|(_, meta)| {
                        total += meta.bytes;
                        total <= self.config.max_input_bytes
                    })
                    .collect();
                if chosen.len() < 2 {
                    continue;
                }
                let ranges: Vec<(u64, u64)> = chosen
                    .iter()
                    .filter_map(|(p, _)| data_file_range(p))
                    .collect();
                let first = ranges.iter().map(|r| r.0).min().unwrap_or(0);
                let last = ranges.iter().map(|r| r.1).max().unwrap_or(0);
                let plan = CompactionPlan {
                    group_id: group.id,
                    inputs: chosen.iter().map(|(p, _)| (*p).to_owned()).collect(),
                    output: compacted_file(partition, first, last).to_string(),
                    committed: false,
                };
                let metas = chosen.into_iter().map(|(_, m)| m).collect();
                return Ok(Some((group, plan, metas)));
            }
        }
        Ok(None)
    }

    /// Reads the inputs, writes them as one file, and describes it.
    async fn merge(
        &self,
        group: &Arc<FeatureGroup>,
        plan: &CompactionPlan,
        metas: &[FileMeta],
    ) -> Result<FileMeta> {
        let mut inputs = Vec::with_capacity(plan.inputs.len());
        for input in &plan.inputs {
            let bytes = self
                .store
                .objects()
                .get(&Path::from(input.as_str()))
                .await?
                .bytes()
                .await?;
            inputs.push(bytes);
        }
        let group = Arc::clone(group);
        let bytes = tokio::task::spawn_blocking(move || merge_files(&group, inputs))
            .await
            .map_err(|e| OfflineError::Config(format!("compaction stopped: {e}")))??;
        let output = Path::from(plan.output.as_str());
        let size = bytes.len() as u64;
        self.store
            .objects()
            .put(&output, PutPayload::from(bytes))
            .await?;
        self.store.make_durable(&output)?;
        Ok(FileMeta {
            rows: metas.iter().map(|m| m.rows).sum(),
            bytes: size,
            min_event_micros: metas.iter().map(|m| m.min_event_micros).min().unwrap_or(0),
            max_event_micros: metas.iter().map(|m| m.max_event_micros).max().unwrap_or(0),
            min_write_micros: metas.iter().map(|m| m.min_write_micros).min().unwrap_or(0),
            max_write_micros: metas.iter().map(|m| m.max_write_micros).max().unwrap_or(0),
            schema_version: metas.iter().map(|m| m.schema_version).max().unwrap_or(1),
        })
    }
}

/// Concatenates Parquet files, in order, into one with the widest of their
/// schemas (features added later are null in the older rows).
fn merge_files(group: &FeatureGroup, inputs: Vec<Bytes>) -> Result<Bytes> {
    let mut batches = Vec::new();
    let mut width = 0;
    for input in inputs {
        let reader = ParquetRecordBatchReaderBuilder::try_new(input)?.build()?;
        for batch in reader {
            let batch = batch?;
            // Every feature column, then write_time, api_invocation_time, is_deleted.
            width = width.max(batch.num_columns().saturating_sub(3));
            batches.push(batch);
        }
    }
    let schema = table_schema_of_width(group, width);
    let batches = batches
        .into_iter()
        .map(|batch| widen(&schema, &batch))
        .collect::<Result<Vec<_>>>()?;
    Ok(Bytes::from(encode_batches(schema, &batches)?))
}

/// `batch` in `schema`: its columns by name, nulls for those it lacks.
fn widen(schema: &SchemaRef, batch: &RecordBatch) -> Result<RecordBatch> {
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|field| match batch.column_by_name(field.name()) {
            Some(column) => column.clone(),
            None => new_null_array(field.data_type(), batch.num_rows()),
        })
        .collect();
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}
