//! Almanac's gRPC server: the `almanac.v1.FeatureStore` service and the
//! standard `grpc.health.v1.Health` service over the online tier.
//!
//! # Layout
//!
//! - [`server`]: [`serve`] runs the server on a bound listener until a
//!   shutdown future resolves, then shuts down in order.
//! - [`config`]: [`ServerConfig`], what `almanac serve` configures.
//! - [`service`]: the tonic handlers, one file per area; each validates,
//!   converts, calls the engine and converts back.
//! - [`convert`]: protobuf <-> domain conversions, one module per direction.
//! - [`status`]: the one mapping from engine errors to gRPC status codes.

pub mod config;
pub mod convert;
pub mod server;
pub mod service;
pub mod status;

pub use almanac_online::{Durability, Engine};
pub use config::ServerConfig;
pub use server::{open_engine, serve};
