//! Output: JSON for `--json`, plain text otherwise.

use almanac_client::proto as pb;
use pb::value::Kind;
use serde_json::{Value as Json, json};

/// A feature value as JSON.
pub fn value_json(value: Option<&pb::Value>) -> Json {
    let number = |v: f64| {
        serde_json::Number::from_f64(v).map_or_else(|| Json::String(v.to_string()), Json::Number)
    };
    match value.and_then(|v| v.kind.as_ref()) {
        None => Json::Null,
        Some(Kind::Integral(v)) => json!(v),
        Some(Kind::Fractional(v)) => number(*v),
        Some(Kind::String(v) | Kind::Text(v)) => json!(v),
        Some(Kind::IntegralList(v)) => json!(v.values),
        Some(Kind::FractionalList(v)) => Json::Array(v.values.iter().map(|x| number(*x)).collect()),
        Some(Kind::StringList(v)) => json!(v.values),
    }
}

/// A record as one JSON object of feature to value.
pub fn record_json(record: &[pb::FeatureValue]) -> Json {
    Json::Object(
        record
            .iter()
            .map(|f| (f.feature_name.clone(), value_json(f.value.as_ref())))
            .collect(),
    )
}

/// A value as plain text.
pub fn value_text(value: Option<&pb::Value>) -> String {
    match value_json(value) {
        Json::String(s) => s,
        other => other.to_string(),
    }
}

/// Microseconds as ISO-8601 UTC.
pub fn time_text(micros: i64) -> String {
    almanac_types::time::format_iso8601(micros)
}

/// Lower-case names of protobuf enums, for output.
pub fn feature_type_name(code: i32) -> &'static str {
    match pb::FeatureType::try_from(code) {
        Ok(pb::FeatureType::Integral) => "integral",
        Ok(pb::FeatureType::Fractional) => "fractional",
        Ok(pb::FeatureType::String) => "string",
        _ => "unspecified",
    }
}

/// `name:type[:collection[:dim]]`, the form `--feature` takes.
pub fn feature_spec_text(definition: &pb::FeatureDefinition) -> String {
    let base = format!(
        "{}:{}",
        definition.name,
        feature_type_name(definition.r#type)
    );
    match pb::CollectionType::try_from(definition.collection) {
        Ok(pb::CollectionType::List) => format!("{base}:list"),
        Ok(pb::CollectionType::Set) => format!("{base}:set"),
        Ok(pb::CollectionType::Vector) => format!("{base}:vector:{}", definition.dimension),
        _ => base,
    }
}

fn offline_status_name(code: i32) -> &'static str {
    match pb::OfflineStoreStatus::try_from(code) {
        Ok(pb::OfflineStoreStatus::Active) => "Active",
        Ok(pb::OfflineStoreStatus::Blocked) => "Blocked",
        Ok(pb::OfflineStoreStatus::Disabled) => "Disabled",
        _ => "Unknown",
    }
}

/// A feature group description as JSON.
pub fn description_json(d: &pb::FeatureGroupDescription) -> Json {
    let online = d.online_store.unwrap_or_default();
    let offline = d.offline_store_state.clone().unwrap_or_default();
    json!({
        "feature_group_name": d.feature_group_name,
        "record_identifier_feature_name": d.record_identifier_feature_name,
        "event_time_feature_name": d.event_time_feature_name,
        "feature_definitions": d.feature_definitions.iter().map(|f| json!({
            "name": f.name,
            "type": feature_type_name(f.r#type),
            "collection": match pb::CollectionType::try_from(f.collection) {
                Ok(pb::CollectionType::List) => "list",
                Ok(pb::CollectionType::Set) => "set",
                Ok(pb::CollectionType::Vector) => "vector",
                _ => "none",
            },
            "dimension": (f.dimension > 0).then_some(f.dimension),
        })).collect::<Vec<_>>(),
        "online_store": { "enabled": online.enabled, "default_ttl_seconds": online.default_ttl_seconds },
        "offline_store": {
            "enabled": d.offline_store.as_ref().is_some_and(|o| o.enabled),
            "status": offline_status_name(offline.status),
            "blocked_reason": offline.blocked_reason,
            "location": offline.location,
            "lag_entries": offline.lag_entries,
            "lag_seconds": offline.lag_seconds,
        },
        "description": d.description,
        "tags": d.tags.iter().map(|t| (t.key.clone(), Json::String(t.value.clone()))).collect::<serde_json::Map<_, _>>(),
        "status": "Created",
        "schema_version": d.schema_version,
        "creation_time": time_text(d.creation_time_micros),
        "last_modified_time": time_text(d.last_modified_time_micros),
    })
}

/// A feature group description as text.
pub fn description_text(d: &pb::FeatureGroupDescription) -> String {
    let online = d.online_store.unwrap_or_default();
    let offline = d.offline_store_state.clone().unwrap_or_default();
    let mut out = String::new();
    let mut line = |label: &str, value: String| out.push_str(&format!("{label:<20} {value}\n"));
    line("feature group", d.feature_group_name.clone());
    line("status", "Created".into());
    line(
        "record identifier",
        d.record_identifier_feature_name.clone(),
    );
    line("event time", d.event_time_feature_name.clone());
    line("description", d.description.clone());
    line("created", time_text(d.creation_time_micros));
    line("last modified", time_text(d.last_modified_time_micros));
    line("schema version", d.schema_version.to_string());
    line(
        "online store",
        match (online.enabled, online.default_ttl_seconds) {
            (false, _) => "disabled".into(),
            (true, Some(ttl)) => format!(
                "enabled, default ttl {}",
                humantime::format_duration(std::time::Duration::from_secs(ttl))
            ),
            (true, None) => "enabled".into(),
        },
    );
    let offline_text = match pb::OfflineStoreStatus::try_from(offline.status) {
        Ok(pb::OfflineStoreStatus::Disabled) => "disabled".into(),
        _ => {
            let mut text = format!(
                "{} at {}, lag {} entries / {:.1} s",
                offline_status_name(offline.status),
                offline.location,
                offline.lag_entries,
                offline.lag_seconds
            );
            if !offline.blocked_reason.is_empty() {
                text.push_str(&format!(" ({})", offline.blocked_reason));
            }
            text
        }
    };
    line("offline store", offline_text);
    for tag in &d.tags {
        line("tag", format!("{}={}", tag.key, tag.value));
    }
    for feature in &d.feature_definitions {
        line("feature", feature_spec_text(feature));
    }
    out
}
