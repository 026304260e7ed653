//! Arrow Flight SQL on the server's port: statement queries (also as
//! prepared statements, which JDBC uses), GetCatalogs, GetDbSchemas,
//! GetTables, GetTableTypes and GetSqlInfo, so that ADBC, JDBC and
//! `pyarrow.flight` clients work unchanged. Results stream batch by batch.
//! `DoExchange` builds point-in-time datasets: the entity table goes in as
//! Arrow, with the request as JSON in the descriptor's command, and the
//! dataset streams back. `DoPut` with a path descriptor naming a feature
//! group is bulk ingest ([`crate::ingest`]); `DoAction` runs the
//! FeatureStore API with JSON bodies ([`crate::flight_actions`]).

use std::pin::Pin;
use std::sync::Arc;

use almanac_sql::catalog::{CATALOG, SCHEMA};
use almanac_sql::{EntityTable, SqlEngine, SqlError};
use almanac_types::dataset::DatasetRequest;
use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_descriptor::DescriptorType;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::server::{DoPutError, FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, Any, CommandGetCatalogs, CommandGetDbSchemas,
    CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables, CommandPreparedStatementQuery,
    CommandPreparedStatementUpdate, CommandStatementIngest, CommandStatementQuery,
    CommandStatementSubstraitPlan, CommandStatementUpdate, ProstMessageExt, SqlInfo,
    TicketStatementQuery,
};
use arrow_flight::{
    Action, ActionType, FlightData, FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest,
    HandshakeResponse, IpcMessage, SchemaAsIpc, Ticket,
};
use futures::{Stream, StreamExt, TryStreamExt, stream};
use prost::Message;
use tonic::{Request, Response, Status, Streaming};

use crate::flight_actions;
use crate::ingest;
use crate::ipc;
use crate::service::FeatureStoreService;
use crate::status::{sql_status, to_status};
use almanac_online::Engine;

/// The Flight SQL service over the SQL engine, plus bulk ingest and the
/// FeatureStore API as actions.
#[derive(Clone)]
pub struct FlightSqlEndpoint {
    sql: SqlEngine,
    engine: Arc<Engine>,
    service: FeatureStoreService,
    info: Arc<SqlInfoData>,
    /// Where bulk ingest decodes and converts its batches.
    background: tokio::runtime::Handle,
    /// Largest message sent; a result row that cannot fit is refused.
    max_message_bytes: usize,
    /// One permit per running bulk ingest stream.
    ingest_slots: Arc<tokio::sync::Semaphore>,
}

/// Bulk ingest streams that run at once; more are refused with
/// RESOURCE_EXHAUSTED (each holds the single writer's queue and a
/// background thread's time, so more would only wait).
pub const MAX_INGEST_STREAMS: usize = 16;

impl std::fmt::Debug for FlightSqlEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlightSqlEndpoint")
            .field("sql", &self.sql)
            .finish()
    }
}

type FlightDataStream =
    Pin<Box<dyn Stream<Item = Result<arrow_flight::FlightData, Status>> + Send>>;

impl FlightSqlEndpoint {
    pub fn new(
        sql: SqlEngine,
        engine: Arc<Engine>,
        service: FeatureStoreService,
        background: tokio::runtime::Handle,
    ) -> Self {
        let mut info = SqlInfoDataBuilder::new();
        info.append(SqlInfo::FlightSqlServerName, "Almanac");
        info.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
        info.append(SqlInfo::FlightSqlServerArrowVersion, "59");
        info.append(SqlInfo::FlightSqlServerReadOnly, true);
        info.append(SqlInfo::FlightSqlServerSql, true);
        info.append(SqlInfo::FlightSqlServerSubstrait, false);
        info.append(SqlInfo::FlightSqlServerTransaction, 0i32);
        info.append(SqlInfo::FlightSqlServerCancel, false);
        info.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
        Self {
            sql,
            engine,
            service,
            info: Arc::new(info.build().expect("static SQL info is valid")),
            background,
            max_message_bytes: usize::MAX,
            ingest_slots: Arc::new(tokio::sync::Semaphore::new(MAX_INGEST_STREAMS)),
        }
    }

