//! [`GroupTable`]: a feature group's offline table: its Parquet files plus
//! the entries still in the offline log, read from one snapshot so that a
//! query sees every acknowledged write exactly once.

use std::sync::Arc;

use almanac_offline::entries_to_batch;
use almanac_offline::{FileMeta, OfflineStore};
use almanac_offline::{WRITE_TIME, table_schema};
use almanac_types::FeatureGroup;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::DFSchema;
use datafusion::datasource::TableProvider;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::parquet::CachedParquetFileReaderFactory;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::union::UnionExec;

use crate::bounds::TimeBounds;
use crate::error::SqlError;
use crate::objects::offline_store_url;
use crate::source::GroupSource;

/// One feature group as a SQL table.
#[derive(Debug)]
pub struct GroupTable {
    group: Arc<FeatureGroup>,
    source: Arc<dyn GroupSource>,
    store: OfflineStore,
    schema: SchemaRef,
}

impl GroupTable {
    pub fn new(
        group: Arc<FeatureGroup>,
        source: Arc<dyn GroupSource>,
        store: OfflineStore,
    ) -> Self {
        let schema = table_schema(&group);
        Self {
            group,
            source,
            store,
            schema,
        }
    }

    /// The group behind the table.
    pub fn group(&self) -> &Arc<FeatureGroup> {
        &self.group
    }

    /// The `projection` columns of the rows that satisfy every one of
    /// `filters`: the filters prune files (by the event-time and write-time
    /// ranges recorded for each), then are applied to each row read.
    pub async fn scan_where(
        &self,
        state: &dyn Session,
        projection: &[usize],
        filters: Vec<Expr>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let input = self
            .scan(state, Some(&projection.to_vec()), &filters, None)
            .await?;
        let Some(predicate) = filters.into_iter().reduce(Expr::and) else {
            return Ok(input);
        };
        let df_schema = DFSchema::try_from(input.schema().as_ref().clone())?;
        let predicate = state.create_physical_expr(predicate, &df_schema)?;
        Ok(Arc::new(FilterExec::try_new(predicate, input)?))
    }
}

#[async_trait]
impl TableProvider for GroupTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        // The filters prune files and are then applied again on the rows.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let event_bounds = TimeBounds::from_filters(filters, &self.group.event_time);
        let write_bounds = TimeBounds::from_filters(filters, WRITE_TIME);
        let source = Arc::clone(&self.source);
        let group_id = self.group.id;
        let view = tokio::task::spawn_blocking(move || source.offline_view(group_id))
            .await
            .map_err(|e| SqlError::Internal(e.to_string()))?
            .map_err(SqlError::from)?;

        let mut inputs: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        let mut files: Vec<PartitionedFile> = Vec::new();
        for (path, meta) in &view.files {
            let meta = FileMeta::decode(path, meta)
                .map_err(|error| SqlError::Internal(error.to_string()))?;
            if event_bounds.overlaps(meta.min_event_micros, meta.max_event_micros)
                && write_bounds.overlaps(meta.min_write_micros, meta.max_write_micros)
            {
                // The query engine's store is scoped to the offline root.
                let relative = self.store.root().relative(path).ok_or_else(|| {
                    SqlError::Internal(format!("file {path} is outside the offline store"))
                })?;
                files.push(PartitionedFile::new(relative.to_owned(), meta.bytes));
            }
        }
        if !files.is_empty() {
            let partitions = state.config().target_partitions().max(1);
            let mut groups: Vec<Vec<PartitionedFile>> =
                vec![Vec::new(); partitions.min(files.len())];
            let count = groups.len();
            for (index, file) in files.into_iter().enumerate() {
                groups[index % count].push(file);
            }
            let url = offline_store_url();
            // Footers and page indexes are cached across queries: a file's
            // content never changes under its name.
            let runtime = state.runtime_env();
            let reader = CachedParquetFileReaderFactory::new(
                runtime.object_store(&url)?,
                runtime.cache_manager.get_file_metadata_cache(),
            );
            let options = state.table_options().parquet.clone();
            let hint = options.global.metadata_size_hint;
            let mut source = ParquetSource::new(Arc::clone(&self.schema))
                .with_table_parquet_options(options)
                .with_parquet_file_reader_factory(Arc::new(reader));
            if let Some(hint) = hint {
                source = source.with_metadata_size_hint(hint);
            }
            let source = Arc::new(source);
            let config = FileScanConfigBuilder::new(url, source)
                .with_file_groups(groups.into_iter().map(FileGroup::new).collect())
                .with_projection_indices(projection.cloned())?
                .with_limit(limit)
                .build();
            inputs.push(DataSourceExec::from_data_source(config));
        }
        let pending: Vec<_> = view
            .pending
            .iter()
            .filter(|e| {
                event_bounds.contains(e.record.event_time_micros)
                    && write_bounds.contains(e.write_micros)
            })
            .collect();
        if !pending.is_empty() || inputs.is_empty() {
            let batch = entries_to_batch(&self.group, pending.into_iter())?;
            inputs.push(MemorySourceConfig::try_new_exec(
                &[vec![batch]],
                Arc::clone(&self.schema),
                projection.cloned(),
            )?);
        }
        UnionExec::try_new(inputs)
    }
}
