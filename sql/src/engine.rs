//! [`SqlEngine`]: plans and runs read-only queries, each in a fresh
//! DataFusion session with its own memory pool and deadline, on the query
//! runtime: threads of their own, below the online path in priority, so
//! that analytics never take the CPU from GetRecord.
//!
//! A query goes: admission (at most `max_concurrent_queries` run; others
//! wait up to `queue_timeout` for a slot), then parsing and the statement
//! limits ([`crate::limits`]) on a thread sized for them, then planning
//! and execution on the query runtime, whose batches reach the caller
//! through a small channel. Dropping the stream cancels the query; so do
//! its deadline and [`SqlEngine::cancel_running`] (at shutdown).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use almanac_offline::{Lease, OfflineStore, QueryLeases};
use almanac_types::dataset::DatasetRequest;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::cache::cache_manager::{CacheManagerConfig, FileMetadataCache};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::RecordBatchStream;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use datafusion::sql::parser::Statement as DfStatement;
use futures::{Stream, StreamExt, TryStreamExt};
use tokio::runtime::Handle;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::batch_limit::BoundProjections;
use crate::catalog::{AlmanacCatalog, CATALOG, GroupTables, SCHEMA};
use crate::dataset::{self, entities::EntityTable};
use crate::error::{Result, SqlError};
use crate::functions::bound_scalar_functions;
use crate::guard::check_read_only;
use crate::limits::{StatementLimits, parse_checked};
use crate::objects::OfflineOnly;
use crate::source::GroupSource;
use crate::time_travel::{TimeTravel, TimeTravelKind, rewrite_system_time};

/// Limits and tuning of queries.
#[derive(Debug, Clone)]
pub struct SqlConfig {
    /// Memory one query may hold; operators that can spill (sorts,
    /// aggregations, joins) spill to disk beyond it, the others fail. The
    /// values one function call returns may take half of it.
    pub memory_limit_bytes: usize,
    /// Longest a query may run, from planning to its last batch.
    pub timeout: Duration,
    /// Threads one query runs on.
    pub target_partitions: usize,
    /// Size and shape limits of a statement.
    pub statement: StatementLimits,
    /// Queries (and dataset builds) that run at once.
    pub max_concurrent_queries: usize,
    /// How long a query waits for a slot before it is refused.
    pub queue_timeout: Duration,
}

impl Default for SqlConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            memory_limit_bytes: 2 << 30,
            timeout: Duration::from_secs(300),
            target_partitions: cores,
            statement: StatementLimits::default(),
            max_concurrent_queries: (2 * cores).max(4),
            queue_timeout: Duration::from_secs(30),
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
    /// Where queries are planned and run.
    runtime: Handle,
    /// One permit per running query.
    slots: Arc<Semaphore>,
    /// Turns true when running queries are to stop (shutdown).
    cancel: Arc<watch::Sender<bool>>,
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

/// What a query holds while it runs.
struct Running {
    _slot: OwnedSemaphorePermit,
    _lease: Lease,
    deadline: Instant,
}

/// A dataset build's place among the running queries, taken before its
/// entity table is received ([`SqlEngine::admit_dataset`]).
pub struct DatasetAdmission(Running);

impl SqlEngine {
    /// An engine over the groups of `source` and the files of `store`,
    /// planning and running queries on `runtime`.
    pub fn new(
        source: Arc<dyn GroupSource>,
        store: OfflineStore,
        config: SqlConfig,
        leases: Arc<QueryLeases>,
        runtime: Handle,
    ) -> Self {
        let metadata_cache = RuntimeEnvBuilder::new()
            .build()
            .map(|runtime| runtime.cache_manager.get_file_metadata_cache())
            .expect("a default runtime builds");
        let slots = Arc::new(Semaphore::new(config.max_concurrent_queries.max(1)));
        Self {
            tables: Arc::new(GroupTables::new(source, store.clone())),
            store,
            config,
            metadata_cache,
            leases,
            runtime,
            slots,
            cancel: Arc::new(watch::channel(false).0),
        }
    }

    /// The feature groups as tables.
    pub fn tables(&self) -> &Arc<GroupTables> {
        &self.tables
    }

    /// Ends every running query with UNAVAILABLE, and refuses new ones:
    /// the server is shutting down.
    pub fn cancel_running(&self) {
        self.cancel.send_replace(true);
    }

