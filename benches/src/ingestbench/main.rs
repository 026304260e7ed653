//! `almanac-ingestbench`: the bulk-ingest benchmark's data and its Rust
//! drivers (see `benches/README.md` and `benches/run-ingest.sh`).
//!
//! - `make-data` writes the same rows as Parquet and as CSV: an Integral
//!   id, an ISO-8601 event time, 3 Integral, 3 Fractional and 2 String
//!   features (10 features).
//! - `doput` sends a Parquet file through Flight `DoPut`, one stream per
//!   worker, and times it until every batch is answered (durable).
//! - `put-loop` writes rows with one PutRecord call each, from several
//!   concurrent loops, as SageMaker's SDK ingests a DataFrame.
//! - `doput-loop` sends a Parquet file through `DoPut` over and over, with
//!   new ids each pass, until stopped: the bulk-ingest load of
//!   `benches/run-isolation.sh`.

#[path = "../background.rs"]
mod background;

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use almanac_client::Client;
use almanac_client::proto as pb;
use almanac_client::values::feature;
use anyhow::{Context, Result};
use arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{Float64Type, Int64Type};
use clap::{Parser, Subcommand};
use futures::StreamExt;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write the benchmark's rows as Parquet and CSV.
    MakeData {
        #[arg(long)]
        rows: usize,
        #[arg(long)]
        parquet: PathBuf,
        #[arg(long)]
        csv: PathBuf,
    },
    /// Ingest a Parquet file through Flight DoPut.
    Doput {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 2)]
        workers: usize,
        #[arg(long, default_value_t = 65_536)]
        batch_rows: usize,
    },
    /// Write the first ROWS rows of a Parquet file, one PutRecord each.
    PutLoop {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        rows: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Ingest a Parquet file through Flight DoPut again and again until
    /// SIGTERM or SIGINT: WORKERS streams, each sending its share of the
    /// file per pass and starting its next pass at once. Each pass adds
    /// pass x (rows in the file) + ID_OFFSET to the `id` column, so every
    /// row is a new record. One line per pass with its wall-clock start and
    /// end.
    DoputLoop {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 2)]
        workers: usize,
        #[arg(long, default_value_t = 65_536)]
        batch_rows: usize,
        /// Added to every id (give each run its own ids).
        #[arg(long, default_value_t = 0)]
        id_offset: i64,
        /// Stop by itself after this long.
        #[arg(long, default_value = "1h")]
        max_duration: humantime::Duration,
        /// Create this file once the file is read and every stream has
        /// started.
        #[arg(long)]
        ready_file: Option<PathBuf>,
    },
}

/// Which server and group a driver writes to, and the rows it sends.
#[derive(Debug, clap::Args)]
struct Target {
    #[arg(long, env = "ALMANAC_ENDPOINT")]
    endpoint: String,
    #[arg(long)]
    group: String,
    /// A Parquet file from `make-data`.
    #[arg(long)]
    parquet: PathBuf,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::MakeData { rows, parquet, csv } => make_data(rows, &parquet, &csv),
        Command::Doput {
            target,
            workers,
            batch_rows,
        } => runtime.block_on(doput(target, workers, batch_rows)),
        Command::PutLoop {
            target,
            rows,
            concurrency,
        } => runtime.block_on(put_loop(target, rows, concurrency)),
        Command::DoputLoop {
            target,
            workers,
            batch_rows,
            id_offset,
            max_duration,
            ready_file,
        } => runtime.block_on(doput_loop(
            target,
            DoputLoop {
                workers,
                batch_rows,
                id_offset,
                limit: max_duration.into(),
                ready_file,
            },
        )),
    }
}

const WORDS: [&str; 8] = [
    "books", "toys", "garden", "kitchen", "music", "video", "sports", "tools",
];

