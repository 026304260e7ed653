//! The offline store on S3, for real: SeaweedFS on loopback. Files land in
//! the bucket in the documented layout, SQL reads them back, and an outage
//! turns the status Blocked without losing a write.

use almanac_client::proto as pb;
use almanac_tests::fixtures::{create_reviews, put_reviews};
use almanac_tests::seaweed::SeaweedFs;
use almanac_tests::sql::{assert_each_review_once, count};
use almanac_tests::{TestServer, with_flushes};

#[tokio::test]
async fn files_land_in_s3_and_an_outage_blocks_without_loss() {
    let mut weed = SeaweedFs::start("almanac");
    let options = weed.options();
    let server = TestServer::start_with(|config| {
        with_flushes(config);
        config.offline_store = Some("s3://almanac/features".into());
        config.offline_store_options = options;
    })
    .await;
    let description = create_reviews(&server.client, "reviews").await;
    let location = description.offline_store_state.unwrap().location;
    assert!(
        location.starts_with("s3://almanac/features/reviews-"),
        "{location}"
    );

    put_reviews(&server.client, "reviews", 0..3, "2026-03-01T05:00:00Z").await;
    server.wait_flushed().await;
    let keys = weed.list_keys("features/");
    let group = location.trim_start_matches("s3://almanac/");
    assert!(keys.contains(&format!("{group}/schema.json")), "{keys:?}");
    let data: Vec<_> = keys.iter().filter(|k| k.ends_with(".parquet")).collect();
    assert_eq!(data.len(), 1, "{keys:?}");
    assert!(
        data[0].starts_with(&format!("{group}/data/year=2026/month=03/day=01/hour=05/")),
        "{keys:?}"
    );
    assert_eq!(
        count(&server.client, "SELECT count(*) FROM reviews").await,
        3
    );

    // Outage: writes go on, the status says Blocked with the lag.
    weed.stop();
    put_reviews(&server.client, "reviews", 3..8, "2026-03-01T06:00:00Z").await;
    let state = server
        .wait_offline_status("reviews", pb::OfflineStoreStatus::Blocked)
        .await;
    assert_eq!(state.lag_entries, 5, "{state:?}");
    assert!(!state.blocked_reason.is_empty());

    // Back: the backlog drains by itself, nothing lost, nothing doubled.
    weed.resume();
    server.wait_flushed().await;
    server
        .wait_offline_status("reviews", pb::OfflineStoreStatus::Active)
        .await;
    assert_each_review_once(&server.client, 8).await;
    let data = weed
        .list_keys("features/")
        .into_iter()
        .filter(|k| k.ends_with(".parquet"))
        .count();
    assert_eq!(data, 2);
}

/// Writes 40 drivers x 6 hourly versions into `driver_stats`, half of them
/// before a flush and half left in the log.
async fn driver_history(server: &TestServer) {
    use almanac_client::values::feature;
    let client = &server.client;
    client
        .create_feature_group(almanac_tests::fixtures::group_request(
            "driver_stats",
            ("driver_id", pb::FeatureType::Integral),
            &[("trips", pb::FeatureType::Integral)],
        ))
        .await
        .unwrap();
    for hour in 0..6i64 {
        let entries = (0..40i64)
            .map(|driver| {
                almanac_tests::fixtures::batch_entry(
                    "driver_stats",
                    vec![
                        feature("driver_id", driver),
                        feature(
                            "event_time",
                            format!("2026-03-01T{hour:02}:00:00Z").as_str(),
                        ),
                        feature("trips", driver * 100 + hour),
                    ],
                )
            })
            .collect();
        client
            .batch_write_record(pb::BatchWriteRecordRequest { entries })
            .await
            .unwrap();
        if hour == 2 {
            server.wait_flushed().await;
        }
    }
}

#[tokio::test]
async fn datasets_are_the_same_from_s3_and_from_a_local_folder() {
    use almanac_client::dataset::{DatasetRequest, FeatureSelection};
    use almanac_tests::dataset::dataset;
    use arrow::array::{Int64Array, RecordBatch, TimestampMicrosecondArray};
    use std::sync::Arc;

    let weed = SeaweedFs::start("almanac");
    let options = weed.options();
    let on_s3 = TestServer::start_with(|config| {
        with_flushes(config);
        config.offline_store = Some("s3://almanac/datasets".into());
        config.offline_store_options = options;
    })
    .await;
    let local = TestServer::start_with(with_flushes).await;
    driver_history(&on_s3).await;
    driver_history(&local).await;
    assert!(
        weed.list_keys("datasets/")
            .iter()
            .any(|k| k.ends_with(".parquet")),
        "the S3 server's history is in the bucket"
    );

    // 500 entity rows: every driver (and some never written) at times
    // before, at, between and after the versions.
    const BASE: i64 = 1_772_323_200_000_000;
    let rows = 500i64;
    let entities = RecordBatch::try_from_iter([
        (
            "driver_id",
            Arc::new(Int64Array::from_iter_values((0..rows).map(|i| i * 7 % 45)))
                as arrow::array::ArrayRef,
        ),
        (
            "event_time",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    (0..rows)
                        .map(|i| BASE - 3_600_000_000 + i * 29 * 60_000_000 % (8 * 3_600_000_000)),
                )
                .with_timezone("UTC"),
            ),
        ),
    ])
    .unwrap();
    let request = DatasetRequest {
        features: vec![FeatureSelection {
            group: "driver_stats".into(),
            features: vec!["trips".into()],
            ttl: Some("90m".into()),
            entity_column: None,
        }],
        ..Default::default()
    };
    let from_s3 = dataset(&on_s3.client, &request, entities.clone()).await;
    let from_local = dataset(&local.client, &request, entities).await;
    assert_eq!(from_s3, from_local);
    let found = from_s3.1.iter().filter(|r| r[2] != "NULL").count();
    assert!(found > 100 && found < 500, "{found} rows found a version");
}
