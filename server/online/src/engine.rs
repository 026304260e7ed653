//! [`Engine`]: the online tier's public face. Reads run on the caller's
//! thread straight against RocksDB; every change is checked here and then
//! handed to the single writer thread.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use almanac_types::time::{Clock, SystemClock};
use almanac_types::validate::{
    parse_event_time, parse_record_id, validate_record, validate_values,
};
use almanac_types::{CheckedRecord, FeatureGroup, InputValue, Limits, Value};
use tokio::sync::{mpsc, oneshot};

use crate::catalog::Catalog;
use crate::db::{self, Durability};
use crate::error::{Result, StoreError};
use crate::offline_log::Backlog;
use crate::recovery::{find_log_end, scan_backlog};
use crate::writer::{Command, Shared, Tiers, WriteOp, Writer, Written};

/// How the engine is set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The server's data directory; RocksDB lives in `<data_dir>/online`.
    pub data_dir: PathBuf,
    pub durability: Durability,
    pub limits: Limits,
    pub clock: Arc<dyn Clock>,
    /// RocksDB block cache size.
    pub block_cache_bytes: usize,
}

impl EngineConfig {
    /// Defaults for a data directory: fsync, default limits, system clock.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            durability: Durability::Fsync,
            limits: Limits::default(),
            clock: Arc::new(SystemClock),
            block_cache_bytes: 512 << 20,
        }
    }
}

/// Which stores a write asks for: `None` means every store the group has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetStores {
    pub online: bool,
    pub offline: bool,
}

/// One record to write.
#[derive(Debug, Clone)]
pub struct PutEntry {
    pub group: String,
    pub values: Vec<(String, InputValue)>,
    pub target_stores: Option<TargetStores>,
    pub ttl_seconds: Option<u64>,
}

/// Rows handed to the writer by [`Engine::queue_rows`].
#[derive(Debug)]
pub struct QueuedRows {
    results: Vec<Result<()>>,
    positions: Vec<usize>,
    answer: Option<oneshot::Receiver<Written>>,
}

impl QueuedRows {
    /// Waits until the rows are durable; one result per row, in order.
    pub async fn written(mut self) -> Result<Vec<Result<()>>> {
        if let Some(answer) = self.answer {
            let written = answer.await.map_err(|_| StoreError::ShuttingDown)?;
            for (position, result) in self.positions.into_iter().zip(written.results) {
                self.results[position] = result;
            }
        }
        Ok(self.results)
    }
}

/// A DeleteRecord request.
#[derive(Debug, Clone)]
pub struct DeleteRequest {
    pub group: String,
    pub record_id: String,
    pub event_time: String,
    pub hard: bool,
    pub target_stores: Option<TargetStores>,
}

/// The online tier.
#[derive(Debug)]
pub struct Engine {
    pub(crate) shared: Arc<Shared>,
    pub(crate) limits: Limits,
    data_dir: PathBuf,
    commands: RwLock<Option<mpsc::Sender<Command>>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
}

impl Engine {
    /// Opens the store under `config.data_dir` and starts the writer.
    pub fn open(config: EngineConfig) -> Result<Self> {
        let path = config.data_dir.join("online");
        std::fs::create_dir_all(&path)
            .map_err(|e| StoreError::Io(format!("cannot create {}: {e}", path.display())))?;
        let db = db::open(&path, config.block_cache_bytes)?;
        let catalog = Catalog::load(&db)?;
        crate::log_index::build_if_missing(&db)?;
        let log_end = find_log_end(&db)?;
        let backlog = scan_backlog(&db)?;
        let shared = Arc::new(Shared {
            db,
            catalog: RwLock::new(catalog),
            backlog: Mutex::new(backlog),
            clock: config.clock,
        });
        let (sender, receiver) = mpsc::channel(4096);
        let writer = Writer::new(Arc::clone(&shared), config.durability, log_end);
        let writer_thread = std::thread::Builder::new()
            .name("almanac-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(|e| StoreError::Io(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            shared,
            limits: config.limits,
            data_dir: config.data_dir,
            commands: RwLock::new(Some(sender)),
            writer_thread: Mutex::new(Some(writer_thread)),
        })
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Now, by the engine's clock.
    pub fn now_micros(&self) -> i64 {
        self.shared.clock.now_micros()
    }

    /// Stops taking writes, lets the writer finish what it has, and waits
    /// for it. Reads keep working until the engine is dropped.
    pub fn shutdown(&self) {
        self.commands
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let thread = self
            .writer_thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
        let _ = self.shared.db.flush_wal(true);
    }

    pub(crate) async fn send<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T> {
        let answer = self.enqueue(command).await?;
        answer.await.map_err(|_| StoreError::ShuttingDown)
    }

    /// Hands a command to the writer; the answer comes on the receiver.
    /// Commands are applied in the order they are enqueued.
    async fn enqueue<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<oneshot::Receiver<T>> {
        let sender = self
            .commands
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(StoreError::ShuttingDown)?;
        let (reply, answer) = oneshot::channel();
        sender
            .send(command(reply))
            .await
            .map_err(|_| StoreError::ShuttingDown)?;
        Ok(answer)
    }

    /// The live feature group called `name`.
    pub fn group(&self, name: &str) -> Result<Arc<FeatureGroup>> {
        self.shared
            .catalog
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
    }

    /// Every live feature group.
    pub fn groups(&self) -> Vec<Arc<FeatureGroup>> {
        self.shared
            .catalog
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .live_groups()
    }

    /// The offline-log backlog of a group.
    pub fn offline_backlog(&self, group_id: u64) -> Backlog {
        let backlog = self
            .shared
            .backlog
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        backlog.get(&group_id).copied().unwrap_or_default()
    }

