//! The control plane: create, describe, list, update, delete, metadata and
//! search, with every name rule and limit (docs/reference.md sections 2 and 5).

use almanac_client::proto as pb;
use almanac_client::values::scalar;
use almanac_tests::TestServer;
use almanac_tests::fixtures::{code, create_reviews, message, review, reviews_request};
use pb::FeatureType as T;
use tonic::Code;

#[tokio::test]
async fn create_and_describe() {
    let server = TestServer::start().await;
    let c = &server.client;
    let created = create_reviews(c, "reviews").await;
    let described = c.describe_feature_group("reviews").await.unwrap();
    assert_eq!(created, described);
    assert_eq!(described.record_identifier_feature_name, "review_id");
    assert_eq!(described.feature_definitions.len(), 8);
    assert_eq!(described.status, pb::FeatureGroupStatus::Created as i32);
    assert_eq!(described.schema_version, 1);
    let offline = described.offline_store_state.unwrap();
    assert_eq!(offline.status, pb::OfflineStoreStatus::Active as i32);
    assert!(
        offline.location.contains("/offline/reviews-"),
        "{}",
        offline.location
    );
    assert_eq!(offline.lag_entries, 0);

    c.put_record("reviews", review("r1", "2026-01-02T00:00:00Z", 3))
        .await
        .unwrap();
    server.clock.advance(2_000_000);
    let offline = c
        .describe_feature_group("reviews")
        .await
        .unwrap()
        .offline_store_state
        .unwrap();
    assert_eq!(offline.lag_entries, 1);
    assert_eq!(offline.lag_seconds, 2.0);

    assert_eq!(
        code(&c.create_feature_group(reviews_request("reviews")).await),
        Code::AlreadyExists
    );
    assert_eq!(
        code(&c.describe_feature_group("missing").await),
        Code::NotFound
    );
}

#[tokio::test]
async fn names_and_reserved_names_are_validated() {
    let server = TestServer::start().await;
    let c = &server.client;
    for bad in [
        "",
        "-reviews",
        "reviews_",
        "has space",
        "dot.name",
        &"x".repeat(65),
    ] {
        let result = c.create_feature_group(reviews_request(bad)).await;
        assert_eq!(code(&result), Code::InvalidArgument, "group name {bad:?}");
    }
    c.create_feature_group(reviews_request(&"x".repeat(64)))
        .await
        .unwrap();

    for reserved in ["is_deleted", "WRITE_TIME", "api_invocation_time"] {
        let mut request = reviews_request("r");
        request
            .feature_definitions
            .push(scalar(reserved, T::String));
        let result = c.create_feature_group(request).await;
        assert!(message(&result).contains("reserved"), "{reserved}");
    }
    let mut request = reviews_request("dup");
    request
        .feature_definitions
        .push(scalar("Star_Rating", T::Integral));
    assert!(message(&c.create_feature_group(request).await).contains("Star_Rating"));

    let mut request = reviews_request("no-id");
    request.record_identifier_feature_name = "missing".into();
    assert!(message(&c.create_feature_group(request).await).contains("missing"));

    let mut request = reviews_request("fractional-id");
    request.record_identifier_feature_name = "helpful_ratio".into();
    assert_eq!(
        code(&c.create_feature_group(request).await),
        Code::InvalidArgument
    );

    let mut request = reviews_request("no-store");
    request.online_store = Some(pb::OnlineStoreConfig {
        enabled: false,
        default_ttl_seconds: None,
    });
    request.offline_store = Some(pb::OfflineStoreConfig { enabled: false });
    assert_eq!(
        code(&c.create_feature_group(request).await),
        Code::InvalidArgument
    );

    let mut request = reviews_request("bad-vector");
    request
        .feature_definitions
        .push(almanac_client::values::definition(
            "v",
            T::Fractional,
            pb::CollectionType::Vector,
            9000,
        ));
    assert!(message(&c.create_feature_group(request).await).contains("dimension"));

    let mut request = reviews_request("untyped");
    request.feature_definitions.push(pb::FeatureDefinition {
        name: "u".into(),
        ..Default::default()
    });
    assert!(message(&c.create_feature_group(request).await).contains("'u'"));
}

