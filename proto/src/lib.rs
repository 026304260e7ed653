//! Generated protobuf and gRPC code for Almanac's API, package `almanac.v1`.
//!
//! Layout: the `.proto` sources live in `proto/almanac/v1/`; `build.rs`
//! compiles them with protox and tonic-prost-build. This crate holds no
//! logic: conversions to and from Almanac's domain types live in
//! `almanac-types`' neighbours (the server and the client), never here.

/// `almanac.v1`: messages, the `FeatureStore` client and server.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("almanac.v1");
}

pub use v1::*;
