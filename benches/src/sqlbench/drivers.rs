//! The dataset benchmark's feature group, shaped like Feast's driver
//! statistics: per driver, a version every hour or so with float, integer
//! and string features, and now and then a correction (a second version
//! at the same event time, written later). Also times a dataset build.

use std::time::{Duration, Instant};

use almanac_client::Client;
use almanac_client::arrow::array::{Array, AsArray, RecordBatch, RecordBatchReader};
use almanac_client::arrow::datatypes::Float64Type;
use almanac_client::dataset::{DatasetRequest, FeatureSelection};
use almanac_client::proto as pb;
use almanac_client::values::{feature, scalar};
use anyhow::{Context, Result};
use futures::StreamExt;
use pb::FeatureType as T;
use rand::Rng;
use rand::rngs::SmallRng;

use crate::data::{START_SECONDS, group, write_all};

const CITIES: [&str; 6] = ["Lisbon", "Porto", "Faro", "Braga", "Coimbra", "Évora"];

/// Creates `group_name` and writes `versions` hourly versions of each of
/// `drivers` drivers, plus a correction of one version in `correct_every`.
pub async fn load_drivers(
    client: &Client,
    group_name: &str,
    drivers: u64,
    versions: u64,
    correct_every: u64,
) -> Result<()> {
    let features = vec![
        scalar("driver_id", T::Integral),
        scalar("event_time", T::Fractional),
        scalar("conv_rate", T::Fractional),
        scalar("acc_rate", T::Fractional),
        scalar("avg_daily_trips", T::Integral),
        scalar("city", T::String),
    ];
    client
        .create_feature_group(group(group_name, "driver_id", features))
        .await?;
    let total = drivers * versions;
    let version = move |rng: &mut SmallRng, i: u64| {
        let driver = i % drivers;
        let hour = i / drivers;
        let seconds = START_SECONDS + hour as f64 * 3600.0 + (driver % 3600) as f64;
        driver_record(rng, driver, seconds)
    };
    write_all(client, group_name, total, version).await?;
    // Corrections come after everything else: the same event time, written
    // later, so they win the tie.
    let corrections = total / correct_every.max(1);
    write_all(client, group_name, corrections, move |rng, i| {
        version(rng, i * correct_every.max(1))
    })
    .await
}

fn driver_record(rng: &mut SmallRng, driver: u64, seconds: f64) -> Vec<pb::FeatureValue> {
    vec![
        feature("driver_id", driver as i64),
        feature("event_time", seconds),
        feature("conv_rate", rng.random_range(0.0..1.0f64)),
        feature("acc_rate", rng.random_range(0.0..1.0f64)),
        feature("avg_daily_trips", rng.random_range(0..1000i64)),
        feature("city", CITIES[(driver % 6) as usize]),
    ]
}

/// Builds the dataset `runs` times and prints the fastest and median time,
/// the server's peak memory over the runs, and a checksum of the result.
pub async fn time_dataset(
    client: &Client,
    entities: &std::path::Path,
    selection: FeatureSelection,
    runs: usize,
    server_pid: Option<u32>,
) -> Result<()> {
    let file =
        std::fs::File::open(entities).with_context(|| format!("open {}", entities.display()))?;
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>()?;
    let request = DatasetRequest {
        features: vec![selection],
        event_time_column: Some("event_timestamp".into()),
        written_before: None,
    };
    let mut baseline = 0.0;
    if let Some(pid) = server_pid {
        // Resets the peak resident set size the kernel reports to the
        // current one: the server's idle memory (RocksDB caches included).
        std::fs::write(format!("/proc/{pid}/clear_refs"), "5")?;
        baseline = memory_mib(pid, "VmRSS:").unwrap_or(0.0);
    }
    let mut times: Vec<Duration> = Vec::new();
    let mut first_batches: Vec<Duration> = Vec::new();
    let mut summary = (0usize, 0usize, 0.0f64);
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let mut result = client
            .build_dataset(&request, schema.clone(), batches.clone())
            .await?;
        let conv = result.schema.index_of("conv_rate")?;
        let (mut rows, mut present, mut sum) = (0usize, 0usize, 0.0f64);
        while let Some(batch) = result.batches.next().await {
            let batch = batch?;
            if rows == 0 {
                first_batches.push(started.elapsed());
            }
            rows += batch.num_rows();
            let values = batch.column(conv).as_primitive::<Float64Type>();
            present += values.len() - values.null_count();
            sum += values.iter().flatten().sum::<f64>();
        }
        times.push(started.elapsed());
        summary = (rows, present, sum);
    }
    times.sort();
    first_batches.sort();
    let peak = server_pid
        .map(|pid| memory_mib(pid, "VmHWM:").unwrap_or(0.0))
        .unwrap_or(0.0);
    println!(
        "engine=almanac best_ms={:.1} median_ms={:.1} first_batch_median_ms={:.1} \
         peak_rss_mib={peak:.0} \
         idle_rss_mib={baseline:.0} rows={} \
         conv_rate_present={} conv_rate_sum={:.3}",
        times[0].as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3,
        first_batches
            .get(first_batches.len() / 2)
            .map_or(0.0, |t| t.as_secs_f64() * 1e3),
        summary.0,
        summary.1,
        summary.2
    );
    Ok(())
}

/// A memory figure of a process's status (`VmRSS:`, `VmHWM:`), in MiB.
fn memory_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
