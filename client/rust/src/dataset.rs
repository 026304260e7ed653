//! Point-in-time datasets over Arrow Flight `DoExchange`:
//! [`Client::build_dataset`] sends the entity table as Arrow with the
//! request in the descriptor, and the dataset streams back as Arrow.
//! The client's timeout bounds each wait for the server: while the table
//! goes out, the time since the last message sent; then the wait for each
//! next message back.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::BatchCoalescer;
use arrow::datatypes::SchemaRef;
use arrow_flight::FlightDescriptor;
use arrow_flight::decode::{DecodedPayload, FlightDataDecoder};
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_client::FlightServiceClient;
use futures::{StreamExt, TryStreamExt, stream};

pub use almanac_types::dataset::{DatasetRequest, FeatureSelection};

use crate::client::Client;
use crate::error::ClientError;
use crate::query::{QueryResult, flight_error};
use crate::timeout::Activity;

/// Rows per message the entity table is sent in: a Parquet reader's
/// 1,024-row batches are joined up to this first.
const SEND_BATCH_ROWS: usize = 65_536;

/// The batches re-cut into batches of [`SEND_BATCH_ROWS`] (the last one
/// shorter).
fn coalesce(
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<Vec<RecordBatch>, ClientError> {
    let mut coalescer = BatchCoalescer::new(Arc::clone(schema), SEND_BATCH_ROWS);
    for batch in batches {
        coalescer.push_batch(batch)?;
    }
    coalescer.finish_buffered_batch()?;
    Ok(std::iter::from_fn(|| coalescer.next_completed_batch()).collect())
}

impl Client {
    /// Joins the selected features onto `entities` as of each row's event
    /// time. The result has one row per entity row, in the same order:
    /// the entity columns, then the features.
    pub async fn build_dataset(
        &self,
        request: &DatasetRequest,
        schema: SchemaRef,
        entities: Vec<RecordBatch>,
    ) -> Result<QueryResult, ClientError> {
        let descriptor = FlightDescriptor::new_cmd(request.to_command());
        let entities = coalesce(&schema, entities)?;
        let messages: Vec<_> = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .with_flight_descriptor(Some(descriptor))
            .build(stream::iter(entities.into_iter().map(Ok)))
            .try_collect()
            .await
            .map_err(flight_error)?;
        let mut flight = FlightServiceClient::new(self.channel())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        // The server answers once it has the whole entity table: until
        // then, each message sent counts as progress.
        let limit = self.limit();
        let activity = Activity::new();
        let sending = activity.track(stream::iter(messages));
        let response = limit
            .unless_quiet(flight.do_exchange(sending), &activity, || true)
            .await??
            .into_inner();
        let decoder =
            FlightDataDecoder::new(response.map_err(|status| FlightError::Tonic(Box::new(status))));
        let mut decoded = Box::pin(limit.per_item(decoder.map_err(flight_error)));
        let schema = loop {
            match decoded.next().await {
                Some(Ok(data)) => match data.payload {
                    DecodedPayload::Schema(schema) => break schema,
                    DecodedPayload::None => continue,
                    DecodedPayload::RecordBatch(_) => {
                        return Err(ClientError::Protocol(
                            "the server sent rows before the schema".into(),
                        ));
                    }
                },
                Some(Err(error)) => return Err(error),
                None => {
                    return Err(ClientError::Protocol(
                        "the server ended the exchange without a schema".into(),
                    ));
                }
            }
        };
        let batches = decoded.filter_map(|data| async move {
            match data {
                Ok(data) => match data.payload {
                    DecodedPayload::RecordBatch(batch) => Some(Ok(batch)),
                    _ => None,
                },
                Err(error) => Some(Err(error)),
            }
        });
        Ok(QueryResult {
            schema,
            batches: Box::pin(batches),
        })
    }
}
