//! Command-line definitions.

use std::net::SocketAddr;
use std::path::PathBuf;

use almanac_grpc::ServerConfig;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Where the client commands look for the server, and where `serve`
/// listens, unless told otherwise.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:50051";
/// See [`DEFAULT_ENDPOINT`].
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
/// `serve`'s data directory unless told otherwise.
pub const DEFAULT_DATA_DIR: &str = "./almanac-data";

/// The server's defaults, from which `serve`'s flags take theirs: each
/// default is written once, in the configuration type that uses it.
fn server_defaults() -> ServerConfig {
    ServerConfig::new(DEFAULT_DATA_DIR)
}

/// A duration as `--help` shows it.
fn shown(duration: std::time::Duration) -> humantime::Duration {
    duration.into()
}

/// Almanac: a feature store server with an online tier on RocksDB and an
/// offline tier on Parquet.
#[derive(Debug, Parser)]
#[command(name = "almanac", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Options every client command takes.
#[derive(Debug, Clone, Args)]
pub struct ClientOptions {
    /// The server to talk to: http://HOST:PORT, or https://HOST:PORT for
    /// TLS.
    #[arg(long, env = "ALMANAC_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    pub endpoint: String,
    /// How long to wait for the connection (and the TLS handshake for
    /// https), e.g. 10s.
    #[arg(
        long,
        env = "ALMANAC_CONNECT_TIMEOUT",
        default_value_t = shown(almanac_client::ClientOptions::DEFAULT_CONNECT_TIMEOUT)
    )]
    pub connect_timeout: humantime::Duration,
    /// How long to wait for the server: for a single request its answer;
    /// for a streaming one (ingest, query, dataset) each next message, not
    /// the whole transfer.
    #[arg(
        long,
        env = "ALMANAC_TIMEOUT",
        default_value_t = shown(almanac_client::ClientOptions::DEFAULT_TIMEOUT)
    )]
    pub timeout: humantime::Duration,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Create a feature group.
    CreateFeatureGroup(CreateFeatureGroupArgs),
    /// Show a feature group's definition and status.
    DescribeFeatureGroup(GroupArgs),
    /// List feature groups.
    ListFeatureGroups(ListFeatureGroupsArgs),
    /// Add features, or change the default TTL or description.
    UpdateFeatureGroup(UpdateFeatureGroupArgs),
    /// Delete a feature group and its online data.
    DeleteFeatureGroup(DeleteFeatureGroupArgs),
    /// Show a feature's description and parameters.
    DescribeFeatureMetadata(FeatureArgs),
    /// Change a feature's description and parameters.
    UpdateFeatureMetadata(UpdateFeatureMetadataArgs),
    /// Find feature groups and features by name, description, tags and parameters.
    Search(SearchArgs),
    /// Write one record.
    PutRecord(PutRecordArgs),
    /// Read the latest version of one record.
    GetRecord(GetRecordArgs),
    /// Delete a record (soft by default).
    DeleteRecord(DeleteRecordArgs),
    /// List the record ids in the online store.
    ListRecords(ListRecordsArgs),
    /// Run a read-only SQL query over the offline store (every feature
    /// group is a table; time travel with as_of or FOR SYSTEM_TIME AS OF).
    Query(QueryArgs),
    /// Build a point-in-time-correct training set: for each entity row,
    /// the features as they were at its event time, never later.
    Dataset(DatasetArgs),
    /// Write a CSV, TSV, Parquet or JSON-lines file into a feature group,
    /// one record per row (bulk ingest over Arrow Flight).
    Ingest(IngestArgs),
}

/// How `almanac query` writes its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    /// An aligned table (the default on a terminal).
    Table,
    /// CSV with a header (the default otherwise).
    Csv,
    /// One JSON object per row.
    Json,
    /// A Parquet file.
    Parquet,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL query.
    pub sql: String,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Option<QueryFormat>,
    /// Write the result to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub client: ClientOptions,
}

