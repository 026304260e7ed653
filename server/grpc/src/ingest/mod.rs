//! Bulk ingest: Arrow Flight `DoPut` with a path descriptor naming a
//! feature group. Every row of every batch is a PutRecord, applied in
//! order; after each batch is durable the server answers with a
//! [`BatchResult`] (from `almanac-types`) as JSON in the `PutResult`'s `app_metadata`: the rows
//! written, and each failed row's index in the batch and the reason. The
//! valid rows of a batch are written even when others fail.

pub mod columns;

use std::sync::Arc;

use almanac_online::Engine;
use almanac_types::ingest::{BatchResult, FailedRow};
use almanac_types::{FeatureGroup, Value};
use arrow::array::RecordBatch;
use arrow_flight::PutResult;
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tonic::Status;

use crate::status::{error_code, to_status};
use columns::ColumnMap;

/// Rows handed to the writer per call. Smaller calls let the next rows be
/// converted while the writer commits; larger ones amortise the commit.
const WRITE_CHUNK_ROWS: usize = 16_384;

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
            Some(map) => map,
            None => map.insert(
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

/// Converts and writes one batch; returns its result once it is durable.
async fn write_batch(
    engine: &Engine,
    map: &ColumnMap,
    batch: &RecordBatch,
    sequence: u64,
) -> Result<BatchResult, Status> {
    let mut failed_rows = Vec::new();
    let mut rows_written = 0;
    let mut pending: Vec<Vec<Value>> = Vec::new();
    let mut positions: Vec<usize> = Vec::new();
    let converted = map.rows(batch);
    let total = converted.len();
    for (index, row) in converted.into_iter().enumerate() {
        match row {
            Ok(values) => {
                pending.push(values);
                positions.push(index);
            }
            Err(reason) => failed_rows.push(FailedRow { index, reason }),
        }
        if pending.len() == WRITE_CHUNK_ROWS || (index + 1 == total && !pending.is_empty()) {
            let outcomes = engine
                .put_rows(map.group(), std::mem::take(&mut pending))
                .await
                .map_err(to_status)?;
            for (index, outcome) in positions.drain(..).zip(outcomes) {
                match outcome {
                    Ok(()) => rows_written += 1,
                    Err(error) => failed_rows.push(FailedRow {
                        index,
                        reason: error_code(error).1,
                    }),
                }
            }
        }
    }
    failed_rows.sort_by_key(|row| row.index);
    Ok(BatchResult {
        batch: sequence,
        rows: total,
        rows_written,
        failed_rows,
    })
}
