//! Puts the dataset together: each entity batch as sent, followed by the
//! features every group's join found for those rows.
//!
//! A join yields its rows in (record id, time) order, one per entity row.
//! Its output is gathered (counted against the query's memory limit: it
//! is as long as the entity table, which is held already, and never as
//! long as the feature history) and put back into entity order by row
//! number, batch by batch, with no sort.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::interleave;
use arrow::datatypes::{SchemaRef, UInt64Type};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{StreamExt, TryStreamExt};

/// One group's joined rows, gathered, with where each entity row's is.
pub struct JoinedRows {
    batches: Vec<RecordBatch>,
    /// For each entity row: (batch, row within it).
    positions: Vec<(usize, usize)>,
    _reservation: MemoryReservation,
}

impl JoinedRows {
    /// Reads a join's output to the end; `rows` is the entity table's
    /// length, and every row number in `0..rows` must come exactly once.
    pub async fn gather(
        mut stream: SendableRecordBatchStream,
        rows: usize,
        task: &Arc<TaskContext>,
    ) -> DfResult<Self> {
        let reservation = MemoryConsumer::new("dataset join output").register(task.memory_pool());
        let mut batches = Vec::new();
        let mut positions = vec![(usize::MAX, 0); rows];
        while let Some(batch) = stream.try_next().await? {
            reservation.try_grow(batch.get_array_memory_size())?;
            let index = batches.len();
            let numbers = batch.column(0).as_primitive::<UInt64Type>();
            for (offset, number) in numbers.values().iter().enumerate() {
                let slot = positions.get_mut(*number as usize).ok_or_else(|| {
                    DataFusionError::Internal(format!("a join yielded unknown row {number}"))
                })?;
                if slot.0 != usize::MAX {
                    return Err(DataFusionError::Internal(format!(
                        "a join yielded row {number} twice"
                    )));
                }
                *slot = (index, offset);
            }
            batches.push(batch);
        }
        if let Some(missing) = positions.iter().position(|p| p.0 == usize::MAX) {
            return Err(DataFusionError::Internal(format!(
                "a join yielded no row for entity row {missing}"
            )));
        }
        Ok(Self {
            batches,
            positions,
            _reservation: reservation,
        })
    }

    /// The feature columns of entity rows `first..first + rows`.
    fn columns(&self, first: usize, rows: usize) -> DfResult<Vec<ArrayRef>> {
        let picks = &self.positions[first..first + rows];
        let width = self.batches.first().map_or(0, RecordBatch::num_columns);
        (1..width)
            .map(|c| {
                let values: Vec<&dyn Array> =
                    self.batches.iter().map(|b| b.column(c).as_ref()).collect();
                Ok(interleave(&values, picks)?)
            })
            .collect()
    }
}

/// The dataset's batches: entity columns first, then each group's
/// features, under `schema`'s names.
pub fn zip(
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