    /// Refuses, with RESOURCE_EXHAUSTED, a result message larger than
    /// `bytes` (results are split into messages of at most 2 MiB by rows;
    /// only a single row can be larger).
    pub fn with_max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// A FlightInfo whose one endpoint's ticket is `ticket`, on this server.
    fn flight_info(
        schema: &Schema,
        ticket: impl ProstMessageExt,
        descriptor: FlightDescriptor,
    ) -> Result<Response<FlightInfo>, Status> {
        let endpoint =
            FlightEndpoint::new().with_ticket(Ticket::new(ticket.as_any().encode_to_vec()));
        let info = FlightInfo::new()
            .try_with_schema(schema)
            .map_err(|e| Status::internal(e.to_string()))?
            .with_endpoint(endpoint)
            .with_descriptor(descriptor)
            .with_total_records(-1)
            .with_total_bytes(-1);
        Ok(Response::new(info))
    }

    async fn run(&self, sql: &str) -> Result<Response<FlightDataStream>, Status> {
        let query = self.sql.execute(sql).await.map_err(sql_status)?;
        Ok(self.encode(query.schema, query.batches))
    }

    /// Streams result batches as Flight data, errors as statuses.
    fn encode(
        &self,
        schema: arrow::datatypes::SchemaRef,
        batches: datafusion::execution::SendableRecordBatchStream,
    ) -> Response<FlightDataStream> {
        let batches =
            batches.map_err(|e| FlightError::Tonic(Box::new(sql_status(SqlError::from(e)))));
        let limit = self.max_message_bytes;
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(batches)
            .map_err(flight_status)
            .and_then(move |data| {
                let size = data.data_header.len() + data.data_body.len();
                futures::future::ready(if size > limit {
                    Err(Status::resource_exhausted(format!(
                        "a result row takes {size} bytes, over the message limit of {limit} bytes"
                    )))
                } else {
                    Ok(data)
                })
            });
        Response::new(Box::pin(stream))
    }

    /// Reads the entity table of a dataset exchange, whose first message
    /// has been read already; a table over the query memory limit is
    /// refused.
    async fn receive_entities(
        &self,
        first: FlightData,
        rest: Streaming<FlightData>,
    ) -> Result<EntityTable, Status> {
        // Clients differ: Rust's encoder puts the descriptor on the schema
        // message, pyarrow sends it alone first. Messages without an IPC
        // header (descriptor or app_metadata only) carry no table data.
        let messages = stream::once(async move { Ok(first) })
            .chain(rest)
            .try_filter(|message| futures::future::ready(!message.data_header.is_empty()));
        let (mut decoder, schema) = ipc::decode_checked(messages, "entity table");
        let limit = self.sql.memory_limit_bytes();
        let mut batches = Vec::new();
        let mut bytes = 0usize;
        while let Some(batch) = decoder.try_next().await? {
            bytes += batch.get_array_memory_size();
            if bytes > limit {
                return Err(Status::resource_exhausted(format!(
                    "the entity table is over the query memory limit of {} MiB",
                    limit >> 20
                )));
            }
            batches.push(batch);
        }
        let schema = schema
            .get()
            .ok_or_else(|| Status::invalid_argument("the entity table has no schema"))?;
        let batches = coalesce(&schema, batches).map_err(|e| Status::internal(e.to_string()))?;
        Ok(EntityTable { schema, batches })
    }

    fn one_batch(batch: RecordBatch) -> Response<FlightDataStream> {
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(batch.schema())
            .build(stream::once(async move { Ok(batch) }))
            .map_err(flight_status);
        Response::new(Box::pin(stream))
    }

    fn table_names(&self) -> Vec<String> {
        use datafusion::catalog::SchemaProvider;
        self.sql.tables().table_names()
    }
}

/// Rows per entity batch the dataset is built and sent back in: small
/// batches as clients send them (a Parquet reader's 1,024 rows) are joined
/// up to this, so each output message carries enough rows.
const ENTITY_BATCH_ROWS: usize = 65_536;

fn coalesce(
    schema: &arrow::datatypes::SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<Vec<RecordBatch>, arrow::error::ArrowError> {
    let mut coalescer = arrow::compute::BatchCoalescer::new(Arc::clone(schema), ENTITY_BATCH_ROWS);
    for batch in batches {
        coalescer.push_batch(batch)?;
    }
    coalescer.finish_buffered_batch()?;
    Ok(std::iter::from_fn(|| coalescer.next_completed_batch()).collect())
}

fn flight_status(error: FlightError) -> Status {
    match error {
        FlightError::Tonic(status) => *status,
        other => Status::internal(other.to_string()),
    }
}

fn statement_text(bytes: &[u8]) -> Result<String, Status> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Status::invalid_argument("the statement handle is not UTF-8 SQL"))
}

