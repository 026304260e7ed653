//! The offline tier end to end: writes reach Parquet in the documented
//! layout exactly once, SQL sees every acknowledged write at once, deletes
//! and schema changes show up as docs/reference.md sections 6 and 7 say.

use almanac_client::DeletionMode;
use almanac_client::proto as pb;
use almanac_client::values::{feature, scalar};
use almanac_tests::fixtures::{batch_entry, create_reviews, put_reviews, review};
use almanac_tests::sql::{assert_each_review_once, count, query};
use almanac_tests::{TestServer, run_python, with_flushes};

fn parquet_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(parquet_files(&path));
        } else if path.extension().is_some_and(|e| e == "parquet") {
            found.push(path);
        }
    }
    found.sort();
    found
}

fn group_dir(server: &TestServer, description: &pb::FeatureGroupDescription) -> std::path::PathBuf {
    let location = description
        .offline_store_state
        .as_ref()
        .expect("offline state")
        .location
        .clone();
    let path = location.strip_prefix("file://").expect("a local location");
    assert!(path.starts_with(server.data_dir().canonicalize().unwrap().to_str().unwrap()));
    std::path::PathBuf::from(path)
}

/// Adds the String feature `language` to `reviews`.
async fn add_language(server: &TestServer) {
    server
        .client
        .update_feature_group(pb::UpdateFeatureGroupRequest {
            feature_group_name: "reviews".into(),
            feature_additions: vec![scalar("language", pb::FeatureType::String)],
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn writes_land_in_hive_partitions_by_event_hour() {
    let server = TestServer::start_with(with_flushes).await;
    let description = create_reviews(&server.client, "reviews").await;
    server
        .client
        .put_record("reviews", review("r1", "2026-03-01T10:15:00Z", 5))
        .await
        .unwrap();
    server
        .client
        .put_record("reviews", review("r2", "2026-03-01T10:45:00Z", 4))
        .await
        .unwrap();
    server
        .client
        .put_record("reviews", review("r3", "2026-03-02T23:59:59.5Z", 3))
        .await
        .unwrap();
    server.wait_flushed().await;

    let dir = group_dir(&server, &description);
    assert!(dir.join("schema.json").is_file());
    let files = parquet_files(&dir.join("data"));
    let relative: Vec<String> = files
        .iter()
        .map(|f| {
            f.parent()
                .unwrap()
                .strip_prefix(&dir)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(
        relative,
        [
            "data/year=2026/month=03/day=01/hour=10",
            "data/year=2026/month=03/day=02/hour=23"
        ]
    );
    let schema = std::fs::read_to_string(dir.join("schema.json")).unwrap();
    assert!(schema.contains("\"event_time_feature_name\": \"event_time\""));

    // The flushed rows are what SQL reads, once each.
    assert_eq!(
        count(&server.client, "SELECT count(*) FROM reviews").await,
        3
    );
    let rows = query(
        &server.client,
        "SELECT review_id, event_time, star_rating, is_deleted FROM reviews ORDER BY review_id",
    )
    .await;
    assert_eq!(
        rows,
        [
            ["r1", "2026-03-01T10:15:00Z", "5", "false"],
            ["r2", "2026-03-01T10:45:00Z", "4", "false"],
            ["r3", "2026-03-02T23:59:59.500Z", "3", "false"],
        ]
    );
}

#[tokio::test]
async fn sql_sees_unflushed_writes_at_once() {
    // The default test server never flushes on its own.
    let server = TestServer::start().await;
    create_reviews(&server.client, "reviews").await;
    for i in 0..10 {
        let id = format!("r{i}");
        server
            .client
            .put_record("reviews", review(&id, "2026-03-01T00:00:00Z", i))
            .await
            .unwrap();
        assert_eq!(
            count(&server.client, "SELECT count(*) FROM reviews").await,
            i + 1
        );
    }
    assert!(server.engine().offline_backlog_total() == 10);
}

#[tokio::test]
async fn every_write_is_seen_exactly_once_while_flushes_run() {
    let server = TestServer::start_with(with_flushes).await;
    create_reviews(&server.client, "reviews").await;
    let mut written = 0;
    for round in 0..30 {
        let entries: Vec<_> = (0..20)
            .map(|i| {
                let record = review(&format!("r{round}-{i}"), "2026-03-01T00:00:00Z", i);
                batch_entry("reviews", record)
            })
            .collect();
        let response = server
            .client
            .batch_write_record(pb::BatchWriteRecordRequest { entries })
            .await
            .unwrap();
        assert_eq!(response.written, 20);
        written += 20;
        assert_eq!(
            count(&server.client, "SELECT count(*) FROM reviews").await,
            written
        );
        tokio::time::sleep(std::time::Duration::from_millis(7)).await;
    }
    server.wait_flushed().await;
    assert_each_review_once(&server.client, written).await;
}

#[tokio::test]
async fn deletes_are_marker_rows_and_added_features_read_as_null() {
    let server = TestServer::start_with(with_flushes).await;
    create_reviews(&server.client, "reviews").await;
    server
        .client
        .put_record("reviews", review("r1", "2026-03-01T00:00:00Z", 5))
        .await
        .unwrap();
    server
        .client
        .delete_record("reviews", "r1", "2026-03-01T01:00:00Z", DeletionMode::Soft)
        .await
        .unwrap();
    server.wait_flushed().await;
    add_language(&server).await;
    let mut record = review("r2", "2026-03-01T02:00:00Z", 4);
    record.push(feature("language", "de"));
    server.client.put_record("reviews", record).await.unwrap();

    let rows = query(
        &server.client,
        "SELECT review_id, star_rating, language, is_deleted FROM reviews ORDER BY event_time",
    )
    .await;
    assert_eq!(
        rows,
        [
            ["r1", "5", "NULL", "false"],
            ["r1", "NULL", "NULL", "true"],
            ["r2", "4", "de", "false"],
        ]
    );
    server.wait_flushed().await;
    let rows = query(
        &server.client,
        "SELECT review_id, language FROM reviews WHERE language IS NOT NULL",
    )
    .await;
    assert_eq!(rows, [["r2", "de"]]);
}

#[tokio::test]
async fn deleting_a_group_keeps_its_files_unless_purged() {
    let server = TestServer::start_with(with_flushes).await;
    let kept = create_reviews(&server.client, "kept").await;
    let purged = create_reviews(&server.client, "purged").await;
    for name in ["kept", "purged"] {
        server
            .client
            .put_record(name, review("r1", "2026-03-01T00:00:00Z", 5))
            .await
            .unwrap();
    }
    server.wait_flushed().await;
    let kept_dir = group_dir(&server, &kept);
    let purged_dir = group_dir(&server, &purged);
    assert_eq!(parquet_files(&kept_dir).len(), 1);
    assert_eq!(parquet_files(&purged_dir).len(), 1);

    server
        .client
        .delete_feature_group("kept", false)
        .await
        .unwrap();
    server
        .client
        .delete_feature_group("purged", true)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while purged_dir.exists() {
        assert!(std::time::Instant::now() < deadline, "purge did not happen");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(parquet_files(&kept_dir).len(), 1);
}

#[tokio::test]
async fn storage_failures_block_the_flusher_and_lose_nothing() {
    let server = TestServer::start_with(with_flushes).await;
    let description = create_reviews(&server.client, "reviews").await;
    let dir = group_dir(&server, &description);
    // A plain file where the data folder goes makes every write fail.
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("data"), b"in the way").unwrap();
    put_reviews(&server.client, "reviews", 0..5, "2026-03-01T00:00:00Z").await;
    let state = server
        .wait_offline_status("reviews", pb::OfflineStoreStatus::Blocked)
        .await;
    assert_eq!(state.lag_entries, 5);
    assert!(!state.blocked_reason.is_empty());
    // Writes and queries go on.
    server
        .client
        .put_record("reviews", review("r5", "2026-03-01T00:00:00Z", 5))
        .await
        .unwrap();
    assert_eq!(
        count(&server.client, "SELECT count(*) FROM reviews").await,
        6
    );

    std::fs::remove_file(dir.join("data")).unwrap();
    server.wait_flushed().await;
    // The log empties when the flush commits; the status turns Active when
    // the flusher's round ends, a moment later.
    let state = server
        .wait_offline_status("reviews", pb::OfflineStoreStatus::Active)
        .await;
    assert_eq!(state.status, pb::OfflineStoreStatus::Active as i32);
    assert_eq!(state.lag_entries, 0);
    assert_each_review_once(&server.client, 6).await;
    // The flush that failed is redone as planned (r0-r4), then r5 follows.
    assert_eq!(parquet_files(&dir).len(), 2);
}

#[tokio::test]
async fn offline_files_read_with_pyarrow_and_duckdb() {
    let server = TestServer::start_with(with_flushes).await;
    let description = create_reviews(&server.client, "reviews").await;
    let mut full = review("r1", "2026-03-01T10:15:00.123456Z", 5);
    full.push(feature("tags", vec!["good".to_owned(), "long".to_owned()]));
    full.push(feature("embedding", vec![0.5, 1.5, 2.5]));
    server.client.put_record("reviews", full).await.unwrap();
    server
        .client
        .put_record("reviews", review("r2", "2026-03-02T23:00:00Z", 4))
        .await
        .unwrap();
    server
        .client
        .delete_record("reviews", "r2", "2026-03-02T23:30:00Z", DeletionMode::Soft)
        .await
        .unwrap();
    server.wait_flushed().await;

    let dir = group_dir(&server, &description);
    let seen = run_python("read_offline_store.py", &[dir.to_str().unwrap()]);
    let expected_columns = [
        r#""review_id": "string""#,
        r#""event_time": "timestamp[us, tz=UTC]""#,
        r#""product_id": "string""#,
        r#""star_rating": "int64""#,
        r#""helpful_ratio": "double""#,
        r#""tags": "list<item: string>""#,
        r#""votes": "list<item: int64>""#,
        r#""embedding": "fixed_size_list<item: double>[3]""#,
        r#""write_time": "timestamp[us, tz=UTC]""#,
        r#""api_invocation_time": "timestamp[us, tz=UTC]""#,
        r#""is_deleted": "bool""#,
    ];
    for column in expected_columns {
        assert!(seen.contains(column), "{column} missing from {seen}");
    }
    for fact in [
        r#""row_count": 3"#,
        r#""review_ids": ["r1", "r2", "r2"]"#,
        r#""event_times": ["2026-03-01T10:15:00.123456+00:00", "2026-03-02T23:00:00+00:00", "2026-03-02T23:30:00+00:00"]"#,
        r#""tags": [["good", "long"], null, null]"#,
        r#""embedding": [[0.5, 1.5, 2.5], null, null]"#,
        r#""is_deleted": [false, false, true]"#,
        r#""duckdb_partitions": [["2026", "03", "01", "10", "1"], ["2026", "03", "02", "23", "2"]]"#,
        r#""compression": ["ZSTD"]"#,
    ] {
        assert!(seen.contains(fact), "{fact} missing from {seen}");
    }
}

#[tokio::test]
async fn small_files_of_an_hour_are_merged_exactly_once() {
    let server = TestServer::start_with(|config| {
        with_flushes(config);
        config.flusher.compaction.min_files = 3;
    })
    .await;
    let description = create_reviews(&server.client, "reviews").await;
    // One flush per write: five small files in the same hour, merged each
    // time three pile up (files after each flush: 1, 2, 3->1, 2, 3->1).
    for i in 0..4 {
        let time = format!("2026-03-01T10:0{i}:00Z");
        server
            .client
            .put_record("reviews", review(&format!("r{i}"), &time, i))
            .await
            .unwrap();
        server.wait_flushed().await;
    }
    add_language(&server).await;
    let mut record = review("r4", "2026-03-01T10:04:00Z", 4);
    record.push(feature("language", "de"));
    server.client.put_record("reviews", record).await.unwrap();
    server.wait_flushed().await;

    let dir = group_dir(&server, &description);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while parquet_files(&dir).len() != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "not merged: {:?}",
            parquet_files(&dir)
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let files = parquet_files(&dir);
    assert!(
        files[0].to_str().unwrap().ends_with("-c.parquet"),
        "{files:?}"
    );
    let rows = query(
        &server.client,
        "SELECT review_id, star_rating, language FROM reviews ORDER BY review_id",
    )
    .await;
    assert_eq!(
        rows,
        [
            ["r0", "0", "NULL"],
            ["r1", "1", "NULL"],
            ["r2", "2", "NULL"],
            ["r3", "3", "NULL"],
            ["r4", "4", "de"],
        ]
    );
    // An independent reader sees each row once too.
    let seen = run_python("read_offline_store.py", &[dir.to_str().unwrap()]);
    assert!(seen.contains(r#""row_count": 5"#), "{seen}");
    assert!(seen.contains(r#""language": "string""#), "{seen}");
}
