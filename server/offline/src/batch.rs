//! Offline-log entries as Arrow record batches in the offline table schema.

use std::sync::Arc;

use almanac_online::OfflineLogEntry;
use almanac_types::{CollectionType, FeatureGroup, FeatureType, Value};
use arrow::array::{
    ArrayRef, BooleanBuilder, FixedSizeListBuilder, Float64Builder, Int64Builder, ListBuilder,
    RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field};
use arrow::error::ArrowError;

use crate::schema::table_schema_of_width;

/// Builds the rows of `entries` (all of `group`) in the group's current
/// schema. Entries written under an older schema have nulls for the
/// features added since.
pub fn entries_to_batch<'a>(
    group: &FeatureGroup,
    entries: impl ExactSizeIterator<Item = &'a OfflineLogEntry> + Clone,
) -> Result<RecordBatch, ArrowError> {
    entries_to_batch_of_width(group, group.features.len(), entries)
}

/// The number of features the widest of `entries` was written with: the
/// features a file of them needs. It depends only on the entries, so a
/// flush redone after the group gained features writes the same file.
pub(crate) fn entries_width<'a>(entries: impl Iterator<Item = &'a OfflineLogEntry>) -> usize {
    entries.map(|e| e.record.values.len()).max().unwrap_or(0)
}

/// Builds the rows of `entries` with the group's first `width` features.
pub(crate) fn entries_to_batch_of_width<'a>(
    group: &FeatureGroup,
    width: usize,
    entries: impl ExactSizeIterator<Item = &'a OfflineLogEntry> + Clone,
) -> Result<RecordBatch, ArrowError> {
    let width = width
        .max(group.record_identifier_index() + 1)
        .max(group.event_time_index() + 1)
        .min(group.features.len());
    let schema = table_schema_of_width(group, width);
    let rows = entries.len();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (index, definition) in group.features.iter().enumerate().take(width) {
        let mut column = ColumnBuilder::new(group, index, rows);
        for entry in entries.clone() {
            if definition.name == group.event_time {
                column.append_timestamp(entry.record.event_time_micros);
            } else {
                column.append(entry.record.values.get(index).unwrap_or(&Value::Null));
            }
        }
        columns.push(column.finish(schema.field(index).data_type()));
    }
    let mut write_time = TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC");
    let mut api_time = TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC");
    let mut deleted = BooleanBuilder::with_capacity(rows);
    for entry in entries {
        write_time.append_value(entry.write_micros);
        api_time.append_value(entry.api_invocation_micros);
        deleted.append_value(entry.is_deleted);
    }
    columns.push(Arc::new(write_time.finish()));
    columns.push(Arc::new(api_time.finish()));
    columns.push(Arc::new(deleted.finish()));
    RecordBatch::try_new(schema, columns)
}

/// One column under construction.
enum ColumnBuilder {
    Timestamp(TimestampMicrosecondBuilder),
    Integral(Int64Builder),
    Fractional(Float64Builder),
    String(StringBuilder),
    IntegralList(ListBuilder<Int64Builder>),
    FractionalList(ListBuilder<Float64Builder>),
    StringList(ListBuilder<StringBuilder>),
    Vector(FixedSizeListBuilder<Float64Builder>, usize),
}

