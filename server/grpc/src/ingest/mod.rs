//! Bulk ingest: Arrow Flight `DoPut` with a path descriptor naming a
//! feature group. Every row of every batch is a PutRecord, applied in
//! order; after each batch is durable the server answers with a
//! [`BatchResult`] (from `almanac-types`) as JSON in the `PutResult`'s `app_metadata`: the rows
//! written, and each failed row's index in the batch and the reason. The
//! valid rows of a batch are written even when others fail.

pub mod columns;

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

use crate::status::{error_code, to_status};
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
pub async fn ingest(
    engine: Arc<Engine>,
    group: Arc<FeatureGroup>,
    batches: impl Stream<Item = Result<RecordBatch, Status>>,
    results: mpsc::Sender<Result<PutResult, Status>>,
) {
    let outcome = ingest_batches(&engine, group, batches, &results).await;
    if let Err(status) = outcome {
        let _ = results.send(Err(status)).await;
    }
}

async fn ingest_batches(
    engine: &Engine,
    group: Arc<FeatureGroup>,
    batches: impl Stream<Item = Result<RecordBatch, Status>>,
    results: &mpsc::Sender<Result<PutResult, Status>>,
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
        let result = write_batch(engine, map, &batch, sequence).await?;
        sequence += 1;
        let app_metadata = serde_json::to_vec(&result)
            .map_err(|e| Status::internal(format!("encoding a batch result: {e}")))?;
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
) -> Result<BatchResult, Status> {
    let mut result = BatchResult {
        batch: sequence,
        rows: batch.num_rows(),
        ..BatchResult::default()
    };
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
                Err(reason) => result.failed_rows.push(FailedRow {
                    index: offset + index,
                    reason,
                }),
            }
        }
        let pending = engine
            .queue_rows(map.group(), rows)
            .await
            .map_err(to_status)?;
        queued.push_back((positions, pending));
        while queued.len() > CHUNKS_IN_FLIGHT {
            if let Some((positions, pending)) = queued.pop_front() {
                settle(&mut result, positions, pending).await?;
            }
        }
    }
    while let Some((positions, pending)) = queued.pop_front() {
        settle(&mut result, positions, pending).await?;
    }
    result.failed_rows.sort_by_key(|row| row.index);
    Ok(result)
}

/// Waits for a queued chunk and counts its rows into `result`.
async fn settle(
    result: &mut BatchResult,
    positions: Vec<usize>,
    pending: QueuedRows,
) -> Result<(), Status> {
    let outcomes = pending.written().await.map_err(to_status)?;
    for (index, outcome) in positions.into_iter().zip(outcomes) {
        match outcome {
            Ok(()) => result.rows_written += 1,
            // A row the store refuses fails alone.
            Err(error @ (StoreError::Invalid(_) | StoreError::OverLimit(_))) => {
                result.failed_rows.push(FailedRow {
                    index,
                    reason: error_code(error).1,
                })
            }
            // Anything else (the group deleted meanwhile, storage, shutdown)
            // is no fault of the row: the stream ends with it, and the
            // client knows that retrying may help.
            Err(error) => return Err(to_status(error)),
        }
    }
    Ok(())
}