#[tonic::async_trait]
impl FlightSqlService for FlightSqlEndpoint {
    type FlightService = FlightSqlEndpoint;

    async fn do_handshake(
        &self,
        _request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<
        Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>,
        Status,
    > {
        // No authentication: answer with an empty token.
        let response = HandshakeResponse::default();
        Ok(Response::new(Box::pin(stream::once(async {
            Ok(response)
        }))))
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = self.sql.schema(&query.query).await.map_err(sql_status)?;
        let ticket = TicketStatementQuery {
            statement_handle: query.query.into_bytes().into(),
        };
        Self::flight_info(&schema, ticket, request.into_inner())
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let sql = statement_text(&ticket.statement_handle)?;
        self.run(&sql).await
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        _request: Request<arrow_flight::Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let schema = self.sql.schema(&query.query).await.map_err(sql_status)?;
        let message: IpcMessage = SchemaAsIpc::new(&schema, &Default::default())
            .try_into()
            .map_err(|e: arrow::error::ArrowError| Status::internal(e.to_string()))?;
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: query.query.into_bytes().into(),
            dataset_schema: message.0,
            parameter_schema: Default::default(),
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        _query: ActionClosePreparedStatementRequest,
        _request: Request<arrow_flight::Action>,
    ) -> Result<(), Status> {
        // The handle is the statement itself: nothing is held to release.
        Ok(())
    }

    async fn get_flight_info_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let sql = statement_text(&query.prepared_statement_handle)?;
        let schema = self.sql.schema(&sql).await.map_err(sql_status)?;
        Self::flight_info(&schema, query, request.into_inner())
    }

