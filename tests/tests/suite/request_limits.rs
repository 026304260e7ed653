//! Bounded work and clear codes for the FeatureStore API (issue 11): a huge
//! Search, out-of-range enums, responses larger than a message, and
//! messages that quote bad input.

use std::time::{Duration, Instant};

use almanac_client::proto as pb;
use almanac_tests::TestServer;
use almanac_tests::fixtures::{batch_entry, create_reviews, review};
use tonic::Code;

#[tokio::test]
async fn a_huge_search_is_refused_at_once() {
    let server = TestServer::start().await;
    create_reviews(&server.client, "reviews").await;
    let started = Instant::now();
    let query = (0..400_000)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let error = server
        .client
        .search(pb::SearchRequest {
            query,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(Code::InvalidArgument), "{error}");
    assert!(error.to_string().contains("the limit is 1024"), "{error}");
    let many = (0..40)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let error = server
        .client
        .search(pb::SearchRequest {
            query: many,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(error.to_string().contains("the limit is 16"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // Within the limits, search works as before.
    let hits = server
        .client
        .search(pb::SearchRequest {
            query: "ranking reviews".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hits.hits.len(), 1);
}

#[tokio::test]
async fn list_feature_groups_refuses_unknown_enum_values() {
    let server = TestServer::start().await;
    for request in [
        pb::ListFeatureGroupsRequest {
            sort_by: 7,
            ..Default::default()
        },
        pb::ListFeatureGroupsRequest {
            sort_order: -1,
            ..Default::default()
        },
        pb::ListFeatureGroupsRequest {
            name_contains: "x".repeat(10_000),
            ..Default::default()
        },
    ] {
        let error = server
            .client
            .list_feature_groups(request)
            .await
            .unwrap_err();
        assert_eq!(error.code(), Some(Code::InvalidArgument), "{error}");
    }
}

#[tokio::test]
async fn batch_get_returns_what_fits_and_the_rest_unprocessed() {
    let server = TestServer::start_with(|config| config.max_message_bytes = 64 * 1024).await;
    create_reviews(&server.client, "reviews").await;
    let ids: Vec<String> = (0..200).map(|i| format!("r{i}")).collect();
    for chunk in ids.chunks(20) {
        let entries = chunk
            .iter()
            .map(|id| {
                let mut record = review(id, "2026-03-01T00:00:00Z", 4);
                record[2] =
                    almanac_client::values::feature("product_id", "p".repeat(2_000).as_str());
                batch_entry("reviews", record)
            })
            .collect();
        server
            .client
            .batch_write_record(pb::BatchWriteRecordRequest { entries })
            .await
            .unwrap();
    }
    let mut wanted = ids.clone();
    let mut found = Vec::new();
    let mut rounds = 0;
    while !wanted.is_empty() {
        rounds += 1;
        let response = server
            .client
            .batch_get_record(pb::BatchGetRecordRequest {
                identifiers: vec![pb::BatchGetRecordIdentifier {
                    feature_group_name: "reviews".into(),
                    record_identifiers_value_as_string: wanted.clone(),
                    feature_names: vec![],
                }],
                return_expiration: false,
            })
            .await
            .expect("a response within the message limit");
        assert!(!response.records.is_empty());
        found.extend(
            response
                .records
                .into_iter()
                .map(|r| r.record_identifier_value_as_string),
        );
        wanted = response
            .unprocessed_identifiers
            .into_iter()
            .flat_map(|u| u.record_identifiers_value_as_string)
            .collect();
    }
    assert!(rounds > 1, "200 records of 2 KB do not fit 64 KiB at once");
    found.sort();
    let mut expected = ids;
    expected.sort();
    assert_eq!(found, expected);
}

/// A dataset exchange takes its query slot before its entity table comes
/// in: a client that opens exchanges and never finishes sending them holds
/// slots (and is bounded by them), instead of making the server hold any
/// number of half-received tables in memory.
#[tokio::test]
async fn dataset_exchanges_wait_for_a_slot_before_their_table_is_received() {
    use almanac_client::dataset::{DatasetRequest, FeatureSelection};
    use arrow_flight::FlightData;
    use arrow_flight::FlightDescriptor;
    use arrow_flight::flight_service_client::FlightServiceClient;
    use futures::StreamExt;

    let server = TestServer::start_with(|config| {
        config.sql.max_concurrent_queries = 1;
        config.sql.queue_timeout = Duration::from_secs(1);
    })
    .await;
    create_reviews(&server.client, "reviews").await;
    let request = DatasetRequest {
        features: vec![FeatureSelection {
            group: "reviews".into(),
            ..FeatureSelection::default()
        }],
        ..DatasetRequest::default()
    };
    let descriptor = FlightDescriptor::new_cmd(request.to_command());
    let mut flight = FlightServiceClient::new(server.client.channel());

    // The first exchange sends its command and then nothing more.
    let (sender, stalled) = futures::channel::mpsc::unbounded::<FlightData>();
    sender
        .unbounded_send(FlightData::new().with_descriptor(descriptor.clone()))
        .unwrap();
    let mut first = flight.clone();
    let first = tokio::spawn(async move { first.do_exchange(stalled).await });
    // Once it holds the only slot, a query waits for the queue timeout and
    // is refused.
    let started = Instant::now();
    let refused = loop {
        match server.client.query("SELECT 1").await {
            Ok(_) if started.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Ok(_) => panic!("the stalled exchange never took the slot"),
            Err(error) => break error,
        }
    };
    assert_eq!(refused.code(), Some(Code::ResourceExhausted), "{refused}");
    assert!(
        refused.to_string().contains("queries are running"),
        "{refused}"
    );
    // So is a second exchange, before any of its table is read.
    let second = flight
        .do_exchange(futures::stream::iter([
            FlightData::new().with_descriptor(descriptor)
        ]))
        .await;
    let status = match second {
        Err(status) => status,
        Ok(response) => response
            .into_inner()
            .next()
            .await
            .expect("an answer")
            .expect_err("refused"),
    };
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
    // The client gives up on the first exchange: its slot is free again.
    drop(sender);
    let _ = first.await;
    let started = Instant::now();
    while server.client.query("SELECT 1").await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the slot stays taken"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
