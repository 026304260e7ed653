//! TTL: expired records are never returned, and the purge removes them
//! with a delete marker offline. Time moves by the test clock, not sleep.

use almanac_client::proto as pb;
use almanac_online::purge_all_expired;
use almanac_tests::TestServer;
use almanac_tests::fixtures::{create_reviews, review, reviews_request, stars};
use almanac_types::time::parse_iso8601;

const HOUR: i64 = 3_600_000_000;

#[tokio::test]
async fn expired_records_are_hidden_then_purged_with_a_marker() {
    let server = TestServer::start().await;
    let c = &server.client;
    let mut request = reviews_request("reviews");
    request.online_store = Some(pb::OnlineStoreConfig {
        enabled: true,
        default_ttl_seconds: Some(3600),
    });
    c.create_feature_group(request).await.unwrap();

    let event_time = "2026-03-01T00:00:00Z";
    c.put_record("reviews", review("r1", event_time, 3))
        .await
        .unwrap();
    let response = c
        .get_record_with(pb::GetRecordRequest {
            feature_group_name: "reviews".into(),
            record_identifier_value_as_string: "r1".into(),
            return_expiration: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let expires = parse_iso8601(event_time).unwrap() + HOUR;
    assert_eq!(response.expires_at_micros, Some(expires));

    // One microsecond before expiry it is there; at expiry it is gone,
    // before any purge has run.
    server.clock.set(expires - 1);
    assert_eq!(
        stars(&c.get_record("reviews", "r1", &[]).await.unwrap()),
        Some(3)
    );
    server.clock.set(expires);
    assert_eq!(c.get_record("reviews", "r1", &[]).await.unwrap(), None);
    let listed = c
        .list_records(pb::ListRecordsRequest {
            feature_group_name: "reviews".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(listed.records.is_empty());

    assert_eq!(purge_all_expired(server.engine()).await.unwrap(), 1);
    assert_eq!(
        purge_all_expired(server.engine()).await.unwrap(),
        0,
        "a second purge finds nothing"
    );
    let log = server.offline_log();
    assert_eq!(log.len(), 2);
    let marker = &log[1].1;
    assert!(marker.is_deleted);
    assert_eq!(marker.record.event_time_micros, expires);

    // An expired record counts as absent: an older write is accepted.
    c.put_record("reviews", review("r1", "2026-03-01T00:30:00Z", 4))
        .await
        .unwrap();
    server.clock.set(expires - 1);
    assert_eq!(
        stars(&c.get_record("reviews", "r1", &[]).await.unwrap()),
        Some(4)
    );
}

#[tokio::test]
async fn a_record_ttl_overrides_the_group_default_and_updates_apply_to_later_writes() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    let start = almanac_types::time::Clock::now_micros(&server.clock);

    // No default: never expires.
    c.put_record("reviews", review("forever", "2026-03-01T00:00:00Z", 1))
        .await
        .unwrap();
    // A per-record TTL.
    c.put_record_with(pb::PutRecordRequest {
        feature_group_name: "reviews".into(),
        record: review("short", "2026-03-01T00:00:00Z", 2),
        target_stores: vec![],
        ttl_seconds: Some(60),
    })
    .await
    .unwrap();
    // A default set later applies to later writes only.
    c.update_feature_group(pb::UpdateFeatureGroupRequest {
        feature_group_name: "reviews".into(),
        default_ttl_seconds: Some(7200),
        ..Default::default()
    })
    .await
    .unwrap();
    c.put_record("reviews", review("default", "2026-03-01T00:00:00Z", 3))
        .await
        .unwrap();

    server.clock.set(start + HOUR);
    assert!(
        c.get_record("reviews", "forever", &[])
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        c.get_record("reviews", "short", &[])
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        c.get_record("reviews", "default", &[])
            .await
            .unwrap()
            .is_some()
    );
    server.clock.set(start + 2 * HOUR);
    assert!(
        c.get_record("reviews", "default", &[])
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        c.get_record("reviews", "forever", &[])
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(purge_all_expired(server.engine()).await.unwrap(), 2);
}

#[tokio::test]
async fn a_replaced_record_is_not_purged_by_its_old_expiry() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    let put = |id: &str, time: &str, ttl| pb::PutRecordRequest {
        feature_group_name: "reviews".into(),
        record: review(id, time, 1),
        target_stores: vec![],
        ttl_seconds: Some(ttl),
    };
    c.put_record_with(put("r1", "2026-03-01T00:00:00Z", 60))
        .await
        .unwrap();
    c.put_record_with(put("r1", "2026-03-01T00:00:01Z", 86_400))
        .await
        .unwrap();
    server.clock.advance(HOUR);
    assert_eq!(purge_all_expired(server.engine()).await.unwrap(), 0);
    assert!(c.get_record("reviews", "r1", &[]).await.unwrap().is_some());
}

#[tokio::test]
async fn the_background_purge_runs_on_its_interval() {
    let server = TestServer::start_with(|config| {
        config.ttl_purge_interval = std::time::Duration::from_millis(20)
    })
    .await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    c.put_record_with(pb::PutRecordRequest {
        feature_group_name: "reviews".into(),
        record: review("r1", "2026-03-01T00:00:00Z", 1),
        target_stores: vec![],
        ttl_seconds: Some(1),
    })
    .await
    .unwrap();
    server.clock.advance(2_000_000);
    // Wait (bounded) for the background task to write the marker.
    for _ in 0..200 {
        if server.offline_log().iter().any(|(_, e)| e.is_deleted) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the background purge did not remove the expired record within 5 s");
}
