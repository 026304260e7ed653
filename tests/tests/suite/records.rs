//! PutRecord and GetRecord against the real server (docs/reference.md section 4).

use almanac_client::proto as pb;
use almanac_client::values::{feature, get, null, text};
use almanac_tests::TestServer;
use almanac_tests::fixtures::{code, create_reviews, message, review, stars};
use pb::value::Kind;
use tonic::Code;

#[tokio::test]
async fn later_and_equal_event_times_replace_earlier_ones_do_not() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;

    c.put_record("reviews", review("r1", "2026-01-02T00:00:00Z", 3))
        .await
        .unwrap();
    assert_eq!(
        stars(&c.get_record("reviews", "r1", &[]).await.unwrap()),
        Some(3)
    );

    // Later: replaces.
    c.put_record("reviews", review("r1", "2026-01-03T00:00:00Z", 4))
        .await
        .unwrap();
    assert_eq!(
        stars(&c.get_record("reviews", "r1", &[]).await.unwrap()),
        Some(4)
    );

    // Equal: replaces too (the last write of an event time wins).
    c.put_record("reviews", review("r1", "2026-01-03T00:00:00Z", 5))
        .await
        .unwrap();
    assert_eq!(
        stars(&c.get_record("reviews", "r1", &[]).await.unwrap()),
        Some(5)
    );

    // Earlier: accepted, online unchanged, but appended offline.
    c.put_record("reviews", review("r1", "2026-01-01T00:00:00Z", 1))
        .await
        .unwrap();
    assert_eq!(
        stars(&c.get_record("reviews", "r1", &[]).await.unwrap()),
        Some(5)
    );

    let log = server.offline_log();
    let ratings: Vec<_> = log.iter().map(|(_, e)| e.record.value(3).clone()).collect();
    assert_eq!(
        ratings,
        [3, 4, 5, 1].map(almanac_types::Value::Integral).to_vec(),
        "every write, including the stale one, reaches the offline log in arrival order"
    );
    assert!(
        log.windows(2).all(|w| w[0].0 < w[1].0),
        "sequence numbers increase"
    );
    assert!(log.iter().all(|(_, e)| !e.is_deleted));
}

#[tokio::test]
async fn replacement_is_whole_and_left_out_features_are_null() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    let mut first = review("r1", "2026-01-02T00:00:00Z", 3);
    first.push(feature("helpful_ratio", 0.5));
    c.put_record("reviews", first).await.unwrap();
    c.put_record(
        "reviews",
        vec![
            feature("review_id", "r1"),
            feature("event_time", "2026-01-03T00:00:00Z"),
        ],
    )
    .await
    .unwrap();
    let record = c.get_record("reviews", "r1", &[]).await.unwrap().unwrap();
    let names: Vec<_> = record.iter().map(|f| f.feature_name.as_str()).collect();
    assert_eq!(
        names,
        ["review_id", "event_time"],
        "the new version replaces the old as a whole"
    );
}

#[tokio::test]
async fn projection_returns_only_the_named_features() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    c.put_record("reviews", review("r1", "2026-01-02T00:00:00Z", 3))
        .await
        .unwrap();
    let record = c
        .get_record("reviews", "r1", &["star_rating", "product_id"])
        .await
        .unwrap()
        .unwrap();
    let names: Vec<_> = record.iter().map(|f| f.feature_name.as_str()).collect();
    assert_eq!(names, ["star_rating", "product_id"]);

    let unknown = c.get_record("reviews", "r1", &["nope"]).await;
    assert_eq!(code(&unknown), Code::InvalidArgument);
    assert!(message(&unknown).contains("nope"));
}

#[tokio::test]
async fn a_missing_record_is_empty_and_a_missing_group_is_not_found() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    assert_eq!(c.get_record("reviews", "nobody", &[]).await.unwrap(), None);
    let missing = c.get_record("no-such-group", "r1", &[]).await;
    assert_eq!(code(&missing), Code::NotFound);
    assert!(message(&missing).contains("no-such-group"));
    assert_eq!(
        code(
            &c.put_record("no-such-group", review("r1", "2026-01-02T00:00:00Z", 3))
                .await
        ),
        Code::NotFound
    );
}

