//! The benchmark's tables: reviews shaped like the Amazon customer reviews
//! TSV of the seed chapter, and a table of many versions per review.

use almanac_client::Client;
use almanac_client::proto as pb;
use almanac_client::values::{feature, scalar};
use anyhow::Result;
use pb::FeatureType as T;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const CATEGORIES: [&str; 8] = [
    "Books",
    "Electronics",
    "Toys",
    "Home",
    "Grocery",
    "Apparel",
    "Video Games",
    "Music",
];
/// 2026-03-01T00:00:00Z.
pub const START_SECONDS: f64 = 1_772_323_200.0;
const BATCH: usize = 1000;
const CONCURRENCY: usize = 4;

pub fn group(
    name: &str,
    id: &str,
    features: Vec<pb::FeatureDefinition>,
) -> pb::CreateFeatureGroupRequest {
    pb::CreateFeatureGroupRequest {
        feature_group_name: name.into(),
        record_identifier_feature_name: id.into(),
        event_time_feature_name: "event_time".into(),
        feature_definitions: features,
        online_store: Some(pb::OnlineStoreConfig {
            enabled: true,
            default_ttl_seconds: None,
        }),
        offline_store: Some(pb::OfflineStoreConfig { enabled: true }),
        ..Default::default()
    }
}

fn review_features() -> Vec<pb::FeatureDefinition> {
    vec![
        scalar("marketplace", T::String),
        scalar("customer_id", T::Integral),
        scalar("review_id", T::String),
        scalar("product_id", T::String),
        scalar("product_parent", T::Integral),
        scalar("product_title", T::String),
        scalar("product_category", T::String),
        scalar("star_rating", T::Integral),
        scalar("helpful_votes", T::Integral),
        scalar("total_votes", T::Integral),
        scalar("vine", T::String),
        scalar("verified_purchase", T::String),
        scalar("review_headline", T::String),
        scalar("review_body", T::String),
        scalar("review_date", T::String),
        scalar("event_time", T::Fractional),
    ]
}

/// Review `i`: products drawn so that a few hundred have over 1,000
/// reviews and most have a handful; event times spread over 30 days.
fn review(rng: &mut SmallRng, i: u64, rows: u64) -> Vec<pb::FeatureValue> {
    let products = (rows / 200).max(10);
    let skew: f64 = rng.random::<f64>().powi(3);
    let product = (skew * products as f64) as u64;
    let stars = 1 + ((product % 5 + rng.random_range(0..3)) % 5) as i64;
    let total_votes = rng.random_range(0..200i64);
    let event_seconds = START_SECONDS + (i as f64 / rows as f64) * 30.0 * 86_400.0;
    vec![
        feature("marketplace", "US"),
        // One customer in about 10,000 reviews is the one the selective
        // scan looks for.
        feature(
            "customer_id",
            if i.is_multiple_of(9973) {
                31_415_926
            } else {
                rng.random_range(10_000..30_000_000i64)
            },
        ),
        feature("review_id", format!("R{i:012}")),
        feature("product_id", format!("B{product:09}")),
        feature("product_parent", (product * 7919 % 1_000_000_000) as i64),
        feature(
            "product_title",
            format!("Product {product}, \"deluxe\" édition"),
        ),
        feature("product_category", CATEGORIES[(product % 8) as usize]),
        feature("star_rating", stars),
        feature("helpful_votes", rng.random_range(0..=total_votes)),
        feature("total_votes", total_votes),
        feature("vine", "N"),
        feature(
            "verified_purchase",
            if i.is_multiple_of(3) { "N" } else { "Y" },
        ),
        feature("review_headline", "Works as described"),
        feature(
            "review_body",
            "Arrived on time, does what it says; would buy again, \"5 stars\".",
        ),
        feature("review_date", "2026-03-01"),
        feature("event_time", event_seconds),
    ]
}

/// Writes `records` (built by `make(index)`) into `group` in batches.
pub async fn write_all<F>(client: &Client, group: &str, total: u64, make: F) -> Result<()>
where
    F: Fn(&mut SmallRng, u64) -> Vec<pb::FeatureValue> + Send + Sync + Copy + 'static,
{
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY as u64 {
        let client = client.clone();
        let group = group.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut rng = SmallRng::seed_from_u64(worker);
            let mut index = worker * BATCH as u64;
            while index < total {
                let end = (index + BATCH as u64).min(total);
                let entries = (index..end)
                    .map(|i| pb::BatchWriteEntry {
                        feature_group_name: group.clone(),
                        record: make(&mut rng, i),
                        ..Default::default()
                    })
                    .collect();
                let response = client
                    .batch_write_record(pb::BatchWriteRecordRequest { entries })
                    .await?;
                anyhow::ensure!(
                    response.errors.is_empty(),
                    "write errors: {:?}",
                    response.errors
                );
                index += (CONCURRENCY * BATCH) as u64;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    eprintln!(
        "wrote {total} rows into {group} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub async fn load_reviews(client: &Client, rows: u64) -> Result<()> {
    client
        .create_feature_group(group("reviews", "review_id", review_features()))
        .await?;
    write_all(client, "reviews", rows, move |rng, i| review(rng, i, rows)).await
}

pub async fn load_versions(client: &Client, ids: u64, versions: u64) -> Result<()> {
    let features = vec![
        scalar("review_id", T::String),
        scalar("event_time", T::Fractional),
        scalar("star_rating", T::Integral),
        scalar("helpful_votes", T::Integral),
    ];
    client
        .create_feature_group(group("review_versions", "review_id", features))
        .await?;
    let total = ids * versions;
    write_all(client, "review_versions", total, move |rng, i| {
        let id = i % ids;
        let version = i / ids;
        let seconds = START_SECONDS + version as f64 * 86_400.0 + rng.random_range(0.0..3600.0);
        vec![
            feature("review_id", format!("R{id:09}")),
            feature("event_time", seconds),
            feature("star_rating", rng.random_range(1..=5i64)),
            feature("helpful_votes", rng.random_range(0..100i64)),
        ]
    })
    .await
}

pub async fn create_freshness_group(client: &Client) -> Result<()> {
    let features = vec![
        scalar("id", T::String),
        scalar("event_time", T::Fractional),
        scalar("value", T::Integral),
    ];
    client
        .create_feature_group(group("freshness", "id", features))
        .await?;
    Ok(())
}

pub fn freshness_record(id: &str) -> Vec<pb::FeatureValue> {
    vec![
        feature("id", id),
        feature("event_time", START_SECONDS),
        feature("value", 1i64),
    ]
}
