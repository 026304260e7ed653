//! The exactly-once protocol of flushes and compactions (docs/architecture.md
//! sections 5 and 6) against injected storage faults, hermetically: the
//! real engine on a temporary folder, the offline store in memory behind a
//! wrapper that fails one chosen operation, before it happens or after it
//! has taken effect. A clean run counts the store operations; then every
//! one of them fails in turn, each way, and the flusher (a new one after
//! every failure, as after a restart) must end with each offline-log entry
//! in exactly one listed file.
//!
//! The last test drives the flusher over a second table format, one that
//! only records what it is asked, to pin down the seam's protocol.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use almanac_offline::{
    CompactionConfig, FlusherConfig, OfflineFlusher, OfflineStore, QueryLeases, TableFormat,
};
use almanac_online::{Engine, EngineConfig, FlushPlan, FlushedFile, OfflineLogEntry, PutEntry};
use almanac_types::time::ManualClock;
use almanac_types::{FeatureDefinition, FeatureGroup, FeatureGroupSpec, FeatureType, InputValue};
use arrow::array::AsArray;
use arrow::datatypes::TimestampMicrosecondType;
use futures::stream::{BoxStream, StreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// How the chosen operation fails.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// The operation does not happen.
    Before,
    /// The operation takes effect, and the caller is told it failed (a
    /// timeout after the store wrote the object).
    After,
}

/// An in-memory store whose `n`th operation fails once.
#[derive(Debug, Default)]
struct FaultyStore {
    inner: InMemory,
    operations: AtomicUsize,
    fault: Mutex<Option<(usize, Fault)>>,
}

impl FaultyStore {
    fn failing(fault: Option<(usize, Fault)>) -> Self {
        Self {
            fault: Mutex::new(fault),
            ..Self::default()
        }
    }

    /// Counts an operation; the fault it must suffer, if it is the one.
    fn next(&self) -> Option<Fault> {
        let n = self.operations.fetch_add(1, Ordering::SeqCst);
        let mut fault = self.fault.lock().unwrap();
        match *fault {
            Some((at, kind)) if at == n => {
                *fault = None;
                Some(kind)
            }
            _ => None,
        }
    }

    fn operations(&self) -> usize {
        self.operations.load(Ordering::SeqCst)
    }
}

fn injected() -> object_store::Error {
    object_store::Error::Generic {
        store: "faulty",
        source: "injected fault".into(),
    }
}

impl std::fmt::Display for FaultyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FaultyStore({})", self.inner)
    }
}

#[async_trait::async_trait]
impl ObjectStore for FaultyStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        match self.next() {
            Some(Fault::Before) => Err(injected()),
            Some(Fault::After) => {
                self.inner.put_opts(location, payload, opts).await?;
                Err(injected())
            }
            None => self.inner.put_opts(location, payload, opts).await,
        }
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        match self.next() {
            Some(_) => Err(injected()),
            None => self.inner.put_multipart_opts(location, opts).await,
        }
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        match self.next() {
            Some(_) => Err(injected()),
            None => self.inner.get_opts(location, options).await,
        }
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        match self.next() {
            Some(Fault::Before) => futures::stream::once(async { Err(injected()) }).boxed(),
            Some(Fault::After) => self
                .inner
                .delete_stream(locations)
                .map(|deleted| deleted.and_then(|_| Err(injected())))
                .boxed(),
            None => self.inner.delete_stream(locations),
        }
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        match self.next() {
            Some(_) => futures::stream::once(async { Err(injected()) }).boxed(),
            None => self.inner.list(prefix),
        }
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        match self.next() {
            Some(_) => Err(injected()),
            None => self.inner.list_with_delimiter(prefix).await,
        }
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        match self.next() {
            Some(_) => Err(injected()),
            None => self.inner.copy_opts(from, to, options).await,
        }
    }
}

fn spec() -> FeatureGroupSpec {
    FeatureGroupSpec {
        name: "events".into(),
        record_identifier: "id".into(),
        event_time: "ts".into(),
        features: vec![
            FeatureDefinition::scalar("id", FeatureType::String),
            FeatureDefinition::scalar("ts", FeatureType::String),
            FeatureDefinition::scalar("n", FeatureType::Integral),
        ],
        online_enabled: true,
        default_ttl_seconds: None,
        offline_enabled: true,
        description: String::new(),
        tags: Vec::new(),
    }
}