#[derive(Debug, Args)]
pub struct DatasetArgs {
    /// The entity table: ids and an event time per row (.parquet, .csv or
    /// .tsv with a header).
    #[arg(long)]
    pub entities: PathBuf,
    /// Features to join, as GROUP:F1,F2,... (GROUP alone: all of its
    /// features); repeat for more groups.
    #[arg(long = "feature", required = true)]
    pub features: Vec<String>,
    /// A group's look-back, as GROUP=DURATION (e.g. driver_stats=2h):
    /// older versions do not count.
    #[arg(long = "ttl")]
    pub ttls: Vec<String>,
    /// The store as it was at this instant (ISO-8601 UTC): later writes
    /// do not count.
    #[arg(long)]
    pub written_before: Option<String>,
    /// The entity column holding a group's record ids, as
    /// ENTITY_COLUMN=GROUP.RECORD_IDENTIFIER (by default the column named
    /// like the record identifier).
    #[arg(long = "join-on")]
    pub join_on: Vec<String>,
    /// The entity table's event-time column (by default `event_time`,
    /// `event_timestamp`, a group's event-time name or the only timestamp
    /// column).
    #[arg(long)]
    pub event_time: Option<String>,
    /// Where to write the dataset (.parquet or .csv).
    #[arg(long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub client: ClientOptions,
}

/// How hard a write is pushed to disk before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DurabilityArg {
    /// fsync the write-ahead log before acknowledging: nothing acknowledged
    /// is lost, even on power loss.
    Fsync,
    /// Hand the log to the OS before acknowledging: survives a process
    /// kill, but a power loss can lose the last acknowledged writes.
    OsBuffered,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Data directory (RocksDB in online/, offline files in offline/).
    #[arg(long, env = "ALMANAC_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "ALMANAC_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Durability of acknowledged writes.
    #[arg(long, env = "ALMANAC_DURABILITY", value_enum, default_value = "fsync")]
    pub durability: DurabilityArg,
    /// How often expired records are purged, e.g. 60s, 5m.
    #[arg(
        long,
        env = "ALMANAC_TTL_PURGE_INTERVAL",
        default_value_t = shown(server_defaults().ttl_purge_interval)
    )]
    pub ttl_purge_interval: humantime::Duration,
    /// RocksDB block cache, in MiB.
    #[arg(long, env = "ALMANAC_BLOCK_CACHE_MIB", default_value_t = server_defaults().block_cache_bytes >> 20)]
    pub block_cache_mib: usize,
    /// Largest gRPC message, in bytes.
    #[arg(long, env = "ALMANAC_MAX_MESSAGE_BYTES", default_value_t = server_defaults().max_message_bytes)]
    pub max_message_bytes: usize,
    /// Most features in a group.
    #[arg(long, env = "ALMANAC_MAX_FEATURES", default_value_t = server_defaults().limits.max_features)]
    pub max_features: usize,
    /// Largest record, in bytes (encoded).
    #[arg(
        long,
        env = "ALMANAC_MAX_RECORD_BYTES",
        default_value_t = server_defaults().limits.max_record_bytes
    )]
    pub max_record_bytes: usize,
    /// Largest record identifier, in bytes.
    #[arg(
        long,
        env = "ALMANAC_MAX_RECORD_ID_BYTES",
        default_value_t = server_defaults().limits.max_record_id_bytes
    )]
    pub max_record_id_bytes: usize,
    /// Longest description, in characters.
    #[arg(
        long,
        env = "ALMANAC_MAX_DESCRIPTION_CHARS",
        default_value_t = server_defaults().limits.max_description_chars
    )]
    pub max_description_chars: usize,
    /// Most tags on a group.
    #[arg(long, env = "ALMANAC_MAX_TAGS", default_value_t = server_defaults().limits.max_tags)]
    pub max_tags: usize,
    /// Most record ids in one BatchGetRecord; the rest come back unprocessed.
    #[arg(
        long,
        env = "ALMANAC_MAX_BATCH_GET",
        default_value_t = server_defaults().limits.max_batch_get_records
    )]
    pub max_batch_get: usize,
    /// Most entries in one BatchWriteRecord.
    #[arg(
        long,
        env = "ALMANAC_MAX_BATCH_WRITE",
        default_value_t = server_defaults().limits.max_batch_write_entries
    )]
    pub max_batch_write: usize,
    /// Offline store: s3://bucket/prefix (configured by the AWS_* variables)
    /// or a folder; <data-dir>/offline when not given.
    #[arg(long, env = "ALMANAC_OFFLINE_STORE")]
    pub offline_store: Option<String>,
    /// An object-store setting, KEY=VALUE, over the AWS_* variables
    /// (e.g. aws_endpoint=http://127.0.0.1:8333, aws_allow_http=true).
    #[arg(long = "offline-store-option", value_name = "KEY=VALUE")]
    pub offline_store_options: Vec<String>,
    /// How often the offline log is flushed to Parquet, e.g. 2s.
    #[arg(
        long,
        env = "ALMANAC_FLUSH_INTERVAL",
        default_value_t = shown(server_defaults().flusher.interval)
    )]
    pub flush_interval: humantime::Duration,
    /// Flush at once when this many entries wait; also the most rows a
    /// flush writes.
    #[arg(
        long,
        env = "ALMANAC_FLUSH_MAX_ROWS",
        default_value_t = server_defaults().flusher.max_rows
    )]
    pub flush_max_rows: usize,
    /// Merge an hour partition's small files once it has this many (0: never).
    #[arg(
        long,
        env = "ALMANAC_COMPACT_MIN_FILES",
        default_value_t = server_defaults().flusher.compaction.min_files
    )]
    pub compact_min_files: usize,
    /// Test hook: pause between writing a flush's or compaction's files and
    /// committing them.
    #[arg(
        long,
        env = "ALMANAC_FLUSH_PAUSE_BEFORE_COMMIT",
        default_value_t = shown(server_defaults().flusher.pause_before_commit),
        hide = true
    )]
    pub flush_pause_before_commit: humantime::Duration,
    /// Memory one SQL query may use, in MiB (sorts and joins spill beyond it).
    #[arg(
        long,
        env = "ALMANAC_QUERY_MEMORY_MIB",
        default_value_t = server_defaults().sql.memory_limit_bytes >> 20
    )]
    pub query_memory_mib: usize,
    /// Longest a SQL query may run, e.g. 300s.
    #[arg(
        long,
        env = "ALMANAC_QUERY_TIMEOUT",
        default_value_t = shown(server_defaults().sql.timeout)
    )]
    pub query_timeout: humantime::Duration,
    /// Queries and dataset builds that run at once (0: twice the number of
    /// cores, at least 4); more wait for a slot.
    #[arg(long, env = "ALMANAC_MAX_CONCURRENT_QUERIES", default_value_t = 0)]
    pub max_concurrent_queries: usize,
    /// How long a query waits for a slot before RESOURCE_EXHAUSTED.
    #[arg(
        long,
        env = "ALMANAC_QUERY_QUEUE_TIMEOUT",
        default_value_t = shown(server_defaults().sql.queue_timeout)
    )]
    pub query_queue_timeout: humantime::Duration,
    /// Log filter (tracing's env-filter syntax), e.g. info, almanac_grpc=debug.
    #[arg(long, env = "ALMANAC_LOG", default_value = "info")]
    pub log: String,
}

