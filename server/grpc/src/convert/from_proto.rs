//! Protobuf -> domain.

use almanac_online::{Result, StoreError, TargetStores};
use almanac_proto as pb;
use almanac_types::{CollectionType, FeatureDefinition, FeatureGroupSpec, FeatureType, InputValue};

fn invalid(message: String) -> StoreError {
    StoreError::Invalid(message)
}

/// A feature definition.
pub(crate) fn feature_definition(definition: pb::FeatureDefinition) -> Result<FeatureDefinition> {
    let name = definition.name;
    let feature_type = match pb::FeatureType::try_from(definition.r#type) {
        Ok(pb::FeatureType::Integral) => FeatureType::Integral,
        Ok(pb::FeatureType::Fractional) => FeatureType::Fractional,
        Ok(pb::FeatureType::String) => FeatureType::String,
        Ok(pb::FeatureType::Unspecified) | Err(_) => {
            return Err(invalid(format!(
                "feature '{name}': type must be Integral, Fractional or String"
            )));
        }
    };
    let collection = match pb::CollectionType::try_from(definition.collection) {
        Ok(pb::CollectionType::None) => CollectionType::None,
        Ok(pb::CollectionType::List) => CollectionType::List,
        Ok(pb::CollectionType::Set) => CollectionType::Set,
        Ok(pb::CollectionType::Vector) => CollectionType::Vector {
            dimension: definition.dimension,
        },
        Err(_) => {
            return Err(invalid(format!(
                "feature '{name}': unknown collection type {}",
                definition.collection
            )));
        }
    };
    if definition.dimension != 0 && !matches!(collection, CollectionType::Vector { .. }) {
        return Err(invalid(format!(
            "feature '{name}': a dimension is only for vector features"
        )));
    }
    Ok(FeatureDefinition {
        name,
        feature_type,
        collection,
    })
}

/// A CreateFeatureGroup request.
pub(crate) fn create_spec(request: pb::CreateFeatureGroupRequest) -> Result<FeatureGroupSpec> {
    let online = request.online_store.unwrap_or_default();
    let offline = request.offline_store.unwrap_or_default();
    Ok(FeatureGroupSpec {
        name: request.feature_group_name,
        record_identifier: request.record_identifier_feature_name,
        event_time: request.event_time_feature_name,
        features: request
            .feature_definitions
            .into_iter()
            .map(feature_definition)
            .collect::<Result<_>>()?,
        online_enabled: online.enabled,
        default_ttl_seconds: online.default_ttl_seconds,
        offline_enabled: offline.enabled,
        description: request.description,
        tags: request.tags.into_iter().map(|t| (t.key, t.value)).collect(),
    })
}

/// A feature value; an unset value is a null.
pub(crate) fn value(value: Option<pb::Value>) -> InputValue {
    use pb::value::Kind;
    match value.and_then(|v| v.kind) {
        None => InputValue::Null,
        Some(Kind::Integral(v)) => InputValue::Integral(v),
        Some(Kind::Fractional(v)) => InputValue::Fractional(v),
        Some(Kind::String(v)) => InputValue::String(v),
        Some(Kind::IntegralList(v)) => InputValue::IntegralList(v.values),
        Some(Kind::FractionalList(v)) => InputValue::FractionalList(v.values),
        Some(Kind::StringList(v)) => InputValue::StringList(v.values),
        Some(Kind::Text(v)) => InputValue::Text(v),
    }
}

/// A record: feature names and values.
pub(crate) fn record(record: Vec<pb::FeatureValue>) -> Vec<(String, InputValue)> {
    record
        .into_iter()
        .map(|f| (f.feature_name, value(f.value)))
        .collect()
}

/// Target stores; an empty list means every store of the group.
pub(crate) fn target_stores(stores: &[i32]) -> Result<Option<TargetStores>> {
    if stores.is_empty() {
        return Ok(None);
    }
    let mut targets = TargetStores::default();
    for &store in stores {
        match pb::TargetStore::try_from(store) {
            Ok(pb::TargetStore::Online) => targets.online = true,
            Ok(pb::TargetStore::Offline) => targets.offline = true,
            Ok(pb::TargetStore::Unspecified) | Err(_) => {
                return Err(invalid(format!(
                    "target_stores: {store} is not a store (ONLINE = 1, OFFLINE = 2)"
                )));
            }
        }
    }
    Ok(Some(targets))
}
