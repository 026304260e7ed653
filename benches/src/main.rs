//! `almanac-loadgen`: a load generator for Almanac's gRPC API.
//!
//! `populate` loads a feature group of records shaped like the benchmark's
//! (10 features, about 200 bytes); `run` drives one call (GetRecord,
//! BatchGetRecord of 100 ids, PutRecord, or the health check as the
//! transport's baseline) at a given concurrency, optionally paced to a
//! target rate, and prints throughput and p50/p99/p99.9 latency.

mod workload;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use hdrhistogram::Histogram;
use tokio::sync::Mutex;

use workload::{Target, Workload};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "almanac-loadgen",
    about = "Load generator for Almanac's gRPC API"
)]
struct Args {
    /// Server to load.
    #[arg(
        long,
        env = "ALMANAC_ENDPOINT",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    endpoint: String,
    /// Feature group to use.
    #[arg(long, default_value = "loadgen", global = true)]
    group: String,
    /// Number of record ids in the group.
    #[arg(long, default_value_t = 1_000_000, global = true)]
    records: u64,
    /// Features GetRecord and BatchGetRecord ask for (repeatable); none
    /// means all ten.
    #[arg(long = "feature", global = true)]
    features: Vec<String>,
    /// gRPC connections (HTTP/2 channels) the workers share.
    #[arg(long, default_value_t = 4, global = true)]
    connections: usize,
    #[command(subcommand)]
    command: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Create the group (if missing) and write every record once.
    Populate {
        /// Concurrent BatchWriteRecord calls.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Drive one call and report throughput and latency.
    Run {
        #[arg(long, value_enum)]
        call: Call,
        /// Concurrent requests in flight.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// How long to measure, e.g. 20s.
        #[arg(long, default_value = "20s")]
        duration: humantime::Duration,
        /// Warm-up before measuring.
        #[arg(long, default_value = "3s")]
        warmup: humantime::Duration,
        /// Target total requests per second (open loop: latency is measured
        /// from each request's scheduled start). Unset: as fast as possible.
        #[arg(long)]
        rate: Option<f64>,
        /// The server's process id, to report its CPU time per request
        /// (read from /proc; Linux only).
        #[arg(long)]
        server_pid: Option<u32>,
        /// Write the measured window's start and end to this file, as Unix
        /// seconds ("START END"), to line it up with other processes' work.
        #[arg(long)]
        window_file: Option<PathBuf>,
    },
}

/// The call a run measures.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Call {
    /// grpc.health.v1.Health/Check: the transport, no storage work.
    Baseline,
    /// GetRecord of one random id.
    Get,
    /// BatchGetRecord of 100 random ids.
    BatchGet,
    /// PutRecord of one random id with a new event time (durable).
    Put,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let targets = Target::connect_all(&args.endpoint, args.connections).await?;
    match args.command {
        Mode::Populate { concurrency } => {
            workload::populate(&targets, &args.group, args.records, concurrency).await
        }
        Mode::Run {
            call,
            concurrency,
            duration,
            warmup,
            rate,
            server_pid,
            window_file,
        } => {
            let workload = Workload {
                call,
                group: args.group.clone(),
                records: args.records,
                features: args.features.clone(),
            };
            let plan = Plan {
                concurrency,
                warmup: warmup.into(),
                duration: duration.into(),
                rate,
                server_pid,
                window_file,
            };
            run(&targets, &workload, plan).await
        }
    }
}

/// How a run is driven.
#[derive(Debug, Clone)]
struct Plan {
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    rate: Option<f64>,
    server_pid: Option<u32>,
    window_file: Option<PathBuf>,
}

/// Seconds since the Unix epoch.
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

/// CPU time (user + system) a process has used so far, from /proc.
fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}

