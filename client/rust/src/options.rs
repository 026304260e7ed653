//! [`ClientOptions`]: how long a client waits for the server.

use std::time::Duration;

/// How long a [`Client`](crate::Client) waits for the server. Every method
/// honours them; [`Client::raw`](crate::Client::raw) and
/// [`Client::channel`](crate::Client::channel) hand out the transport
/// without them.
///
/// ```
/// use std::time::Duration;
/// use almanac_client::ClientOptions;
/// let options = ClientOptions::default()
///     .with_connect_timeout(Duration::from_secs(2))
///     .with_timeout(Duration::from_secs(300));
/// assert_eq!(options.timeout, Duration::from_secs(300));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Longest wait for the connection: TCP, and the TLS handshake for an
    /// `https://` endpoint. Default 10 s.
    pub connect_timeout: Duration,
    /// Longest wait for an answer. A unary call must be answered within
    /// it; a streaming call (query, dataset, ingest) must not go quiet for
    /// longer: it bounds the wait for each next message, not the whole
    /// call. Default 60 s.
    pub timeout: Duration,
}

impl ClientOptions {
    /// The default connect timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// The default timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    /// These options with `connect_timeout`.
    pub fn with_connect_timeout(self, connect_timeout: Duration) -> Self {
        Self {
            connect_timeout,
            ..self
        }
    }

    /// These options with `timeout`.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}
