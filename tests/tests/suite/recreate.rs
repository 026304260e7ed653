//! Deleting a group and creating one of the same name again (issue 11,
//! defect 2): each incarnation owns its catalog entry and its offline
//! folder, whatever the timing. The test clock stands still unless a test
//! moves it, so "the same second" is exact here.

use almanac_client::proto as pb;
use almanac_tests::fixtures::{batch_entry, create_reviews, review};
use almanac_tests::sql::count;
use almanac_tests::{TestServer, with_flushes};

fn location(description: &pb::FeatureGroupDescription) -> String {
    description
        .offline_store_state
        .as_ref()
        .expect("offline state")
        .location
        .clone()
}

fn local_dir(location: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(location.strip_prefix("file://").expect("a local location"))
}

/// Waits until the flusher has purged every group deleted with purge.
async fn wait_purged(server: &TestServer) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !server.engine().groups_to_purge().is_empty() {
        assert!(std::time::Instant::now() < deadline, "purge did not finish");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn put(server: &TestServer, id: &str) {
    server
        .client
        .put_record("reviews", review(id, "2026-03-01T00:00:00Z", 4))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_finished_purge_leaves_the_new_group_of_the_name_alone() {
    let server = TestServer::start_with(with_flushes).await;
    create_reviews(&server.client, "reviews").await;
    put(&server, "old").await;
    server.wait_flushed().await;
    server
        .client
        .delete_feature_group("reviews", true)
        .await
        .unwrap();
    let second = create_reviews(&server.client, "reviews").await;
    put(&server, "new-1").await;
    wait_purged(&server).await;
    // Everything about the live group still works after the purge.
    let described = server
        .client
        .describe_feature_group("reviews")
        .await
        .unwrap();
    assert_eq!(location(&described), location(&second));
    put(&server, "new-2").await;
    assert!(
        server
            .client
            .get_record("reviews", "new-1", &[])
            .await
            .unwrap()
            .is_some()
    );
    let listed = server
        .client
        .list_feature_groups(pb::ListFeatureGroupsRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.feature_group_summaries.len(), 1);
    server.wait_flushed().await;
    assert_eq!(
        count(&server.client, "SELECT count(*) FROM reviews").await,
        2
    );

    // A third incarnation while nothing is pending, then a restart: the
    // live group and its acknowledged records are all there.
    server
        .client
        .delete_feature_group("reviews", true)
        .await
        .unwrap();
    create_reviews(&server.client, "reviews").await;
    put(&server, "third").await;
    wait_purged(&server).await;
    let server = server.restart().await;
    assert!(
        server
            .client
            .get_record("reviews", "third", &[])
            .await
            .unwrap()
            .is_some()
    );
    server.wait_flushed().await;
    assert_eq!(
        count(&server.client, "SELECT count(*) FROM reviews").await,
        1
    );
}

#[tokio::test]
async fn incarnations_of_one_second_have_folders_of_their_own() {
    let server = TestServer::start_with(with_flushes).await;
    let first = create_reviews(&server.client, "reviews").await;
    put(&server, "a").await;
    server.wait_flushed().await;
    // Kept history: deleted without purge, re-created in the same second.
    server
        .client
        .delete_feature_group("reviews", false)
        .await
        .unwrap();
    let second = create_reviews(&server.client, "reviews").await;
    assert_ne!(location(&first), location(&second));
    for name in [location(&first), location(&second)] {
        let folder = name.rsplit('/').next().unwrap().to_owned();
        assert!(folder.starts_with("reviews-"), "{folder}");
    }
    put(&server, "b").await;
    put(&server, "c").await;
    server.wait_flushed().await;
    assert_eq!(
        count(&server.client, "SELECT count(*) FROM reviews").await,
        2
    );
    // The first incarnation's files are intact beside the second's.
    let first_schema = local_dir(&location(&first)).join("schema.json");
    assert!(first_schema.is_file());

    // Purged and re-created in the same second: the purge removes only the
    // deleted group's folder.
    server
        .client
        .delete_feature_group("reviews", true)
        .await
        .unwrap();
    let third = create_reviews(&server.client, "reviews").await;
    put(&server, "d").await;
    server.wait_flushed().await;
    wait_purged(&server).await;
    assert!(!local_dir(&location(&second)).exists());
    assert!(local_dir(&location(&third)).join("schema.json").is_file());
    assert!(first_schema.is_file(), "kept history survives other purges");
    let server = server.restart().await;
    assert_eq!(
        count(&server.client, "SELECT count(*) FROM reviews").await,
        1
    );
}

/// A purge waits for the queries that were already reading the group: a
/// large result read slowly while its group is deleted with purge comes in
/// full, and the folder goes once the query has ended.
#[tokio::test]
async fn a_purge_waits_for_queries_still_reading_the_group() {
    use futures::StreamExt;

    let server = TestServer::start_with(with_flushes).await;
    let description = create_reviews(&server.client, "reviews").await;
    const ROWS: usize = 20_000;
    for chunk in (0..ROWS).collect::<Vec<_>>().chunks(10_000) {
        let entries = chunk
            .iter()
            .map(|i| {
                batch_entry(
                    "reviews",
                    review(&format!("r{i:05}"), "2026-03-01T00:00:00Z", 1),
                )
            })
            .collect();
        server
            .client
            .batch_write_record(pb::BatchWriteRecordRequest { entries })
            .await
            .unwrap();
    }
    server.wait_flushed().await;
    // About 2 KB a row, 40 MB in all: far more than transport buffers hold,
    // so the server is still producing the result while the test waits. On
    // a connection of its own: the unread result fills its connection's
    // flow-control window, which would hold up other answers on it.
    let reader = almanac_client::Client::connect(server.endpoint.clone())
        .await
        .unwrap();
    let mut result = reader
        .query_stream("SELECT review_id, repeat(review_id, 330) AS padding FROM reviews")
        .await
        .unwrap();
    let first = result.batches.next().await.unwrap().unwrap();
    let mut rows = first.num_rows();
    server
        .client
        .delete_feature_group("reviews", true)
        .await
        .unwrap();
    // Many flusher rounds (every 50 ms) later the purge is still waiting.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(server.engine().groups_to_purge().len(), 1);
    let folder = local_dir(&location(&description));
    assert!(folder.join("schema.json").is_file());
    while let Some(batch) = result.batches.next().await {
        rows += batch.expect("every file is still there").num_rows();
    }
    assert_eq!(rows, ROWS);
    drop(result);
    wait_purged(&server).await;
    assert!(!folder.exists());
}
