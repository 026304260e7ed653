//! Bulk ingest: Arrow Flight `DoPut` with a path descriptor naming a
//! feature group. Every row of every batch is a PutRecord, applied in
//! order; after each batch is durable the server answers with a
//! [`BatchResult`] (from `almanac-types`) as JSON in the `PutResult`'s `app_metadata`: the rows
//! written, and each failed row's index in the batch and the reason. The
//! valid rows of a batch are written even when others fail. Reasons are
//! cut to a bounded length, and an answer lists failed rows only up to a
//! byte budget (a quarter of the largest message); the rest are counted.

pub(crate) mod columns;

use std::collections::VecDeque;
use std::sync::Arc;

use almanac_online::{Engine, QueuedRows, StoreError};
use almanac_types::ingest::{BatchResult, FailedRow};
use almanac_types::{FeatureGroup, Value};
use arrow::array::RecordBatch;
use arrow_flight::PutResult;
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tonic::Status;

use crate::status::{bounded_message, error_code, internal, to_status};
use columns::ColumnMap;

/// Rows converted and handed to the writer at a time: small enough that
/// their memory is reused from chunk to chunk, large enough to amortise a
/// commit.
const CHUNK_ROWS: usize = 4_096;

/// Chunks queued at the writer while the next one is converted.
const CHUNKS_IN_FLIGHT: usize = 2;

/// Ingests `batches` into `group`, sending one result per batch to
/// `results`. Stops at the first stream-level error (a column that is no
/// feature, invalid Arrow), which it sends as a status.
pub(crate) async fn ingest(
    engine: Arc<Engine>,
    group: Arc<FeatureGroup>,
    batches: impl Stream<Item = Result<RecordBatch, Status>>,
    results: mpsc::Sender<Result<PutResult, Status>>,
    max_message_bytes: usize,
) {
    let budget = max_message_bytes / 4;
    let outcome = ingest_batches(&engine, group, batches, &results, budget).await;
    if let Err(status) = outcome {
        let _ = results.send(Err(status)).await;
    }
}

async fn ingest_batches(
    engine: &Engine,
    group: Arc<FeatureGroup>,
    batches: impl Stream<Item = Result<RecordBatch, Status>>,
    results: &mpsc::Sender<Result<PutResult, Status>>,
    failure_budget: usize,
) -> Result<(), Status> {
    let mut batches = std::pin::pin!(batches);
    let mut map: Option<ColumnMap> = None;
    let mut sequence = 0u64;
    while let Some(batch) = batches.next().await {
        let batch = batch?;
        let map = match &mut map {
            Some(map) if map.fits(&batch.schema()) => map,
            _ => map.insert(
                ColumnMap::new(Arc::clone(&group), &batch.schema())
                    .map_err(Status::invalid_argument)?,
            ),
        };
        let result = write_batch(engine, map, &batch, sequence, failure_budget).await?;
        sequence += 1;
        let app_metadata =
            serde_json::to_vec(&result).map_err(internal("encoding a batch result"))?;
        let reply = PutResult {
            app_metadata: app_metadata.into(),
        };
        if results.send(Ok(reply)).await.is_err() {
            // The client went away; what was written stays written.
            return Ok(());
        }
    }
    Ok(())
}

/// Converts and writes one batch, chunk by chunk, converting the next
/// chunk while the writer commits the ones before; returns the batch's
/// result once all of it is durable.
async fn write_batch(
    engine: &Engine,
    map: &ColumnMap,
    batch: &RecordBatch,
    sequence: u64,
    failure_budget: usize,
) -> Result<BatchResult, Status> {
    let mut result = BatchResult {
        batch: sequence,
        rows: batch.num_rows(),
        ..BatchResult::default()
    };
    let mut failures = Failures::new(failure_budget);
    let mut queued: VecDeque<(Vec<usize>, QueuedRows)> = VecDeque::new();
    for offset in (0..batch.num_rows()).step_by(CHUNK_ROWS) {
        let chunk = batch.slice(offset, CHUNK_ROWS.min(batch.num_rows() - offset));
        let mut rows: Vec<Vec<Value>> = Vec::with_capacity(chunk.num_rows());
        let mut positions: Vec<usize> = Vec::with_capacity(chunk.num_rows());
        for (index, row) in map.rows(&chunk).into_iter().enumerate() {
            match row {
                Ok(values) => {
                    rows.push(values);
                    positions.push(offset + index);
                }
                Err(reason) => failures.add(offset + index, reason),
            }
        }
        let pending = engine
            .queue_rows(map.group(), rows)
            .await
            .map_err(to_status)?;
        queued.push_back((positions, pending));
        while queued.len() > CHUNKS_IN_FLIGHT {
            if let Some((positions, pending)) = queued.pop_front() {
                settle(&mut result, &mut failures, positions, pending).await?;
            }
        }
    }
    while let Some((positions, pending)) = queued.pop_front() {
        settle(&mut result, &mut failures, positions, pending).await?;
    }
    (result.failed_rows, result.failed_rows_unlisted) = failures.into_parts();
    Ok(result)
}

/// A batch's failed rows, listed with their reasons while the reasons fit
/// in a byte budget, counted once they do not.
struct Failures {
    listed: Vec<FailedRow>,
    unlisted: usize,
    budget: usize,
}

impl Failures {
    fn new(budget: usize) -> Self {
        Failures {
            listed: Vec::new(),
            unlisted: 0,
            budget,
        }
    }

    fn add(&mut self, index: usize, reason: String) {
        let reason = bounded_message(reason);
        // What the row costs in the JSON answer, at most: an escaped byte
        // takes up to six, and the index and field names about 40.
        let escaped = reason
            .bytes()
            .filter(|b| *b < 0x20 || *b == b'"' || *b == b'\\')
            .count();
        let cost = reason.len() + 5 * escaped + 40;
        if cost <= self.budget {
            self.budget -= cost;
            self.listed.push(FailedRow { index, reason });
        } else {
            self.budget = 0;
            self.unlisted += 1;
        }
    }

    /// The listed rows in batch order, and how many were not listed.
    fn into_parts(mut self) -> (Vec<FailedRow>, usize) {
        self.listed.sort_by_key(|row| row.index);
        (self.listed, self.unlisted)
    }
}

/// Waits for a queued chunk and counts its rows into `result`.
async fn settle(
    result: &mut BatchResult,
    failures: &mut Failures,
    positions: Vec<usize>,
    pending: QueuedRows,
) -> Result<(), Status> {
    let outcomes = pending.written().await.map_err(to_status)?;
    for (index, outcome) in positions.into_iter().zip(outcomes) {
        match outcome {
            Ok(()) => result.rows_written += 1,
            // A row the store refuses fails alone.
            Err(error @ (StoreError::Invalid(_) | StoreError::OverLimit(_))) => {
                failures.add(index, error_code(error).1)
            }
            // Anything else (the group deleted meanwhile, storage, shutdown)
            // is no fault of the row: the stream ends with it, and the
            // client knows that retrying may help.
            Err(error) => return Err(to_status(error)),
        }
    }
    Ok(())
}
