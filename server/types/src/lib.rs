//! Almanac's domain model, shared by the server, the storage engine and the
//! clients. Nothing here knows about gRPC, RocksDB or DataFusion.
//!
//! # Layout
//!
//! - [`names`]: feature-group and feature name rules, reserved names.
//! - [`schema`]: feature types, definitions, feature groups and their limits.
//! - [`value`]: typed feature values, as stored and as sent (typed or text).
//! - [`time`]: strict ISO-8601 UTC and epoch-seconds event times, durations,
//!   and the injectable [`Clock`](time::Clock).
//! - [`validate`]: turns an incoming record into a checked [`Record`],
//!   naming the offending feature on every error.
//! - [`codec`]: the compact binary encoding of a record version, which
//!   carries its schema version so that adding features never rewrites data.
//! - [`dataset`]: the request to build a point-in-time dataset.
//! - [`ingest`]: the per-batch answer of a bulk ingest.
//! - [`error`]: this crate's error type.

pub mod codec;
pub mod dataset;
pub mod error;
pub mod ingest;
pub mod names;
pub mod schema;
pub mod time;
pub mod validate;
pub mod value;

pub use error::{Error, Result};
pub use schema::{
    CollectionType, FeatureDefinition, FeatureGroup, FeatureGroupSpec, FeatureMetadata,
    FeatureType, Limits,
};
pub use validate::{CheckedRecord, Record, RecordId};
pub use value::{InputValue, Value};
