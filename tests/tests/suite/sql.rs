//! SQL over the offline store through Arrow Flight SQL: the seed chapter's
//! aggregate, time travel (as_of, FOR SYSTEM_TIME AS OF, as_written), and
//! the read-only guard.

use almanac_client::DeletionMode;
use almanac_client::proto as pb;
use almanac_tests::TestServer;
use almanac_tests::fixtures::{batch_entry, create_reviews, review};
use almanac_tests::sql::{count, query, query_error};
use tonic::Code;

async fn put(server: &TestServer, id: &str, event_time: &str, stars: i64) {
    server
        .client
        .put_record("reviews", review(id, event_time, stars))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_seed_query_ranks_products_by_average_rating() {
    let server = TestServer::start().await;
    create_reviews(&server.client, "reviews").await;
    let mut entries = Vec::new();
    for (product, reviews, stars) in [("p1", 12, 4), ("p2", 3, 5), ("p3", 10, 2)] {
        for i in 0..reviews {
            let mut record = review(&format!("{product}-{i}"), "2026-03-01T00:00:00Z", stars);
            record[2] = almanac_client::values::feature("product_id", product);
            entries.push(batch_entry("reviews", record));
        }
    }
    server
        .client
        .batch_write_record(pb::BatchWriteRecordRequest { entries })
        .await
        .unwrap();
    let rows = query(
        &server.client,
        "SELECT product_id, count(*) AS reviews, avg(star_rating) AS average \
         FROM reviews GROUP BY product_id HAVING count(*) >= 10 ORDER BY average DESC",
    )
    .await;
    assert_eq!(rows, [["p1", "12", "4.0"], ["p3", "10", "2.0"]]);
}

#[tokio::test]
async fn time_travel_returns_the_latest_version_at_an_instant() {
    let server = TestServer::start().await;
    create_reviews(&server.client, "reviews").await;
    put(&server, "r1", "2026-03-01T00:00:00Z", 1).await;
    put(&server, "r1", "2026-03-03T00:00:00Z", 3).await;
    // Out of order: older than what is online, still part of history.
    put(&server, "r1", "2026-03-02T00:00:00Z", 2).await;
    // A tie on event time: the later arrival wins.
    put(&server, "r1", "2026-03-02T00:00:00Z", 22).await;
    put(&server, "r2", "2026-03-01T12:00:00Z", 5).await;
    server
        .client
        .delete_record("reviews", "r2", "2026-03-02T12:00:00Z", DeletionMode::Soft)
        .await
        .unwrap();

    let at = |instant: &str| {
        format!(
            "SELECT review_id, star_rating FROM as_of('reviews', TIMESTAMP '{instant}') ORDER BY review_id"
        )
    };
    let c = &server.client;
    assert_eq!(
        query(c, &at("2026-02-28T00:00:00Z")).await,
        Vec::<Vec<String>>::new()
    );
    assert_eq!(query(c, &at("2026-03-01T00:00:00Z")).await, [["r1", "1"]]);
    assert_eq!(
        query(c, &at("2026-03-01T12:00:00Z")).await,
        [["r1", "1"], ["r2", "5"]]
    );
    assert_eq!(
        query(c, &at("2026-03-02T00:00:00Z")).await,
        [["r1", "22"], ["r2", "5"]]
    );
    // The delete marker hides r2 from its event time on.
    assert_eq!(query(c, &at("2026-03-02T12:00:00Z")).await, [["r1", "22"]]);
    assert_eq!(query(c, &at("2026-03-09T00:00:00Z")).await, [["r1", "3"]]);

    // FOR SYSTEM_TIME AS OF means the same, with or without an alias.
    let clause = query(
        c,
        "SELECT review_id, star_rating FROM reviews FOR SYSTEM_TIME AS OF TIMESTAMP '2026-03-02T00:00:00Z' ORDER BY review_id",
    )
    .await;
    assert_eq!(clause, [["r1", "22"], ["r2", "5"]]);
    let aliased = query(
        c,
        "SELECT r.star_rating FROM reviews FOR SYSTEM_TIME AS OF TIMESTAMP '2026-03-01T00:00:00Z' AS r",
    )
    .await;
    assert_eq!(aliased, [["1"]]);
}

#[tokio::test]
async fn as_written_rebuilds_the_store_as_it_was_at_a_wall_clock_instant() {
    let server = TestServer::start().await;
    create_reviews(&server.client, "reviews").await;
    put(&server, "r1", "2026-03-01T00:00:00Z", 1).await;
    server.clock.advance(60_000_000);
    let between = almanac_types::time::format_iso8601(server.engine().now_micros() - 1);
    put(&server, "r1", "2026-03-01T00:00:00Z", 2).await;
    put(&server, "r2", "2026-03-01T00:00:00Z", 7).await;

    let c = &server.client;
    let then = format!("SELECT count(*) FROM as_written('reviews', TIMESTAMP '{between}')");
    assert_eq!(count(c, &then).await, 1);
    let as_of_then = format!(
        "SELECT review_id, star_rating FROM as_of('reviews', TIMESTAMP '2026-03-05T00:00:00Z', TIMESTAMP '{between}')"
    );
    assert_eq!(query(c, &as_of_then).await, [["r1", "1"]]);
    let now = "SELECT review_id, star_rating FROM as_of('reviews', TIMESTAMP '2026-03-05T00:00:00Z') ORDER BY review_id";
    assert_eq!(query(c, now).await, [["r1", "2"], ["r2", "7"]]);
}

#[tokio::test]
async fn the_sql_interface_is_read_only() {
    let server = TestServer::start().await;
    create_reviews(&server.client, "reviews").await;
    put(&server, "r1", "2026-03-01T00:00:00Z", 1).await;
    let c = &server.client;
    for sql in [
        "INSERT INTO reviews (review_id) VALUES ('x')",
        "UPDATE reviews SET star_rating = 1",
        "DELETE FROM reviews",
        "CREATE TABLE t (a INT)",
        "CREATE VIEW v AS SELECT 1",
        "DROP TABLE reviews",
        "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/etc/'",
        "COPY reviews TO '/tmp/out.parquet'",
        "SET datafusion.execution.batch_size = 1",
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM read_parquet('/tmp/x.parquet')",
    ] {
        let error = query_error(c, sql).await;
        assert_eq!(error.code(), Some(Code::PermissionDenied), "{sql}: {error}");
    }
    for (sql, expected) in [
        ("SELEC 1", "SELEC"),
        ("SELECT nope FROM reviews", "nope"),
        ("SELECT * FROM missing_group", "missing_group"),
        (
            "SELECT * FROM as_of('missing_group', TIMESTAMP '2026-01-01T00:00:00Z')",
            "missing_group",
        ),
        ("SELECT * FROM as_of('reviews', 'not a time')", "timestamp"),
        (
            "SELECT * FROM reviews FOR SYSTEM_TIME AS OF 'yesterday'",
            "timestamp",
        ),
    ] {
        let error = query_error(c, sql).await;
        assert_eq!(error.code(), Some(Code::InvalidArgument), "{sql}: {error}");
        assert!(error.to_string().contains(expected), "{sql}: {error}");
    }
    // The server is still up and answering.
    assert_eq!(count(c, "SELECT count(*) FROM reviews").await, 1);
}

#[tokio::test]
async fn a_query_over_its_time_limit_is_resource_exhausted() {
    let server = TestServer::start_with(|config| {
        config.sql.timeout = std::time::Duration::from_millis(1);
    })
    .await;
    let error = query_error(
        &server.client,
        "SELECT count(*) FROM generate_series(1, 1000000000) AS a(v) WHERE v % 7 = 3",
    )
    .await;
    assert_eq!(error.code(), Some(Code::ResourceExhausted), "{error}");
    assert!(error.to_string().contains("time limit"), "{error}");
}

#[tokio::test]
async fn a_query_over_its_memory_limit_is_resource_exhausted() {
    let server = TestServer::start_with(|config| {
        config.sql.memory_limit_bytes = 1 << 20;
    })
    .await;
    let error = query_error(
        &server.client,
        "SELECT array_agg(v) FROM generate_series(1, 5000000) AS a(v)",
    )
    .await;
    assert_eq!(error.code(), Some(Code::ResourceExhausted), "{error}");
    assert!(error.to_string().contains("memory"), "{error}");
    // Within the limit, the same server answers.
    assert_eq!(
        count(
            &server.client,
            "SELECT count(*) FROM generate_series(1, 1000)"
        )
        .await,
        1000
    );
}
