//! SQL statements over Flight SQL: `CommandStatementQuery` and prepared
//! statements (which JDBC uses; the handle is the statement itself), each
//! planned for its schema by GetFlightInfo and run by DoGet, results
//! streamed batch by batch. Updates are the read-only guard's refusal.

use almanac_sql::SqlError;
use arrow::datatypes::{Schema, SchemaRef};
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::sql::{ActionCreatePreparedStatementResult, ProstMessageExt};
use arrow_flight::{FlightDescriptor, FlightEndpoint, FlightInfo, IpcMessage, SchemaAsIpc, Ticket};
use futures::TryStreamExt;
use prost::Message;
use tonic::{Response, Status};

use super::{FlightDataStream, FlightSqlEndpoint, flight_status};
use crate::status::{internal, sql_status};

impl FlightSqlEndpoint {
    /// A FlightInfo whose one endpoint's ticket is `ticket`, on this server.
    pub(super) fn flight_info(
        schema: &Schema,
        ticket: impl ProstMessageExt,
        descriptor: FlightDescriptor,
    ) -> Result<Response<FlightInfo>, Status> {
        let endpoint =
            FlightEndpoint::new().with_ticket(Ticket::new(ticket.as_any().encode_to_vec()));
        let info = FlightInfo::new()
            .try_with_schema(schema)
            .map_err(internal("encoding the result schema"))?
            .with_endpoint(endpoint)
            .with_descriptor(descriptor)
            .with_total_records(-1)
            .with_total_bytes(-1);
        Ok(Response::new(info))
    }

    /// The result schema of `sql`, planned but not run.
    pub(super) async fn statement_schema(&self, sql: &str) -> Result<SchemaRef, Status> {
        self.sql.schema(sql).await.map_err(sql_status)
    }

    /// A prepared statement: its handle is the statement's text.
    pub(super) async fn prepare(
        &self,
        sql: String,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let schema = self.statement_schema(&sql).await?;
        let message: IpcMessage = SchemaAsIpc::new(&schema, &Default::default())
            .try_into()
            .map_err(internal("encoding the statement's schema"))?;
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: sql.into_bytes().into(),
            dataset_schema: message.0,
            parameter_schema: Default::default(),
        })
    }

    /// Runs `sql` and streams its result.
    pub(super) async fn run(&self, sql: &str) -> Result<Response<FlightDataStream>, Status> {
        let query = self.sql.execute(sql).await.map_err(sql_status)?;
        Ok(self.encode(query.schema, query.batches))
    }

    /// INSERT, UPDATE, DELETE and the like: the read-only guard's refusal.
    pub(super) async fn refuse_update(&self, sql: &str) -> Status {
        sql_status(self.sql.refuse_update(sql).await)
    }

    /// Streams result batches as Flight data, errors as statuses.
    pub(super) fn encode(
        &self,
        schema: SchemaRef,
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
}

/// A statement handle's SQL text.
pub(super) fn statement_text(bytes: &[u8]) -> Result<String, Status> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Status::invalid_argument("the statement handle is not UTF-8 SQL"))
}