impl ColumnBuilder {
    fn new(group: &FeatureGroup, index: usize, rows: usize) -> Self {
        let definition = &group.features[index];
        if definition.name == group.event_time {
            return Self::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"),
            );
        }
        let item = |data_type| Arc::new(Field::new("item", data_type, true));
        match (definition.collection, definition.feature_type) {
            (CollectionType::None, FeatureType::Integral) => {
                Self::Integral(Int64Builder::with_capacity(rows))
            }
            (CollectionType::None, FeatureType::Fractional) => {
                Self::Fractional(Float64Builder::with_capacity(rows))
            }
            (CollectionType::None, FeatureType::String) => {
                Self::String(StringBuilder::with_capacity(rows, rows * 16))
            }
            (CollectionType::Vector { dimension }, _) => Self::Vector(
                FixedSizeListBuilder::with_capacity(Float64Builder::new(), dimension as i32, rows)
                    .with_field(item(DataType::Float64)),
                dimension as usize,
            ),
            (_, FeatureType::Integral) => Self::IntegralList(
                ListBuilder::new(Int64Builder::new()).with_field(item(DataType::Int64)),
            ),
            (_, FeatureType::Fractional) => Self::FractionalList(
                ListBuilder::new(Float64Builder::new()).with_field(item(DataType::Float64)),
            ),
            (_, FeatureType::String) => Self::StringList(
                ListBuilder::new(StringBuilder::new()).with_field(item(DataType::Utf8)),
            ),
        }
    }

    fn append_timestamp(&mut self, micros: i64) {
        if let Self::Timestamp(builder) = self {
            builder.append_value(micros);
        }
    }

    /// Appends `value`; a value of another shape than the column's (which
    /// validation rules out) is stored as null rather than failing a flush.
    fn append(&mut self, value: &Value) {
        match (self, value) {
            (Self::Integral(b), Value::Integral(v)) => b.append_value(*v),
            (Self::Fractional(b), Value::Fractional(v)) => b.append_value(*v),
            (Self::String(b), Value::String(v)) => b.append_value(v),
            (Self::IntegralList(b), Value::IntegralList(v)) => {
                b.values().append_slice(v);
                b.append(true);
            }
            (Self::FractionalList(b), Value::FractionalList(v)) => {
                b.values().append_slice(v);
                b.append(true);
            }
            (Self::StringList(b), Value::StringList(v)) => {
                for item in v {
                    b.values().append_value(item);
                }
                b.append(true);
            }
            (Self::Vector(b, dimension), Value::FractionalList(v)) if v.len() == *dimension => {
                b.values().append_slice(v);
                b.append(true);
            }
            (column, _) => column.append_null(),
        }
    }

    fn append_null(&mut self) {
        match self {
            Self::Timestamp(b) => b.append_null(),
            Self::Integral(b) => b.append_null(),
            Self::Fractional(b) => b.append_null(),
            Self::String(b) => b.append_null(),
            Self::IntegralList(b) => b.append(false),
            Self::FractionalList(b) => b.append(false),
            Self::StringList(b) => b.append(false),
            Self::Vector(b, dimension) => {
                b.values().append_nulls(*dimension);
                b.append(false);
            }
        }
    }

    fn finish(self, data_type: &DataType) -> ArrayRef {
        let array: ArrayRef = match self {
            Self::Timestamp(mut b) => Arc::new(b.finish()),
            Self::Integral(mut b) => Arc::new(b.finish()),
            Self::Fractional(mut b) => Arc::new(b.finish()),
            Self::String(mut b) => Arc::new(b.finish()),
            Self::IntegralList(mut b) => Arc::new(b.finish()),
            Self::FractionalList(mut b) => Arc::new(b.finish()),
            Self::StringList(mut b) => Arc::new(b.finish()),
            Self::Vector(mut b, _) => Arc::new(b.finish()),
        };
        debug_assert_eq!(array.data_type(), data_type);
        array
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{review_entry, reviews_group};
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Int64Type, TimestampMicrosecondType};

    #[test]
    fn builds_every_type_and_pads_old_schemas() {
        let group = reviews_group(0);
        let full = review_entry(
            "r1",
            5,
            9,
            vec![
                Value::String("r1".into()),
                Value::String("ignored: the event time comes from the record".into()),
                Value::Integral(4),
                Value::Fractional(0.5),
                Value::StringList(vec!["a".into(), "b".into()]),
                Value::FractionalList(vec![1.0, 2.0]),
            ],
        );
        let short = review_entry("r2", 6, 10, vec![Value::String("r2".into())]);
        let batch = entries_to_batch(&group, [&full, &short].into_iter()).unwrap();
        assert_eq!(batch.num_rows(), 2);
        let times = batch.column(1).as_primitive::<TimestampMicrosecondType>();
        assert_eq!((times.value(0), times.value(1)), (5, 6));
        let stars = batch.column(2).as_primitive::<Int64Type>();
        assert_eq!(stars.value(0), 4);
        assert!(stars.is_null(1));
        assert_eq!(batch.column(4).as_list::<i32>().value(0).len(), 2);
        assert!(batch.column(5).is_null(1));
        assert_eq!(batch.column(5).as_fixed_size_list().value(0).len(), 2);
    }
}
