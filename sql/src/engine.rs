//! [`SqlEngine`]: plans and runs one read-only query at a time, each in a
//! fresh DataFusion session with its own memory pool and deadline.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use almanac_offline::{Lease, OfflineStore, QueryLeases};
use almanac_online::Engine;
use almanac_types::dataset::DatasetRequest;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::cache::cache_manager::{CacheManagerConfig, FileMetadataCache};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::RecordBatchStream;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParserBuilder, Statement as DfStatement};
use futures::{Stream, StreamExt, TryStreamExt};
use tokio::time::Sleep;

use crate::catalog::{AlmanacCatalog, CATALOG, GroupTables, SCHEMA};
use crate::dataset::{self, entities::EntityTable};
use crate::dialect::AlmanacDialect;
use crate::error::{Result, SqlError};
use crate::guard::check_read_only;
use crate::time_travel::{TimeTravel, TimeTravelKind, rewrite_system_time};

/// Limits and tuning of queries.
#[derive(Debug, Clone)]
pub struct SqlConfig {
    /// Memory one query may hold; operators that can spill (sorts,
    /// aggregations, joins) spill to disk beyond it, the others fail.
    pub memory_limit_bytes: usize,
    /// Longest a query may run, from planning to its last batch.
    pub timeout: Duration,
    /// Threads one query runs on.
    pub target_partitions: usize,
}

impl Default for SqlConfig {
    fn default() -> Self {
        Self {
            memory_limit_bytes: 2 << 30,
            timeout: Duration::from_secs(300),
            target_partitions: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// The SQL interface to the offline store.
#[derive(Debug, Clone)]
pub struct SqlEngine {
    tables: Arc<GroupTables>,
    store: OfflineStore,
    config: SqlConfig,
    /// Parquet footers and page indexes, shared by every query.
    metadata_cache: Arc<FileMetadataCache>,
    /// Held by each running query, so compaction leaves its files alone.
    leases: Arc<QueryLeases>,
}

/// A running query: its schema and its batches, as they come.
pub struct QueryStream {
    pub schema: SchemaRef,
    pub batches: SendableRecordBatchStream,
}

impl std::fmt::Debug for QueryStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryStream")
            .field("schema", &self.schema)
            .finish()
    }
}

impl SqlEngine {
    pub fn new(
        engine: Arc<Engine>,
        store: OfflineStore,
        config: SqlConfig,
        leases: Arc<QueryLeases>,
    ) -> Self {
        let metadata_cache = RuntimeEnvBuilder::new()
            .build()
            .map(|runtime| runtime.cache_manager.get_file_metadata_cache())
            .expect("a default runtime builds");
        Self {
            tables: Arc::new(GroupTables::new(engine, store.clone())),
            store,
            config,
            metadata_cache,
            leases,
        }
    }

    /// The feature groups as tables.
    pub fn tables(&self) -> &Arc<GroupTables> {
        &self.tables
    }

    fn context(&self) -> Result<SessionContext> {
        let caches = CacheManagerConfig::default()
            .with_file_metadata_cache(Some(Arc::clone(&self.metadata_cache)));
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(self.config.memory_limit_bytes, 1.0)
            .with_cache_manager(caches)
            .build_arc()?;
        runtime.register_object_store(self.store.base_url(), Arc::clone(self.store.objects()));
        let config = SessionConfig::new()
            .with_create_default_catalog_and_schema(false)
            .with_default_catalog_and_schema(CATALOG, SCHEMA)
            .with_information_schema(true)
            .with_target_partitions(self.config.target_partitions.max(1));
        let context = SessionContext::new_with_config_rt(config, runtime);
        context.register_catalog(
            CATALOG,
            Arc::new(AlmanacCatalog::new(Arc::clone(&self.tables))),
        );
        context.register_udtf(
            "as_of",
            Arc::new(TimeTravel::new(
                TimeTravelKind::AsOf,
                Arc::clone(&self.tables),
            )),
        );
        context.register_udtf(
            "as_written",
            Arc::new(TimeTravel::new(
                TimeTravelKind::AsWritten,
                Arc::clone(&self.tables),
            )),
        );
        Ok(context)
    }

