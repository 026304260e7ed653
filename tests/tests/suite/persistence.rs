//! What survives a restart, delete-then-recreate isolation, and paging.

use almanac_client::DeletionMode;
use almanac_client::proto as pb;
use almanac_tests::TestServer;
use almanac_tests::fixtures::{batch_entry, code, create_reviews, review, stars};
use tonic::Code;

#[tokio::test]
async fn groups_records_and_the_offline_log_survive_a_restart() {
    let server = TestServer::start().await;
    create_reviews(&server.client, "reviews").await;
    server
        .client
        .put_record("reviews", review("r1", "2026-01-02T00:00:00Z", 4))
        .await
        .unwrap();
    server
        .client
        .delete_record("reviews", "r1", "2026-01-01T00:00:00Z", DeletionMode::Soft)
        .await
        .unwrap();
    let described = server
        .client
        .describe_feature_group("reviews")
        .await
        .unwrap();
    let log = server.offline_log();

    let server = server.restart().await;
    assert_eq!(
        server
            .client
            .describe_feature_group("reviews")
            .await
            .unwrap(),
        described
    );
    assert_eq!(
        stars(
            &server
                .client
                .get_record("reviews", "r1", &[])
                .await
                .unwrap()
        ),
        Some(4)
    );
    assert_eq!(server.offline_log(), log);

    // Sequence numbers go on after the restart.
    server
        .client
        .put_record("reviews", review("r2", "2026-01-02T00:00:00Z", 5))
        .await
        .unwrap();
    let after = server.offline_log();
    assert_eq!(after.len(), 3);
    assert!(after[2].0 > after[1].0);
}

#[tokio::test]
async fn a_recreated_group_never_sees_the_old_groups_data() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    c.put_record("reviews", review("r1", "2026-01-02T00:00:00Z", 4))
        .await
        .unwrap();
    c.delete_feature_group("reviews", false).await.unwrap();
    assert_eq!(
        code(&c.get_record("reviews", "r1", &[]).await),
        Code::NotFound
    );
    assert_eq!(
        code(&c.delete_feature_group("reviews", false).await),
        Code::NotFound
    );

    create_reviews(c, "reviews").await;
    assert_eq!(c.get_record("reviews", "r1", &[]).await.unwrap(), None);
    let listed = c
        .list_records(pb::ListRecordsRequest {
            feature_group_name: "reviews".into(),
            include_soft_deleted: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(listed.records.is_empty());
    // An older write than the deleted group's record is accepted: nothing is left to compare with.
    c.put_record("reviews", review("r1", "2026-01-01T00:00:00Z", 1))
        .await
        .unwrap();
    assert_eq!(
        stars(&c.get_record("reviews", "r1", &[]).await.unwrap()),
        Some(1)
    );

    // The old group's offline-log entries stay (kept offline by default),
    // under the old group's id.
    let log = server.offline_log();
    assert_eq!(log.len(), 2);
    assert_ne!(log[0].1.group_id, log[1].1.group_id);

    let server = server.restart().await;
    assert_eq!(
        stars(
            &server
                .client
                .get_record("reviews", "r1", &[])
                .await
                .unwrap()
        ),
        Some(1)
    );
}

#[tokio::test]
async fn purge_offline_drops_the_groups_offline_log_entries() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "keep").await;
    create_reviews(c, "purge").await;
    c.put_record("keep", review("k", "2026-01-02T00:00:00Z", 4))
        .await
        .unwrap();
    c.put_record("purge", review("p", "2026-01-02T00:00:00Z", 4))
        .await
        .unwrap();
    c.delete_feature_group("purge", true).await.unwrap();
    let log = server.offline_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].1.group_name, "keep");
}

#[tokio::test]
async fn list_records_pages_through_every_id_once() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    let ids: Vec<String> = (0..25).map(|i| format!("id-{i:03}")).collect();
    let entries = ids
        .iter()
        .map(|id| batch_entry("reviews", review(id, "2026-01-02T00:00:00Z", 1)))
        .collect();
    c.batch_write_record(pb::BatchWriteRecordRequest { entries })
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = c
            .list_records(pb::ListRecordsRequest {
                feature_group_name: "reviews".into(),
                page_size: 10,
                page_token: token.clone(),
                include_soft_deleted: false,
            })
            .await
            .unwrap();
        pages += 1;
        seen.extend(
            page.records
                .into_iter()
                .map(|r| r.record_identifier_value_as_string),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, ids);
    assert_eq!(pages, 3);
    let bad = c
        .list_records(pb::ListRecordsRequest {
            feature_group_name: "reviews".into(),
            page_token: "zz".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(&bad), Code::InvalidArgument);
    let too_big = c
        .list_records(pb::ListRecordsRequest {
            feature_group_name: "reviews".into(),
            page_size: 5000,
            ..Default::default()
        })
        .await;
    assert_eq!(code(&too_big), Code::InvalidArgument);
}

#[tokio::test]
async fn offline_only_groups_refuse_online_reads() {
    let server = TestServer::start().await;
    let c = &server.client;
    let mut request = almanac_tests::fixtures::reviews_request("offline");
    request.online_store = Some(pb::OnlineStoreConfig {
        enabled: false,
        default_ttl_seconds: None,
    });
    c.create_feature_group(request).await.unwrap();
    c.put_record("offline", review("r1", "2026-01-02T00:00:00Z", 1))
        .await
        .unwrap();
    assert_eq!(
        code(&c.get_record("offline", "r1", &[]).await),
        Code::FailedPrecondition
    );
    assert_eq!(server.offline_log().len(), 1);
    let online_target = c
        .put_record_with(pb::PutRecordRequest {
            feature_group_name: "offline".into(),
            record: review("r1", "2026-01-02T00:00:00Z", 1),
            target_stores: vec![pb::TargetStore::Online as i32],
            ttl_seconds: None,
        })
        .await;
    assert_eq!(code(&online_target), Code::InvalidArgument);
}
