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

use arrow::array::{AsArray, RecordBatch, UInt32Array};
use arrow::datatypes::{DataType, SchemaRef};
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
    /// Rows not written beyond those in `failed_rows`: a batch's answer
    /// lists failed rows only up to a byte budget, and counts the rest.
    pub failed_rows_unlisted: usize,
}

impl IngestSummary {
    /// Adds a batch's answer whose first row is row `offset` of the call.
    fn add(&mut self, offset: usize, result: BatchResult) {
        self.rows += result.rows;
        self.rows_written += result.rows_written;
        self.failed_rows_unlisted += result.failed_rows_unlisted;
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
                    ClientError::Protocol(format!("the server's batch result is not valid: {e}"))
                })?;
            summary.add(summary.rows, result);
        }
        // Every row sent must have been answered for; a stream that ends
        // early has not written the rest.
        let sent = sent.rows.load(Ordering::Relaxed);
        if summary.rows != sent {
            return Err(ClientError::IngestIncomplete {
                group: group.to_owned(),
                answered: summary.rows,
                sent,
            });
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

/// The rows of a batch that go to one of several parallel ingest streams.
#[derive(Debug, Clone)]
pub struct StreamPart {
    /// Which stream, from 0.
    pub stream: usize,
    /// The rows, in their order in the batch they came from.
    pub batch: RecordBatch,
    /// Each row's position in the batch it came from.
    pub rows: Vec<usize>,
}

/// Splits `batch` over `streams` parallel ingest streams by a hash of the
/// record identifier (its text form), so that every row of one identifier
/// goes to the same stream, in batch order: of two rows with the same
/// identifier and event time the later one still wins, as in one stream.
/// The hash (FNV-1a) depends only on the identifier, so a file split
/// batch by batch keeps each identifier on one stream throughout. Without
/// the identifier column (which the server refuses anyway) the whole batch
/// goes to stream 0. Streams that get no row are left out.
pub fn split_by_record(
    batch: &RecordBatch,
    id_column: &str,
    streams: usize,
) -> Result<Vec<StreamPart>, ClientError> {
    let Some(ids) = batch.column_by_name(id_column).filter(|_| streams > 1) else {
        return Ok(vec![StreamPart {
            stream: 0,
            batch: batch.clone(),
            rows: (0..batch.num_rows()).collect(),
        }]);
    };
    let ids = arrow::compute::cast(ids, &DataType::Utf8)?;
    let mut rows: Vec<Vec<u32>> = vec![Vec::new(); streams];
    for (row, id) in ids.as_string::<i32>().iter().enumerate() {
        let hash = id.map_or(0, |id| fnv1a(id.as_bytes()));
        rows[(hash % streams as u64) as usize].push(row as u32);
    }
    let mut parts = Vec::new();
    for (stream, rows) in rows.into_iter().enumerate() {
        if rows.is_empty() {
            continue;
        }
        let indices = UInt32Array::from(rows);
        parts.push(StreamPart {
            stream,
            batch: arrow::compute::take_record_batch(batch, &indices)?,
            rows: indices.values().iter().map(|&row| row as usize).collect(),
        });
    }
    Ok(parts)
}

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};

    #[test]
    fn rows_of_one_record_stay_together_and_in_order() {
        let ids = ["a", "b", "c", "a", "d", "b", "a"];
        let batch = RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(StringArray::from(ids.to_vec())) as arrow::array::ArrayRef,
            ),
            ("n", Arc::new(Int64Array::from_iter_values(0..7))),
        ])
        .unwrap();
        let parts = split_by_record(&batch, "id", 3).unwrap();
        let mut seen: Vec<usize> = parts.iter().flat_map(|p| p.rows.clone()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..7).collect::<Vec<_>>());
        for part in &parts {
            assert!(part.rows.is_sorted(), "{:?}", part.rows);
            assert_eq!(part.batch.num_rows(), part.rows.len());
            let n = part
                .batch
                .column(1)
                .as_primitive::<arrow::datatypes::Int64Type>();
            assert_eq!(
                n.values().iter().map(|&v| v as usize).collect::<Vec<_>>(),
                part.rows
            );
        }
        for id in ["a", "b"] {
            let holding: Vec<usize> = parts
                .iter()
                .filter(|p| {
                    p.batch
                        .column(0)
                        .as_string::<i32>()
                        .iter()
                        .any(|v| v == Some(id))
                })
                .map(|p| p.stream)
                .collect();
            assert_eq!(holding.len(), 1, "{id} in streams {holding:?}");
        }
        // One stream, or no identifier column: the batch as it is.
        for (column, streams) in [("id", 1), ("missing", 3)] {
            let parts = split_by_record(&batch, column, streams).unwrap();
            assert_eq!(parts.len(), 1);
            assert_eq!(parts[0].rows, (0..7).collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_hash_is_fnv1a() {
        // Reference values of 64-bit FNV-1a.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
