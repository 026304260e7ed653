//! Existing Flight SQL clients work unchanged: the ADBC Flight SQL driver
//! from PyPI lists the tables, reads a table's schema, runs queries, time
//! travel included, and gets the server's errors.

use almanac_tests::fixtures::{create_reviews, review};
use almanac_tests::{TestServer, run_python};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adbc_flight_sql_driver_works_unchanged() {
    let server = TestServer::start().await;
    create_reviews(&server.client, "reviews").await;
    server
        .client
        .put_record("reviews", review("r1", "2026-03-01T00:00:00Z", 4))
        .await
        .unwrap();
    server
        .client
        .put_record("reviews", review("r1", "2026-03-02T00:00:00Z", 2))
        .await
        .unwrap();
    server
        .client
        .put_record("reviews", review("r2", "2026-03-01T06:00:00Z", 5))
        .await
        .unwrap();

    let uri = server.endpoint.replace("http://", "grpc://");
    let seen = tokio::task::spawn_blocking(move || run_python("adbc_query.py", &[&uri]))
        .await
        .unwrap();
    for fact in [
        r#""vendor_name": "Almanac""#,
        r#""tables": ["almanac.public.reviews"]"#,
        r#""reviews_columns": ["review_id", "event_time", "product_id", "star_rating", "helpful_ratio", "tags", "votes", "embedding", "write_time", "api_invocation_time", "is_deleted"]"#,
        r#""rows": [{"review_id": "r1", "star_rating": 4}, {"review_id": "r1", "star_rating": 2}, {"review_id": "r2", "star_rating": 5}]"#,
    ] {
        assert!(seen.contains(fact), "{fact} not in {seen}");
    }
    assert!(
        seen.contains(r#""as_of_rows": [["r1", 4], ["r2", 5]]"#)
            || seen.contains(r#""as_of_rows": [["r2", 5], ["r1", 4]]"#),
        "{seen}"
    );
    assert!(seen.contains("no_such_column"), "{seen}");
    // The Arrow version the server was built with, not a literal.
    let arrow_version = format!(r#""vendor_arrow_version": "{}""#, arrow::ARROW_VERSION);
    assert!(
        seen.contains(&arrow_version),
        "{arrow_version} not in {seen}"
    );
    assert!(
        seen.contains("read-only") || seen.contains("refused"),
        "{seen}"
    );
}
