//! BatchWriteRecord and BatchGetRecord with good and bad entries mixed.

use almanac_client::proto as pb;
use almanac_client::values::feature;
use almanac_tests::TestServer;
use almanac_tests::fixtures::batch_entry as entry;
use almanac_tests::fixtures::{code, create_reviews, review, stars};
use tonic::Code;

#[tokio::test]
async fn batch_write_writes_the_valid_entries_and_reports_the_rest() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    let mut bad_type = review("r2", "2026-01-02T00:00:00Z", 1);
    bad_type[3] = feature("star_rating", "many");
    let response = c
        .batch_write_record(pb::BatchWriteRecordRequest {
            entries: vec![
                entry("reviews", review("r1", "2026-01-02T00:00:00Z", 1)),
                entry("reviews", bad_type),
                entry("missing-group", review("r3", "2026-01-02T00:00:00Z", 1)),
                entry("reviews", review("r4", "2026-01-02T00:00:00Z", 4)),
                // Same id and event time as entry 0: rows apply in order, the later wins.
                entry("reviews", review("r1", "2026-01-02T00:00:00Z", 5)),
                pb::BatchWriteEntry {
                    target_stores: vec![9],
                    ..entry("reviews", review("r5", "2026-01-02T00:00:00Z", 1))
                },
            ],
        })
        .await
        .unwrap();
    assert_eq!(response.written, 3);
    let errors: Vec<_> = response
        .errors
        .iter()
        .map(|e| (e.index, e.error_code))
        .collect();
    assert_eq!(
        errors,
        [
            (1, Code::InvalidArgument as i32),
            (2, Code::NotFound as i32),
            (5, Code::InvalidArgument as i32)
        ]
    );
    assert!(response.errors[0].error_message.contains("entry 1"));
    assert!(response.errors[0].error_message.contains("star_rating"));
    assert_eq!(
        stars(&c.get_record("reviews", "r1", &[]).await.unwrap()),
        Some(5)
    );
    assert_eq!(
        stars(&c.get_record("reviews", "r4", &[]).await.unwrap()),
        Some(4)
    );
    assert_eq!(c.get_record("reviews", "r2", &[]).await.unwrap(), None);
    assert_eq!(server.offline_log().len(), 3);
}

#[tokio::test]
async fn batch_write_over_the_entry_limit_is_resource_exhausted() {
    let server = TestServer::start_with(|config| config.limits.max_batch_write_entries = 2).await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    let entries = (0..3)
        .map(|i| {
            entry(
                "reviews",
                review(&format!("r{i}"), "2026-01-02T00:00:00Z", 1),
            )
        })
        .collect();
    let result = c
        .batch_write_record(pb::BatchWriteRecordRequest { entries })
        .await;
    assert_eq!(code(&result), Code::ResourceExhausted);
    assert!(server.offline_log().is_empty());
}

#[tokio::test]
async fn batch_get_spans_groups_with_per_identifier_errors() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    create_reviews(c, "other").await;
    c.put_record("reviews", review("r1", "2026-01-02T00:00:00Z", 1))
        .await
        .unwrap();
    c.put_record("reviews", review("r2", "2026-01-02T00:00:00Z", 2))
        .await
        .unwrap();
    c.put_record("other", review("o1", "2026-01-02T00:00:00Z", 3))
        .await
        .unwrap();
    let response = c
        .batch_get_record(pb::BatchGetRecordRequest {
            identifiers: vec![
                pb::BatchGetRecordIdentifier {
                    feature_group_name: "reviews".into(),
                    record_identifiers_value_as_string: vec![
                        "r1".into(),
                        "missing".into(),
                        "r2".into(),
                    ],
                    feature_names: vec!["star_rating".into()],
                },
                pb::BatchGetRecordIdentifier {
                    feature_group_name: "other".into(),
                    record_identifiers_value_as_string: vec!["o1".into()],
                    feature_names: vec![],
                },
                pb::BatchGetRecordIdentifier {
                    feature_group_name: "nope".into(),
                    record_identifiers_value_as_string: vec!["x".into()],
                    feature_names: vec![],
                },
                pb::BatchGetRecordIdentifier {
                    feature_group_name: "other".into(),
                    record_identifiers_value_as_string: vec!["o1".into()],
                    feature_names: vec!["bad_feature".into()],
                },
            ],
            return_expiration: false,
        })
        .await
        .unwrap();
    let found: Vec<_> = response
        .records
        .iter()
        .map(|r| {
            (
                r.feature_group_name.as_str(),
                r.record_identifier_value_as_string.as_str(),
                r.record.len(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("reviews", "r1", 1),
            ("reviews", "r2", 1),
            ("other", "o1", 4)
        ]
    );
    let errors: Vec<_> = response
        .errors
        .iter()
        .map(|e| (e.feature_group_name.as_str(), e.error_code))
        .collect();
    assert_eq!(
        errors,
        [
            ("nope", Code::NotFound as i32),
            ("other", Code::InvalidArgument as i32)
        ]
    );
    assert!(response.errors[1].error_message.contains("bad_feature"));
    assert!(response.unprocessed_identifiers.is_empty());
}

#[tokio::test]
async fn batch_get_returns_identifiers_over_the_cap_as_unprocessed() {
    let server = TestServer::start_with(|config| config.limits.max_batch_get_records = 3).await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    for i in 0..5 {
        c.put_record(
            "reviews",
            review(&format!("r{i}"), "2026-01-02T00:00:00Z", i),
        )
        .await
        .unwrap();
    }
    let ids: Vec<String> = (0..5).map(|i| format!("r{i}")).collect();
    let response = c
        .batch_get_record(pb::BatchGetRecordRequest {
            identifiers: vec![pb::BatchGetRecordIdentifier {
                feature_group_name: "reviews".into(),
                record_identifiers_value_as_string: ids,
                feature_names: vec![],
            }],
            return_expiration: false,
        })
        .await
        .unwrap();
    assert_eq!(response.records.len(), 3);
    assert_eq!(response.unprocessed_identifiers.len(), 1);
    assert_eq!(
        response.unprocessed_identifiers[0].record_identifiers_value_as_string,
        ["r3", "r4"]
    );
}
