//! Arrow columns -> feature values, each cast to its feature's declared
//! type: integers widen, floats and decimals become Fractional (or Integral
//! when whole), timestamps and dates become ISO-8601 text for a String
//! feature and epoch seconds for a Fractional one, text is parsed by the
//! feature's type (collections as JSON arrays), and list columns become
//! collections.

use std::sync::Arc;

use almanac_types::time::{epoch_seconds_to_micros, format_iso8601, parse_iso8601};
use almanac_types::validate::convert;
use almanac_types::{
    CollectionType, FeatureDefinition, FeatureGroup, FeatureType, InputValue, Value,
};
use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Field, Float64Type, Int64Type, SchemaRef, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt64Type,
};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Where each column of an ingest stream goes in the group.
#[derive(Debug)]
pub(crate) struct ColumnMap {
    group: Arc<FeatureGroup>,
    /// The stream's columns the map was made for.
    schema: SchemaRef,
    /// (column index, feature index) for every column.
    columns: Vec<(usize, usize)>,
}

impl ColumnMap {
    /// Matches a stream's columns to the group's features by name. A
    /// column that is no feature, a column given twice, a type that cannot
    /// hold feature values, or a missing identifier or event-time column
    /// fails the whole stream, before any row is written.
    pub(crate) fn new(group: Arc<FeatureGroup>, schema: &SchemaRef) -> Result<Self, String> {
        let mut columns = Vec::with_capacity(schema.fields().len());
        let mut seen = vec![false; group.features.len()];
        for (column, field) in schema.fields().iter().enumerate() {
            let Some((feature, definition)) = group.feature(field.name()) else {
                return Err(format!(
                    "column '{}' is not a feature of feature group '{}'",
                    field.name(),
                    group.name
                ));
            };
            if std::mem::replace(&mut seen[feature], true) {
                return Err(format!("column '{}' is given more than once", field.name()));
            }
            check_type(definition, field)?;
            columns.push((column, feature));
        }
        for required in [&group.record_identifier, &group.event_time] {
            let (index, _) = group
                .feature(required)
                .ok_or_else(|| format!("feature '{required}' is not in the group"))?;
            if !seen[index] {
                return Err(format!(
                    "the stream has no column '{required}'; every row needs it"
                ));
            }
        }
        Ok(Self {
            group,
            schema: Arc::clone(schema),
            columns,
        })
    }

    /// Whether the map was made for `schema` (a stream may change its
    /// schema between batches).
    pub(crate) fn fits(&self, schema: &SchemaRef) -> bool {
        Arc::ptr_eq(&self.schema, schema) || self.schema == *schema
    }

    /// The group the stream writes to.
    pub(crate) fn group(&self) -> &Arc<FeatureGroup> {
        &self.group
    }

    /// Converts a batch into rows in feature order; a row with a value
    /// that does not convert becomes the reason it failed.
    pub(crate) fn rows(&self, batch: &RecordBatch) -> Vec<Result<Vec<Value>, String>> {
        let rows = batch.num_rows();
        let width = self.group.features.len();
        let mut out: Vec<Result<Vec<Value>, String>> =
            (0..rows).map(|_| Ok(vec![Value::Null; width])).collect();
        for &(column, feature) in &self.columns {
            let definition = &self.group.features[feature];
            let column = batch.column(column);
            let cells = if definition.name == self.group.event_time {
                event_time_inputs(definition, column)
            } else {
                column_inputs(definition, column)
            };
            let cells = match cells {
                Ok(cells) => cells,
                Err(reason) => {
                    out.iter_mut().for_each(|row| *row = Err(reason.clone()));
                    return out;
                }
            };
            for (row, cell) in out.iter_mut().zip(cells) {
                let Ok(values) = row else { continue };
                match cell.and_then(|input| convert(definition, input).map_err(|e| e.to_string())) {
                    Ok(value) => values[feature] = value,
                    Err(reason) => *row = Err(reason),
                }
            }
        }
        out
    }
}

/// Refuses column types no feature value comes from.
fn check_type(definition: &FeatureDefinition, field: &Field) -> Result<(), String> {
    let data_type = match field.data_type() {
        DataType::Dictionary(_, value) => value.as_ref(),
        other => other,
    };
    let supported = match data_type {
        DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
            definition.collection != CollectionType::None && is_scalar(item.data_type())
        }
        other => is_scalar(other),
    };
    if supported {
        Ok(())
    } else {
        Err(format!(
            "column '{}' is {data_type}, which cannot hold values of feature '{}' ({})",
            field.name(),
            definition.name,
            almanac_types::validate::describe(definition)
        ))
    }
}

fn is_scalar(data_type: &DataType) -> bool {
    data_type.is_integer()
        || data_type.is_floating()
        || data_type.is_null()
        || matches!(
            data_type,
            DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Decimal128(..)
                | DataType::Decimal256(..)
                | DataType::Timestamp(..)
                | DataType::Date32
                | DataType::Date64
        )
}

type Cells = Vec<Result<InputValue, String>>;