fn make_data(rows: usize, parquet: &PathBuf, csv: &PathBuf) -> Result<()> {
    let mut rng = SmallRng::seed_from_u64(42);
    let mut parquet_writer: Option<ArrowWriter<File>> = None;
    let mut csv_writer = arrow::csv::Writer::new(File::create(csv)?);
    let chunk = 100_000;
    for start in (0..rows).step_by(chunk) {
        let n = chunk.min(rows - start);
        let ids: Vec<i64> = (start as i64..(start + n) as i64).collect();
        let ints = |rng: &mut SmallRng, max: i64| -> ArrayRef {
            Arc::new(Int64Array::from_iter_values(
                (0..n).map(|_| rng.random_range(0..max)),
            ))
        };
        let floats = |rng: &mut SmallRng| -> ArrayRef {
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|_| (rng.random::<f64>() * 1e4).round() / 1e4),
            ))
        };
        let words = |rng: &mut SmallRng| -> ArrayRef {
            Arc::new(StringArray::from_iter_values((0..n).map(|_| {
                format!(
                    "{}-{}",
                    WORDS[rng.random_range(0..WORDS.len())],
                    rng.random_range(0..100_000)
                )
            })))
        };
        let times: ArrayRef = Arc::new(StringArray::from_iter_values(ids.iter().map(|id| {
            almanac_types::time::format_iso8601(1_772_323_200_000_000 + (id % 86_400) * 1_000_000)
        })));
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
            ("event_time", times),
            ("clicks", ints(&mut rng, 1_000)),
            ("views", ints(&mut rng, 100_000)),
            ("stars", ints(&mut rng, 6)),
            ("ctr", floats(&mut rng)),
            ("price", floats(&mut rng)),
            ("score", floats(&mut rng)),
            ("category", words(&mut rng)),
            ("brand", words(&mut rng)),
        ])?;
        let writer = match &mut parquet_writer {
            Some(writer) => writer,
            None => parquet_writer.insert(ArrowWriter::try_new(
                File::create(parquet)?,
                batch.schema(),
                None,
            )?),
        };
        writer.write(&batch)?;
        csv_writer.write(&batch)?;
    }
    if let Some(writer) = parquet_writer {
        writer.close()?;
    }
    eprintln!(
        "wrote {rows} rows to {} and {}",
        parquet.display(),
        csv.display()
    );
    Ok(())
}

fn read_parquet(path: &PathBuf, batch_rows: usize) -> Result<Vec<RecordBatch>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(
        File::open(path).with_context(|| format!("open {}", path.display()))?,
    )?
    .with_batch_size(batch_rows)
    .build()?;
    Ok(reader.collect::<Result<Vec<_>, _>>()?)
}

async fn doput(target: Target, workers: usize, batch_rows: usize) -> Result<()> {
    let Target {
        endpoint,
        group,
        parquet,
    } = target;
    let batches = read_parquet(&parquet, batch_rows)?;
    let schema = batches[0].schema();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let client = Client::connect(endpoint).await?;
    let mut lanes: Vec<Vec<RecordBatch>> = vec![Vec::new(); workers];
    for (i, batch) in batches.into_iter().enumerate() {
        lanes[i % workers].push(batch);
    }
    let started = Instant::now();
    let summaries = futures::future::try_join_all(lanes.into_iter().map(|lane| {
        let client = client.clone();
        let group = group.clone();
        let schema = Arc::clone(&schema);
        async move {
            client
                .ingest(&group, schema, futures::stream::iter(lane))
                .await
        }
    }))
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let written: usize = summaries.iter().map(|s| s.rows_written).sum();
    anyhow::ensure!(written == rows, "{written} of {rows} rows written");
    println!(
        "doput rows={rows} workers={workers} batch_rows={batch_rows} seconds={seconds:.3} rows_per_s={:.0}",
        rows as f64 / seconds
    );
    Ok(())
}