    async fn do_get_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let sql = statement_text(&query.prepared_statement_handle)?;
        self.run(&sql).await
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder().schema();
        Self::flight_info(&schema, query, request.into_inner())
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let mut builder = query.into_builder();
        builder.append(CATALOG);
        Ok(Self::one_batch(
            builder
                .build()
                .map_err(|e| Status::internal(e.to_string()))?,
        ))
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        Self::flight_info(&schema, query, request.into_inner())
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let mut builder = query.into_builder();
        builder.append(CATALOG, SCHEMA);
        Ok(Self::one_batch(
            builder
                .build()
                .map_err(|e| Status::internal(e.to_string()))?,
        ))
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        Self::flight_info(&schema, query, request.into_inner())
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let mut builder = query.into_builder();
        for name in self.table_names() {
            let Some(table) = self.sql.tables().group_table(&name) else {
                continue;
            };
            use datafusion::datasource::TableProvider;
            builder
                .append(CATALOG, SCHEMA, &name, "TABLE", &table.schema())
                .map_err(|e| Status::internal(e.to_string()))?;
        }
        Ok(Self::one_batch(
            builder
                .build()
                .map_err(|e| Status::internal(e.to_string()))?,
        ))
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder().schema();
        Self::flight_info(&schema, query, request.into_inner())
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let mut builder = query.into_builder();
        builder.append("TABLE");
        Ok(Self::one_batch(
            builder
                .build()
                .map_err(|e| Status::internal(e.to_string()))?,
        ))
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder(&self.info).schema();
        Self::flight_info(&schema, query, request.into_inner())
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let batch = query
            .into_builder(&self.info)
            .build()
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Self::one_batch(batch))
    }

    /// Bulk ingest: a path descriptor names the feature group; other
    /// commands are refused, the SQL interface being read-only.
    async fn do_put_fallback(
        &self,
        request: Request<PeekableFlightDataStream>,
        message: Any,
    ) -> Result<Response<<Self as FlightService>::DoPutStream>, Status> {
        if !message.type_url.is_empty() || !message.value.is_empty() {
            return Err(Status::permission_denied(format!(
                "the SQL interface is read-only; '{}' is refused",
                message.type_url
            )));
        }
        let mut input = request.into_inner().into_peekable();
        let descriptor = match std::pin::Pin::new(&mut input).peek().await {
            Some(Ok(first)) => first.flight_descriptor.clone(),
            Some(Err(status)) => return Err(status.clone()),
            None => None,
        };
        let group_name = match descriptor {
            Some(d) if d.r#type == DescriptorType::Path as i32 && d.path.len() == 1 => {
                d.path[0].clone()
            }
            _ => {
                return Err(Status::invalid_argument(
                    "DoPut needs a path descriptor with one element: the feature group's name",
                ));
            }
        };
        let group = self.engine.group(&group_name).map_err(to_status)?;
        let slot = Arc::clone(&self.ingest_slots)
            .try_acquire_owned()
            .map_err(|_| {
                Status::resource_exhausted(format!(
                    "{MAX_INGEST_STREAMS} bulk ingest streams are running, the most this server runs at once; try again when one ends"
                ))
            })?;
        let messages =
            input.try_filter(|message| futures::future::ready(!message.data_header.is_empty()));
        let (batches, _) = ipc::decode_checked(messages, "ingest stream");
        let (results, replies) = tokio::sync::mpsc::channel(4);
        let engine = Arc::clone(&self.engine);
        self.background.spawn(async move {
            ingest::ingest(engine, group, batches, results).await;
            drop(slot);
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(replies),
        )))
    }

    /// INSERT, UPDATE, DELETE and the like through `execute_update`: the
    /// read-only guard's refusal.
    async fn do_put_statement_update(
        &self,
        command: CommandStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(sql_status(self.sql.refuse_update(&command.query).await))
    }

    async fn do_put_prepared_statement_update(
        &self,
        command: CommandPreparedStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let sql = statement_text(&command.prepared_statement_handle)?;
        Err(sql_status(self.sql.refuse_update(&sql).await))
    }

    /// ADBC's bulk ingest into a table: refused, the SQL interface being
    /// read-only; DoPut into a feature group is the way in.
    async fn do_put_statement_ingest(
        &self,
        command: CommandStatementIngest,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(Status::permission_denied(format!(
            "ingest into '{}' through Flight SQL is refused: the SQL interface is read-only; \
             bulk ingest is DoPut with a path descriptor naming the feature group \
             (almanac ingest, or the Python package's ingest)",
            command.table
        )))
    }

    async fn do_put_substrait_plan(
        &self,
        _command: CommandStatementSubstraitPlan,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(Status::permission_denied(
            "Substrait plans are refused: the SQL interface runs read-only SQL queries",
        ))
    }

    /// A DoPut without a first message or a descriptor is a bad request.
    async fn do_put_error_callback(
        &self,
        _request: Request<PeekableFlightDataStream>,
        error: DoPutError,
    ) -> Result<Response<<Self as FlightService>::DoPutStream>, Status> {
        Err(Status::invalid_argument(format!(
            "DoPut needs a first message with a path descriptor naming the feature group: {error}"
        )))
    }

    /// The FeatureStore API with JSON bodies.
    async fn do_action_fallback(
        &self,
        request: Request<Action>,
    ) -> Result<Response<<Self as FlightService>::DoActionStream>, Status> {
        let action = request.into_inner();
        let body = flight_actions::run(&self.service, &action.r#type, &action.body)
            .await
            .ok_or_else(|| {
                Status::invalid_argument(format!(
                    "unknown action '{}'; ListActions names them",
                    action.r#type
                ))
            })??;
        let result = arrow_flight::Result { body: body.into() };
        Ok(Response::new(Box::pin(stream::once(
            async move { Ok(result) },
        ))))
    }

    async fn list_custom_actions(&self) -> Option<Vec<Result<ActionType, Status>>> {
        Some(flight_actions::action_types())
    }

    /// Builds a point-in-time dataset: the descriptor's command is the
    /// request (JSON), the stream the entity table; the dataset streams
    /// back.
    async fn do_exchange_fallback(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<<Self as FlightService>::DoExchangeStream>, Status> {
        let mut input = request.into_inner();
        let first = input
            .message()
            .await
            .map_err(crate::status::request_status)?
            .ok_or_else(|| Status::invalid_argument("the exchange sent no message"))?;
        let command = first
            .flight_descriptor
            .as_ref()
            .filter(|d| d.r#type == DescriptorType::Cmd as i32)
            .map(|d| d.cmd.clone())
            .ok_or_else(|| {
                Status::invalid_argument(
                    "the exchange's first message must carry a command descriptor \
                     (a dataset request)",
                )
            })?;
        let dataset = DatasetRequest::from_command(&command)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        // A slot first: entity tables are held in memory, so no more are
        // received at once than builds may run.
        let admission = self.sql.admit_dataset().await.map_err(sql_status)?;
        let started = std::time::Instant::now();
        let entities = self
            .sql
            .receive_within(&admission, self.receive_entities(first, input))
            .await
            .map_err(sql_status)??;
        tracing::debug!(
            rows = entities.rows(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "received a dataset's entity table"
        );
        let result = self
            .sql
            .build_dataset(admission, &dataset, entities)
            .await
            .map_err(sql_status)?;
        Ok(self.encode(result.schema, result.batches))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
