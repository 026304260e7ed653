//! SQL over Arrow Flight SQL: [`Client::query`] and [`Client::query_stream`].

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow_flight::error::FlightError;
use arrow_flight::sql::client::FlightSqlServiceClient;
use futures::{Stream, StreamExt, TryStreamExt, stream};

use crate::client::Client;
use crate::error::ClientError;

/// A stream of result batches.
pub type BatchStream =
    std::pin::Pin<Box<dyn Stream<Item = Result<RecordBatch, ClientError>> + Send>>;

/// A query's result: its schema, and its batches as they arrive.
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: BatchStream,
}

impl std::fmt::Debug for QueryResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryResult")
            .field("schema", &self.schema)
            .finish()
    }
}

impl Client {
    /// Runs a read-only SQL query and streams its result batches, as the
    /// server produces them. Each batch must come within the client's
    /// timeout of the one before.
    pub async fn query_stream(&self, sql: &str) -> Result<QueryResult, ClientError> {
        let limit = self.limit();
        let mut flight = FlightSqlServiceClient::new(self.channel());
        let info = limit
            .within(flight.execute(sql.to_owned(), None))
            .await?
            .map_err(flight_error)?;
        let schema = std::sync::Arc::new(
            info.clone()
                .try_decode_schema()
                .map_err(|e| ClientError::Protocol(format!("the query's schema: {e}")))?,
        );
        let mut streams = Vec::new();
        for endpoint in info.endpoint {
            let Some(ticket) = endpoint.ticket else {
                continue;
            };
            let batches = limit
                .within(flight.do_get(ticket))
                .await?
                .map_err(flight_error)?;
            streams.push(batches.map_err(flight_error));
        }
        let batches = limit.per_item(stream::iter(streams).flatten());
        Ok(QueryResult {
            schema,
            batches: Box::pin(batches),
        })
    }

    /// Runs a read-only SQL query and gathers its result.
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>, ClientError> {
        self.query_stream(sql).await?.batches.try_collect().await
    }
}

pub(crate) fn flight_error(error: impl Into<FlightError>) -> ClientError {
    match error.into() {
        FlightError::Tonic(status) => ClientError::Status(*status),
        FlightError::Arrow(error) => ClientError::Arrow(error),
        other => ClientError::Protocol(other.to_string()),
    }
}