#[tokio::test]
async fn every_limit_is_enforced_and_named() {
    let server = TestServer::start_with(|config| {
        config.limits.max_features = 10;
        config.limits.max_tags = 2;
        config.limits.max_description_chars = 40;
    })
    .await;
    let c = &server.client;
    let mut request = reviews_request("many-features");
    request.description = String::new();
    for i in 0..3 {
        request
            .feature_definitions
            .push(scalar(format!("f{i}"), T::Integral));
    }
    assert!(message(&c.create_feature_group(request).await).contains("max_features"));

    let mut request = reviews_request("many-tags");
    request.description = String::new();
    request.tags = (0..3)
        .map(|i| pb::Tag {
            key: format!("k{i}"),
            value: "v".into(),
        })
        .collect();
    assert!(message(&c.create_feature_group(request).await).contains("max_tags"));

    let mut request = reviews_request("long-description");
    request.description = "d".repeat(41);
    assert!(message(&c.create_feature_group(request).await).contains("max_description_chars"));

    create_reviews(c, "reviews").await;
    let additions = (0..3)
        .map(|i| scalar(format!("g{i}"), T::Integral))
        .collect();
    let result = c
        .update_feature_group(pb::UpdateFeatureGroupRequest {
            feature_group_name: "reviews".into(),
            feature_additions: additions,
            ..Default::default()
        })
        .await;
    assert!(message(&result).contains("max_features"));
}

