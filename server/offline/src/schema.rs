//! The Arrow schema of a feature group's offline table: every feature in
//! its Arrow type, the event-time feature as a UTC timestamp, then
//! `write_time`, `api_invocation_time` and `is_deleted`.
//!
//! The event-time feature is declared as ISO-8601 text or epoch seconds;
//! offline it becomes `Timestamp(Microsecond, UTC)` under its own name, so
//! that SQL, time travel and partition pruning compare instants, not text.

use std::sync::Arc;

use almanac_types::{CollectionType, FeatureDefinition, FeatureGroup, FeatureType};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Name of the column with the instant a row was committed to the store.
pub const WRITE_TIME: &str = "write_time";
/// Name of the column with the instant the API call was received.
pub(crate) const API_INVOCATION_TIME: &str = "api_invocation_time";
/// Name of the column marking delete markers.
pub const IS_DELETED: &str = "is_deleted";

/// `Timestamp(Microsecond, "UTC")`.
pub(crate) fn utc_timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The Arrow type of a feature, as stored offline.
pub(crate) fn feature_type(group: &FeatureGroup, definition: &FeatureDefinition) -> DataType {
    if definition.name == group.event_time {
        return utc_timestamp();
    }
    let scalar = scalar_type(definition.feature_type);
    match definition.collection {
        CollectionType::None => scalar,
        CollectionType::List | CollectionType::Set => {
            DataType::List(Arc::new(Field::new("item", scalar, true)))
        }
        CollectionType::Vector { dimension } => DataType::FixedSizeList(
            Arc::new(Field::new("item", DataType::Float64, true)),
            dimension as i32,
        ),
    }
}

fn scalar_type(feature_type: FeatureType) -> DataType {
    match feature_type {
        FeatureType::Integral => DataType::Int64,
        FeatureType::Fractional => DataType::Float64,
        FeatureType::String => DataType::Utf8,
    }
}

/// The group's offline table schema, for its current features.
pub fn table_schema(group: &FeatureGroup) -> SchemaRef {
    table_schema_of_width(group, group.features.len())
}

/// The schema with only the group's first `width` features: the schema of
/// a file whose rows were written before the later features existed.
pub(crate) fn table_schema_of_width(group: &FeatureGroup, width: usize) -> SchemaRef {
    let mut fields: Vec<Field> = group
        .features
        .iter()
        .take(width)
        .map(|definition| Field::new(&definition.name, feature_type(group, definition), true))
        .collect();
    fields.push(Field::new(WRITE_TIME, utc_timestamp(), false));
    fields.push(Field::new(API_INVOCATION_TIME, utc_timestamp(), false));
    fields.push(Field::new(IS_DELETED, DataType::Boolean, false));
    Arc::new(Schema::new(fields))
}

/// The content of the schema file beside `data/`: the group's definition
/// and the Arrow type of every column, as JSON.
pub(crate) fn schema_document(group: &FeatureGroup) -> serde_json::Value {
    let schema = table_schema(group);
    let columns: Vec<serde_json::Value> = schema
        .fields()
        .iter()
        .map(|field| {
            serde_json::json!({
                "name": field.name(),
                "arrow_type": field.data_type().to_string(),
                "nullable": field.is_nullable(),
            })
        })
        .collect();
    serde_json::json!({
        "feature_group_name": group.name,
        "record_identifier_feature_name": group.record_identifier,
        "event_time_feature_name": group.event_time,
        "schema_version": group.schema_version,
        "created": almanac_types::time::format_iso8601(group.created_micros),
        "partitioning": "hive: year=YYYY/month=MM/day=DD/hour=HH of the event time, UTC",
        "compression": "zstd",
        "feature_definitions": group.features,
        "columns": columns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_follow_the_features() {
        let group = crate::test_support::reviews_group(0);
        let schema = table_schema(&group);
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "review_id",
                "event_time",
                "star_rating",
                "helpful",
                "tags",
                "embedding",
                "write_time",
                "api_invocation_time",
                "is_deleted"
            ]
        );
        assert_eq!(schema.field(1).data_type(), &utc_timestamp());
        assert_eq!(schema.field(2).data_type(), &DataType::Int64);
        assert!(matches!(
            schema.field(5).data_type(),
            DataType::FixedSizeList(_, 2)
        ));
    }
}
