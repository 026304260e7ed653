//! Arrow Flight on the server's port, one protocol per module:
//!
//! - [`statements`]: Flight SQL statement queries, also as prepared
//!   statements (which JDBC uses), results streamed batch by batch;
//! - [`metadata`]: GetCatalogs, GetDbSchemas, GetTables, GetTableTypes
//!   and GetSqlInfo, so that ADBC, JDBC and `pyarrow.flight` clients work
//!   unchanged;
//! - [`put`]: `DoPut` with a path descriptor naming a feature group is
//!   bulk ingest ([`crate::ingest`]); SQL writes are refused;
//! - [`exchange`]: `DoExchange` builds point-in-time datasets.
//!
//! `DoAction` runs the FeatureStore API with JSON bodies
//! ([`crate::flight_actions`]). This module holds the endpoint and the
//! `FlightSqlService` implementation, which only dispatches.

mod exchange;
mod metadata;
mod put;
mod statements;

use std::pin::Pin;
use std::sync::Arc;

use almanac_online::Engine;
use almanac_sql::SqlEngine;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::metadata::SqlInfoData;
use arrow_flight::sql::server::{DoPutError, FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, Any, CommandGetCatalogs, CommandGetDbSchemas,
    CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables, CommandPreparedStatementQuery,
    CommandPreparedStatementUpdate, CommandStatementIngest, CommandStatementQuery,
    CommandStatementSubstraitPlan, CommandStatementUpdate, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{
    Action, ActionType, FlightData, FlightDescriptor, FlightInfo, HandshakeRequest,
    HandshakeResponse, Ticket,
};
use futures::{Stream, stream};
use tonic::{Request, Response, Status, Streaming};

pub(crate) use put::MAX_INGEST_STREAMS;
use statements::statement_text;

use crate::flight_actions;
use crate::service::FeatureStoreService;

/// The Flight SQL service over the SQL engine, plus bulk ingest, datasets
/// and the FeatureStore API as actions.
#[derive(Clone)]
pub(crate) struct FlightSqlEndpoint {
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
    pub(crate) fn new(
        sql: SqlEngine,
        engine: Arc<Engine>,
        service: FeatureStoreService,
        background: tokio::runtime::Handle,
    ) -> Self {
        Self {
            sql,
            engine,
            service,
            info: Arc::new(metadata::sql_info()),
            background,
            max_message_bytes: usize::MAX,
            ingest_slots: Arc::new(tokio::sync::Semaphore::new(MAX_INGEST_STREAMS)),
        }
    }

    /// Refuses, with RESOURCE_EXHAUSTED, a result message larger than
    /// `bytes` (results are split into messages of at most 2 MiB by rows;
    /// only a single row can be larger), and bounds the failed rows one
    /// bulk-ingest answer lists by it.
    pub(crate) fn with_max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }
}

fn flight_status(error: FlightError) -> Status {
    match error {
        FlightError::Tonic(status) => *status,
        other => Status::internal(other.to_string()),
    }
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

    // Statements.

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = self.statement_schema(&query.query).await?;
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
        _request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        self.prepare(query.query).await
    }

    async fn do_action_close_prepared_statement(
        &self,
        _query: ActionClosePreparedStatementRequest,
        _request: Request<Action>,
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
        let schema = self.statement_schema(&sql).await?;
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

    /// INSERT, UPDATE, DELETE and the like through `execute_update`: the
    /// read-only guard's refusal.
    async fn do_put_statement_update(
        &self,
        command: CommandStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(self.refuse_update(&command.query).await)
    }

    async fn do_put_prepared_statement_update(
        &self,
        command: CommandPreparedStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let sql = statement_text(&command.prepared_statement_handle)?;
        Err(self.refuse_update(&sql).await)
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

    // Metadata.

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
        self.catalogs(query)
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
        self.schemas(query)
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
        self.tables(query)
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
        self.table_types(query)
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
        self.sql_info(query)
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}

    // Bulk ingest.

    /// Bulk ingest: a path descriptor names the feature group; other
    /// commands are refused, the SQL interface being read-only.
    async fn do_put_fallback(
        &self,
        request: Request<PeekableFlightDataStream>,
        message: Any,
    ) -> Result<Response<<Self as FlightService>::DoPutStream>, Status> {
        if !message.type_url.is_empty() || !message.value.is_empty() {
            return Err(put::refuse_command(&message.type_url));
        }
        Ok(Response::new(self.ingest(request).await?))
    }

    /// ADBC's bulk ingest into a table: refused; DoPut into a feature
    /// group is the way in.
    async fn do_put_statement_ingest(
        &self,
        command: CommandStatementIngest,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(put::refuse_statement_ingest(&command.table))
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

    // Datasets.

    /// Builds a point-in-time dataset: the descriptor's command is the
    /// request (JSON), the stream the entity table; the dataset streams
    /// back.
    async fn do_exchange_fallback(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<<Self as FlightService>::DoExchangeStream>, Status> {
        self.dataset(request.into_inner()).await
    }

    // The FeatureStore API.

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
}
