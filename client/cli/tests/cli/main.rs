//! The `almanac` binary tested as users run it: each module starts the
//! real binary (`almanac serve`, the client subcommands) in processes of
//! its own. One test binary, so that the server's storage engines are
//! linked once rather than once per file.

mod support;

mod connection;
mod crash;
mod dataset;
mod ingest;
mod serve_config;
mod walkthrough;
