//! What the load generator sends: the benchmark's records and calls.

use almanac_client::Client;
use almanac_client::proto as pb;
use almanac_client::values::{feature, scalar};
use anyhow::{Context, Result};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::Call;

/// One connection, with the clients that share it.
#[derive(Debug, Clone)]
pub struct Target {
    pub store: Client,
    pub health: HealthClient<Channel>,
}

impl Target {
    /// Opens `connections` separate HTTP/2 connections to `endpoint`.
    pub async fn connect_all(endpoint: &str, connections: usize) -> Result<Vec<Target>> {
        let mut targets = Vec::new();
        for _ in 0..connections.max(1) {
            let channel = Endpoint::from_shared(endpoint.to_owned())?
                .tcp_nodelay(true)
                .connect()
                .await
                .with_context(|| format!("connect to {endpoint}"))?;
            targets.push(Target {
                store: Client::from_channel(channel.clone()),
                health: HealthClient::new(channel),
            });
        }
        Ok(targets)
    }
}

/// A seeded fast random generator for worker `n`.
pub fn rng(n: u64) -> SmallRng {
    SmallRng::seed_from_u64(0x5eed ^ n)
}

fn record_id(n: u64) -> String {
    format!("id-{n:010}")
}

/// A record of 10 features, about 200 bytes encoded.
fn record(n: u64, event_seconds: u64) -> Vec<pb::FeatureValue> {
    let event_time =
        almanac_types::time::format_iso8601((1_767_225_600 + event_seconds as i64) * 1_000_000);
    vec![
        feature("record_id", record_id(n)),
        feature("event_time", event_time),
        feature("clicks", (n % 1000) as i64),
        feature("orders", (n % 97) as i64),
        feature("tenure_days", (n % 3650) as i64),
        feature("conv_rate", (n % 100) as f64 / 100.0),
        feature("acc_rate", (n % 37) as f64 / 37.0),
        feature("avg_daily_trips", (n % 500) as f64 / 3.0),
        feature(
            "city",
            format!("city-{:04}-somewhere-in-the-world", n % 5000),
        ),
        feature(
            "segment",
            format!("segment-{}-customers-of-the-long-tail", n % 17),
        ),
    ]
}

fn group_request(group: &str) -> pb::CreateFeatureGroupRequest {
    use pb::FeatureType as T;
    pb::CreateFeatureGroupRequest {
        feature_group_name: group.to_owned(),
        record_identifier_feature_name: "record_id".into(),
        event_time_feature_name: "event_time".into(),
        feature_definitions: vec![
            scalar("record_id", T::String),
            scalar("event_time", T::String),
            scalar("clicks", T::Integral),
            scalar("orders", T::Integral),
            scalar("tenure_days", T::Integral),
            scalar("conv_rate", T::Fractional),
            scalar("acc_rate", T::Fractional),
            scalar("avg_daily_trips", T::Fractional),
            scalar("city", T::String),
            scalar("segment", T::String),
        ],
        online_store: Some(pb::OnlineStoreConfig {
            enabled: true,
            default_ttl_seconds: None,
        }),
        offline_store: Some(pb::OfflineStoreConfig { enabled: true }),
        description: "almanac-loadgen records".into(),
        tags: vec![],
    }
}

/// Creates the group if it is missing and writes records `0..records`.
pub async fn populate(
    targets: &[Target],
    group: &str,
    records: u64,
    concurrency: usize,
) -> Result<()> {
    let client = &targets[0].store;
    if client.describe_feature_group(group).await.is_err() {
        client.create_feature_group(group_request(group)).await?;
    }
    const BATCH: u64 = 1000;
    let started = std::time::Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut workers = Vec::new();
    for worker in 0..concurrency.max(1) {
        let client = targets[worker % targets.len()].store.clone();
        let (next, group) = (next.clone(), group.to_owned());
        workers.push(tokio::spawn(async move {
            loop {
                let start = next.fetch_add(BATCH, std::sync::atomic::Ordering::Relaxed);
                if start >= records {
                    return Ok::<_, anyhow::Error>(());
                }
                let entries = (start..(start + BATCH).min(records))
                    .map(|n| pb::BatchWriteEntry {
                        feature_group_name: group.clone(),
                        record: record(n, 0),
                        ..Default::default()
                    })
                    .collect();
                let response = client
                    .batch_write_record(pb::BatchWriteRecordRequest { entries })
                    .await?;
                anyhow::ensure!(
                    response.errors.is_empty(),
                    "populate failed: {:?}",
                    response.errors.first()
                );
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "populated {records} records in {elapsed:.1}s ({:.0} records/s)",
        records as f64 / elapsed
    );
    Ok(())
}

/// One measured call, with what it needs.
#[derive(Debug, Clone)]
pub struct Workload {
    pub call: Call,
    pub group: String,
    pub records: u64,
    /// Projection of reads; empty for every feature.
    pub features: Vec<String>,
}

impl Workload {
    /// Makes one call; whether it succeeded.
    pub async fn call_once(&self, target: &Target, rng: &mut SmallRng) -> bool {
        match self.call {
            Call::Baseline => {
                let mut health = target.health.clone();
                health
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                    .is_ok()
            }
            Call::Get => {
                let features: Vec<&str> = self.features.iter().map(String::as_str).collect();
                let id = record_id(rng.random_range(0..self.records));
                matches!(
                    target.store.get_record(&self.group, &id, &features).await,
                    Ok(Some(_))
                )
            }
            Call::BatchGet => {
                let ids = (0..100)
                    .map(|_| record_id(rng.random_range(0..self.records)))
                    .collect();
                let request = pb::BatchGetRecordRequest {
                    identifiers: vec![pb::BatchGetRecordIdentifier {
                        feature_group_name: self.group.clone(),
                        record_identifiers_value_as_string: ids,
                        feature_names: self.features.clone(),
                    }],
                    return_expiration: false,
                };
                matches!(target.store.batch_get_record(request).await, Ok(r) if r.errors.is_empty())
            }
            Call::Put => {
                let n = rng.random_range(0..self.records);
                let event_seconds = rng.random_range(1..1_000_000);
                target
                    .store
                    .put_record(&self.group, record(n, event_seconds))
                    .await
                    .is_ok()
            }
        }
    }
}
