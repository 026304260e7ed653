//! What the server is configured with.

use std::path::PathBuf;
use std::time::Duration;

use almanac_online::Durability;
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
        }
    }

    /// The root of the offline store, as DescribeFeatureGroup reports it.
    pub fn offline_root(&self) -> String {
        let root = self.data_dir.join("offline");
        let absolute = std::path::absolute(&root).unwrap_or(root);
        format!("file://{}", absolute.display())
    }
}