/// `batch` with `offset` added to its Int64 column `column`.
fn shift_ids(batch: &RecordBatch, column: usize, offset: i64) -> Result<RecordBatch> {
    let ids = batch
        .column(column)
        .as_primitive_opt::<Int64Type>()
        .context("the id column is not Int64")?;
    let shifted = Int64Array::from_iter_values(ids.values().iter().map(|id| id + offset));
    let mut columns = batch.columns().to_vec();
    columns[column] = Arc::new(shifted);
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// How `doput-loop` runs; see `Command::DoputLoop`.
#[derive(Debug)]
struct DoputLoop {
    workers: usize,
    batch_rows: usize,
    id_offset: i64,
    limit: Duration,
    ready_file: Option<PathBuf>,
}

/// Runs DoPut passes over the file until stopped; see `Command::DoputLoop`.
/// Prints `doput worker=W pass=P status=ok|stopped rows=R start=S end=E`
/// per pass, times in Unix seconds; a stopped pass (cut off by the stop)
/// counts the rows it had handed to the stream.
async fn doput_loop(target: Target, plan: DoputLoop) -> Result<()> {
    let Target {
        endpoint,
        group,
        parquet,
    } = target;
    let DoputLoop {
        workers,
        batch_rows,
        id_offset,
        limit,
        ready_file,
    } = plan;
    let workers = workers.max(1);
    let batches = read_parquet(&parquet, batch_rows)?;
    let schema = batches.first().context("the file has no rows")?.schema();
    let id = schema
        .index_of("id")
        .context("the file has no `id` column")?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut lanes: Vec<Vec<RecordBatch>> = vec![Vec::new(); workers];
    for (i, batch) in batches.into_iter().enumerate() {
        lanes[i % workers].push(batch);
    }
    let client = Client::connect(endpoint).await?;
    let stop = background::stop_signal(limit)?;
    let passes = Arc::new(AtomicI64::new(0));
    let tasks: Vec<_> = lanes
        .into_iter()
        .enumerate()
        .map(|(worker, lane)| {
            let (client, group, schema) = (client.clone(), group.clone(), Arc::clone(&schema));
            let (passes, mut stop) = (Arc::clone(&passes), stop.clone());
            tokio::spawn(async move {
                loop {
                    let pass = passes.fetch_add(1, Ordering::Relaxed);
                    let offset = id_offset + pass * rows as i64;
                    let lane = lane
                        .iter()
                        .map(|batch| shift_ids(batch, id, offset))
                        .collect::<Result<Vec<_>>>()?;
                    let sent = Arc::new(AtomicUsize::new(0));
                    let counter = Arc::clone(&sent);
                    let stream = futures::stream::iter(lane).inspect(move |batch| {
                        counter.fetch_add(batch.num_rows(), Ordering::Relaxed);
                    });
                    let start = background::unix_now();
                    let line = |status: &str, rows: usize| {
                        let span = background::span(start);
                        format!(
                            "doput worker={worker} pass={pass} status={status} rows={rows} {span}"
                        )
                    };
                    tokio::select! {
                        biased;
                        () = background::stopped(&mut stop) => {
                            println!("{}", line("stopped", sent.load(Ordering::Relaxed)));
                            return Ok::<_, anyhow::Error>(());
                        }
                        summary = client.ingest(&group, Arc::clone(&schema), stream) => {
                            let summary = summary?;
                            anyhow::ensure!(
                                summary.rows_written == summary.rows,
                                "pass {pass}: {} of {} rows written",
                                summary.rows_written,
                                summary.rows
                            );
                            println!("{}", line("ok", summary.rows_written));
                        }
                    }
                }
            })
        })
        .collect();
    background::mark_ready(ready_file.as_deref()).context("write the ready file")?;
    futures::future::try_join_all(tasks.into_iter().map(|task| async move { task.await? })).await?;
    Ok(())
}

/// The rows of `batch` as PutRecord records.
fn records(batch: &RecordBatch) -> Vec<Vec<pb::FeatureValue>> {
    let schema = batch.schema();
    (0..batch.num_rows())
        .map(|row| {
            schema
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(field, column)| {
                    let name = field.name().as_str();
                    match column.data_type() {
                        arrow::datatypes::DataType::Int64 => {
                            feature(name, column.as_primitive::<Int64Type>().value(row))
                        }
                        arrow::datatypes::DataType::Float64 => {
                            feature(name, column.as_primitive::<Float64Type>().value(row))
                        }
                        _ => feature(name, column.as_string::<i32>().value(row)),
                    }
                })
                .collect()
        })
        .collect()
}

async fn put_loop(target: Target, rows: usize, concurrency: usize) -> Result<()> {
    let Target {
        endpoint,
        group,
        parquet,
    } = target;
    let batches = read_parquet(&parquet, 65_536)?;
    let mut all: Vec<Vec<pb::FeatureValue>> = Vec::with_capacity(rows);
    for batch in &batches {
        all.extend(records(batch));
        if all.len() >= rows {
            break;
        }
    }
    all.truncate(rows);
    let client = Client::connect(endpoint).await?;
    let started = Instant::now();
    let mut calls = futures::stream::iter(all.into_iter().map(|record| {
        let client = client.clone();
        let group = group.clone();
        async move { client.put_record(&group, record).await }
    }))
    .buffer_unordered(concurrency);
    let mut written = 0usize;
    while let Some(result) = calls.next().await {
        result?;
        written += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "put-loop rows={written} concurrency={concurrency} seconds={seconds:.3} rows_per_s={:.0}",
        written as f64 / seconds
    );
    Ok(())
}
