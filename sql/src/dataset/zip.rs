//! Puts the dataset together: each entity batch as sent, followed by the
//! features every group's join produced for those rows. Each join yields
//! exactly one row per entity row, in entity-row order, so the streams are
//! read side by side; nothing is buffered beyond one entity batch.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch};
use arrow::compute::concat;
use arrow::datatypes::{SchemaRef, UInt64Type};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{StreamExt, TryStreamExt};

/// One group's joined rows, read a given number of rows at a time.
struct JoinedRows {
    stream: SendableRecordBatchStream,
    /// What is left of the last batch read.
    rest: Option<RecordBatch>,
}

impl JoinedRows {
    /// The next `rows` rows, which must be entity rows `first..first+rows`;
    /// the row-number column is checked and dropped.
    async fn take(&mut self, first: u64, rows: usize) -> DfResult<Vec<ArrayRef>> {
        let mut parts: Vec<RecordBatch> = Vec::new();
        let mut missing = rows;
        while missing > 0 {
            let batch = match self.rest.take() {
                Some(batch) => batch,
                None => self.stream.try_next().await?.ok_or_else(|| {
                    DataFusionError::Internal(format!(
                        "a group's join ended {missing} rows before the entity table"
                    ))
                })?,
            };
            if batch.num_rows() > missing {
                self.rest = Some(batch.slice(missing, batch.num_rows() - missing));
                parts.push(batch.slice(0, missing));
                missing = 0;
            } else {
                missing -= batch.num_rows();
                parts.push(batch);
            }
        }
        let mut expected = first;
        for part in &parts {
            let numbers = part.column(0).as_primitive::<UInt64Type>();
            let n = numbers.len() as u64;
            if n > 0
                && (numbers.value(0) != expected
                    || numbers.value(n as usize - 1) != expected + n - 1)
            {
                return Err(DataFusionError::Internal(format!(
                    "a group's join lost the entity row order near row {expected}"
                )));
            }
            expected += n;
        }
        let columns = parts.first().map_or(0, RecordBatch::num_columns);
        (1..columns)
            .map(|c| {
                let arrays: Vec<&dyn arrow::array::Array> =
                    parts.iter().map(|p| p.column(c).as_ref()).collect();
                if arrays.len() == 1 {
                    Ok(Arc::clone(parts[0].column(c)))
                } else {
                    Ok(concat(&arrays)?)
                }
            })
            .collect()
    }
}

/// The dataset's batches: entity columns first, then each group's
/// features, under `schema`'s names.
pub fn zip(
    schema: SchemaRef,
    entity_batches: Vec<RecordBatch>,
    joins: Vec<SendableRecordBatchStream>,
) -> SendableRecordBatchStream {
    let joined: Vec<JoinedRows> = joins
        .into_iter()
        .map(|stream| JoinedRows { stream, rest: None })
        .collect();
    let state = (
        entity_batches.into_iter(),
        joined,
        0u64,
        Arc::clone(&schema),
    );
    let stream = futures::stream::try_unfold(
        state,
        |(mut batches, mut joined, first, schema)| async move {
            let Some(batch) = batches.by_ref().find(|b| b.num_rows() > 0) else {
                return Ok(None);
            };
            let rows = batch.num_rows();
            let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
            for group in &mut joined {
                columns.extend(group.take(first, rows).await?);
            }
            let output = RecordBatch::try_new(Arc::clone(&schema), columns)?;
            Ok(Some((
                output,
                (batches, joined, first + rows as u64, schema),
            )))
        },
    );
    Box::pin(RecordBatchStreamAdapter::new(schema, stream.boxed()))
}
