//! The offline tier's error enum.

use almanac_online::StoreError;

/// What can go wrong in the offline tier.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// Object storage refused or failed a request: retried with backoff.
    #[error("object storage: {0}")]
    Storage(#[from] object_store::Error),
    /// A Parquet file could not be written or read.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The online engine (the offline log, the file list) failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The offline store location or its settings are unusable.
    #[error("offline store configuration: {0}")]
    Config(String),
    /// A local file could not be made durable.
    #[error("local storage: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = OfflineError> = std::result::Result<T, E>;