#[tokio::test]
async fn every_type_round_trips_typed_and_as_text() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    c.put_record(
        "reviews",
        vec![
            feature("review_id", "typed"),
            feature("event_time", "2026-01-02T00:00:00.123456Z"),
            feature("product_id", "p-ü-\"quoted\", comma"),
            feature("star_rating", -4),
            feature("helpful_ratio", 0.25),
            feature(
                "tags",
                vec!["a".to_string(), "b".to_string(), "a".to_string()],
            ),
            feature("votes", vec![3i64, 1, 2]),
            feature("embedding", vec![0.1, 0.2, 0.3]),
        ],
    )
    .await
    .unwrap();
    c.put_record(
        "reviews",
        vec![
            feature("review_id", text("as-text")),
            feature("event_time", text("2026-01-02T00:00:00Z")),
            feature("star_rating", text("4")),
            feature("helpful_ratio", text("0.5")),
            feature("tags", text(r#"["x"]"#)),
            feature("votes", text("[7, 8]")),
            feature("embedding", text("[1, 2.5, 3]")),
            feature("product_id", null()),
        ],
    )
    .await
    .unwrap();

    let typed = c
        .get_record("reviews", "typed", &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        get(&typed, "product_id"),
        Some(&Kind::String("p-ü-\"quoted\", comma".into()))
    );
    assert_eq!(get(&typed, "star_rating"), Some(&Kind::Integral(-4)));
    assert_eq!(get(&typed, "helpful_ratio"), Some(&Kind::Fractional(0.25)));
    assert_eq!(
        get(&typed, "tags"),
        Some(&Kind::StringList(pb::StringList {
            values: vec!["a".into(), "b".into(), "a".into()]
        }))
    );
    assert_eq!(
        get(&typed, "votes"),
        Some(&Kind::IntegralList(pb::IntegralList {
            values: vec![3, 1, 2]
        }))
    );
    assert_eq!(
        get(&typed, "embedding"),
        Some(&Kind::FractionalList(pb::FractionalList {
            values: vec![0.1, 0.2, 0.3]
        }))
    );

    let parsed = c
        .get_record("reviews", "as-text", &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(get(&parsed, "star_rating"), Some(&Kind::Integral(4)));
    assert_eq!(get(&parsed, "helpful_ratio"), Some(&Kind::Fractional(0.5)));
    assert_eq!(
        get(&parsed, "votes"),
        Some(&Kind::IntegralList(pb::IntegralList { values: vec![7, 8] }))
    );
    assert_eq!(
        get(&parsed, "embedding"),
        Some(&Kind::FractionalList(pb::FractionalList {
            values: vec![1.0, 2.5, 3.0]
        }))
    );
    assert_eq!(
        get(&parsed, "product_id"),
        None,
        "an explicit null is not returned"
    );
}

#[tokio::test]
async fn type_errors_name_the_feature_and_write_nothing() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    let cases: Vec<(&str, pb::FeatureValue)> = vec![
        ("star_rating", feature("star_rating", "four")),
        ("star_rating", feature("star_rating", 4.5)),
        ("helpful_ratio", feature("helpful_ratio", "lots")),
        ("tags", feature("tags", "not a list")),
        ("votes", feature("votes", vec![1i64, 1])),
        ("embedding", feature("embedding", vec![1.0, 2.0])),
        ("embedding", feature("embedding", vec!["a".to_string()])),
        ("unknown_feature", feature("unknown_feature", 1)),
        ("event_time", feature("event_time", "2026-01-02")),
        ("event_time", feature("event_time", 1.5)),
    ];
    for (name, bad) in cases {
        let mut record = review("r1", "2026-01-02T00:00:00Z", 3);
        record.retain(|f| f.feature_name != bad.feature_name);
        record.push(bad);
        let result = c.put_record("reviews", record).await;
        let text = format!("{result:?}");
        assert_eq!(code(&result), Code::InvalidArgument, "{text}");
        assert!(text.contains(name), "the error names '{name}': {text}");
    }
    assert_eq!(c.get_record("reviews", "r1", &[]).await.unwrap(), None);
    assert!(
        server.offline_log().is_empty(),
        "a refused record writes nothing offline"
    );

    // Missing identifier or event time.
    let no_id = vec![feature("event_time", "2026-01-02T00:00:00Z")];
    assert!(message(&c.put_record("reviews", no_id).await).contains("review_id"));
    let no_time = vec![feature("review_id", "r1")];
    assert!(message(&c.put_record("reviews", no_time).await).contains("event_time"));
    let twice = vec![
        feature("review_id", "r1"),
        feature("review_id", "r2"),
        feature("event_time", "2026-01-02T00:00:00Z"),
    ];
    assert!(message(&c.put_record("reviews", twice).await).contains("more than once"));
}

#[tokio::test]
async fn integral_identifiers_and_fractional_event_times() {
    let server = TestServer::start().await;
    let c = &server.client;
    use almanac_client::values::scalar;
    use pb::FeatureType as T;
    c.create_feature_group(pb::CreateFeatureGroupRequest {
        feature_group_name: "drivers".into(),
        record_identifier_feature_name: "driver_id".into(),
        event_time_feature_name: "ts".into(),
        feature_definitions: vec![
            scalar("driver_id", T::Integral),
            scalar("ts", T::Fractional),
            scalar("conv_rate", T::Fractional),
        ],
        online_store: Some(pb::OnlineStoreConfig {
            enabled: true,
            default_ttl_seconds: None,
        }),
        offline_store: Some(pb::OfflineStoreConfig { enabled: true }),
        ..Default::default()
    })
    .await
    .unwrap();
    c.put_record(
        "drivers",
        vec![
            feature("driver_id", 1001),
            feature("ts", 1_767_312_000.5),
            feature("conv_rate", 0.7),
        ],
    )
    .await
    .unwrap();
    let record = c.get_record("drivers", "1001", &[]).await.unwrap().unwrap();
    assert_eq!(get(&record, "driver_id"), Some(&Kind::Integral(1001)));
    assert_eq!(get(&record, "ts"), Some(&Kind::Fractional(1_767_312_000.5)));
    assert_eq!(
        code(&c.get_record("drivers", "abc", &[]).await),
        Code::InvalidArgument
    );
    let log = server.offline_log();
    assert_eq!(log[0].1.record.event_time_micros, 1_767_312_000_500_000);
}

#[tokio::test]
async fn size_limits_are_enforced_and_named() {
    let server = TestServer::start_with(|config| {
        config.limits.max_record_bytes = 1024;
        config.limits.max_record_id_bytes = 16;
    })
    .await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    let mut big = review("r1", "2026-01-02T00:00:00Z", 3);
    big[2] = feature("product_id", "x".repeat(2000));
    let result = c.put_record("reviews", big).await;
    assert_eq!(code(&result), Code::InvalidArgument);
    assert!(message(&result).contains("max_record_bytes"));

    let long_id = review(&"i".repeat(17), "2026-01-02T00:00:00Z", 3);
    let result = c.put_record("reviews", long_id).await;
    assert!(message(&result).contains("max_record_id_bytes"));

    let empty_id = review("", "2026-01-02T00:00:00Z", 3);
    assert_eq!(
        code(&c.put_record("reviews", empty_id).await),
        Code::InvalidArgument
    );
}

#[tokio::test]
async fn messages_over_the_size_limit_are_resource_exhausted() {
    let server = TestServer::start_with(|config| config.max_message_bytes = 64 * 1024).await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    let mut huge = review("r1", "2026-01-02T00:00:00Z", 3);
    huge[2] = feature("product_id", "x".repeat(100 * 1024));
    assert_eq!(
        code(&c.put_record("reviews", huge).await),
        Code::ResourceExhausted
    );
}

#[tokio::test]
async fn target_stores_choose_the_tiers() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    c.put_record_with(pb::PutRecordRequest {
        feature_group_name: "reviews".into(),
        record: review("online-only", "2026-01-02T00:00:00Z", 3),
        target_stores: vec![pb::TargetStore::Online as i32],
        ttl_seconds: None,
    })
    .await
    .unwrap();
    c.put_record_with(pb::PutRecordRequest {
        feature_group_name: "reviews".into(),
        record: review("offline-only", "2026-01-02T00:00:00Z", 3),
        target_stores: vec![pb::TargetStore::Offline as i32],
        ttl_seconds: None,
    })
    .await
    .unwrap();
    assert!(
        c.get_record("reviews", "online-only", &[])
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        c.get_record("reviews", "offline-only", &[])
            .await
            .unwrap()
            .is_none()
    );
    let ids: Vec<_> = server
        .offline_log()
        .into_iter()
        .map(|(_, e)| e.record_id.0)
        .collect();
    assert_eq!(ids, ["offline-only"]);
}
