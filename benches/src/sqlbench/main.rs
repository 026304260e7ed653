//! `almanac-sqlbench`: loads tables shaped like the seed chapter's Amazon
//! reviews into Almanac, times SQL over the offline store through Flight
//! SQL, times point-in-time dataset builds, and measures freshness (acknowledged write to visible in SQL, and
//! to durable Parquet). `benches/run-sql.sh` runs it beside DuckDB over the
//! same Parquet files. `loop` keeps heavy queries running as the background
//! load of `benches/run-isolation.sh`.

#[path = "../background.rs"]
mod background;
mod data;
mod drivers;
mod loops;

use std::time::{Duration, Instant};

use almanac_client::Client;
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use futures::StreamExt;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "almanac-sqlbench",
    about = "SQL benchmark of Almanac's offline store"
)]
struct Args {
    #[arg(
        long,
        env = "ALMANAC_ENDPOINT",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    endpoint: String,
    #[command(subcommand)]
    command: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Create `reviews` and write ROWS reviews, about 1,000 per popular
    /// product, through BatchWriteRecord.
    LoadReviews {
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
    },
    /// Create `review_versions` and write VERSIONS versions of each of IDS
    /// reviews, event times spread over ten days.
    LoadVersions {
        #[arg(long, default_value_t = 100_000)]
        ids: u64,
        #[arg(long, default_value_t = 10)]
        versions: u64,
    },
    /// Create GROUP and write VERSIONS hourly versions of each of DRIVERS
    /// drivers, plus one correction every CORRECT_EVERY versions.
    LoadDrivers {
        #[arg(long)]
        group: String,
        #[arg(long)]
        drivers: u64,
        #[arg(long, default_value_t = 100)]
        versions: u64,
        #[arg(long, default_value_t = 100)]
        correct_every: u64,
    },
    /// Build a point-in-time dataset RUNS times for the entity table in
    /// ENTITIES (Parquet: driver_id, event_timestamp).
    Dataset {
        #[arg(long)]
        entities: std::path::PathBuf,
        /// GROUP:F1,F2,...
        #[arg(long)]
        feature: String,
        /// A look-back such as 2h.
        #[arg(long)]
        ttl: Option<String>,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// The server's process id, to report its peak memory.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// Wait until the offline log is empty: everything is in Parquet.
    WaitFlushed {
        #[arg(long = "group", required = true)]
        groups: Vec<String>,
    },
    /// Run SQL RUNS times; print the fastest and median time and the row count.
    Query {
        sql: String,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Time from an acknowledged PutRecord to the row in SQL, and to the
    /// offline backlog being empty (the row in Parquet).
    Freshness {
        #[arg(long, default_value_t = 20)]
        samples: usize,
    },
    /// Keep queries running in CONCURRENCY loops, each query started as
    /// soon as the loop's previous one ends, until SIGTERM or SIGINT; one
    /// line per query with its wall-clock start and end.
    Loop {
        /// NAME=SQL (repeatable); loop N starts at the Nth and takes them
        /// in turn.
        #[arg(long = "query", required = true)]
        queries: Vec<loops::NamedQuery>,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Stop by itself after this long.
        #[arg(long, default_value = "1h")]
        max_duration: humantime::Duration,
        /// Create this file once every loop has started.
        #[arg(long)]
        ready_file: Option<std::path::PathBuf>,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let client = Client::connect(args.endpoint.clone())
        .await
        .with_context(|| format!("connect to {}", args.endpoint))?;
    match args.command {
        Mode::LoadReviews { rows } => data::load_reviews(&client, rows).await,
        Mode::LoadVersions { ids, versions } => data::load_versions(&client, ids, versions).await,
        Mode::LoadDrivers {
            group,
            drivers,
            versions,
            correct_every,
        } => drivers::load_drivers(&client, &group, drivers, versions, correct_every).await,
        Mode::Dataset {
            entities,
            feature,
            ttl,
            runs,
            server_pid,
        } => {
            let mut selection = almanac_client::dataset::FeatureSelection::parse(&feature)?;
            selection.ttl = ttl;
            drivers::time_dataset(&client, &entities, selection, runs, server_pid).await
        }
        Mode::WaitFlushed { groups } => {
            for group in groups {
                wait_flushed(&client, &group).await?;
            }
            Ok(())
        }
        Mode::Query { sql, runs } => query(&client, &sql, runs).await,
        Mode::Freshness { samples } => freshness(&client, samples).await,
        Mode::Loop {
            queries,
            concurrency,
            max_duration,
            ready_file,
        } => {
            loops::run(
                &args.endpoint,
                queries,
                concurrency,
                max_duration.into(),
                ready_file.as_deref(),
            )
            .await
        }
    }
}

async fn wait_flushed(client: &Client, group: &str) -> Result<Duration> {
    let start = Instant::now();
    loop {
        let state = client
            .describe_feature_group(group)
            .await?
            .offline_store_state
            .unwrap_or_default();
        if state.lag_entries == 0 {
            return Ok(start.elapsed());
        }
        if start.elapsed() > Duration::from_secs(600) {
            bail!(
                "{group}: still {} entries unflushed after 600 s",
                state.lag_entries
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn run_once(client: &Client, sql: &str) -> Result<(Duration, usize)> {
    let start = Instant::now();
    let mut result = client.query_stream(sql).await?;
    let mut rows = 0;
    while let Some(batch) = result.batches.next().await {
        rows += batch?.num_rows();
    }
    Ok((start.elapsed(), rows))
}

async fn query(client: &Client, sql: &str, runs: usize) -> Result<()> {
    let mut times = Vec::new();
    let mut rows = 0;
    for _ in 0..runs.max(1) {
        let (elapsed, n) = run_once(client, sql).await?;
        times.push(elapsed);
        rows = n;
    }
    times.sort();
    println!(
        "engine=almanac best_ms={:.1} median_ms={:.1} rows={rows}",
        times[0].as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3
    );
    Ok(())
}

async fn freshness(client: &Client, samples: usize) -> Result<()> {
    data::create_freshness_group(client).await?;
    let mut to_sql = Vec::new();
    let mut to_parquet = Vec::new();
    for i in 0..samples {
        let id = format!("f{i}");
        client
            .put_record("freshness", data::freshness_record(&id))
            .await?;
        let acknowledged = Instant::now();
        let sql = format!("SELECT count(*) FROM freshness WHERE id = '{id}'");
        loop {
            let batches = client.query(&sql).await?;
            let column = batches[0].column(0);
            let count = column
                .as_any()
                .downcast_ref::<almanac_client::arrow::array::Int64Array>()
                .map_or(0, |a| a.value(0));
            if count == 1 {
                break;
            }
        }
        to_sql.push(acknowledged.elapsed());
        wait_flushed(client, "freshness").await?;
        to_parquet.push(acknowledged.elapsed());
        // Spread the samples over the flush cycle.
        tokio::time::sleep(Duration::from_millis(137)).await;
    }
    for (name, mut times) in [("visible_in_sql", to_sql), ("in_parquet", to_parquet)] {
        times.sort();
        println!(
            "freshness={name} samples={} median_ms={:.1} max_ms={:.1}",
            times.len(),
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3
        );
    }
    Ok(())
}