/// Three bursts of writes over two event hours, each flushed before the
/// next, so that every hour gets three small files and compaction (at two
/// files) merges them.
const BURSTS: usize = 3;
const ROWS_PER_BURST: usize = 12;

/// Runs the bursts with `fault` injected; returns how many store
/// operations were made. Panics unless every log entry ends in exactly one
/// listed file.
async fn run(fault: Option<(usize, Fault)>) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EngineConfig::new(dir.path());
    config.clock = Arc::new(ManualClock::new(1_772_323_200_000_000));
    config.block_cache_bytes = 8 << 20;
    let engine = Arc::new(Engine::open(config).unwrap());
    let group = engine.create_group(spec()).await.unwrap();
    let store = Arc::new(FaultyStore::failing(fault));
    let offline = OfflineStore::over(
        Arc::clone(&store) as Arc<dyn ObjectStore>,
        Path::from("offline"),
        "memory:///offline",
    );
    let flusher_config = FlusherConfig {
        compaction: CompactionConfig {
            min_files: 2,
            ..CompactionConfig::default()
        },
        ..FlusherConfig::default()
    };

    // Each entry by its record id and write time, unique per entry.
    let mut expected: HashMap<(String, i64), usize> = HashMap::new();
    let mut failures = 0;
    for burst in 0..BURSTS {
        let entries = (0..ROWS_PER_BURST)
            .map(|i| PutEntry {
                group: "events".into(),
                values: vec![
                    ("id".into(), InputValue::String(format!("r{}", i % 5))),
                    (
                        "ts".into(),
                        InputValue::String(format!("2026-03-01T0{}:00:0{burst}Z", i % 2)),
                    ),
                    ("n".into(), InputValue::Integral((burst * 100 + i) as i64)),
                ],
                target_stores: None,
                ttl_seconds: None,
            })
            .collect();
        for written in engine.put_records(entries).await.unwrap() {
            written.unwrap();
        }
        for (_, entry) in engine.read_offline_log(0, usize::MAX).unwrap() {
            expected.insert((entry.record_id.0, entry.write_micros), 0);
        }
        // Rounds until everything is in files and nothing is half done;
        // a new flusher after each failure, as after a restart.
        let mut settled = false;
        for _ in 0..10 {
            let mut flusher =
                OfflineFlusher::new(Arc::clone(&engine), offline.clone(), flusher_config.clone());
            match flusher.round().await {
                Ok(()) => {
                    settled = engine.offline_backlog_total() == 0
                        && engine.unfinished_flush().unwrap().is_none()
                        && engine.unfinished_compaction().unwrap().is_none();
                    if settled {
                        break;
                    }
                }
                Err(_) => failures += 1,
            }
        }
        assert!(settled, "{fault:?}: burst {burst} never settled");
    }
    assert!(
        failures <= 1,
        "{fault:?}: one injected fault, {failures} failed rounds"
    );

    let mut files = 0;
    for (path, _) in engine.offline_files(group.id).unwrap() {
        files += 1;
        let bytes = store
            .inner
            .get(&Path::from(path.as_str()))
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: listed file {path} is missing: {e}"))
            .bytes()
            .await
            .unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let ids = batch.column_by_name("id").unwrap().as_string::<i32>();
            let writes = batch
                .column_by_name("write_time")
                .unwrap()
                .as_primitive::<TimestampMicrosecondType>();
            for (id, write) in ids.iter().zip(writes.iter()) {
                let key = (id.unwrap().to_owned(), write.unwrap());
                let count = expected
                    .get_mut(&key)
                    .unwrap_or_else(|| panic!("{fault:?}: {key:?} was never written"));
                *count += 1;
            }
        }
    }
    for (key, count) in &expected {
        assert_eq!(*count, 1, "{fault:?}: {key:?} is in {count} listed files");
    }
    assert_eq!(expected.len(), BURSTS * ROWS_PER_BURST);
    // Compaction ran: fewer files than the flushes wrote (two a burst).
    if fault.is_none() {
        assert!(files < 2 * BURSTS, "{files} files: nothing was merged");
    }
    store.operations()
}

#[test]
fn every_storage_fault_at_every_step_leaves_each_entry_in_exactly_one_file() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let operations = run(None).await;
        assert!(operations > 10, "only {operations} store operations");
        for at in 0..operations {
            for kind in [Fault::Before, Fault::After] {
                run(Some((at, kind))).await;
            }
        }
    });
}

