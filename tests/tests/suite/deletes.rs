//! DeleteRecord: soft, hard and stale deletes and their offline markers.

use almanac_client::DeletionMode;
use almanac_client::proto as pb;
use almanac_tests::TestServer;
use almanac_tests::fixtures::{code, create_reviews, message, review, stars};
use almanac_types::Value;
use tonic::Code;

#[tokio::test]
async fn soft_delete_leaves_a_tombstone_that_reads_never_return() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    c.put_record("reviews", review("r1", "2026-01-02T00:00:00Z", 3))
        .await
        .unwrap();
    c.delete_record("reviews", "r1", "2026-01-03T00:00:00Z", DeletionMode::Soft)
        .await
        .unwrap();
    assert_eq!(c.get_record("reviews", "r1", &[]).await.unwrap(), None);

    // The tombstone keeps its event time: an older write stays hidden...
    c.put_record("reviews", review("r1", "2026-01-02T12:00:00Z", 4))
        .await
        .unwrap();
    assert_eq!(c.get_record("reviews", "r1", &[]).await.unwrap(), None);
    // ...a newer one brings the record back.
    c.put_record("reviews", review("r1", "2026-01-04T00:00:00Z", 5))
        .await
        .unwrap();
    assert_eq!(
        stars(&c.get_record("reviews", "r1", &[]).await.unwrap()),
        Some(5)
    );

    let log = server.offline_log();
    let marker = &log[1].1;
    assert!(marker.is_deleted);
    assert_eq!(marker.record_id.0, "r1");
    assert_eq!(marker.record.values[0], Value::String("r1".into()));
    assert_eq!(
        marker.record.values[1],
        Value::String("2026-01-03T00:00:00Z".into())
    );
    assert!(
        marker.record.values[2..].iter().all(Value::is_null),
        "every other feature is null"
    );
}

#[tokio::test]
async fn soft_deleted_records_are_listed_only_when_asked() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    c.put_record("reviews", review("a", "2026-01-02T00:00:00Z", 3))
        .await
        .unwrap();
    c.put_record("reviews", review("b", "2026-01-02T00:00:00Z", 3))
        .await
        .unwrap();
    c.delete_record("reviews", "a", "2026-01-03T00:00:00Z", DeletionMode::Soft)
        .await
        .unwrap();
    let list = |include_soft_deleted| pb::ListRecordsRequest {
        feature_group_name: "reviews".into(),
        include_soft_deleted,
        ..Default::default()
    };
    let live = c.list_records(list(false)).await.unwrap().records;
    assert_eq!(
        live.iter()
            .map(|r| r.record_identifier_value_as_string.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );
    let all = c.list_records(list(true)).await.unwrap().records;
    assert_eq!(all.len(), 2);
    assert!(all[0].soft_deleted && !all[1].soft_deleted);
}

#[tokio::test]
async fn hard_delete_removes_the_record_entirely() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    c.put_record("reviews", review("r1", "2026-01-02T00:00:00Z", 3))
        .await
        .unwrap();
    c.delete_record("reviews", "r1", "2026-01-02T00:00:00Z", DeletionMode::Hard)
        .await
        .unwrap();
    assert_eq!(c.get_record("reviews", "r1", &[]).await.unwrap(), None);
    let listed = c
        .list_records(pb::ListRecordsRequest {
            feature_group_name: "reviews".into(),
            include_soft_deleted: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(listed.records.is_empty(), "no tombstone is left");
    // With nothing stored, an older write is accepted again.
    c.put_record("reviews", review("r1", "2026-01-01T00:00:00Z", 2))
        .await
        .unwrap();
    assert_eq!(
        stars(&c.get_record("reviews", "r1", &[]).await.unwrap()),
        Some(2)
    );
    let markers: Vec<_> = server
        .offline_log()
        .into_iter()
        .filter(|(_, e)| e.is_deleted)
        .collect();
    assert_eq!(markers.len(), 1);
}

#[tokio::test]
async fn stale_hard_delete_fails_and_writes_nothing() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    c.put_record("reviews", review("r1", "2026-01-02T00:00:00Z", 3))
        .await
        .unwrap();
    let stale = c
        .delete_record("reviews", "r1", "2026-01-01T00:00:00Z", DeletionMode::Hard)
        .await;
    assert_eq!(code(&stale), Code::FailedPrecondition);
    assert!(message(&stale).contains("stale"));
    assert_eq!(
        stars(&c.get_record("reviews", "r1", &[]).await.unwrap()),
        Some(3)
    );
    assert_eq!(
        server.offline_log().len(),
        1,
        "only the put is in the offline log"
    );
}

#[tokio::test]
async fn stale_soft_delete_keeps_the_record_but_writes_the_marker() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    c.put_record("reviews", review("r1", "2026-01-02T00:00:00Z", 3))
        .await
        .unwrap();
    c.delete_record("reviews", "r1", "2026-01-01T00:00:00Z", DeletionMode::Soft)
        .await
        .unwrap();
    assert_eq!(
        stars(&c.get_record("reviews", "r1", &[]).await.unwrap()),
        Some(3)
    );
    let log = server.offline_log();
    assert_eq!(log.len(), 2);
    assert!(log[1].1.is_deleted);
    assert_eq!(
        log[1].1.record.values[1],
        Value::String("2026-01-01T00:00:00Z".into())
    );
}

#[tokio::test]
async fn deletes_check_their_input() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    assert_eq!(
        code(
            &c.delete_record("reviews", "r1", "yesterday", DeletionMode::Soft)
                .await
        ),
        Code::InvalidArgument
    );
    assert_eq!(
        code(
            &c.delete_record("nope", "r1", "2026-01-01T00:00:00Z", DeletionMode::Soft)
                .await
        ),
        Code::NotFound
    );
    let bad_mode = c
        .delete_record_with(pb::DeleteRecordRequest {
            feature_group_name: "reviews".into(),
            record_identifier_value_as_string: "r1".into(),
            event_time: "2026-01-01T00:00:00Z".into(),
            deletion_mode: 7,
            target_stores: vec![],
        })
        .await;
    assert!(message(&bad_mode).contains("deletion_mode"));
}
