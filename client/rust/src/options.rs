//! [`ClientOptions`]: how long a client waits for the server and how large
//! a message it takes; [`ClientBuilder`]: the one place a connection is
//! configured.

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
    /// Largest gRPC message the client sends or accepts on the
    /// FeatureStore service (Arrow Flight streams are not limited: their
    /// batches are bounded by the server). Default 256 MiB.
    pub max_message_bytes: usize,
}

impl ClientOptions {
    /// The default connect timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// The default timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
    /// The default largest message.
    pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 256 << 20;

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

    /// These options with `max_message_bytes`.
    pub fn with_max_message_bytes(self, max_message_bytes: usize) -> Self {
        Self {
            max_message_bytes,
            ..self
        }
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            timeout: Self::DEFAULT_TIMEOUT,
            max_message_bytes: Self::DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

/// Configures and opens a [`Client`](crate::Client): the endpoint, then
/// any of the settings of [`ClientOptions`].
///
/// ```no_run
/// # async fn demo() -> Result<(), almanac_client::ClientError> {
/// use std::time::Duration;
/// let client = almanac_client::Client::builder("https://features.internal:50051")
///     .connect_timeout(Duration::from_secs(2))
///     .timeout(Duration::from_secs(5))
///     .max_message_bytes(64 << 20)
///     .connect()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until connect() is awaited"]
pub struct ClientBuilder {
    endpoint: String,
    options: ClientOptions,
}

impl ClientBuilder {
    pub(crate) fn new(endpoint: String) -> Self {
        Self {
            endpoint,
            options: ClientOptions::default(),
        }
    }

    /// See [`ClientOptions::connect_timeout`].
    pub fn connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.options.connect_timeout = connect_timeout;
        self
    }

    /// See [`ClientOptions::timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// See [`ClientOptions::max_message_bytes`].
    pub fn max_message_bytes(mut self, max_message_bytes: usize) -> Self {
        self.options.max_message_bytes = max_message_bytes;
        self
    }

    /// All the settings at once.
    pub fn options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    /// Connects, within the connect timeout.
    pub async fn connect(self) -> Result<crate::Client, crate::ClientError> {
        crate::Client::connect_with(self.endpoint, self.options).await
    }
}
