//! The Rust client's own surface against the real server: the builder and
//! its message limit, typed records, deletion modes, and the calls that
//! follow page tokens.

use almanac_client::proto as pb;
use almanac_client::{Client, ClientError, DeletionMode, Record};
use almanac_tests::TestServer;
use almanac_tests::fixtures::{code, create_reviews};
use futures::TryStreamExt;
use tonic::Code;

fn review(id: &str, day: u32, stars: i64) -> Record {
    Record::new()
        .with("review_id", id)
        .with("event_time", format!("2026-01-{day:02}T00:00:00Z"))
        .with("star_rating", stars)
}

#[tokio::test]
async fn typed_records_and_deletion_modes_round_trip() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    c.put_record("reviews", review("r1", 2, 4)).await.unwrap();
    c.put_record("reviews", review("r2", 2, 5)).await.unwrap();

    let record = c.get_record("reviews", "r1", &[]).await.unwrap().unwrap();
    assert_eq!(record.integral("star_rating"), Some(4));
    assert_eq!(record.text("review_id"), Some("r1"));
    assert_eq!(record.text("star_rating"), None, "an Integral is not text");
    assert!(record.names().any(|name| name == "event_time"));

    // A soft delete leaves a tombstone that refuses older writes; a hard
    // one lets them in again.
    c.delete_record("reviews", "r1", "2026-01-03T00:00:00Z", DeletionMode::Soft)
        .await
        .unwrap();
    c.delete_record("reviews", "r2", "2026-01-03T00:00:00Z", DeletionMode::Hard)
        .await
        .unwrap();
    assert_eq!(c.get_record("reviews", "r1", &[]).await.unwrap(), None);
    assert_eq!(c.get_record("reviews", "r2", &[]).await.unwrap(), None);
    c.put_record("reviews", review("r1", 1, 1)).await.unwrap();
    c.put_record("reviews", review("r2", 1, 2)).await.unwrap();
    assert_eq!(c.get_record("reviews", "r1", &[]).await.unwrap(), None);
    let r2 = c.get_record("reviews", "r2", &[]).await.unwrap().unwrap();
    assert_eq!(r2.integral("star_rating"), Some(2));
}

#[tokio::test]
async fn list_calls_follow_every_page() {
    let server = TestServer::start().await;
    let c = &server.client;
    for name in ["g_a", "g_b", "g_c"] {
        create_reviews(c, name).await;
    }
    let groups = c
        .list_feature_groups_all(pb::ListFeatureGroupsRequest {
            max_results: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    let names: Vec<_> = groups
        .iter()
        .map(|g| g.feature_group_name.as_str())
        .collect();
    assert_eq!(names, ["g_a", "g_b", "g_c"]);

    let hits = c
        .search_all(pb::SearchRequest {
            query: "g_".into(),
            max_results: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(hits.len() >= 3, "{hits:?}");

    for i in 0..25 {
        c.put_record("g_a", review(&format!("r{i:02}"), 2, i))
            .await
            .unwrap();
    }
    let listed: Vec<_> = c
        .list_records_stream(pb::ListRecordsRequest {
            feature_group_name: "g_a".into(),
            page_size: 4,
            ..Default::default()
        })
        .map_ok(|r| r.record_identifier_value_as_string)
        .try_collect()
        .await
        .unwrap();
    let expected: Vec<_> = (0..25).map(|i| format!("r{i:02}")).collect();
    assert_eq!(listed, expected);

    // An error on a later page ends the stream with that error.
    let missing = c
        .list_records_stream(pb::ListRecordsRequest {
            feature_group_name: "nope".into(),
            ..Default::default()
        })
        .try_collect::<Vec<_>>()
        .await;
    assert_eq!(code(&missing), Code::NotFound);
}

#[tokio::test]
async fn the_builder_sets_the_message_limit() {
    let server = TestServer::start().await;
    create_reviews(&server.client, "reviews").await;
    let small = Client::builder(server.endpoint.clone())
        .max_message_bytes(1024)
        .connect()
        .await
        .unwrap();
    let big = Record::new()
        .with("review_id", "big")
        .with("event_time", "2026-01-02T00:00:00Z")
        .with("product_id", "x".repeat(4096));
    // Larger than the client sends: refused before it leaves.
    let refused = small.put_record("reviews", big.clone()).await;
    assert!(
        matches!(
            refused,
            Err(ClientError::MessageTooLarge { bytes, limit: 1024 }) if bytes > 4096
        ),
        "{refused:?}"
    );
    // Written by a client with the default limit, then too large to read
    // back through the small one.
    server.client.put_record("reviews", big).await.unwrap();
    let answer = small.get_record("reviews", "big", &[]).await;
    assert_eq!(code(&answer), Code::OutOfRange, "{answer:?}");
    let read = server.client.get_record("reviews", "big", &[]).await;
    assert_eq!(
        read.unwrap().unwrap().text("product_id").map(str::len),
        Some(4096)
    );
}
