//! Almanac's domain model, shared by the server, the storage engine and the
//! clients. Nothing here knows about gRPC, RocksDB or DataFusion.
//!
//! # Layout
//!
//! - [`names`]: feature-group and feature name rules, reserved names.
//! - `schema`: feature types, definitions, feature groups and their limits.
//! - `value`: typed feature values, as stored and as sent (typed or text).
//! - [`time`]: strict ISO-8601 UTC and epoch-seconds event times, durations,
//!   and the injectable [`Clock`](time::Clock).
//! - `record`: a record's identifier and one stored version.
//! - [`validate`]: turns an incoming record into a checked [`Record`],
//!   naming the offending feature on every error.
//! - [`codec`]: the compact binary encoding of a record version, which
//!   carries its schema version so that adding features never rewrites data.
//! - [`dataset`]: the request to build a point-in-time dataset.
//! - [`ingest`]: the per-batch answer of a bulk ingest.
//! - `error`: this crate's [`Error`].
//!
//! The modules linked above are the public namespaces; `schema`, `value`
//! and `error` are private, their types re-exported here.

#![warn(unreachable_pub)]

pub mod codec;
pub mod dataset;
mod error;
pub mod ingest;
pub mod names;
mod record;
mod schema;
pub mod time;
pub mod validate;
mod value;

pub use error::{Error, Result};
pub use record::{CheckedRecord, Record, RecordId};
pub use schema::{
    CollectionType, FeatureDefinition, FeatureGroup, FeatureGroupSpec, FeatureMetadata,
    FeatureType, Limits, check_description, check_ttl, ttl_setting,
};
pub use value::{InputValue, Value};
