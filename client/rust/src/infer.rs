//! Feature definitions inferred from an Arrow schema, as SageMaker's
//! `load_feature_definitions` infers them from a DataFrame: integers are
//! Integral, floats Fractional, text String, and timestamps and dates
//! String (ingest sends them as ISO-8601 UTC). Lists of those become list
//! features, fixed-size lists of floats vectors. An integer event-time
//! column is Fractional (epoch seconds), the numeric type an event time may
//! have. Any other column is an error naming it.

use almanac_proto as pb;
use arrow::datatypes::{DataType, Field, Schema};

/// One definition per column of `schema`, in column order; `event_time`
/// names the event-time column.
pub fn feature_definitions(
    schema: &Schema,
    event_time: &str,
) -> Result<Vec<pb::FeatureDefinition>, String> {
    schema
        .fields()
        .iter()
        .map(|field| {
            let mut definition = definition(field)?;
            let integral = pb::FeatureType::Integral as i32;
            if field.name() == event_time && definition.r#type == integral {
                definition.r#type = pb::FeatureType::Fractional as i32;
            }
            Ok(definition)
        })
        .collect()
}

fn definition(field: &Field) -> Result<pb::FeatureDefinition, String> {
    let unmappable = |why: &str| {
        format!(
            "column '{}' is {}: {why}; declare the feature group's definitions by hand",
            field.name(),
            field.data_type()
        )
    };
    let (feature_type, collection, dimension) = match field.data_type() {
        DataType::List(item) | DataType::LargeList(item) => (
            scalar_type(item.data_type())
                .ok_or_else(|| unmappable("a list of what no feature holds"))?,
            pb::CollectionType::List,
            0,
        ),
        DataType::FixedSizeList(item, size) if item.data_type().is_floating() => (
            pb::FeatureType::Fractional,
            pb::CollectionType::Vector,
            u32::try_from(*size).map_err(|_| unmappable("a negative dimension"))?,
        ),
        DataType::FixedSizeList(item, _) => (
            scalar_type(item.data_type())
                .ok_or_else(|| unmappable("a list of what no feature holds"))?,
            pb::CollectionType::List,
            0,
        ),
        DataType::Null => return Err(unmappable("it has no values to infer a type from")),
        other => (
            scalar_type(other).ok_or_else(|| unmappable("no feature type holds it"))?,
            pb::CollectionType::None,
            0,
        ),
    };
    Ok(pb::FeatureDefinition {
        name: field.name().clone(),
        r#type: feature_type as i32,
        collection: collection as i32,
        dimension,
    })
}

fn scalar_type(data_type: &DataType) -> Option<pb::FeatureType> {
    match data_type {
        DataType::Dictionary(_, value) => scalar_type(value),
        t if t.is_integer() => Some(pb::FeatureType::Integral),
        t if t.is_floating() => Some(pb::FeatureType::Fractional),
        DataType::Decimal128(..) | DataType::Decimal256(..) => Some(pb::FeatureType::Fractional),
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Timestamp(..)
        | DataType::Date32
        | DataType::Date64 => Some(pb::FeatureType::String),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::TimeUnit;
    use std::sync::Arc;

    #[test]
    fn maps_columns_like_load_feature_definitions() {
        let item = |t| Arc::new(Field::new("item", t, true));
        let schema = Schema::new(vec![
            Field::new("customer_id", DataType::Int32, true),
            Field::new("updated", DataType::Int64, true),
            Field::new("star_rating", DataType::Int64, true),
            Field::new("score", DataType::Float32, true),
            Field::new("review_body", DataType::Utf8, true),
            Field::new(
                "event_time",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("tags", DataType::List(item(DataType::Utf8)), true),
            Field::new(
                "embedding",
                DataType::FixedSizeList(item(DataType::Float64), 4),
                true,
            ),
        ]);
        let found: Vec<_> = feature_definitions(&schema, "updated")
            .unwrap()
            .into_iter()
            .map(|d| (d.name, d.r#type, d.collection, d.dimension))
            .collect();
        let (i, f, s) = (
            pb::FeatureType::Integral as i32,
            pb::FeatureType::Fractional as i32,
            pb::FeatureType::String as i32,
        );
        let (none, list, vector) = (
            pb::CollectionType::None as i32,
            pb::CollectionType::List as i32,
            pb::CollectionType::Vector as i32,
        );
        assert_eq!(
            found,
            vec![
                ("customer_id".into(), i, none, 0),
                ("updated".into(), f, none, 0),
                ("star_rating".into(), i, none, 0),
                ("score".into(), f, none, 0),
                ("review_body".into(), s, none, 0),
                ("event_time".into(), s, none, 0),
                ("tags".into(), s, list, 0),
                ("embedding".into(), f, vector, 4),
            ]
        );
    }

    #[test]
    fn an_unmappable_column_is_named() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("vine", DataType::Boolean, true),
        ]);
        let error = feature_definitions(&schema, "id").unwrap_err();
        assert!(error.contains("column 'vine' is Boolean"), "{error}");
    }
}
