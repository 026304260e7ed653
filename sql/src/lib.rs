//! Almanac's SQL engine: DataFusion over the offline store.
//!
//! Every live feature group is a table (`almanac.public.<group>`) over its
//! Parquet files plus the entries not yet flushed, so a query sees every
//! acknowledged write at once. Time travel comes as the table functions
//! `as_of` and `as_written` and as `FOR SYSTEM_TIME AS OF`. Only queries
//! run: the guard refuses writes, DDL, `COPY`, `SET` and file reads, and
//! each query has a memory limit and a deadline. Point-in-time datasets
//! (training sets) are built here too, under the same limits.
//!
//! # Layout
//!
//! The modules are private; the server uses what is re-exported here.
//!
//! - `engine`: [`SqlEngine`], planning and running a query.
//! - `catalog`: the catalog and schema whose tables are the groups.
//! - `table`: `GroupTable`, a group's files and unflushed rows.
//! - `bounds`: event-time and write-time ranges read off filters, to
//!   prune files.
//! - `time_travel`: `as_of`, `as_written`, `FOR SYSTEM_TIME AS OF`.
//! - `as_of`: the table `as_of` returns, and `latest`: its operator,
//!   which keeps each record id's latest live version in one pass over
//!   sorted input.
//! - `version_order`: which of two versions is the later one, the rule
//!   `as_of` and datasets share.
//! - `dataset`: point-in-time datasets: an as-of merge join of feature
//!   groups onto an entity table.
//! - `guard`: the read-only guard.
//! - `limits`: size and shape limits of a statement, checked on a
//!   thread sized for them before planning.
//! - `functions`: every scalar function bounded by the memory limit,
//!   also while constant folding; `batch_limit`: the values every
//!   projection computes, bounded too.
//! - `objects`: the one object store queries reach, scoped to the
//!   offline root.
//! - `source`: [`GroupSource`], what SQL needs from the online engine
//!   (the groups, and a group's offline data from one snapshot).
//! - `dialect`: the SQL dialect (generic plus table versioning).
//! - `error`: the [`SqlError`] enum.

#![warn(unreachable_pub)]

mod as_of;
mod batch_limit;
mod bounds;
mod catalog;
mod dataset;
mod dialect;
mod engine;
mod error;
mod functions;
mod guard;
mod latest;
mod limits;
mod objects;
mod source;
mod table;
mod time_travel;
mod version_order;

pub use catalog::{CATALOG, SCHEMA};
pub use dataset::entities::EntityTable;
pub use engine::{DatasetAdmission, QueryStream, SqlConfig, SqlEngine};
pub use error::{Result, SqlError};
pub use limits::StatementLimits;
pub use source::GroupSource;
