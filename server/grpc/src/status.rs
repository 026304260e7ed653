//! The one mapping from errors to gRPC status codes: engine errors and
//! query errors. No match has a catch-all arm: a new error variant does
//! not compile until it is given its code here.

use almanac_online::StoreError;
use almanac_sql::SqlError;
use tonic::{Code, Status};

/// Longest status message, in bytes. Messages quote what was wrong with a
/// request; a bad value can be megabytes long, and a status travels in an
/// HTTP/2 header, whose size is limited.
pub(crate) const MAX_STATUS_MESSAGE_BYTES: usize = 1024;

/// `message`, cut to [`MAX_STATUS_MESSAGE_BYTES`] at a character
/// boundary, saying how long it was.
pub(crate) fn bounded_message(message: String) -> String {
    if message.len() <= MAX_STATUS_MESSAGE_BYTES {
        return message;
    }
    let mut end = MAX_STATUS_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}... (message cut; {} bytes in all)",
        &message[..end],
        message.len()
    )
}

/// For `map_err`: a fault of the server itself while `doing` something
/// (encoding a schema, joining a blocking task) is INTERNAL, and says what
/// the server was doing.
pub(crate) fn internal<E: std::fmt::Display>(doing: &'static str) -> impl FnOnce(E) -> Status {
    move |error| Status::internal(bounded_message(format!("{doing}: {error}")))
}

/// The gRPC status of an engine error.
pub(crate) fn to_status(error: StoreError) -> Status {
    let message = bounded_message(error.to_string());
    match error {
        StoreError::Invalid(_) | StoreError::OverLimit(_) => Status::invalid_argument(message),
        StoreError::TooLarge(_) => Status::resource_exhausted(message),
        StoreError::GroupNotFound(_) => Status::not_found(message),
        StoreError::GroupExists(_) => Status::already_exists(message),
        StoreError::FailedPrecondition(_) => Status::failed_precondition(message),
        StoreError::Storage(_) | StoreError::Io(_) | StoreError::ShuttingDown => {
            Status::unavailable(message)
        }
        StoreError::Corrupt(_) => Status::data_loss(message),
    }
}

/// The numeric gRPC code of an engine error, for per-entry batch errors.
pub(crate) fn error_code(error: StoreError) -> (i32, String) {
    let status = to_status(error);
    (status.code() as i32, status.message().to_owned())
}

/// The gRPC status of a query error.
pub(crate) fn sql_status(error: SqlError) -> Status {
    let message = bounded_message(error.to_string());
    match error {
        SqlError::Invalid(_) => Status::invalid_argument(message),
        SqlError::NotFound(_) => Status::not_found(message),
        SqlError::ReadOnly(_) => Status::permission_denied(message),
        SqlError::OverLimit(_) => Status::resource_exhausted(message),
        SqlError::Unavailable(_) => Status::unavailable(message),
        SqlError::Internal(_) => Status::internal(message),
    }
}

/// The status of a request stream's error: a message over the size limit
/// is RESOURCE_EXHAUSTED, as every size limit is (tonic says OUT_OF_RANGE).
pub(crate) fn request_status(status: Status) -> Status {
    if status.code() == Code::OutOfRange && status.message().contains("message length too large") {
        return Status::resource_exhausted(format!(
            "a message is over the size limit: {}",
            status.message()
        ));
    }
    status
}