/// What the flusher asked of [`RecordingFormat`], in order.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Write {
        plan: FlushPlan,
        group: String,
        ids: Vec<String>,
    },
    Publish {
        plan: FlushPlan,
        files: usize,
    },
    Purge {
        group: String,
    },
}

/// A table format that keeps nothing but a record of its calls, and fails
/// its first `publish`: the shape of a format with a catalog of its own,
/// which commits in `publish` and lists no files in the log.
#[derive(Debug, Default)]
struct RecordingFormat {
    steps: Arc<Mutex<Vec<Step>>>,
    published: bool,
}

#[async_trait::async_trait]
impl TableFormat for RecordingFormat {
    async fn write(
        &mut self,
        plan: FlushPlan,
        group: &Arc<FeatureGroup>,
        rows: Vec<OfflineLogEntry>,
    ) -> almanac_offline::Result<Vec<FlushedFile>> {
        self.steps.lock().unwrap().push(Step::Write {
            plan,
            group: group.name.clone(),
            ids: rows.into_iter().map(|e| e.record_id.0).collect(),
        });
        Ok(Vec::new())
    }

    async fn publish(
        &mut self,
        plan: FlushPlan,
        files: &[FlushedFile],
    ) -> almanac_offline::Result<()> {
        self.steps.lock().unwrap().push(Step::Publish {
            plan,
            files: files.len(),
        });
        if !self.published {
            self.published = true;
            return Err(almanac_offline::OfflineError::Config("catalog down".into()));
        }
        Ok(())
    }

    async fn purge(&mut self, group: &FeatureGroup) -> almanac_offline::Result<()> {
        self.steps.lock().unwrap().push(Step::Purge {
            group: group.name.clone(),
        });
        Ok(())
    }

    async fn maintain(&mut self) -> almanac_offline::Result<()> {
        Ok(())
    }

    fn maintenance_pending(&self) -> almanac_offline::Result<bool> {
        Ok(false)
    }
}

#[test]
fn a_second_table_format_gets_the_same_plan_and_rows_again_after_a_failed_publish() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = EngineConfig::new(dir.path());
        config.clock = Arc::new(ManualClock::new(1_772_323_200_000_000));
        let engine = Arc::new(Engine::open(config).unwrap());
        engine.create_group(spec()).await.unwrap();
        let other = FeatureGroupSpec {
            name: "others".into(),
            ..spec()
        };
        engine.create_group(other).await.unwrap();
        for (group, id) in [("events", "a"), ("others", "b"), ("events", "c")] {
            engine
                .put_record(PutEntry {
                    group: group.into(),
                    values: vec![
                        ("id".into(), InputValue::String(id.into())),
                        (
                            "ts".into(),
                            InputValue::String("2026-03-01T00:00:00Z".into()),
                        ),
                        ("n".into(), InputValue::Integral(1)),
                    ],
                    target_stores: None,
                    ttl_seconds: None,
                })
                .await
                .unwrap();
        }
        let format = RecordingFormat::default();
        let steps = Arc::clone(&format.steps);
        let mut flusher = OfflineFlusher::with_format(
            Arc::clone(&engine) as _,
            Box::new(format),
            Arc::new(QueryLeases::default()),
            FlusherConfig::default(),
        );

        // The failed publish leaves the plan recorded and the log whole.
        flusher.round().await.unwrap_err();
        let plan = engine.unfinished_flush().unwrap().expect("the plan stays");
        assert_eq!(engine.offline_backlog_total(), 3);
        // The redo repeats every step with the same plan and rows.
        flusher.round().await.unwrap();
        assert_eq!(engine.unfinished_flush().unwrap(), None);
        assert_eq!(engine.offline_backlog_total(), 0);
        let once = vec![
            Step::Write {
                plan,
                group: "events".into(),
                ids: vec!["a".into(), "c".into()],
            },
            Step::Write {
                plan,
                group: "others".into(),
                ids: vec!["b".into()],
            },
            Step::Publish { plan, files: 0 },
        ];
        let twice: Vec<Step> = once.iter().chain(&once).cloned().collect();
        assert_eq!(*steps.lock().unwrap(), twice);

        // A purge goes to the format, then the engine forgets the group.
        engine.delete_group("others", true).await.unwrap();
        flusher.round().await.unwrap();
        assert_eq!(
            steps.lock().unwrap().last(),
            Some(&Step::Purge {
                group: "others".into()
            })
        );
        assert!(engine.groups_to_purge().is_empty());
    });
}
