//! What the server is configured with.

use std::path::PathBuf;
use std::time::Duration;

use almanac_offline::FlusherConfig;
use almanac_online::Durability;
use almanac_sql::SqlConfig;
use almanac_types::Limits;

/// Settings of a running server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where RocksDB (`online/`) and the default offline store (`offline/`)
    /// live.
    pub data_dir: PathBuf,
    pub durability: Durability,
    pub limits: Limits,
    /// Largest gRPC message accepted; larger ones get RESOURCE_EXHAUSTED.
    pub max_message_bytes: usize,
    /// How often expired records are purged.
    pub ttl_purge_interval: Duration,
    /// RocksDB block cache size.
    pub block_cache_bytes: usize,
    /// Where the offline store lives: `s3://bucket/prefix`, a folder, or
    /// `None` for `<data_dir>/offline`.
    pub offline_store: Option<String>,
    /// object_store settings of the offline store (`aws_endpoint`, ...),
    /// over the `AWS_*` environment variables.
    pub offline_store_options: Vec<(String, String)>,
    /// How the offline flusher paces itself.
    pub flusher: FlusherConfig,
    /// How long shutdown waits for the offline backlog to be flushed.
    pub shutdown_flush_timeout: Duration,
    /// Query limits.
    pub sql: SqlConfig,
}

impl ServerConfig {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            durability: Durability::Fsync,
            limits: Limits::default(),
            max_message_bytes: 64 << 20,
            ttl_purge_interval: Duration::from_secs(60),
            block_cache_bytes: 512 << 20,
            offline_store: None,
            offline_store_options: Vec::new(),
            flusher: FlusherConfig::default(),
            shutdown_flush_timeout: Duration::from_secs(10),
            sql: SqlConfig::default(),
        }
    }
}
