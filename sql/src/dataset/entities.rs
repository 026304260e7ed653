//! The entity table as the join reads it: every batch checked and given a
//! row number, its event time in UTC microseconds and, per selected group,
//! its record ids cast to the group's record-id type. Bad values are
//! refused here, naming the row and the column.

use std::sync::Arc;

use almanac_types::time::epoch_seconds_to_micros;
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, TimestampMicrosecondArray, UInt64Array};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::error::{Result, SqlError};

/// Name of the row-number column of the key batches.
pub(crate) const ROW: &str = "__almanac_row";
/// Name of the event-time column of the key batches.
pub(crate) const TIME: &str = "__almanac_time";

/// The record-id column of the key batches for the `index`-th group.
pub(crate) fn id_column(index: usize) -> String {
    format!("__almanac_id_{index}")
}

/// An entity table as sent: its schema and batches.
#[derive(Debug, Clone)]
pub struct EntityTable {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl EntityTable {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// What each selected group joins on: the entity column and the type its
/// values are cast to.
#[derive(Debug, Clone)]
pub(crate) struct IdColumn {
    pub column: usize,
    pub group: String,
    pub data_type: DataType,
}

/// The entity table with, per batch, its key batch: row number, event time
/// and one record-id column per group.
#[derive(Debug)]
pub(crate) struct KeyedEntities {
    pub keys: Vec<RecordBatch>,
    pub key_schema: SchemaRef,
    /// Earliest and latest entity time; `None` for an empty table.
    pub time_range: Option<(i64, i64)>,
}

/// Checks the entity table and builds its key batches.
pub(crate) fn key_entities(
    table: &EntityTable,
    time_column: usize,
    ids: &[IdColumn],
) -> Result<KeyedEntities> {
    let mut fields = vec![
        Field::new(ROW, DataType::UInt64, false),
        Field::new(
            TIME,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ];
    for (index, id) in ids.iter().enumerate() {
        fields.push(Field::new(id_column(index), id.data_type.clone(), true));
    }
    let key_schema = Arc::new(Schema::new(fields));
    let time_name = table.schema.field(time_column).name().clone();
    let mut keys = Vec::with_capacity(table.batches.len());
    let mut offset = 0u64;
    let mut time_range: Option<(i64, i64)> = None;
    for batch in &table.batches {
        let rows = batch.num_rows();
        let row_numbers: ArrayRef =
            Arc::new(UInt64Array::from_iter_values(offset..offset + rows as u64));
        let times = event_micros(batch.column(time_column), &time_name, offset)?;
        for time in times.values().iter().copied() {
            time_range = Some(match time_range {
                None => (time, time),
                Some((low, high)) => (low.min(time), high.max(time)),
            });
        }
        let mut columns: Vec<ArrayRef> = vec![row_numbers, Arc::new(times)];
        for id in ids {
            let name = table.schema.field(id.column).name();
            columns.push(record_ids(batch.column(id.column), name, id, offset)?);
        }
        keys.push(RecordBatch::try_new(Arc::clone(&key_schema), columns)?);
        offset += rows as u64;
    }
    Ok(KeyedEntities {
        keys,
        key_schema,
        time_range,
    })
}

/// The event-time column in UTC microseconds. Timestamps of any unit (a
/// zone-less one read as UTC), dates, ISO-8601 strings and epoch seconds
/// are accepted; a null or unreadable time is an error naming the row.
fn event_micros(array: &ArrayRef, column: &str, offset: u64) -> Result<TimestampMicrosecondArray> {
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let converted: ArrayRef = match array.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            cast_with_options(array, &utc, &CastOptions::default())?
        }
        // Scaled by hand: checked, and rounded down (never later) for
        // nanoseconds before 1970.
        DataType::Timestamp(unit, _) => {
            let unit = *unit;
            scale_to_micros(array, column, offset, move |v| match unit {
                TimeUnit::Second => v.checked_mul(1_000_000),
                TimeUnit::Millisecond => v.checked_mul(1_000),
                TimeUnit::Microsecond => Some(v),
                TimeUnit::Nanosecond => Some(v.div_euclid(1_000)),
            })?
        }
        DataType::Date32 => scale_to_micros(array, column, offset, |days| {
            days.checked_mul(86_400_000_000)
        })?,
        DataType::Date64 => scale_to_micros(array, column, offset, |ms| ms.checked_mul(1_000))?,
        DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => {
            let seconds = cast_with_options(array, &DataType::Float64, &CastOptions::default())?;
            let seconds = seconds.as_primitive::<arrow::datatypes::Float64Type>();
            let mut micros = Vec::with_capacity(seconds.len());
            for (row, value) in seconds.iter().enumerate() {
                micros.push(
                    value
                        .map(|s| {
                            epoch_seconds_to_micros(s).map_err(|e| {
                                SqlError::Invalid(format!(
                                    "entity row {}: column '{column}': {e}",
                                    offset + row as u64
                                ))
                            })
                        })
                        .transpose()?,
                );
            }
            Arc::new(TimestampMicrosecondArray::from(micros).with_timezone("UTC"))
        }
        other => {
            return Err(SqlError::Invalid(format!(
                "the entity event-time column '{column}' holds {other}; it must hold \
                 timestamps, ISO-8601 strings or epoch seconds"
            )));
        }
    };
    if let Some(row) = first_lost(array, &converted) {
        return Err(SqlError::Invalid(format!(
            "entity row {}: '{}' in column '{column}' is not a time (write ISO-8601 UTC, \
             e.g. 2026-01-31T12:00:00Z)",
            offset + row as u64,
            value_text(array, row)
        )));
    }
    if let Some(row) = (0..array.len()).find(|&row| array.is_null(row)) {
        return Err(SqlError::Invalid(format!(
            "entity row {}: the event time in column '{column}' is null",
            offset + row as u64
        )));
    }
    Ok(converted.as_primitive().clone())
}

/// A time column's raw integers (epoch units, or days) converted to UTC
/// microseconds by `scale`; a value out of range is an error naming its row.
fn scale_to_micros(
    array: &ArrayRef,
    column: &str,
    offset: u64,
    scale: impl Fn(i64) -> Option<i64>,
) -> Result<ArrayRef> {
    let raw = cast_with_options(array, &DataType::Int64, &CastOptions::default())?;
    let raw = raw.as_primitive::<Int64Type>();
    let mut micros = Vec::with_capacity(raw.len());
    for (row, value) in raw.iter().enumerate() {
        micros.push(
            value
                .map(|v| {
                    scale(v).ok_or_else(|| {
                        SqlError::Invalid(format!(
                            "entity row {}: the time in column '{column}' is out of range",
                            offset + row as u64
                        ))
                    })
                })
                .transpose()?,
        );
    }
    Ok(Arc::new(
        TimestampMicrosecondArray::from(micros).with_timezone("UTC"),
    ))
}

/// The entity column cast to the group's record-id type. A null id joins
/// nothing; a value that is not an id of that type is an error.
fn record_ids(array: &ArrayRef, column: &str, id: &IdColumn, offset: u64) -> Result<ArrayRef> {
    if array.data_type() == &id.data_type {
        return Ok(Arc::clone(array));
    }
    let accepted = match (&id.data_type, array.data_type()) {
        (DataType::Int64, from) => from.is_integer() || is_text(from),
        (DataType::Utf8, from) => from.is_integer() || is_text(from),
        _ => false,
    };
    if !accepted {
        return Err(SqlError::Invalid(format!(
            "entity column '{column}' holds {}, which cannot hold record ids of group '{}' \
             ({})",
            array.data_type(),
            id.group,
            id.data_type
        )));
    }
    let cast = cast_with_options(array, &id.data_type, &CastOptions::default())?;
    if let Some(row) = first_lost(array, &cast) {
        return Err(SqlError::Invalid(format!(
            "entity row {}: '{}' in column '{column}' is not a record id of group '{}' ({})",
            offset + row as u64,
            value_text(array, row),
            id.group,
            id.data_type
        )));
    }
    Ok(cast)
}

fn is_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// The first row a lenient cast turned from a value into null.
fn first_lost(before: &ArrayRef, after: &ArrayRef) -> Option<usize> {
    if after.null_count() == before.null_count() {
        return None;
    }
    (0..before.len()).find(|&row| before.is_valid(row) && after.is_null(row))
}

fn value_text(array: &ArrayRef, row: usize) -> String {
    ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())
        .map(|f| f.value(row).to_string())
        .unwrap_or_default()
}