#[derive(Debug, Args)]
pub struct GroupArgs {
    /// Feature group name.
    pub name: String,
    #[command(flatten)]
    pub client: ClientOptions,
}

#[derive(Debug, Args)]
pub struct CreateFeatureGroupArgs {
    /// Feature group name.
    pub name: String,
    /// The feature that identifies a record.
    #[arg(long)]
    pub record_identifier: String,
    /// The feature holding the event time.
    #[arg(long)]
    pub event_time: String,
    /// A feature: NAME:TYPE[:COLLECTION[:DIM]], TYPE integral|fractional|string,
    /// COLLECTION list|set|vector (e.g. emb:fractional:vector:128).
    #[arg(long = "feature", required_unless_present = "from_file")]
    pub features: Vec<String>,
    /// Infer the features from a data file's columns (CSV, TSV, Parquet or
    /// JSON lines): integers Integral, floats Fractional, text String,
    /// timestamps String (ISO-8601 UTC). A --feature overrides the
    /// inferred definition of its name.
    #[arg(long)]
    pub from_file: Option<PathBuf>,
    /// The format of --from-file when its extension does not tell.
    #[arg(long, value_enum)]
    pub format: Option<crate::files::FileFormat>,
    /// No online store (offline only).
    #[arg(long)]
    pub no_online: bool,
    /// No offline store (online only).
    #[arg(long)]
    pub no_offline: bool,
    /// Default time to live of a record after its event time, e.g. 2h, 30days.
    #[arg(long)]
    pub ttl: Option<humantime::Duration>,
    /// Description.
    #[arg(long, default_value = "")]
    pub description: String,
    /// A tag KEY=VALUE.
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    #[command(flatten)]
    pub client: ClientOptions,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SortByArg {
    Name,
    CreationTime,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SortOrderArg {
    Ascending,
    Descending,
}

#[derive(Debug, Args)]
pub struct ListFeatureGroupsArgs {
    /// Only groups whose name contains this (case-insensitive).
    #[arg(long, default_value = "")]
    pub name_contains: String,
    #[arg(long, value_enum, default_value = "name")]
    pub sort_by: SortByArg,
    #[arg(long, value_enum, default_value = "ascending")]
    pub sort_order: SortOrderArg,
    #[command(flatten)]
    pub client: ClientOptions,
}

#[derive(Debug, Args)]
pub struct UpdateFeatureGroupArgs {
    /// Feature group name.
    pub name: String,
    /// A feature to add: NAME:TYPE[:COLLECTION[:DIM]].
    #[arg(long = "add-feature")]
    pub add_features: Vec<String>,
    /// New default TTL (e.g. 2h), or "none" to remove it.
    #[arg(long)]
    pub ttl: Option<String>,
    /// New description.
    #[arg(long)]
    pub description: Option<String>,
    #[command(flatten)]
    pub client: ClientOptions,
}

#[derive(Debug, Args)]
pub struct DeleteFeatureGroupArgs {
    /// Feature group name.
    pub name: String,
    /// Also remove the group's offline data.
    #[arg(long)]
    pub purge_offline: bool,
    #[command(flatten)]
    pub client: ClientOptions,
}

#[derive(Debug, Args)]
pub struct FeatureArgs {
    /// Feature group name.
    pub group: String,
    /// Feature name.
    pub feature: String,
    #[command(flatten)]
    pub client: ClientOptions,
}

#[derive(Debug, Args)]
pub struct UpdateFeatureMetadataArgs {
    /// Feature group name.
    pub group: String,
    /// Feature name.
    pub feature: String,
    /// New description.
    #[arg(long)]
    pub description: Option<String>,
    /// A parameter KEY=VALUE to add or change.
    #[arg(long = "parameter")]
    pub parameters: Vec<String>,
    /// A parameter key to remove.
    #[arg(long = "remove-parameter")]
    pub remove_parameters: Vec<String>,
    #[command(flatten)]
    pub client: ClientOptions,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SearchResourceArg {
    All,
    FeatureGroup,
    Feature,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words that every hit must contain.
    pub query: String,
    #[arg(long, value_enum, default_value = "all")]
    pub resource: SearchResourceArg,
    #[command(flatten)]
    pub client: ClientOptions,
}

#[derive(Debug, Args)]
pub struct PutRecordArgs {
    /// Feature group name.
    pub name: String,
    /// The record as a JSON object of feature names to values.
    #[arg(long)]
    pub record: String,
    /// Time to live of this record after its event time, e.g. 2h.
    #[arg(long)]
    pub ttl: Option<humantime::Duration>,
    /// Write to the online store only.
    #[arg(long, conflicts_with = "offline_only")]
    pub online_only: bool,
    /// Write to the offline store only.
    #[arg(long)]
    pub offline_only: bool,
    #[command(flatten)]
    pub client: ClientOptions,
}

#[derive(Debug, Args)]
pub struct GetRecordArgs {
    /// Feature group name.
    pub name: String,
    /// The record identifier.
    pub record_id: String,
    /// Only these features.
    #[arg(long = "feature")]
    pub features: Vec<String>,
    /// Also show when the record expires.
    #[arg(long)]
    pub with_expiration: bool,
    #[command(flatten)]
    pub client: ClientOptions,
}

#[derive(Debug, Args)]
pub struct DeleteRecordArgs {
    /// Feature group name.
    pub name: String,
    /// The record identifier.
    pub record_id: String,
    /// The delete's event time, in the group's event-time format.
    #[arg(long)]
    pub event_time: String,
    /// Remove the record entirely instead of leaving a tombstone.
    #[arg(long)]
    pub hard: bool,
    #[command(flatten)]
    pub client: ClientOptions,
}

#[derive(Debug, Args)]
pub struct ListRecordsArgs {
    /// Feature group name.
    pub name: String,
    /// Include soft-deleted records.
    #[arg(long)]
    pub include_soft_deleted: bool,
    /// Stop after this many records.
    #[arg(long)]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub client: ClientOptions,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Feature group name.
    pub name: String,
    /// The file: .csv, .tsv, .parquet or .jsonl (with a header row for CSV
    /// and TSV). Columns are matched to features by name.
    pub file: PathBuf,
    /// The file's format when its extension does not tell.
    #[arg(long, value_enum)]
    pub format: Option<crate::files::FileFormat>,
    /// Batches in flight at once.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// Rows per batch.
    #[arg(long, default_value_t = 65_536)]
    pub batch_rows: usize,
    /// Write the rows that failed, with their row number and reason, to
    /// this .csv, .tsv or .jsonl file.
    #[arg(long)]
    pub failed_rows: Option<PathBuf>,
    #[command(flatten)]
    pub client: ClientOptions,
}
