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

    /// A type in the notation of `docs/inference.tsv`, and the rest of
    /// the text after it.
    fn parse_type(text: &str) -> (DataType, &str) {
        let end = text.find(['(', ',', ')']).unwrap_or(text.len());
        let (name, rest) = text.split_at(end);
        fn args(rest: &str) -> &str {
            rest.strip_prefix('(').expect("arguments")
        }
        let item = |data_type| Arc::new(Field::new("item", data_type, true));
        match name {
            "int8" => (DataType::Int8, rest),
            "int16" => (DataType::Int16, rest),
            "int32" => (DataType::Int32, rest),
            "int64" => (DataType::Int64, rest),
            "uint8" => (DataType::UInt8, rest),
            "uint32" => (DataType::UInt32, rest),
            "uint64" => (DataType::UInt64, rest),
            "float16" => (DataType::Float16, rest),
            "float32" => (DataType::Float32, rest),
            "float64" => (DataType::Float64, rest),
            "utf8" => (DataType::Utf8, rest),
            "large_utf8" => (DataType::LargeUtf8, rest),
            "date32" => (DataType::Date32, rest),
            "bool" => (DataType::Boolean, rest),
            "binary" => (DataType::Binary, rest),
            "null" => (DataType::Null, rest),
            "decimal128" => {
                let (inside, rest) = args(rest).split_once(')').expect("a closing ')'");
                let (precision, scale) = inside.split_once(',').expect("precision,scale");
                let data_type =
                    DataType::Decimal128(precision.parse().unwrap(), scale.parse().unwrap());
                (data_type, rest)
            }
            "timestamp" => {
                let (inside, rest) = args(rest).split_once(')').expect("a closing ')'");
                let (unit, zone) = match inside.split_once(',') {
                    Some((unit, zone)) => (unit, Some(zone.into())),
                    None => (inside, None),
                };
                let unit = match unit {
                    "s" => TimeUnit::Second,
                    "ms" => TimeUnit::Millisecond,
                    "us" => TimeUnit::Microsecond,
                    "ns" => TimeUnit::Nanosecond,
                    other => panic!("unknown time unit {other}"),
                };
                (DataType::Timestamp(unit, zone), rest)
            }
            "dictionary" | "list" | "large_list" | "fixed_size_list" => {
                let (inner, rest) = parse_type(args(rest));
                let (size, rest) = match rest.strip_prefix(',') {
                    Some(rest) => {
                        let (size, rest) = rest.split_once(')').expect("a closing ')'");
                        (size.parse::<i32>().ok(), rest)
                    }
                    None => (None, rest.strip_prefix(')').expect("a closing ')'")),
                };
                let data_type = match name {
                    "dictionary" => {
                        DataType::Dictionary(Box::new(DataType::Int32), Box::new(inner))
                    }
                    "list" => DataType::List(item(inner)),
                    "large_list" => DataType::LargeList(item(inner)),
                    _ => DataType::FixedSizeList(item(inner), size.expect("a size")),
                };
                (data_type, rest)
            }
            other => panic!("unknown type {other}"),
        }
    }

    /// A definition as `docs/inference.tsv` writes it.
    fn written(definition: &pb::FeatureDefinition) -> String {
        let mut text = match pb::FeatureType::try_from(definition.r#type) {
            Ok(pb::FeatureType::Integral) => "Integral".to_owned(),
            Ok(pb::FeatureType::Fractional) => "Fractional".to_owned(),
            Ok(pb::FeatureType::String) => "String".to_owned(),
            other => panic!("no feature type: {other:?}"),
        };
        match pb::CollectionType::try_from(definition.collection).unwrap() {
            pb::CollectionType::List => text.push_str(" List"),
            pb::CollectionType::Set => text.push_str(" Set"),
            pb::CollectionType::Vector => {
                text.push_str(&format!(" Vector {}", definition.dimension))
            }
            _ => {}
        }
        text
    }

    #[test]
    fn every_row_of_the_shared_inference_table_holds() {
        let table = include_str!("../../../docs/inference.tsv");
        let mut rows = 0;
        for line in table.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (notation, expected) = line.split_once('\t').expect("two columns");
            let (data_type, rest) = parse_type(notation);
            assert!(rest.is_empty(), "{notation}: '{rest}' left over");
            let schema = Schema::new(vec![Field::new("column", data_type, true)]);
            let found = match feature_definitions(&schema, "other") {
                Ok(definitions) => written(&definitions[0]),
                Err(error) => {
                    assert!(error.contains("column 'column'"), "{notation}: {error}");
                    "error".to_owned()
                }
            };
            assert_eq!(found, expected, "{notation}");
            rows += 1;
        }
        assert!(rows > 30, "only {rows} rows read");
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
