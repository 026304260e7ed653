//! Errors of the online tier.

use almanac_types::Error as DomainError;

/// What can go wrong in the storage engine. The server maps each variant
/// to one gRPC status code, in exactly one place.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A request failed validation; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// A request is over a configured limit; the message names the limit.
    #[error("{0}")]
    OverLimit(String),
    /// A batch or message is over a size limit.
    #[error("{0}")]
    TooLarge(String),
    /// The feature group does not exist.
    #[error("feature group '{0}' does not exist")]
    GroupNotFound(String),
    /// A feature group of that name exists already.
    #[error("feature group '{0}' already exists")]
    GroupExists(String),
    /// The request does not fit the current state (a stale hard delete, a
    /// store the group does not have).
    #[error("{0}")]
    FailedPrecondition(String),
    /// RocksDB failed; retrying may help.
    #[error("storage error: {0}")]
    Storage(#[from] rocksdb::Error),
    /// Stored bytes could not be decoded.
    #[error("{0}")]
    Corrupt(String),
    /// The local system refused something the engine needs (a directory,
    /// a thread); the message says what.
    #[error("{0}")]
    Io(String),
    /// The engine is shutting down and takes no more writes.
    #[error("the store is shutting down")]
    ShuttingDown,
}

impl From<DomainError> for StoreError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Invalid(message) => StoreError::Invalid(message),
            DomainError::OverLimit(message) => StoreError::OverLimit(message),
            DomainError::Corrupt(message) => StoreError::Corrupt(message),
        }
    }
}

/// Result with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