    /// Parses, checks and plans `sql`.
    pub async fn plan(&self, sql: &str) -> Result<(SessionContext, LogicalPlan)> {
        let mut statements = DFParserBuilder::new(sql)
            .with_dialect(&AlmanacDialect)
            .build()?
            .parse_statements()?;
        if statements.len() != 1 {
            return Err(SqlError::Invalid(format!(
                "expected exactly one statement, found {}",
                statements.len()
            )));
        }
        let mut statement = statements.pop_front().expect("one statement");
        check_read_only(&statement)?;
        rewrite(&mut statement)?;
        let context = self.context()?;
        let plan = context.state().statement_to_plan(statement).await?;
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)
            .map_err(|e| SqlError::ReadOnly(format!("refused: {e}")))?;
        Ok((context, plan))
    }

    /// Runs `sql`; the batches stream as they are produced, and the stream
    /// fails once the query's time limit has passed.
    pub async fn execute(&self, sql: &str) -> Result<QueryStream> {
        let lease = self.leases.acquire();
        let deadline = tokio::time::Instant::now() + self.config.timeout;
        let run = async {
            let (context, plan) = self.plan(sql).await?;
            let frame = context.execute_logical_plan(plan).await?;
            Ok::<_, SqlError>(frame.execute_stream().await?)
        };
        let batches = tokio::time::timeout_at(deadline, run)
            .await
            .map_err(|_| self.timed_out())??;
        Ok(self.limited(batches, lease, deadline))
    }

    /// A running query's batches, ended with an error at its deadline and
    /// holding its lease on the files until dropped.
    fn limited(
        &self,
        batches: SendableRecordBatchStream,
        lease: Lease,
        deadline: tokio::time::Instant,
    ) -> QueryStream {
        let schema = batches.schema();
        let batches: SendableRecordBatchStream = Box::pin(DeadlineStream {
            inner: batches,
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
            message: self.timed_out().to_string(),
            done: false,
            _lease: lease,
        });
        QueryStream { schema, batches }
    }

    /// Builds a point-in-time dataset for `entities` (see [`crate::dataset`]),
    /// under the same memory and time limits as a query.
    pub async fn build_dataset(
        &self,
        request: &DatasetRequest,
        entities: EntityTable,
    ) -> Result<QueryStream> {
        let lease = self.leases.acquire();
        let deadline = tokio::time::Instant::now() + self.config.timeout;
        let run = async {
            let context = self.context()?;
            dataset::build(&context, &self.tables, request, entities).await
        };
        let batches = tokio::time::timeout_at(deadline, run)
            .await
            .map_err(|_| self.timed_out())??;
        Ok(self.limited(batches, lease, deadline))
    }

    /// The memory one query may hold.
    pub fn memory_limit_bytes(&self) -> usize {
        self.config.memory_limit_bytes
    }

    /// The schema `sql` would return, without running it.
    pub async fn schema(&self, sql: &str) -> Result<SchemaRef> {
        let (_, plan) = self.plan(sql).await?;
        Ok(Arc::new(plan.schema().as_arrow().clone()))
    }

    /// Runs `sql` and gathers every batch.
    pub async fn collect(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let query = self.execute(sql).await?;
        query.batches.map_err(SqlError::from).try_collect().await
    }

    fn timed_out(&self) -> SqlError {
        SqlError::OverLimit(format!(
            "the query ran past its time limit of {:?}",
            self.config.timeout
        ))
    }
}

/// Rewrites time-travel clauses, also under EXPLAIN.
fn rewrite(statement: &mut DfStatement) -> Result<()> {
    match statement {
        DfStatement::Statement(statement) => rewrite_system_time(statement),
        DfStatement::Explain(explain) => rewrite(&mut explain.statement),
        _ => Ok(()),
    }
}

/// Ends a stream with an error once its deadline passes.
struct DeadlineStream {
    inner: SendableRecordBatchStream,
    sleep: Pin<Box<Sleep>>,
    message: String,
    done: bool,
    /// Keeps the files the query reads from being compacted away.
    _lease: Lease,
}

impl Stream for DeadlineStream {
    type Item = datafusion::error::Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.done = true;
            let error = SqlError::OverLimit(self.message.clone());
            return Poll::Ready(Some(Err(DataFusionError::External(Box::new(error)))));
        }
        self.inner.poll_next_unpin(cx)
    }
}

impl RecordBatchStream for DeadlineStream {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}