    /// Writes records; one result per entry, in order. Valid entries are
    /// written even when others fail; all of them in one atomic batch.
    pub async fn put_records(&self, entries: Vec<PutEntry>) -> Result<Vec<Result<()>>> {
        if entries.len() > self.limits.max_batch_write_entries {
            return Err(StoreError::TooLarge(format!(
                "{} entries in one batch; the limit is {} (max_batch_write_entries)",
                entries.len(),
                self.limits.max_batch_write_entries
            )));
        }
        let now = self.now_micros();
        let mut results: Vec<Option<Result<()>>> = Vec::with_capacity(entries.len());
        let mut ops = Vec::with_capacity(entries.len());
        let mut positions = Vec::with_capacity(entries.len());
        for (position, entry) in entries.into_iter().enumerate() {
            match self.check_put(entry, now) {
                Ok(op) => {
                    ops.push(op);
                    positions.push(position);
                    results.push(None);
                }
                Err(error) => results.push(Some(Err(error))),
            }
        }
        if !ops.is_empty() {
            let written = self
                .send(|reply| Command::Write { ops, reply })
                .await?
                .results;
            for (position, result) in positions.into_iter().zip(written) {
                results[position] = Some(result);
            }
        }
        Ok(results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect())
    }

    /// Writes one record.
    pub async fn put_record(&self, entry: PutEntry) -> Result<()> {
        self.put_records(vec![entry]).await?.pop().unwrap_or(Ok(()))
    }

    /// Bulk ingest: queues rows whose values are converted already, in
    /// `group`'s feature order, for every store the group has, each checked
    /// as PutRecord checks a record. Returns once the rows are queued, so
    /// the caller can prepare more while they are written; rows queued
    /// earlier are applied first. Valid rows go in one atomic batch, in
    /// order. There is no entry limit: the caller bounds a call's size.
    pub async fn queue_rows(
        &self,
        group: &Arc<FeatureGroup>,
        rows: Vec<Vec<Value>>,
    ) -> Result<QueuedRows> {
        let now = self.now_micros();
        let tiers = resolve_tiers(group, None)?;
        let ttl = if tiers.online {
            group.effective_ttl(None)
        } else {
            None
        };
        let mut results: Vec<Result<()>> = Vec::with_capacity(rows.len());
        let mut ops = Vec::with_capacity(rows.len());
        let mut positions = Vec::with_capacity(rows.len());
        for (position, values) in rows.into_iter().enumerate() {
            match validate_values(group, values, ttl, &self.limits) {
                Ok(CheckedRecord {
                    id,
                    record,
                    encoded,
                }) => {
                    ops.push(WriteOp::Put {
                        group: Arc::clone(group),
                        id,
                        encoded,
                        record,
                        tiers,
                        api_invocation_micros: now,
                    });
                    positions.push(position);
                    results.push(Ok(()));
                }
                Err(error) => results.push(Err(error.into())),
            }
        }
        let answer = if ops.is_empty() {
            None
        } else {
            Some(self.enqueue(|reply| Command::Write { ops, reply }).await?)
        };
        Ok(QueuedRows {
            results,
            positions,
            answer,
        })
    }

    fn check_put(&self, entry: PutEntry, now: i64) -> Result<WriteOp> {
        let group = self.group(&entry.group)?;
        let tiers = resolve_tiers(&group, entry.target_stores)?;
        almanac_types::check_ttl(entry.ttl_seconds)?;
        let ttl = if tiers.online {
            group.effective_ttl(entry.ttl_seconds)
        } else {
            None
        };
        let CheckedRecord {
            id,
            record,
            encoded,
        } = validate_record(&group, entry.values, ttl, &self.limits)?;
        Ok(WriteOp::Put {
            group,
            id,
            encoded,
            record,
            tiers,
            api_invocation_micros: now,
        })
    }

    /// Deletes a record (soft or hard), writing a delete marker offline.
    pub async fn delete_record(&self, request: DeleteRequest) -> Result<()> {
        let group = self.group(&request.group)?;
        let tiers = resolve_tiers(&group, request.target_stores)?;
        let id = parse_record_id(&group, &request.record_id, &self.limits)?;
        let (event_time_micros, event_time_value) = parse_event_time(&group, &request.event_time)?;
        let op = WriteOp::Delete {
            group,
            id,
            event_time_micros,
            event_time_value,
            hard: request.hard,
            tiers,
            api_invocation_micros: self.now_micros(),
        };
        let mut written = self
            .send(|reply| Command::Write {
                ops: vec![op],
                reply,
            })
            .await?;
        written.results.pop().unwrap_or(Ok(()))
    }

    /// Removes up to `max_records` expired records; returns how many.
    pub async fn purge_expired(&self, max_records: usize) -> Result<usize> {
        self.send(|reply| Command::PurgeExpired { max_records, reply })
            .await?
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The tiers a write goes to: the ones asked for, which the group must have.
fn resolve_tiers(group: &FeatureGroup, asked: Option<TargetStores>) -> Result<Tiers> {
    let Some(asked) = asked else {
        return Ok(Tiers {
            online: group.online_enabled,
            offline: group.offline_enabled,
        });
    };
    if asked.online && !group.online_enabled {
        return Err(StoreError::Invalid(format!(
            "target_stores: feature group '{}' has no online store",
            group.name
        )));
    }
    if asked.offline && !group.offline_enabled {
        return Err(StoreError::Invalid(format!(
            "target_stores: feature group '{}' has no offline store",
            group.name
        )));
    }
    Ok(Tiers {
        online: asked.online,
        offline: asked.offline,
    })
}
