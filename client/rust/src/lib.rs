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
//! - [`ClientBuilder`] ([`Client::builder`]) and [`ClientOptions`]: the
//!   connect timeout, the timeout every call honours (for streams: the
//!   wait for each next message), the largest message.
//! - [`Record`]: a record's feature values with typed access by name;
//!   [`DeletionMode`]: soft or hard DeleteRecord.
//! - [`query`]: SQL over Arrow Flight SQL, as Arrow record batches.
//! - [`dataset`]: point-in-time datasets over Arrow Flight `DoExchange`.
//! - [`ingest`]: bulk ingest over Arrow Flight `DoPut`.
//! - [`infer`]: feature definitions inferred from an Arrow schema.
//! - [`values`]: building feature values and records from Rust values.
//! - [`ClientError`]: transport failures, timeouts, gRPC statuses, and
//!   answers that break the protocol.
//!
//! ```no_run
//! # async fn demo() -> Result<(), almanac_client::ClientError> {
//! use almanac_client::{Client, DeletionMode, Record};
//! let client = Client::connect("http://127.0.0.1:50051").await?;
//! let review = Record::new()
//!     .with("review_id", "r1")
//!     .with("event_time", "2026-01-02T00:00:00Z")
//!     .with("star_rating", 4);
//! client.put_record("reviews", review).await?;
//! let record = client.get_record("reviews", "r1", &[]).await?;
//! assert_eq!(record.and_then(|r| r.integral("star_rating")), Some(4));
//! client
//!     .delete_record("reviews", "r1", "2026-01-03T00:00:00Z", DeletionMode::Soft)
//!     .await?;
//! # Ok(()) }
//! ```

mod client;
pub mod dataset;
mod error;
pub mod infer;
pub mod ingest;
mod options;
pub mod query;
mod record;
mod timeout;
pub mod values;

pub use almanac_proto as proto;
pub use arrow;
pub use client::Client;
pub use error::ClientError;
pub use options::{ClientBuilder, ClientOptions};
pub use record::{DeletionMode, Record};