#[tokio::test]
async fn list_feature_groups_filters_sorts_and_pages() {
    let server = TestServer::start().await;
    let c = &server.client;
    for name in ["beta", "alpha", "gamma-reviews", "delta-reviews"] {
        create_reviews(c, name).await;
        server.clock.advance(1_000_000);
    }
    let list = |request: pb::ListFeatureGroupsRequest| async move {
        c.list_feature_groups(request)
            .await
            .unwrap()
            .feature_group_summaries
            .into_iter()
            .map(|s| s.feature_group_name)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        list(Default::default()).await,
        ["alpha", "beta", "delta-reviews", "gamma-reviews"]
    );
    assert_eq!(
        list(pb::ListFeatureGroupsRequest {
            name_contains: "REVIEWS".into(),
            ..Default::default()
        })
        .await,
        ["delta-reviews", "gamma-reviews"]
    );
    assert_eq!(
        list(pb::ListFeatureGroupsRequest {
            sort_by: pb::SortBy::CreationTime as i32,
            sort_order: pb::SortOrder::Descending as i32,
            ..Default::default()
        })
        .await,
        ["delta-reviews", "gamma-reviews", "alpha", "beta"]
    );
    let created_beta = c
        .describe_feature_group("beta")
        .await
        .unwrap()
        .creation_time_micros;
    assert_eq!(
        list(pb::ListFeatureGroupsRequest {
            created_after_micros: Some(created_beta),
            sort_by: pb::SortBy::CreationTime as i32,
            ..Default::default()
        })
        .await,
        ["alpha", "gamma-reviews", "delta-reviews"]
    );

    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_feature_groups(pb::ListFeatureGroupsRequest {
                max_results: 3,
                next_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        pages.push(page.feature_group_summaries.len());
        if page.next_token.is_empty() {
            break;
        }
        token = page.next_token;
    }
    assert_eq!(pages, [3, 1]);
    let over = c
        .list_feature_groups(pb::ListFeatureGroupsRequest {
            max_results: 101,
            ..Default::default()
        })
        .await;
    assert_eq!(code(&over), Code::InvalidArgument);
}

#[tokio::test]
async fn update_adds_features_without_rewriting_records() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    c.put_record("reviews", review("old", "2026-01-02T00:00:00Z", 3))
        .await
        .unwrap();
    let updated = c
        .update_feature_group(pb::UpdateFeatureGroupRequest {
            feature_group_name: "reviews".into(),
            feature_additions: vec![scalar("helpful_votes", T::Integral)],
            description: Some("now with votes".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(updated.schema_version, 2);
    assert_eq!(updated.description, "now with votes");
    assert!(updated.last_modified_time_micros >= updated.creation_time_micros);

    let old = c
        .get_record("reviews", "old", &["star_rating", "helpful_votes"])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.len(), 1, "the old record reads the new feature as null");
    let mut new = review("new", "2026-01-02T00:00:00Z", 4);
    new.push(almanac_client::values::feature("helpful_votes", 12));
    c.put_record("reviews", new).await.unwrap();
    let new = c
        .get_record("reviews", "new", &["helpful_votes"])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new.len(), 1);

    let retype = c
        .update_feature_group(pb::UpdateFeatureGroupRequest {
            feature_group_name: "reviews".into(),
            feature_additions: vec![scalar("STAR_RATING", T::String)],
            ..Default::default()
        })
        .await;
    assert_eq!(code(&retype), Code::InvalidArgument);
    let missing = c
        .update_feature_group(pb::UpdateFeatureGroupRequest {
            feature_group_name: "nope".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(&missing), Code::NotFound);
}

#[tokio::test]
async fn feature_metadata_and_search() {
    let server = TestServer::start().await;
    let c = &server.client;
    create_reviews(c, "reviews").await;
    let mut drivers = reviews_request("drivers");
    drivers.description = "Driver statistics".into();
    drivers.tags = vec![pb::Tag {
        key: "domain".into(),
        value: "mobility".into(),
    }];
    c.create_feature_group(drivers).await.unwrap();

    let metadata = c
        .update_feature_metadata(pb::UpdateFeatureMetadataRequest {
            feature_group_name: "reviews".into(),
            feature_name: "star_rating".into(),
            description: Some("Stars from 1 to 5".into()),
            parameter_additions: vec![pb::FeatureParameter {
                key: "unit".into(),
                value: "stars".into(),
            }],
            parameter_removals: vec![],
        })
        .await
        .unwrap();
    assert_eq!(metadata.description, "Stars from 1 to 5");
    let described = c
        .describe_feature_metadata("reviews", "star_rating")
        .await
        .unwrap();
    assert_eq!(described, metadata);
    assert_eq!(described.parameters.len(), 1);
    assert_eq!(
        code(&c.describe_feature_metadata("reviews", "nope").await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(&c.describe_feature_metadata("nope", "star_rating").await),
        Code::NotFound
    );

    let removed = c
        .update_feature_metadata(pb::UpdateFeatureMetadataRequest {
            feature_group_name: "reviews".into(),
            feature_name: "star_rating".into(),
            parameter_removals: vec!["unit".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(removed.parameters.is_empty());
    assert_eq!(removed.description, "Stars from 1 to 5");

    let search = |query: &str, resource: pb::SearchResource| {
        let request = pb::SearchRequest {
            query: query.into(),
            resource: resource as i32,
            ..Default::default()
        };
        async move {
            c.search(request)
                .await
                .unwrap()
                .hits
                .into_iter()
                .map(|h| format!("{}.{}", h.feature_group_name, h.feature_name))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        search("mobility", pb::SearchResource::All).await,
        ["drivers."]
    );
    assert_eq!(
        search("STATISTICS driver", pb::SearchResource::FeatureGroup).await,
        ["drivers."]
    );
    assert_eq!(
        search("stars 1 to 5", pb::SearchResource::Feature).await,
        ["reviews.star_rating"]
    );
    assert_eq!(
        search("star_rating", pb::SearchResource::Feature).await,
        ["drivers.star_rating", "reviews.star_rating"]
    );
    assert!(
        search("nothing-matches-this", pb::SearchResource::All)
            .await
            .is_empty()
    );
}
