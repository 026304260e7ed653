//! Almanac's gRPC server: the `almanac.v1.FeatureStore` service, Arrow
//! Flight SQL over the offline store, and the standard
//! `grpc.health.v1.Health` service, with the offline flusher running in
//! the background.
//!
//! # Layout
//!
//! The modules are private; the `almanac` binary and the tests use what
//! is re-exported here.
//!
//! - `server`: [`serve`] runs the server on a bound listener until a
//!   shutdown future resolves, then shuts down in order.
//! - `config`: [`ServerConfig`], what `almanac serve` configures.
//! - `service`: the tonic handlers, one file per area; each validates,
//!   converts, calls the engine and converts back.
//! - `flight_sql`: Arrow Flight SQL over the SQL engine; the Flight
//!   service also takes bulk ingest (`ingest`: `DoPut` into a feature
//!   group) and the FeatureStore API as JSON actions (`flight_actions`).
//! - `ipc`: checks on clients' Arrow IPC messages before and after
//!   decoding.
//! - `convert`: protobuf <-> domain conversions, one module per direction.
//! - `runtimes`: the low-priority runtimes of queries and background
//!   work, apart from the online path.
//! - `status`: the one mapping from engine and query errors to gRPC
//!   status codes.

#![warn(unreachable_pub)]

mod config;
mod convert;
mod flight_actions;
mod flight_sql;
mod ingest;
mod ipc;
mod runtimes;
mod server;
mod service;
mod status;

pub use almanac_offline::{CompactionConfig, FlusherConfig};
pub use almanac_online::{Durability, Engine};
pub use almanac_sql::SqlConfig;
pub use config::ServerConfig;
pub use server::{ServeError, Storage, open_storage, serve};
