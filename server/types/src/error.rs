//! Errors of the domain model.

/// What can go wrong when checking or decoding domain values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The caller sent something malformed; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// A value is over one of the configured limits; the message names it.
    #[error("{0}")]
    OverLimit(String),
    /// Stored bytes could not be decoded.
    #[error("corrupt stored record: {0}")]
    Corrupt(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for an [`Error::Invalid`] with a formatted message.
macro_rules! invalid {
    ($($arg:tt)*) => { $crate::error::Error::Invalid(format!($($arg)*)) };
}
pub(crate) use invalid;
