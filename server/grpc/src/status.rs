//! The one mapping from errors to gRPC status codes: engine errors and
//! query errors. No match has a catch-all arm: a new error variant does
//! not compile until it is given its code here.

use almanac_online::StoreError;
use almanac_sql::SqlError;
use tonic::Status;

/// The gRPC status of an engine error.
pub fn to_status(error: StoreError) -> Status {
    let message = error.to_string();
    match error {
        StoreError::Invalid(_) | StoreError::OverLimit(_) => Status::invalid_argument(message),
        StoreError::TooLarge(_) => Status::resource_exhausted(message),
        StoreError::GroupNotFound(_) => Status::not_found(message),
        StoreError::GroupExists(_) => Status::already_exists(message),
        StoreError::FailedPrecondition(_) => Status::failed_precondition(message),
        StoreError::Storage(_) | StoreError::ShuttingDown => Status::unavailable(message),
        StoreError::Corrupt(_) => Status::data_loss(message),
    }
}

/// The numeric gRPC code of an engine error, for per-entry batch errors.
pub fn error_code(error: StoreError) -> (i32, String) {
    let status = to_status(error);
    (status.code() as i32, status.message().to_owned())
}

/// The gRPC status of a query error.
pub fn sql_status(error: SqlError) -> Status {
    let message = error.to_string();
    match error {
        SqlError::Invalid(_) => Status::invalid_argument(message),
        SqlError::NotFound(_) => Status::not_found(message),
        SqlError::ReadOnly(_) => Status::permission_denied(message),
        SqlError::OverLimit(_) => Status::resource_exhausted(message),
        SqlError::Unavailable(_) => Status::unavailable(message),
        SqlError::Internal(_) => Status::internal(message),
    }
}
