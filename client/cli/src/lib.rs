//! The `almanac` command line: `almanac serve` runs the server, every
//! other subcommand is a client of it, named after the SageMaker CLI verbs.
//!
//! # Layout
//!
//! - [`cli`]: the clap definitions; `--help` comes from their doc comments.
//! - [`commands`]: one module per area: `serve`, feature groups, records,
//!   queries, datasets, bulk ingest.
//! - [`files`]: reading CSV, TSV, Parquet and JSON-lines data files.
//! - [`parse`]: feature specs (`NAME:TYPE[:COLLECTION[:DIM]]`), tags,
//!   durations and JSON records.
//! - [`output`]: human and `--json` output.
//! - `flag_tables` (tests only): keeps the README's flag tables true to
//!   the clap definitions.

pub mod cli;
pub mod commands;
pub mod files;
#[cfg(test)]
mod flag_tables;
pub mod output;
pub mod parse;

pub use cli::Cli;
pub use commands::run;
