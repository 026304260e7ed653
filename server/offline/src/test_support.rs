//! Groups and log entries for this crate's unit tests.

use almanac_online::OfflineLogEntry;
use almanac_types::{
    CollectionType, FeatureDefinition, FeatureGroup, FeatureGroupSpec, FeatureType, Limits, Record,
    RecordId, Value,
};

/// `reviews`: review_id (String), event_time (String), star_rating
/// (Integral), helpful (Fractional), tags (String list), embedding
/// (vector of 2).
pub(crate) fn reviews_group(created_micros: i64) -> FeatureGroup {
    let spec = FeatureGroupSpec {
        name: "reviews".into(),
        record_identifier: "review_id".into(),
        event_time: "event_time".into(),
        features: vec![
            FeatureDefinition::scalar("review_id", FeatureType::String),
            FeatureDefinition::scalar("event_time", FeatureType::String),
            FeatureDefinition::scalar("star_rating", FeatureType::Integral),
            FeatureDefinition::scalar("helpful", FeatureType::Fractional),
            FeatureDefinition {
                name: "tags".into(),
                feature_type: FeatureType::String,
                collection: CollectionType::List,
            },
            FeatureDefinition {
                name: "embedding".into(),
                feature_type: FeatureType::Fractional,
                collection: CollectionType::Vector { dimension: 2 },
            },
        ],
        online_enabled: true,
        default_ttl_seconds: None,
        offline_enabled: true,
        description: String::new(),
        tags: Vec::new(),
    };
    FeatureGroup::create(spec, 1, created_micros, &Limits::default()).expect("a valid group")
}

/// A log entry of [`reviews_group`] with the given values.
pub(crate) fn review_entry(
    id: &str,
    event_micros: i64,
    write_micros: i64,
    values: Vec<Value>,
) -> OfflineLogEntry {
    OfflineLogEntry {
        group_id: 1,
        group_name: "reviews".into(),
        api_invocation_micros: write_micros,
        write_micros,
        is_deleted: false,
        record_id: RecordId(id.into()),
        record: Record {
            schema_version: 1,
            event_time_micros: event_micros,
            expires_at_micros: None,
            tombstone: false,
            values,
        },
    }
}
