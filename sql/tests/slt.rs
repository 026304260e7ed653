//! SQL semantics as data: every `.slt` file under `sql/tests/slt/` runs
//! against the real engine (RocksDB, the offline log, Parquet files on a
//! local folder, DataFusion), each file on a fresh data directory.
//!
//! Besides SQL, a file drives the write path with `almanac` statements, so
//! that rows reach SQL the way they do in production, some flushed to
//! Parquet and some still in the offline log:
//!
//! ```text
//! statement ok
//! almanac create reviews review_id:string event_time:string stars:integral tags:string[]
//!
//! statement ok
//! almanac clock 2026-03-01T10:00:00Z
//!
//! statement ok
//! almanac put reviews {"review_id": "r1", "event_time": "2026-03-01T00:00:00Z", "stars": 4}
//!
//! statement ok
//! almanac delete reviews r1 2026-03-01T02:00:00Z
//!
//! statement ok
//! almanac flush
//! ```
//!
//! `create` takes the group name, then features as `name:type`: the first
//! is the record identifier, the second the event time. Types are
//! `string`, `integral` and `fractional`, a list as `type[]`, a set as
//! `type{}`, a vector as `fractional<N>`. `put` takes one JSON object, each
//! value sent as text the way SageMaker's `ValueAsString` is (arrays as JSON
//! arrays). `clock` sets the server clock, which stamps `write_time` and
//! `api_invocation_time`; it starts at 2026-03-01T00:00:00Z and advances one
//! second after every `put` and `delete`. `flush` moves the offline log into
//! Parquet. `delete … hard` deletes the record online.
//!
//! Errors read `<class>: <message>`, the class being the `SqlError`
//! variant (`Invalid`, `NotFound`, `ReadOnly`, `OverLimit`, `Unavailable`,
//! `Internal`), so `statement error ReadOnly: .*` checks the class. Nulls
//! print as `NULL`, empty strings as `(empty)`.

use std::path::PathBuf;
use std::sync::Arc;

use almanac_offline::{FlusherConfig, OfflineFlusher, OfflineStore};
use almanac_online::{DeleteRequest, Durability, Engine, EngineConfig, PutEntry};
use almanac_sql::{SqlConfig, SqlEngine, SqlError};
use almanac_types::time::{ManualClock, parse_iso8601};
use almanac_types::{CollectionType, FeatureDefinition, FeatureGroupSpec, FeatureType, InputValue};
use arrow::array::RecordBatch;
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use sqllogictest::{DBOutput, DefaultColumnType};

const START: &str = "2026-03-01T00:00:00Z";
const SECOND: i64 = 1_000_000;

