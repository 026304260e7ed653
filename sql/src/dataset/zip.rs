//! Puts the dataset together: each entity batch as sent, followed by the
//! features every group's join found for those rows.
//!
//! A join yields its rows in (record id, time) order, one per entity row.
//! Its output is gathered (counted against the query's memory limit: it
//! is as long as the entity table, which is held already, and never as
//! long as the feature history) and put back into entity order by row
//! number, batch by batch, with no sort: one `take` per column.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{concat_batches, take};
use arrow::datatypes::{SchemaRef, UInt64Type};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{StreamExt, TryStreamExt};

/// One group's joined rows, gathered into one batch, with where each
/// entity row's is.
pub(crate) struct JoinedRows {
    joined: RecordBatch,
    /// For each entity row, its row in `joined`.
    positions: Vec<u32>,
    _reservation: MemoryReservation,
}

impl JoinedRows {
    /// Reads a join's output to the end; `rows` is the entity table's
    /// length, and every row number in `0..rows` must come exactly once.
    pub(crate) async fn gather(
        mut stream: SendableRecordBatchStream,
        rows: usize,
        task: &Arc<TaskContext>,
    ) -> DfResult<Self> {
        let schema = stream.schema();
        let reservation = MemoryConsumer::new("dataset join output").register(task.memory_pool());
        let mut batches = Vec::new();
        let mut positions = vec![u32::MAX; rows];
        let mut gathered = 0u32;
        while let Some(batch) = stream.try_next().await? {
            // Twice: the batches, then the one batch they are joined into.
            reservation.try_grow(2 * batch.get_array_memory_size())?;
            let numbers = batch.column(0).as_primitive::<UInt64Type>();
            for number in numbers.values().iter() {
                let slot = positions.get_mut(*number as usize).ok_or_else(|| {
                    DataFusionError::Internal(format!("a join yielded unknown row {number}"))
                })?;
                if *slot != u32::MAX {
                    return Err(DataFusionError::Internal(format!(
                        "a join yielded row {number} twice"
                    )));
                }
                *slot = gathered;
                gathered += 1;
            }
            batches.push(batch);
        }
        if let Some(missing) = positions.iter().position(|p| *p == u32::MAX) {
            return Err(DataFusionError::Internal(format!(
                "a join yielded no row for entity row {missing}"
            )));
        }
        let joined = concat_batches(&schema, &batches)?;
        Ok(Self {
            joined,
            positions,
            _reservation: reservation,
        })
    }

    /// The feature columns of entity rows `first..first + rows`.
    fn columns(&self, first: usize, rows: usize) -> DfResult<Vec<ArrayRef>> {
        let indices = UInt32Array::from(self.positions[first..first + rows].to_vec());
        (1..self.joined.num_columns())
            .map(|c| Ok(take(self.joined.column(c).as_ref(), &indices, None)?))
            .collect()
    }
}

/// The dataset's batches: entity columns first, then each group's
/// features, under `schema`'s names.
pub(crate) fn zip(
    schema: SchemaRef,
    entity_batches: Vec<RecordBatch>,
    joined: Vec<JoinedRows>,
) -> SendableRecordBatchStream {
    let mut first = 0;
    let mut batches = Vec::with_capacity(entity_batches.len());
    for batch in entity_batches.into_iter().filter(|b| b.num_rows() > 0) {
        batches.push((first, batch));
        first += batches.last().map_or(0, |(_, b)| b.num_rows());
    }
    let joined = Arc::new(joined);
    let output_schema = Arc::clone(&schema);
    let stream = futures::stream::iter(batches).map(move |(first, batch)| {
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for group in joined.iter() {
            columns.extend(group.columns(first, batch.num_rows())?);
        }
        Ok(RecordBatch::try_new(Arc::clone(&output_schema), columns)?)
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, stream.boxed()))
}