    fn context(&self) -> Result<SessionContext> {
        let caches = CacheManagerConfig::default()
            .with_file_metadata_cache(Some(Arc::clone(&self.metadata_cache)));
        let objects = Arc::new(OfflineOnly::new(self.store.scoped_objects()));
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(self.config.memory_limit_bytes, 1.0)
            .with_cache_manager(caches)
            .with_object_store_registry(objects)
            .build_arc()?;
        let config = SessionConfig::new()
            .with_create_default_catalog_and_schema(false)
            .with_default_catalog_and_schema(CATALOG, SCHEMA)
            .with_information_schema(true)
            .with_target_partitions(self.config.target_partitions.max(1));
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime)
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(BoundProjections {
                max_batch_bytes: self.config.memory_limit_bytes / 2,
            }))
            .build();
        let context = SessionContext::new_with_state(state);
        bound_scalar_functions(&context, self.config.memory_limit_bytes / 2);
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

    /// Waits for a slot (at most `queue_timeout`), then takes a lease on
    /// the files and starts the deadline.
    async fn admit(&self) -> Result<Running> {
        if *self.cancel.borrow() {
            return Err(shutting_down());
        }
        let slot = tokio::time::timeout(
            self.config.queue_timeout,
            Arc::clone(&self.slots).acquire_owned(),
        )
        .await
        .map_err(|_| {
            SqlError::OverLimit(format!(
                "{} queries are running, the most this server runs at once, and none ended within {:?}; try again later",
                self.config.max_concurrent_queries, self.config.queue_timeout
            ))
        })?
        .map_err(|_| shutting_down())?;
        Ok(Running {
            _slot: slot,
            _lease: self.leases.acquire(),
            deadline: Instant::now() + self.config.timeout,
        })
    }

    /// Parses and checks `sql` within the deadline.
    async fn parse(&self, sql: &str, deadline: Instant) -> Result<DfStatement> {
        tokio::time::timeout_at(deadline, parse_checked(sql, &self.config.statement))
            .await
            .map_err(|_| self.timed_out())?
    }

    /// Checks and plans a parsed statement.
    async fn plan_statement(
        &self,
        mut statement: DfStatement,
    ) -> Result<(SessionContext, LogicalPlan)> {
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

    /// Runs `work` on the query runtime, within `deadline`; stops it at
    /// shutdown.
    async fn on_query_runtime<T: Send + 'static>(
        &self,
        deadline: Instant,
        work: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        let mut cancel = self.cancel.subscribe();
        let task = AbortOnDrop(self.runtime.spawn(work));
        let timed_out = self.timed_out();
        tokio::select! {
            joined = task.join() => joined,
            _ = tokio::time::sleep_until(deadline) => Err(timed_out),
            _ = cancel.wait_for(|&stop| stop) => Err(shutting_down()),
        }
    }

    /// The schema `sql` would return, without running it.
    pub async fn schema(&self, sql: &str) -> Result<SchemaRef> {
        let running = self.admit().await?;
        let statement = self.parse(sql, running.deadline).await?;
        let engine = self.clone();
        self.on_query_runtime(running.deadline, async move {
            let (_, plan) = engine.plan_statement(statement).await?;
            Ok(Arc::new(plan.schema().as_arrow().clone()))
        })
        .await
    }

    /// Runs `sql`; the batches stream as they are produced, and the stream
    /// fails once the query's time limit has passed.
    pub async fn execute(&self, sql: &str) -> Result<QueryStream> {
        let running = self.admit().await?;
        let statement = self.parse(sql, running.deadline).await?;
        let engine = self.clone();
        self.stream(running, async move {
            let (context, plan) = engine.plan_statement(statement).await?;
            let frame = context.execute_logical_plan(plan).await?;
            Ok(frame.execute_stream().await?)
        })
        .await
    }

    /// Admits a dataset build before its entity table is received, so
    /// that no more tables are held in memory at once than builds run:
    /// the build's slot, file lease and deadline start here.
    pub async fn admit_dataset(&self) -> Result<DatasetAdmission> {
        Ok(DatasetAdmission(self.admit().await?))
    }

    /// Receives a dataset's entity table with `receive`, within the
    /// admission's deadline.
    pub async fn receive_within<T>(
        &self,
        admission: &DatasetAdmission,
        receive: impl Future<Output = T>,
    ) -> Result<T> {
        tokio::time::timeout_at(admission.0.deadline, receive)
            .await
            .map_err(|_| self.timed_out())
    }

    /// Builds a point-in-time dataset for `entities` (see [`crate::dataset`]),
    /// under the same admission, memory and time limits as a query.
    pub async fn build_dataset(
        &self,
        admission: DatasetAdmission,
        request: &DatasetRequest,
        entities: EntityTable,
    ) -> Result<QueryStream> {
        let running = admission.0;
        let engine = self.clone();
        let request = request.clone();
        self.stream(running, async move {
            let context = engine.context()?;
            dataset::build(&context, &engine.tables, &request, entities).await
        })
        .await
    }

    /// Starts `start` on the query runtime and pumps the batches of the
    /// stream it returns to the caller, until the stream ends, the caller
    /// drops it, the deadline passes or the server shuts down.
    async fn stream(
        &self,
        running: Running,
        start: impl Future<Output = Result<SendableRecordBatchStream>> + Send + 'static,
    ) -> Result<QueryStream> {
        let (schema_sender, schema) = oneshot::channel::<Result<SchemaRef>>();
        let (batch_sender, batches) = mpsc::channel(2);
        let deadline = running.deadline;
        let timed_out = self.timed_out().to_string();
        let mut cancel = self.cancel.subscribe();
        let pump = self.runtime.spawn(async move {
            let started = tokio::select! {
                started = start => started,
                _ = tokio::time::sleep_until(deadline) => Err(SqlError::OverLimit(timed_out.clone())),
                _ = cancel.wait_for(|&stop| stop) => Err(shutting_down()),
            };
            let mut stream = match started {
                Ok(stream) => stream,
                Err(error) => {
                    let _ = schema_sender.send(Err(error));
                    return;
                }
            };
            if schema_sender.send(Ok(stream.schema())).is_err() {
                return;
            }
            loop {
                let next = tokio::select! {
                    next = stream.next() => next,
                    _ = tokio::time::sleep_until(deadline) => {
                        Some(Err(SqlError::OverLimit(timed_out.clone()).into()))
                    }
                    _ = cancel.wait_for(|&stop| stop) => Some(Err(shutting_down().into())),
                };
                let Some(next) = next else { return };
                let failed = next.is_err();
                if batch_sender.send(next).await.is_err() || failed {
                    return;
                }
            }
        });
        let pump = AbortOnDrop(pump);
        // Planning may not yield (the optimizer is synchronous): the caller
        // gets its answer at the deadline however long planning takes.
        let schema = tokio::time::timeout_at(deadline, schema)
            .await
            .map_err(|_| self.timed_out())?
            .map_err(|_| SqlError::Internal("the query stopped before it started".into()))??;
        Ok(QueryStream {
            schema: Arc::clone(&schema),
            batches: Box::pin(ChannelStream {
                schema,
                batches,
                _pump: pump,
                _running: running,
            }),
        })
    }

    /// Why `sql`, sent as an update (Flight SQL `execute_update`), is
    /// refused: the read-only guard's reason for a statement that would
    /// change something, and the same rule for any other.
    pub async fn refuse_update(&self, sql: &str) -> SqlError {
        // Parsing costs a thread and up to the statement limits' worth of
        // memory: it waits for a slot like any query.
        let running = match self.admit().await {
            Ok(running) => running,
            Err(error) => return error,
        };
        let statement = match self.parse(sql, running.deadline).await {
            Ok(statement) => statement,
            Err(error) => return error,
        };
        match check_read_only(&statement) {
            Err(error) => error,
            Ok(()) => SqlError::ReadOnly(
                "updates are refused: the SQL interface is read-only; run queries as queries, \
                 write with PutRecord or ingest"
                    .into(),
            ),
        }
    }

    /// The memory one query may hold.
    pub fn memory_limit_bytes(&self) -> usize {
        self.config.memory_limit_bytes
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

fn shutting_down() -> SqlError {
    SqlError::Unavailable("the server is shutting down; the query was stopped".into())
}

/// A task aborted when its handle is dropped.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> AbortOnDrop<Result<T>> {
    async fn join(mut self) -> Result<T> {
        (&mut self.0)
            .await
            .map_err(|e| SqlError::Internal(format!("the query task failed: {e}")))?
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The caller's end of a running query.
struct ChannelStream {
    schema: SchemaRef,
    batches: mpsc::Receiver<datafusion::error::Result<RecordBatch>>,
    /// Cancels the query when the caller drops the stream.
    _pump: AbortOnDrop<()>,
    _running: Running,
}

impl Stream for ChannelStream {
    type Item = datafusion::error::Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.batches.poll_recv(cx)
    }
}

impl RecordBatchStream for ChannelStream {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
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
