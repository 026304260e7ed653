//! Regression tests for the SQL defects found by adversarial testing
//! (issue 11): statements too deep or too large, huge values, the codes of
//! refused statements, and the object stores a query can reach. Each
//! refused statement must leave the server answering.

use std::time::Duration;

use almanac_client::Client;
use almanac_tests::TestServer;
use almanac_tests::fixtures::{create_reviews, review};
use almanac_tests::sql::{count, query, query_error};
use arrow_flight::sql::client::FlightSqlServiceClient;
use tonic::Code;

async fn start() -> TestServer {
    let server = TestServer::start_with(|config| {
        config.sql.memory_limit_bytes = 256 << 20;
    })
    .await;
    create_reviews(&server.client, "reviews").await;
    server
        .client
        .put_record("reviews", review("r1", "2026-03-01T00:00:00Z", 4))
        .await
        .unwrap();
    server
}

/// The server still answers a read and a query.
async fn assert_alive(client: &Client) {
    let record = tokio::time::timeout(
        Duration::from_secs(10),
        client.get_record("reviews", "r1", &[]),
    )
    .await
    .expect("GetRecord answered")
    .expect("GetRecord succeeded");
    assert!(record.is_some());
    assert_eq!(count(client, "SELECT count(*) FROM reviews").await, 1);
}

async fn refused(client: &Client, sql: &str, code: Code, naming: &str) {
    let error = tokio::time::timeout(Duration::from_secs(60), query_error(client, sql))
        .await
        .unwrap_or_else(|_| panic!("no answer within 60 s: {}", &sql[..sql.len().min(80)]));
    assert_eq!(
        error.code(),
        Some(code),
        "{}: {error}",
        &sql[..sql.len().min(80)]
    );
    assert!(
        error.to_string().contains(naming),
        "{}: {error}",
        &sql[..sql.len().min(80)]
    );
    assert_alive(client).await;
}

