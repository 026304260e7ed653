//! `almanac serve`.

use std::sync::Arc;
use std::time::Duration;

use almanac_grpc::{CompactionConfig, Durability, FlusherConfig, ServerConfig, SqlConfig};
use almanac_types::Limits;
use almanac_types::time::SystemClock;
use anyhow::{Context, Result};
use tracing_subscriber::EnvFilter;

use crate::cli::{DurabilityArg, ServeArgs};

pub async fn run(args: ServeArgs) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&args.log).context("--log is not a valid filter")?)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let defaults = ServerConfig::new(&args.data_dir);
    let config = ServerConfig {
        durability: match args.durability {
            DurabilityArg::Fsync => Durability::Fsync,
            DurabilityArg::OsBuffered => Durability::OsBuffered,
        },
        limits: Limits {
            max_features: args.max_features,
            max_record_bytes: args.max_record_bytes,
            max_record_id_bytes: args.max_record_id_bytes,
            max_description_chars: args.max_description_chars,
            max_tags: args.max_tags,
            max_batch_get_records: args.max_batch_get,
            max_batch_write_entries: args.max_batch_write,
        },
        max_message_bytes: args.max_message_bytes,
        ttl_purge_interval: Duration::from(args.ttl_purge_interval).max(Duration::from_millis(10)),
        block_cache_bytes: args.block_cache_mib << 20,
        offline_store: args.offline_store.clone(),
        offline_store_options: args
            .offline_store_options
            .iter()
            .map(|option| {
                option
                    .split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .with_context(|| format!("--offline-store-option '{option}' is not KEY=VALUE"))
            })
            .collect::<Result<_>>()?,
        flusher: FlusherConfig {
            interval: Duration::from(args.flush_interval).max(Duration::from_millis(10)),
            max_rows: args.flush_max_rows.max(1),
            pause_before_commit: args.flush_pause_before_commit.into(),
            compaction: CompactionConfig {
                min_files: args.compact_min_files,
                ..defaults.flusher.compaction.clone()
            },
            ..defaults.flusher.clone()
        },
        sql: SqlConfig {
            memory_limit_bytes: args.query_memory_mib << 20,
            timeout: args.query_timeout.into(),
            max_concurrent_queries: match args.max_concurrent_queries {
                0 => defaults.sql.max_concurrent_queries,
                n => n,
            },
            queue_timeout: args.query_queue_timeout.into(),
            ..defaults.sql.clone()
        },
        ..defaults
    };
    let storage = almanac_grpc::open_storage(&config, Arc::new(SystemClock))
        .with_context(|| format!("cannot open the data directory {}", args.data_dir.display()))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    // Tests and scripts read the bound address from this line.
    eprintln!("almanac listening on {}", listener.local_addr()?);
    almanac_grpc::serve(listener, storage, config, shutdown_signal()).await?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down");
}