/// What a statement of a test file did wrong.
#[derive(Debug)]
struct Failure(String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

impl From<SqlError> for Failure {
    fn from(error: SqlError) -> Self {
        let class = match &error {
            SqlError::Invalid(_) => "Invalid",
            SqlError::NotFound(_) => "NotFound",
            SqlError::ReadOnly(_) => "ReadOnly",
            SqlError::OverLimit(_) => "OverLimit",
            SqlError::Unavailable(_) => "Unavailable",
            SqlError::Internal(_) => "Internal",
        };
        Failure(format!("{class}: {error}"))
    }
}

fn fail(message: impl Into<String>) -> Failure {
    Failure(message.into())
}

/// One test file's server: the engine, the flusher and the SQL engine over
/// a data directory of its own.
struct Almanac {
    engine: Arc<Engine>,
    flusher: OfflineFlusher,
    sql: SqlEngine,
    clock: ManualClock,
    _data_dir: tempfile::TempDir,
}

impl Almanac {
    fn open() -> Result<Self, Failure> {
        let data_dir = tempfile::tempdir().map_err(|e| fail(e.to_string()))?;
        let clock = ManualClock::new(parse_iso8601(START).map_err(|e| fail(e.to_string()))?);
        let mut config = EngineConfig::new(data_dir.path());
        config.clock = Arc::new(clock.clone());
        config.durability = Durability::OsBuffered;
        config.block_cache_bytes = 8 << 20;
        let engine = Arc::new(Engine::open(config).map_err(|e| fail(e.to_string()))?);
        let store =
            OfflineStore::open(None, data_dir.path(), &[]).map_err(|e| fail(e.to_string()))?;
        let flusher =
            OfflineFlusher::new(Arc::clone(&engine), store.clone(), FlusherConfig::default());
        let sql = SqlEngine::new(
            engine.clone(),
            store,
            SqlConfig::default(),
            flusher.leases(),
            tokio::runtime::Handle::current(),
        );
        Ok(Self {
            engine,
            flusher,
            sql,
            clock,
            _data_dir: data_dir,
        })
    }

    /// Runs an `almanac` statement.
    async fn command(&mut self, command: &str) -> Result<(), Failure> {
        let (verb, rest) = command.split_once(' ').unwrap_or((command, ""));
        match verb {
            "create" => self.create(rest).await,
            "put" => self.put(rest).await,
            "delete" => self.delete(rest).await,
            "flush" => self
                .flusher
                .round()
                .await
                .map_err(|e| fail(format!("flush: {e}"))),
            "clock" => {
                let micros = parse_iso8601(rest.trim()).map_err(|e| fail(e.to_string()))?;
                self.clock.set(micros);
                Ok(())
            }
            other => Err(fail(format!("unknown almanac statement '{other}'"))),
        }
    }

    async fn create(&self, arguments: &str) -> Result<(), Failure> {
        let mut words = arguments.split_whitespace();
        let name = words.next().ok_or_else(|| fail("create: no group name"))?;
        let features = words.map(feature).collect::<Result<Vec<_>, _>>()?;
        if features.len() < 2 {
            return Err(fail("create: an identifier and an event time at least"));
        }
        let spec = FeatureGroupSpec {
            name: name.into(),
            record_identifier: features[0].name.clone(),
            event_time: features[1].name.clone(),
            features,
            online_enabled: true,
            default_ttl_seconds: None,
            offline_enabled: true,
            description: String::new(),
            tags: Vec::new(),
        };
        self.engine
            .create_group(spec)
            .await
            .map(drop)
            .map_err(|e| fail(e.to_string()))
    }

    async fn put(&self, arguments: &str) -> Result<(), Failure> {
        let (group, json) = arguments
            .split_once(' ')
            .ok_or_else(|| fail("put: a group and a JSON object"))?;
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(json).map_err(|e| fail(format!("put: {e}")))?;
        let values = object
            .into_iter()
            .map(|(name, value)| {
                let value = match value {
                    serde_json::Value::Null => InputValue::Null,
                    serde_json::Value::String(text) => InputValue::Text(text),
                    other => InputValue::Text(other.to_string()),
                };
                (name, value)
            })
            .collect();
        let entry = PutEntry {
            group: group.into(),
            values,
            target_stores: None,
            ttl_seconds: None,
        };
        let written = self.engine.put_record(entry).await;
        self.clock.advance(SECOND);
        written.map_err(|e| fail(e.to_string()))
    }

    async fn delete(&self, arguments: &str) -> Result<(), Failure> {
        let words: Vec<&str> = arguments.split_whitespace().collect();
        let (group, id, time, hard) = match words[..] {
            [group, id, time] => (group, id, time, false),
            [group, id, time, "hard"] => (group, id, time, true),
            _ => return Err(fail("delete: GROUP ID EVENT_TIME [hard]")),
        };
        let request = DeleteRequest {
            group: group.into(),
            record_id: id.into(),
            event_time: time.into(),
            hard,
            target_stores: None,
        };
        let deleted = self.engine.delete_record(request).await;
        self.clock.advance(SECOND);
        deleted.map_err(|e| fail(e.to_string()))
    }

    async fn query(&self, sql: &str) -> Result<DBOutput<DefaultColumnType>, Failure> {
        let batches = self.sql.collect(sql).await?;
        let Some(first) = batches.first() else {
            return Ok(DBOutput::Rows {
                types: Vec::new(),
                rows: Vec::new(),
            });
        };
        let types = first
            .schema()
            .fields()
            .iter()
            .map(|field| column_type(field.data_type()))
            .collect();
        let mut rows = Vec::new();
        for batch in &batches {
            rows.extend(text_rows(batch)?);
        }
        Ok(DBOutput::Rows { types, rows })
    }
}

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for Almanac {
    type Error = Failure;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, Failure> {
        match sql.trim().strip_prefix("almanac ") {
            Some(command) => {
                self.command(command.trim()).await?;
                Ok(DBOutput::StatementComplete(0))
            }
            None => self.query(sql).await,
        }
    }

    async fn shutdown(&mut self) {
        self.engine.shutdown();
    }

    fn engine_name(&self) -> &str {
        "almanac"
    }

    async fn sleep(duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// `name:type`, as `create` takes it.
fn feature(text: &str) -> Result<FeatureDefinition, Failure> {
    let (name, kind) = text
        .split_once(':')
        .ok_or_else(|| fail(format!("feature '{text}' is not name:type")))?;
    let scalar = |kind: &str| match kind {
        "string" => Ok(FeatureType::String),
        "integral" => Ok(FeatureType::Integral),
        "fractional" => Ok(FeatureType::Fractional),
        other => Err(fail(format!("unknown feature type '{other}'"))),
    };
    let (feature_type, collection) = if let Some(item) = kind.strip_suffix("[]") {
        (scalar(item)?, CollectionType::List)
    } else if let Some(item) = kind.strip_suffix("{}") {
        (scalar(item)?, CollectionType::Set)
    } else if let Some(dimension) = kind
        .strip_prefix("fractional<")
        .and_then(|rest| rest.strip_suffix('>'))
    {
        let dimension = dimension
            .parse()
            .map_err(|_| fail(format!("bad vector dimension in '{text}'")))?;
        (
            FeatureType::Fractional,
            CollectionType::Vector { dimension },
        )
    } else {
        (scalar(kind)?, CollectionType::None)
    };
    Ok(FeatureDefinition {
        name: name.into(),
        feature_type,
        collection,
    })
}

fn column_type(data_type: &DataType) -> DefaultColumnType {
    if data_type.is_integer() {
        DefaultColumnType::Integer
    } else if data_type.is_floating() {
        DefaultColumnType::FloatingPoint
    } else if matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    ) {
        DefaultColumnType::Text
    } else {
        DefaultColumnType::Any
    }
}

/// A batch's rows as text: nulls as `NULL`, empty strings as `(empty)`.
fn text_rows(batch: &RecordBatch) -> Result<Vec<Vec<String>>, Failure> {
    let options = FormatOptions::default().with_null("NULL");
    let formatters = batch
        .columns()
        .iter()
        .map(|column| ArrayFormatter::try_new(column.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    Ok((0..batch.num_rows())
        .map(|row| {
            formatters
                .iter()
                .map(|formatter| match formatter.value(row).to_string() {
                    text if text.is_empty() => "(empty)".to_owned(),
                    text => text,
                })
                .collect()
        })
        .collect())
}

#[test]
fn sql_semantics_files() {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .expect("sql/tests/slt exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no .slt files in {}",
        directory.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut failures = Vec::new();
    for file in &files {
        let outcome = runtime.block_on(async {
            let mut runner = sqllogictest::Runner::new(|| async { Almanac::open() });
            let outcome = runner.run_file_async(file).await;
            runner.shutdown_async().await;
            outcome
        });
        if let Err(error) = outcome {
            failures.push(format!("{}\n{error}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
