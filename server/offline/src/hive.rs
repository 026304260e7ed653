//! [`HiveParquet`], the native table format: zstd Parquet files in
//! Hive-style hour partitions ([`crate::paths`]), a `schema.json` per group
//! and schema version, and the file list kept by the engine next to the
//! offline log ([`FileList`]), which commits atomically with the log.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use almanac_online::{FlushPlan, FlushedFile, OfflineLogEntry};
use almanac_types::FeatureGroup;
use async_trait::async_trait;
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload};

use crate::compactor::{CompactionConfig, Compactor};
use crate::error::{OfflineError, Result};
use crate::format::TableFormat;
use crate::leases::QueryLeases;
use crate::log::FileList;
use crate::parquet_file::encode_entries;
use crate::paths::hour_start;
use crate::schema::schema_document;
use crate::store::OfflineStore;

/// The native table format over one offline store.
#[derive(Debug)]
pub struct HiveParquet {
    store: OfflineStore,
    files: Arc<dyn FileList>,
    compactor: Compactor,
    /// Schema versions whose schema file is written, per group id.
    schema_files: HashMap<u64, u32>,
}

impl HiveParquet {
    /// The format over `store`, listing its files in `files`; compactions
    /// delete replaced files only once `leases` says no query reads them.
    pub fn new(
        store: OfflineStore,
        files: Arc<dyn FileList>,
        compaction: CompactionConfig,
        leases: Arc<QueryLeases>,
    ) -> Self {
        let compactor = Compactor::new(Arc::clone(&files), store.clone(), compaction, leases);
        Self {
            store,
            files,
            compactor,
            schema_files: HashMap::new(),
        }
    }

    /// Pauses a compaction between writing its output and committing it
    /// (a hook for the crash tests).
    pub fn with_pause_before_commit(mut self, pause: Duration) -> Self {
        self.compactor = self.compactor.with_pause_before_commit(pause);
        self
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
}

#[async_trait]
impl TableFormat for HiveParquet {
    /// One file per event-time hour, named after the plan.
    async fn write(
        &mut self,
        plan: FlushPlan,
        group: &Arc<FeatureGroup>,
        rows: Vec<OfflineLogEntry>,
    ) -> Result<Vec<FlushedFile>> {
        let mut hours: BTreeMap<i64, Vec<OfflineLogEntry>> = BTreeMap::new();
        for entry in rows {
            hours
                .entry(hour_start(entry.record.event_time_micros))
                .or_default()
                .push(entry);
        }
        self.write_schema_file(group).await?;
        let mut files = Vec::with_capacity(hours.len());
        for (hour, rows) in hours {
            let path = self.store.root().data_file(group, hour, plan, 0);
            let (bytes, meta) = encode_entries(Arc::clone(group), rows).await?;
            self.store
                .objects()
                .put(&path, PutPayload::from(bytes))
                .await?;
            self.store.make_durable(&path)?;
            files.push(FlushedFile {
                group_id: group.id,
                path: path.to_string(),
                meta: meta.encode(),
            });
        }
        Ok(files)
    }

    /// Nothing to do: the files become visible when the log's commit adds
    /// them to the file list.
    async fn publish(&mut self, _plan: FlushPlan, _files: &[FlushedFile]) -> Result<()> {
        Ok(())
    }

    async fn purge(&mut self, group: &FeatureGroup) -> Result<()> {
        let prefix = self.store.root().group_dir(group);
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
        self.schema_files.remove(&group.id);
        Ok(())
    }

    async fn maintain(&mut self) -> Result<()> {
        self.compactor.round().await
    }

    fn maintenance_pending(&self) -> Result<bool> {
        Ok(self.files.unfinished_compaction()?.is_some())
    }
}
