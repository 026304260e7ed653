//! Rust client for Almanac's gRPC API (`almanac.v1.FeatureStore`).
//!
//! It depends on the generated protobuf code, tonic and Arrow Flight only:
//! no RocksDB, no DataFusion.
//!
//! # Layout
//!
//! - [`Client`]: one method per RPC, plus conveniences such as
//!   [`Client::get_record`] returning `None` for a missing record.
//!   `http://` endpoints are plain text, `https://` ones TLS (rustls, the
//!   system's roots).
//! - [`ClientOptions`]: the connect timeout and the timeout every call
//!   honours (for streams: the wait for each next message).
//! - [`query`]: SQL over Arrow Flight SQL, as Arrow record batches.
//! - [`dataset`]: point-in-time datasets over Arrow Flight `DoExchange`.
//! - [`ingest`]: bulk ingest over Arrow Flight `DoPut`.
//! - [`infer`]: feature definitions inferred from an Arrow schema.
//! - [`values`]: building feature values and records from Rust values.
//! - [`ClientError`]: transport failures, timeouts and gRPC statuses.
//!
//! ```no_run
//! # async fn demo() -> Result<(), almanac_client::ClientError> {
//! use almanac_client::{Client, values::feature};
//! let client = Client::connect("http://127.0.0.1:50051").await?;
//! client
//!     .put_record("reviews", vec![
//!         feature("review_id", "r1"),
//!         feature("event_time", "2026-01-02T00:00:00Z"),
//!         feature("star_rating", 4),
//!     ])
//!     .await?;
//! let record = client.get_record("reviews", "r1", &[]).await?;
//! # Ok(()) }
//! ```

mod client;
pub mod dataset;
mod error;
pub mod infer;
pub mod ingest;
mod options;
pub mod query;
mod timeout;
pub mod values;

pub use almanac_proto as proto;
pub use arrow;
pub use client::Client;
pub use error::ClientError;
pub use options::ClientOptions;
