//! Client errors.

use std::time::Duration;

/// What a client call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The endpoint is not a valid URI.
    #[error("invalid endpoint '{endpoint}': {reason}")]
    InvalidEndpoint { endpoint: String, reason: String },
    /// The server could not be reached (or, for `https://`, the TLS
    /// handshake failed).
    #[error("cannot connect to {endpoint}{}", over_tls(.endpoint))]
    Connect {
        endpoint: String,
        #[source]
        source: tonic::transport::Error,
    },
    /// The connection was not made within the connect timeout.
    #[error("cannot connect to {endpoint} within {}", seconds(.timeout))]
    ConnectTimeout { endpoint: String, timeout: Duration },
    /// The server did not answer within the timeout: a unary call, or the
    /// next message of a streaming one.
    #[error("no answer from {endpoint} within {}", seconds(.timeout))]
    Timeout { endpoint: String, timeout: Duration },
    /// The server's answer does not follow the protocol: a Flight stream
    /// that cannot be decoded, rows before their schema, a page token that
    /// does not move on.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// A bulk ingest stream ended before the server answered for every
    /// row sent; the rows not answered for may not be written.
    #[error("the server answered for {answered} of the {sent} rows sent to '{group}'")]
    IngestIncomplete {
        group: String,
        answered: usize,
        sent: usize,
    },
    /// Arrow data the caller passed could not be processed (a column that
    /// does not cast, batches that do not concatenate).
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A request larger than the client's message limit
    /// ([`ClientOptions::max_message_bytes`](crate::ClientOptions)); it was
    /// not sent.
    #[error(
        "the request is {bytes} bytes, over the client's message limit of {limit} bytes (max_message_bytes)"
    )]
    MessageTooLarge { bytes: usize, limit: usize },
    /// The server answered with an error status.
    #[error("{}: {}", code_name(.0.code()), .0.message())]
    Status(tonic::Status),
}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> Self {
        ClientError::Status(status)
    }
}

impl ClientError {
    /// The gRPC code, for a status error.
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            ClientError::Status(status) => Some(status.code()),
            _ => None,
        }
    }
}

fn over_tls(endpoint: &str) -> &'static str {
    if endpoint.starts_with("https://") {
        " over TLS"
    } else {
        ""
    }
}

/// `1s`, `60s`, `0.25s`.
fn seconds(duration: &Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}

fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