/// One column's cells as input values for `definition`.
fn column_inputs(definition: &FeatureDefinition, array: &ArrayRef) -> Result<Cells, String> {
    let cast_to = |to: &DataType| {
        cast(array, to).map_err(|e| {
            format!(
                "column '{}' could not be read as {to}: {e}",
                definition.name
            )
        })
    };
    match array.data_type() {
        DataType::Dictionary(_, value) => {
            let plain = cast_to(value)?;
            column_inputs(definition, &plain)
        }
        DataType::Null => Ok((0..array.len()).map(|_| Ok(InputValue::Null)).collect()),
        DataType::UInt64 => Ok(unsigned_cells(
            definition,
            array.as_primitive::<UInt64Type>(),
        )),
        t if t.is_integer() => {
            let ints = cast_to(&DataType::Int64)?;
            Ok(integer_cells(definition, ints.as_primitive::<Int64Type>()))
        }
        t if t.is_floating()
            || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) =>
        {
            let floats = cast_to(&DataType::Float64)?;
            Ok(float_cells(
                definition,
                floats.as_primitive::<Float64Type>(),
            ))
        }
        DataType::Utf8 => Ok(text_cells(array.as_string::<i32>())),
        DataType::LargeUtf8 | DataType::Utf8View => {
            let text = cast_to(&DataType::Utf8)?;
            Ok(text_cells(text.as_string::<i32>()))
        }
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => {
            let micros = time_micros(array);
            Ok(micros
                .into_iter()
                .map(|m| match m {
                    Ok(m) => time_cell(definition, m),
                    Err(()) => Err(format!(
                        "feature '{}': the time is outside the range Almanac keeps \
                         (microseconds in 64 bits)",
                        definition.name
                    )),
                })
                .collect())
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
            list_cells(definition, array)
        }
        other => Err(format!(
            "column '{}' is {other}, which no feature value comes from",
            definition.name
        )),
    }
}

/// The event-time column: a timestamp, ISO-8601 text or epoch seconds,
/// whichever the feature (String or Fractional) is declared as.
fn event_time_inputs(definition: &FeatureDefinition, array: &ArrayRef) -> Result<Cells, String> {
    let named =
        |e: &dyn std::fmt::Display| format!("event time feature '{}': {e}", definition.name);
    if let DataType::Dictionary(_, value) = array.data_type() {
        let plain = cast(array, value).map_err(|e| named(&e))?;
        return event_time_inputs(definition, &plain);
    }
    let data_type = array.data_type();
    let numeric = data_type.is_integer()
        || data_type.is_floating()
        || matches!(
            data_type,
            DataType::Decimal128(..) | DataType::Decimal256(..)
        );
    let fractional = definition.feature_type == FeatureType::Fractional;
    if numeric && !fractional {
        let seconds = cast(array, &DataType::Float64).map_err(|e| named(&e))?;
        return Ok(seconds
            .as_primitive::<Float64Type>()
            .iter()
            .map(|s| match s {
                None => Ok(InputValue::Null),
                Some(s) => epoch_seconds_to_micros(s)
                    .map(|micros| InputValue::String(format_iso8601(micros)))
                    .map_err(|e| named(&e)),
            })
            .collect());
    }
    if fractional
        && matches!(
            data_type,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        )
    {
        let text = cast(array, &DataType::Utf8).map_err(|e| named(&e))?;
        return Ok(text
            .as_string::<i32>()
            .iter()
            .map(|t| match t {
                None => Ok(InputValue::Null),
                Some(t) => match t.trim().parse::<f64>() {
                    Ok(seconds) => Ok(InputValue::Fractional(seconds)),
                    Err(_) => parse_iso8601(t)
                        .map(|micros| InputValue::Fractional(micros as f64 / 1e6))
                        .map_err(|e| named(&e)),
                },
            })
            .collect());
    }
    column_inputs(definition, array)
}

fn integer_cells(definition: &FeatureDefinition, ints: &Int64Array) -> Cells {
    let as_text = is_string_scalar(definition);
    ints.iter()
        .map(|v| {
            Ok(match v {
                None => InputValue::Null,
                Some(v) if as_text => InputValue::String(v.to_string()),
                Some(v) => InputValue::Integral(v),
            })
        })
        .collect()
}

fn unsigned_cells(definition: &FeatureDefinition, ints: &UInt64Array) -> Cells {
    ints.iter()
        .map(|v| match v {
            None => Ok(InputValue::Null),
            Some(v) => match i64::try_from(v) {
                Ok(v) if is_string_scalar(definition) => Ok(InputValue::String(v.to_string())),
                Ok(v) => Ok(InputValue::Integral(v)),
                Err(_) => Err(format!(
                    "feature '{}': {v} does not fit in a 64-bit signed integer",
                    definition.name
                )),
            },
        })
        .collect()
}

