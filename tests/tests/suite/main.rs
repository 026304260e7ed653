//! The integration suite: each module tests one surface against real
//! servers on `127.0.0.1:0` (real RocksDB, Parquet on a local folder or a
//! real SeaweedFS, the real Rust client, and independent readers through
//! Python). The modules are one test binary so that RocksDB, DataFusion
//! and tonic are linked once rather than once per file. Tests that judge
//! the whole process (its memory, its panics, its latency) are binaries of
//! their own beside this one: `sql_limits`, `sql_fuzz`, `ipc_fuzz` and
//! `isolation`.

mod batch;
mod client_api;
mod client_connection;
mod control_plane;
mod dataset;
mod deletes;
mod flight_sql;
mod health;
mod ingest;
mod offline;
mod persistence;
mod python_client;
mod records;
mod recreate;
mod request_limits;
mod s3;
mod sql;
mod time_travel;
mod ttl;
