//! Domain -> protobuf.

use almanac_offline::Blocked;
use almanac_online::{Backlog, RecordView};
use almanac_proto as pb;
use almanac_types::{CollectionType, FeatureDefinition, FeatureGroup, FeatureType, Value};

/// A feature definition.
pub(crate) fn feature_definition(definition: &FeatureDefinition) -> pb::FeatureDefinition {
    let r#type = match definition.feature_type {
        FeatureType::Integral => pb::FeatureType::Integral,
        FeatureType::Fractional => pb::FeatureType::Fractional,
        FeatureType::String => pb::FeatureType::String,
    };
    let (collection, dimension) = match definition.collection {
        CollectionType::None => (pb::CollectionType::None, 0),
        CollectionType::List => (pb::CollectionType::List, 0),
        CollectionType::Set => (pb::CollectionType::Set, 0),
        CollectionType::Vector { dimension } => (pb::CollectionType::Vector, dimension),
    };
    pb::FeatureDefinition {
        name: definition.name.clone(),
        r#type: r#type as i32,
        collection: collection as i32,
        dimension,
    }
}

/// A feature value.
pub(crate) fn value(value: Value) -> Option<pb::Value> {
    use pb::value::Kind;
    let kind = match value {
        Value::Null => return None,
        Value::Integral(v) => Kind::Integral(v),
        Value::Fractional(v) => Kind::Fractional(v),
        Value::String(v) => Kind::String(v),
        Value::IntegralList(values) => Kind::IntegralList(pb::IntegralList { values }),
        Value::FractionalList(values) => Kind::FractionalList(pb::FractionalList { values }),
        Value::StringList(values) => Kind::StringList(pb::StringList { values }),
    };
    Some(pb::Value { kind: Some(kind) })
}

/// A record's features, moved into protobuf.
pub(crate) fn record(view: RecordView) -> Vec<pb::FeatureValue> {
    view.values
        .into_iter()
        .map(|(feature_name, v)| pb::FeatureValue {
            feature_name,
            value: value(v),
        })
        .collect()
}

/// The offline tier's state for a group.
pub(crate) fn offline_state(
    group: &FeatureGroup,
    location: &str,
    backlog: Backlog,
    blocked: Option<Blocked>,
    now_micros: i64,
) -> pb::OfflineStoreState {
    if !group.offline_enabled {
        return pb::OfflineStoreState {
            status: pb::OfflineStoreStatus::Disabled as i32,
            ..Default::default()
        };
    }
    let (status, blocked_reason) = match blocked {
        Some(blocked) => (
            pb::OfflineStoreStatus::Blocked,
            format!(
                "{} (since {})",
                blocked.reason,
                almanac_types::time::format_iso8601(blocked.since_micros)
            ),
        ),
        None => (pb::OfflineStoreStatus::Active, String::new()),
    };
    pb::OfflineStoreState {
        status: status as i32,
        blocked_reason,
        location: location.to_owned(),
        lag_entries: backlog.entries,
        lag_seconds: backlog
            .oldest_api_invocation_micros
            .map_or(0.0, |oldest| (now_micros - oldest).max(0) as f64 / 1e6),
    }
}

/// A full description of a group.
pub(crate) fn description(
    group: &FeatureGroup,
    offline: pb::OfflineStoreState,
) -> pb::FeatureGroupDescription {
    pb::FeatureGroupDescription {
        feature_group_name: group.name.clone(),
        record_identifier_feature_name: group.record_identifier.clone(),
        event_time_feature_name: group.event_time.clone(),
        feature_definitions: group.features.iter().map(feature_definition).collect(),
        online_store: Some(pb::OnlineStoreConfig {
            enabled: group.online_enabled,
            default_ttl_seconds: group.default_ttl_seconds,
        }),
        offline_store: Some(pb::OfflineStoreConfig {
            enabled: group.offline_enabled,
        }),
        description: group.description.clone(),
        tags: group
            .tags
            .iter()
            .map(|(key, value)| pb::Tag {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
        status: pb::FeatureGroupStatus::Created as i32,
        creation_time_micros: group.created_micros,
        last_modified_time_micros: group.last_modified_micros,
        schema_version: group.schema_version,
        offline_store_state: Some(offline),
    }
}

/// The metadata of one feature.
pub(crate) fn feature_metadata(
    group: &FeatureGroup,
    feature: &FeatureDefinition,
) -> pb::FeatureMetadata {
    let metadata = group
        .feature_metadata
        .get(&feature.name)
        .cloned()
        .unwrap_or_default();
    pb::FeatureMetadata {
        feature_group_name: group.name.clone(),
        feature: Some(feature_definition(feature)),
        description: metadata.description,
        parameters: metadata
            .parameters
            .into_iter()
            .map(|(key, value)| pb::FeatureParameter { key, value })
            .collect(),
        creation_time_micros: group.created_micros,
        last_modified_time_micros: if metadata.last_modified_micros == 0 {
            group.created_micros
        } else {
            metadata.last_modified_micros
        },
    }
}