async fn run(targets: &[Target], workload: &Workload, plan: Plan) -> Result<()> {
    let Plan {
        concurrency,
        warmup,
        duration,
        rate,
        server_pid,
        window_file,
    } = plan;
    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let completed = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    // Paced runs: a pacer thread hands out tickets at the target rate with
    // ~100 us precision (tokio's timers tick in whole milliseconds, which
    // would send requests in bursts), round-robin to the workers. Latency
    // counts from a ticket's scheduled time, so a request that waits for
    // a busy worker is charged for the wait (no coordinated omission).
    let mut tickets = Vec::new();
    let mut ticket_senders = Vec::new();
    for _ in 0..concurrency {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<Instant>();
        ticket_senders.push(sender);
        tickets.push(Some(receiver));
    }
    let pacer = rate.map(|rate| {
        let stop = stop.clone();
        std::thread::spawn(move || pace(rate, &ticket_senders, &stop))
    });

    let mut workers = Vec::new();
    for (worker, tickets) in tickets.iter_mut().enumerate() {
        let target = targets[worker % targets.len()].clone();
        let workload = workload.clone();
        let mut tickets = tickets.take().filter(|_| rate.is_some());
        let (histogram, completed, errors, measuring, stop) = (
            histogram.clone(),
            completed.clone(),
            errors.clone(),
            measuring.clone(),
            stop.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
            let mut rng = workload::rng(worker as u64);
            while !stop.load(Ordering::Relaxed) {
                let started = match tickets.as_mut() {
                    Some(tickets) => match tickets.recv().await {
                        Some(scheduled) => scheduled,
                        None => break,
                    },
                    None => Instant::now(),
                };
                let ok = workload.call_once(&target, &mut rng).await;
                if measuring.load(Ordering::Relaxed) {
                    let micros = started.elapsed().as_micros().max(1) as u64;
                    let _ = local.record(micros.min(60_000_000));
                    completed.fetch_add(1, Ordering::Relaxed);
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            histogram.lock().await.add(&local).expect("merge histogram");
        }));
    }
    tokio::time::sleep(warmup).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    let window_start = unix_now();
    let cpu_before = server_pid.and_then(process_cpu);
    tokio::time::sleep(duration).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    if let Some(path) = &window_file {
        std::fs::write(path, format!("{window_start:.6} {:.6}\n", unix_now()))
            .with_context(|| format!("write {}", path.display()))?;
    }
    let server_cpu = cpu_before
        .zip(server_pid.and_then(process_cpu))
        .map(|(before, after)| after.saturating_sub(before));
    stop.store(true, Ordering::Relaxed);
    if let Some(pacer) = pacer {
        let _ = pacer.join();
    }
    for worker in workers {
        worker.await.context("worker")?;
    }
    let histogram = histogram.lock().await;
    let done = completed.load(Ordering::Relaxed);
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    let server_cpu = server_cpu.map_or(String::new(), |cpu| {
        format!(
            " server_cpu_per_request={:.1}us",
            cpu.as_secs_f64() * 1e6 / done.max(1) as f64
        )
    });
    println!(
        "call={:?} concurrency={concurrency} rate={} duration={:.1}s requests={done} errors={} throughput={:.0}/s p50={:.3}ms p99={:.3}ms p99.9={:.3}ms max={:.3}ms{server_cpu}",
        workload.call,
        rate.map_or("max".to_string(), |r| format!("{r:.0}/s")),
        elapsed.as_secs_f64(),
        errors.load(Ordering::Relaxed),
        done as f64 / elapsed.as_secs_f64(),
        ms(0.5),
        ms(0.99),
        ms(0.999),
        histogram.max() as f64 / 1000.0,
    );
    Ok(())
}

/// Sends tickets (scheduled start times) at `rate` per second, round-robin
/// to the workers, until `stop` is set.
fn pace(rate: f64, workers: &[tokio::sync::mpsc::UnboundedSender<Instant>], stop: &AtomicBool) {
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut next = Instant::now();
    let mut worker = 0;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        while next <= now {
            let _ = workers[worker].send(next);
            worker = (worker + 1) % workers.len();
            next += interval;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}