/// Floats: whole values go into an Integral feature (pandas turns an
/// integer column with gaps into floats), others stay Fractional and are
/// refused there by the feature's type.
fn float_cells(definition: &FeatureDefinition, floats: &Float64Array) -> Cells {
    let integral = definition.feature_type == FeatureType::Integral
        && definition.collection == CollectionType::None;
    floats
        .iter()
        .map(|v| {
            Ok(match v {
                None => InputValue::Null,
                Some(v) if integral && v.fract() == 0.0 && v.abs() < 9.2e18 => {
                    InputValue::Integral(v as i64)
                }
                Some(v) if is_string_scalar(definition) => InputValue::String(v.to_string()),
                Some(v) => InputValue::Fractional(v),
            })
        })
        .collect()
}

fn text_cells(text: &StringArray) -> Cells {
    text.iter()
        .map(|v| Ok(v.map_or(InputValue::Null, |s| InputValue::Text(s.to_owned()))))
        .collect()
}

fn is_string_scalar(definition: &FeatureDefinition) -> bool {
    definition.feature_type == FeatureType::String && definition.collection == CollectionType::None
}

/// A timestamp or date column as UTC microseconds, rounded down: per row
/// `Ok(None)` for a null, `Err(())` for a time microseconds cannot hold.
fn time_micros(array: &ArrayRef) -> Vec<Result<Option<i64>, ()>> {
    fn scaled<T: arrow::datatypes::ArrowPrimitiveType>(
        array: &ArrayRef,
        to_micros: impl Fn(T::Native) -> Option<i64>,
    ) -> Vec<Result<Option<i64>, ()>> {
        array
            .as_primitive::<T>()
            .iter()
            .map(|v| {
                v.map(&to_micros)
                    .map_or(Ok(None), |m| m.map(Some).ok_or(()))
            })
            .collect()
    }
    match array.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => {
            scaled::<TimestampSecondType>(array, |s| s.checked_mul(1_000_000))
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            scaled::<TimestampMillisecondType>(array, |ms| ms.checked_mul(1_000))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            scaled::<TimestampMicrosecondType>(array, Some)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            scaled::<TimestampNanosecondType>(array, |ns| Some(ns.div_euclid(1_000)))
        }
        DataType::Date32 => {
            scaled::<Date32Type>(array, |d| i64::from(d).checked_mul(MICROS_PER_DAY))
        }
        DataType::Date64 => scaled::<Date64Type>(array, |ms| ms.checked_mul(1_000)),
        _ => vec![Ok(None); array.len()],
    }
}

/// A point in time as the feature takes it: ISO-8601 text for a String
/// feature, epoch seconds for a Fractional one.
fn time_cell(definition: &FeatureDefinition, micros: Option<i64>) -> Result<InputValue, String> {
    let Some(micros) = micros else {
        return Ok(InputValue::Null);
    };
    match (definition.feature_type, definition.collection) {
        (FeatureType::String, CollectionType::None) => {
            Ok(InputValue::String(format_iso8601(micros)))
        }
        (FeatureType::Fractional, CollectionType::None) => {
            Ok(InputValue::Fractional(micros as f64 / 1e6))
        }
        _ => Err(format!(
            "feature '{}' is {}; got a timestamp",
            definition.name,
            almanac_types::validate::describe(definition)
        )),
    }
}

/// List columns: each row's items, which must not be null.
fn list_cells(definition: &FeatureDefinition, array: &ArrayRef) -> Result<Cells, String> {
    let item_type = match array.data_type() {
        DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
            item.data_type().clone()
        }
        _ => unreachable_list(definition)?,
    };
    let target_item = if item_type.is_integer() {
        DataType::Int64
    } else if item_type.is_floating()
        || matches!(
            item_type,
            DataType::Decimal128(..) | DataType::Decimal256(..)
        )
    {
        DataType::Float64
    } else {
        DataType::Utf8
    };
    let list_type = DataType::List(Arc::new(Field::new("item", target_item.clone(), true)));
    let lists = cast(array, &list_type).map_err(|e| {
        format!(
            "column '{}' could not be read as {list_type}: {e}",
            definition.name
        )
    })?;
    let lists = lists.as_list::<i32>();
    let null_item = || {
        Err(format!(
            "feature '{}': a collection must not hold nulls",
            definition.name
        ))
    };
    Ok((0..lists.len())
        .map(|row| {
            if lists.is_null(row) {
                return Ok(InputValue::Null);
            }
            let items = lists.value(row);
            if items.null_count() > 0 {
                return null_item();
            }
            Ok(match target_item {
                DataType::Int64 => {
                    InputValue::IntegralList(items.as_primitive::<Int64Type>().values().to_vec())
                }
                DataType::Float64 => InputValue::FractionalList(
                    items.as_primitive::<Float64Type>().values().to_vec(),
                ),
                _ => InputValue::StringList(
                    items
                        .as_string::<i32>()
                        .iter()
                        .map(|s| s.unwrap_or_default().to_owned())
                        .collect(),
                ),
            })
        })
        .collect())
}

fn unreachable_list<T>(definition: &FeatureDefinition) -> Result<T, String> {
    Err(format!("column '{}' is not a list", definition.name))
}