#[tokio::test]
async fn deep_statements_are_refused_naming_the_limit_and_the_server_lives() {
    let server = start().await;
    let c = &server.client;
    let plus = format!("SELECT {}", vec!["1"; 2_000].join("+"));
    refused(c, &plus, Code::InvalidArgument, "500 levels").await;
    let and = format!(
        "SELECT count(*) FROM reviews WHERE {}",
        vec!["star_rating = 1"; 3_000].join(" AND ")
    );
    refused(c, &and, Code::InvalidArgument, "500 levels").await;
    let concat = format!("SELECT {}", vec!["'a'"; 100_000].join(" || "));
    refused(c, &concat, Code::InvalidArgument, "500 levels").await;
    let union = vec!["SELECT 1"; 5_000].join(" UNION ALL ");
    refused(c, &union, Code::ResourceExhausted, "500 SELECT blocks").await;
    let parens = format!("SELECT {}1{}", "(".repeat(5_000), ")".repeat(5_000));
    refused(c, &parens, Code::InvalidArgument, "64 levels").await;
    let wide = format!(
        "SELECT {} FROM reviews",
        (0..50_000)
            .map(|i| format!("star_rating AS c{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    refused(c, &wide, Code::ResourceExhausted, "the limit is 10000").await;
}

#[tokio::test]
async fn realistic_large_statements_run() {
    let server = start().await;
    let c = &server.client;
    // A chain just within the depth limit plans and answers.
    let chain = format!("SELECT {}", vec!["1"; 400].join("+"));
    assert_eq!(query(c, &chain).await, [["400"]]);
    // An IN list of 10,000 ids.
    let ids: Vec<String> = (0..10_000).map(|i| format!("'r{i}'")).collect();
    let sql = format!(
        "SELECT count(*) FROM reviews WHERE review_id IN ({})",
        ids.join(", ")
    );
    assert_eq!(count(c, &sql).await, 1);
    // 1,000 select items.
    let items: Vec<String> = (0..1_000).map(|i| format!("star_rating + {i}")).collect();
    let rows = query(c, &format!("SELECT {} FROM reviews", items.join(", "))).await;
    assert_eq!(rows[0].len(), 1_000);
    assert_eq!(rows[0][999], "1003");
    // A statement of about 1 MB.
    let ids: Vec<String> = (0..80_000).map(|i| format!("'id-{i:07}'")).collect();
    let sql = format!(
        "SELECT count(*) FROM reviews WHERE review_id IN ({})",
        ids.join(",")
    );
    assert!(sql.len() > 1_000_000, "{}", sql.len());
    assert_eq!(count(c, &sql).await, 0);
}

/// The server's resident memory, from /proc (the server runs in this
/// process).
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib << 10
}

#[tokio::test]
async fn huge_values_are_refused_under_the_memory_limit() {
    let server = start().await;
    let c = &server.client;
    let before = resident_bytes();
    for sql in [
        "SELECT repeat('x', 1000000000)",
        "SELECT length(repeat('x', 1000000000))",
        "SELECT lpad('', 2000000000, 'ab')",
        "SELECT array_repeat(1, 300000000)",
        "SELECT sha256(repeat('x', 1500000000))",
        "SELECT count(*) FROM unnest(range(1, 100000000))",
        "SELECT length(replace(repeat('a', 1000000), 'a', repeat('b', 1000)))",
        "SELECT length(repeat(review_id, 2000000000)) FROM reviews",
    ] {
        refused(c, sql, Code::ResourceExhausted, "over the limit").await;
    }
    // Operators are bounded too: each CTE doubles a string with ||.
    let mut doubling = "WITH t0 AS (SELECT repeat('x', 1000) AS s)".to_owned();
    for level in 1..=30 {
        doubling.push_str(&format!(
            ", t{level} AS (SELECT s || s AS s FROM t{})",
            level - 1
        ));
    }
    doubling.push_str(" SELECT length(s) FROM t30");
    refused(c, &doubling, Code::ResourceExhausted, "over the limit").await;
    let grown = resident_bytes().saturating_sub(before);
    assert!(grown < 1 << 30, "the server grew by {grown} bytes");
    // Values under the limit are fine.
    assert_eq!(
        query(c, "SELECT length(repeat('x', 1000000))").await,
        [["1000000"]]
    );
}

#[tokio::test]
async fn refused_statements_get_the_right_codes() {
    let server = start().await;
    let c = &server.client;
    refused(
        c,
        "SELECT regexp_like(review_id, '(') FROM reviews",
        Code::InvalidArgument,
        "regex",
    )
    .await;
    // Unquoted table function names fold to lower case like table names.
    assert_eq!(
        count(
            c,
            "SELECT count(*) FROM AS_OF('reviews', TIMESTAMP '2027-01-01T00:00:00Z')"
        )
        .await,
        1
    );
    // The clause on a CTE would travel the group of the same name.
    refused(
        c,
        "WITH reviews AS (SELECT 1 AS x) SELECT * FROM reviews FOR SYSTEM_TIME AS OF TIMESTAMP '2026-01-01T00:00:00Z'",
        Code::InvalidArgument,
        "common table expression",
    )
    .await;
    // A statement longer than the limit, even longer than a message.
    let long = format!("SELECT '{}'", "x".repeat(30 << 20));
    let error = query_error(c, &long).await;
    assert_eq!(error.code(), Some(Code::ResourceExhausted), "{error}");
    assert_alive(c).await;
}

#[tokio::test]
async fn updates_and_ingest_through_flight_sql_are_permission_denied() {
    let server = start().await;
    let mut flight = FlightSqlServiceClient::new(server.client.channel());
    let error = flight
        .execute_update("INSERT INTO reviews VALUES (1)".into(), None)
        .await
        .unwrap_err();
    let status = match error {
        arrow_flight::error::FlightError::Tonic(status) => status,
        other => panic!("{other}"),
    };
    assert_eq!(status.code(), Code::PermissionDenied, "{status}");
    assert!(status.message().contains("read-only"), "{status}");
    let error = flight
        .execute_update("DELETE FROM reviews".into(), None)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("PermissionDenied") || error.to_string().contains("read-only"),
        "{error}"
    );
    assert_alive(&server.client).await;
}

#[tokio::test]
async fn a_query_past_its_time_limit_is_resource_exhausted_on_every_path() {
    let server = TestServer::start_with(|config| {
        config.sql.timeout = Duration::from_millis(300);
    })
    .await;
    create_reviews(&server.client, "reviews").await;
    let slow = "SELECT count(*) FROM generate_series(1, 5000000000) AS a(v) WHERE v % 7 = 3";
    let error = query_error(&server.client, slow).await;
    assert_eq!(error.code(), Some(Code::ResourceExhausted), "{error}");
    assert!(error.to_string().contains("time limit"), "{error}");
}

#[tokio::test]
async fn queries_cannot_reach_files_outside_the_offline_store() {
    let server = start().await;
    let secret = server.data_dir().join("secret.csv");
    std::fs::write(&secret, "a\n1\n").unwrap();
    // The guard refuses these; the engine would have no store for them
    // anyway (the registry serves only the offline root).
    for sql in [
        format!("SELECT * FROM '{}'", secret.display()),
        "SELECT * FROM 'file:///etc/passwd'".to_owned(),
    ] {
        let error = query_error(&server.client, &sql).await;
        assert_eq!(error.code(), Some(Code::PermissionDenied), "{sql}: {error}");
    }
    assert_alive(&server.client).await;
}

#[tokio::test]
async fn error_messages_quote_a_bounded_prefix_of_bad_input() {
    let server = start().await;
    let mut record = review("r2", "2026-03-01T00:00:00Z", 4);
    record[1] = almanac_client::values::feature("event_time", "9".repeat(100_000).as_str());
    let error = server
        .client
        .put_record("reviews", record)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(Code::InvalidArgument), "{error}");
    assert!(
        error.to_string().len() < 4_096,
        "{}",
        error.to_string().len()
    );
    let record = review(&"x".repeat(1 << 20), "2026-03-01T00:00:00Z", 4);
    let error = server
        .client
        .put_record("reviews", record)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(Code::InvalidArgument), "{error}");
    assert_alive(&server.client).await;
}
