//! Bulk ingest over Arrow Flight `DoPut`: [`Client::ingest`] sends record
//! batches into a feature group; every row is a PutRecord. The server
//! answers each batch once it is durable; the answers are summed into an
//! [`IngestSummary`] whose failed rows are numbered from the first row
//! sent. The client's timeout bounds how long the call may go without a
//! message either way while the server owes an answer; a caller slow to
//! produce its next batch does not count.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Poll;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow_flight::FlightDescriptor;
use arrow_flight::client::FlightClient;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::flight_service_client::FlightServiceClient;
use futures::{Stream, StreamExt, TryStreamExt};

pub use almanac_types::ingest::{BatchResult, FailedRow};

use crate::client::Client;
use crate::error::ClientError;
use crate::query::flight_error;
use crate::timeout::Activity;

/// Largest Arrow message sent; a batch above it goes in several messages,
/// each answered on its own.
const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// What an ingest call wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestSummary {
    /// Rows sent.
    pub rows: usize,
    pub rows_written: usize,
    /// Rows not written, numbered from the first row sent (0), in order.
    pub failed_rows: Vec<FailedRow>,
}

impl IngestSummary {
    /// Adds a batch's answer whose first row is row `offset` of the call.
    fn add(&mut self, offset: usize, result: BatchResult) {
        self.rows += result.rows;
        self.rows_written += result.rows_written;
        self.failed_rows
            .extend(result.failed_rows.into_iter().map(|row| FailedRow {
                index: offset + row.index,
                reason: row.reason,
            }));
    }
}

/// What an ingest call has handed to the transport so far.
#[derive(Debug, Default)]
struct Sent {
    rows: AtomicUsize,
    /// Whether the caller's stream has ended: every row is sent.
    all: AtomicBool,
}

impl Client {
    /// Writes `batches` into feature group `group` through one `DoPut`
    /// stream. Columns are matched to features by name and cast to their
    /// types by the server. Bad rows are reported, not raised; an unknown
    /// group or a column that is no feature is an error for the whole call.
    pub async fn ingest(
        &self,
        group: &str,
        schema: SchemaRef,
        batches: impl Stream<Item = RecordBatch> + Send + 'static,
    ) -> Result<IngestSummary, ClientError> {
        let inner = FlightServiceClient::new(self.channel())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        let mut flight = FlightClient::new_from_inner(inner);
        let sent = Arc::new(Sent::default());
        let counter = Arc::clone(&sent);
        let end = Arc::clone(&sent);
        let batches = batches
            .map(move |batch| {
                counter.rows.fetch_add(batch.num_rows(), Ordering::Relaxed);
                Ok(batch)
            })
            .chain(futures::stream::poll_fn(move |_| {
                end.all.store(true, Ordering::Relaxed);
                Poll::Ready(None)
            }));
        let messages = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .with_max_flight_data_size(MAX_MESSAGE_BYTES)
            .with_flight_descriptor(Some(FlightDescriptor::new_path(vec![group.to_owned()])))
            .build(batches);
        // The server must answer within the timeout of the last message
        // sent or received, while it owes an answer: for rows sent, or the
        // end of the call once everything is sent.
        let limit = self.limit();
        let activity = Activity::new();
        let messages = activity.track(messages);
        let mut results = limit
            .unless_quiet(flight.do_put(messages), &activity, || true)
            .await?
            .map_err(flight_error)?;
        let mut summary = IngestSummary::default();
        loop {
            let answered = summary.rows;
            let owed =
                || sent.all.load(Ordering::Relaxed) || sent.rows.load(Ordering::Relaxed) > answered;
            let Some(result) = limit
                .unless_quiet(results.try_next(), &activity, owed)
                .await?
                .map_err(flight_error)?
            else {
                break;
            };
            let result: BatchResult =
                serde_json::from_slice(&result.app_metadata).map_err(|e| {
                    ClientError::Flight(format!("the server's batch result is not valid: {e}"))
                })?;
            summary.add(summary.rows, result);
        }
        // Every row sent must have been answered for; a stream that ends
        // early has not written the rest.
        let sent = sent.rows.load(Ordering::Relaxed);
        if summary.rows != sent {
            return Err(ClientError::Flight(format!(
                "the server answered for {} of the {sent} rows sent to '{group}'",
                summary.rows
            )));
        }
        Ok(summary)
    }

    /// Writes one batch; see [`Client::ingest`].
    pub async fn ingest_batch(
        &self,
        group: &str,
        batch: RecordBatch,
    ) -> Result<IngestSummary, ClientError> {
        let schema = batch.schema();
        self.ingest(group, schema, futures::stream::once(async move { batch }))
            .await
    }
}
