//! The Rust client's timeouts and TLS, against real sockets: a server that
//! accepts connections but never answers fails every kind of call with
//! `ClientError::Timeout` once the timeout has passed; an ingest whose
//! caller is slower than the timeout still succeeds, since only the
//! server's silence counts; an `https://` endpoint is TLS or an error.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use almanac_client::dataset::{DatasetRequest, FeatureSelection};
use almanac_client::proto::FeatureType as T;
use almanac_client::{Client, ClientError, ClientOptions};
use almanac_tests::TestServer;
use almanac_tests::fixtures::group_request;
use arrow::array::{ArrayRef, RecordBatch, StringArray};
use futures::StreamExt;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

const LIMIT: Duration = Duration::from_secs(1);

fn options() -> ClientOptions {
    ClientOptions::default()
        .with_connect_timeout(LIMIT)
        .with_timeout(LIMIT)
}

/// A listener whose connections the kernel accepts into the backlog but
/// the program never takes.
async fn never_accepting() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    (listener, endpoint)
}

/// A listener that accepts every connection and reads what it is sent,
/// but never sends a byte.
async fn mute() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut connection, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut sink = [0u8; 8192];
                while matches!(connection.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    endpoint
}

fn reviews(ids: &[&str]) -> RecordBatch {
    let column = |values: Vec<&str>| Arc::new(StringArray::from(values)) as ArrayRef;
    RecordBatch::try_from_iter([
        ("review_id", column(ids.to_vec())),
        (
            "event_time",
            column(vec!["2026-03-01T00:00:00Z"; ids.len()]),
        ),
    ])
    .unwrap()
}

/// Awaits `call`, which must fail with the timeout after about `LIMIT`.
async fn assert_times_out<T: std::fmt::Debug>(
    what: &str,
    endpoint: &str,
    call: impl Future<Output = Result<T, ClientError>>,
) {
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .unwrap_or_else(|_| panic!("{what} still waits after 30 s"));
    let elapsed = started.elapsed();
    let error = result.expect_err(what);
    assert!(
        matches!(&error, ClientError::Timeout { endpoint: e, timeout } if e == endpoint && *timeout == LIMIT),
        "{what}: {error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("no answer from {endpoint} within 1s")
    );
    assert!(
        elapsed >= LIMIT - Duration::from_millis(100) && elapsed < 10 * LIMIT,
        "{what} failed after {elapsed:?}"
    );
}

async fn every_call_times_out(endpoint: &str) {
    let client = Client::connect_with(endpoint, options())
        .await
        .expect("the TCP connection is made");
    assert_times_out(
        "describe",
        endpoint,
        client.describe_feature_group("reviews"),
    )
    .await;
    assert_times_out("get", endpoint, client.get_record("reviews", "R1", &[])).await;
    assert_times_out("query", endpoint, client.query("SELECT 1")).await;
    assert_times_out(
        "ingest",
        endpoint,
        client.ingest_batch("reviews", reviews(&["R1"])),
    )
    .await;
    let request = DatasetRequest {
        features: vec![FeatureSelection::parse("reviews").unwrap()],
        event_time_column: None,
        written_before: None,
    };
    let entities = reviews(&["R1"]);
    assert_times_out(
        "dataset",
        endpoint,
        client.build_dataset(&request, entities.schema(), vec![entities.clone()]),
    )
    .await;
}

#[tokio::test]
async fn a_server_that_never_accepts_times_out_every_call() {
    let (_listener, endpoint) = never_accepting().await;
    every_call_times_out(&endpoint).await;
}

#[tokio::test]
async fn a_server_that_accepts_and_stays_mute_times_out_every_call() {
    let endpoint = mute().await;
    every_call_times_out(&endpoint).await;
}

#[tokio::test]
async fn a_caller_slower_than_the_timeout_does_not_time_out_an_ingest() {
    let server = TestServer::start().await;
    server
        .client
        .create_feature_group(group_request("reviews", ("review_id", T::String), &[]))
        .await
        .unwrap();
    let client = Client::connect_with(&server.endpoint, options())
        .await
        .unwrap();
    // Two batches 1.5 s apart: the server answers the first at once, then
    // owes nothing while the caller takes longer than the timeout.
    let batches = futures::stream::iter([reviews(&["R1", "R2"]), reviews(&["R3"])])
        .enumerate()
        .then(|(i, batch)| async move {
            if i > 0 {
                tokio::time::sleep(LIMIT * 3 / 2).await;
            }
            batch
        });
    let schema = reviews(&[]).schema();
    let summary = client.ingest("reviews", schema, batches).await.unwrap();
    assert_eq!((summary.rows, summary.rows_written), (3, 3));
    assert!(
        client
            .get_record("reviews", "R3", &[])
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn an_https_endpoint_is_tls_or_an_error() {
    let server = TestServer::start().await;
    let https = server.endpoint.replacen("http://", "https://", 1);
    let error = Client::connect_with(&https, options())
        .await
        .expect_err("a plain-text server cannot pass a TLS handshake");
    assert!(
        matches!(&error, ClientError::Connect { endpoint, .. } if *endpoint == https),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("cannot connect to {https} over TLS")
    );

    let address = server.endpoint.trim_start_matches("http://");
    for endpoint in [format!("grpc://{address}"), address.to_owned()] {
        let error = Client::connect(&endpoint).await.expect_err(&endpoint);
        assert!(
            matches!(error, ClientError::InvalidEndpoint { .. }),
            "{endpoint}: {error:?}"
        );
    }
}
