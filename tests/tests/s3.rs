//! The offline store on S3, for real: SeaweedFS on loopback. Files land in
//! the bucket in the documented layout, SQL reads them back, and an outage
//! turns the status Blocked without losing a write.

use almanac_client::proto as pb;
use almanac_tests::fixtures::{create_reviews, put_reviews};
use almanac_tests::seaweed::SeaweedFs;
use almanac_tests::sql::{assert_each_review_once, count};
use almanac_tests::{TestServer, with_flushes};

fn list_keys(weed: &SeaweedFs, prefix: &str) -> Vec<String> {
    use std::io::{Read, Write};
    let address = weed.endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect to SeaweedFS");
    let request = format!(
        "GET /{}?list-type=2&prefix={prefix} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n",
        weed.bucket
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split("<Key>")
        .skip(1)
        .filter_map(|part| part.split("</Key>").next())
        .map(str::to_owned)
        .collect()
}

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
    let keys = list_keys(&weed, "features/");
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
    let data = list_keys(&weed, "features/")
        .into_iter()
        .filter(|k| k.ends_with(".parquet"))
        .count();
    assert_eq!(data, 2);
}
