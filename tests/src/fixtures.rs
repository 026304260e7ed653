//! Feature groups and records shared by the tests.

use almanac_client::proto as pb;
use almanac_client::values::{definition, feature, scalar};
use almanac_client::{Client, ClientError};
use pb::{CollectionType as C, FeatureType as T};

/// A request for a group shaped like the seed chapter's reviews:
/// `review_id` (String id), `event_time` (ISO-8601 String), and features of
/// every type.
pub fn reviews_request(name: &str) -> pb::CreateFeatureGroupRequest {
    pb::CreateFeatureGroupRequest {
        feature_group_name: name.to_owned(),
        record_identifier_feature_name: "review_id".into(),
        event_time_feature_name: "event_time".into(),
        feature_definitions: vec![
            scalar("review_id", T::String),
            scalar("event_time", T::String),
            scalar("product_id", T::String),
            scalar("star_rating", T::Integral),
            scalar("helpful_ratio", T::Fractional),
            definition("tags", T::String, C::List, 0),
            definition("votes", T::Integral, C::Set, 0),
            definition("embedding", T::Fractional, C::Vector, 3),
        ],
        online_store: Some(pb::OnlineStoreConfig {
            enabled: true,
            default_ttl_seconds: None,
        }),
        offline_store: Some(pb::OfflineStoreConfig { enabled: true }),
        description: "Amazon-style product reviews".into(),
        tags: vec![pb::Tag {
            key: "team".into(),
            value: "ranking".into(),
        }],
    }
}

/// A request for a group with both stores on: the record identifier `id`,
/// an ISO-8601 `event_time`, then `features`.
pub fn group_request(
    name: &str,
    id: (&str, T),
    features: &[(&str, T)],
) -> pb::CreateFeatureGroupRequest {
    let mut definitions = vec![scalar(id.0, id.1), scalar("event_time", T::String)];
    definitions.extend(features.iter().map(|(n, t)| scalar(*n, *t)));
    pb::CreateFeatureGroupRequest {
        feature_group_name: name.into(),
        record_identifier_feature_name: id.0.into(),
        event_time_feature_name: "event_time".into(),
        feature_definitions: definitions,
        online_store: Some(pb::OnlineStoreConfig {
            enabled: true,
            default_ttl_seconds: None,
        }),
        offline_store: Some(pb::OfflineStoreConfig { enabled: true }),
        ..Default::default()
    }
}

/// Creates the reviews group called `name`.
pub async fn create_reviews(client: &Client, name: &str) -> pb::FeatureGroupDescription {
    client
        .create_feature_group(reviews_request(name))
        .await
        .expect("create reviews group")
}

/// A review record with a star rating.
pub fn review(id: &str, event_time: &str, stars: i64) -> Vec<pb::FeatureValue> {
    vec![
        feature("review_id", id),
        feature("event_time", event_time),
        feature("product_id", "p1"),
        feature("star_rating", stars),
    ]
}

/// A BatchWriteRecord entry of `record` for `group`, to every store.
pub fn batch_entry(group: &str, record: Vec<pb::FeatureValue>) -> pb::BatchWriteEntry {
    pb::BatchWriteEntry {
        feature_group_name: group.into(),
        record,
        ..Default::default()
    }
}

/// Writes reviews `r<i>` for each `i` in `ids`, with star rating `i`, one
/// PutRecord each.
pub async fn put_reviews(
    client: &Client,
    group: &str,
    ids: std::ops::Range<i64>,
    event_time: &str,
) {
    for i in ids {
        client
            .put_record(group, review(&format!("r{i}"), event_time, i))
            .await
            .expect("put review");
    }
}

/// The star rating of a record read back, if any.
pub fn stars(record: &Option<almanac_client::Record>) -> Option<i64> {
    record.as_ref().and_then(|r| r.integral("star_rating"))
}

/// The gRPC code of a failed call.
pub fn code<T: std::fmt::Debug>(result: &Result<T, ClientError>) -> tonic::Code {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error
            .code()
            .unwrap_or_else(|| panic!("expected a status, got {error}")),
    }
}

/// The error message of a failed call.
pub fn message<T: std::fmt::Debug>(result: &Result<T, ClientError>) -> String {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error.to_string(),
    }
}
