//! The single writer: every change to the store goes through one thread,
//! which group-commits concurrent writes into one RocksDB batch (one fsync
//! for many callers) and so keeps read-compare-write atomic, offline-log
//! sequence numbers in commit order, and catalog changes ordered with the
//! data written under them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use almanac_types::codec;
use almanac_types::time::{Clock, MICROS_PER_SECOND, format_iso8601};
use almanac_types::{FeatureGroup, FeatureType, Record, RecordId, Value};
use rocksdb::{DB, IteratorMode, ReadOptions, WriteBatch, WriteOptions};
use tokio::sync::{mpsc, oneshot};

use crate::catalog::{Catalog, StoredGroup};
use crate::db::{Durability, cf};
use crate::error::{Result, StoreError};
use crate::keys::{
    CF_EXPIRY, CF_LOG_BY_GROUP, CF_OFFLINE_LOG, CF_RECORDS, expiry_key, expiry_upper_bound,
    log_by_group_key, log_key, parse_expiry_key, record_key, record_key_of_bytes,
};
use crate::offline_log::{Backlog, EntryHeader, OfflineLogEntry};
use crate::recovery::LogEnd;

/// The stored version of each online key a group commit touches, as it
/// changes within the commit: the keys sorted and deduplicated, and the
/// slot of each op's key (by the op's position in the commit), so that an
/// op finds its key without building or searching it again.
#[derive(Debug, Default)]
struct KeyStates {
    keys: Vec<Vec<u8>>,
    versions: Vec<Option<Version>>,
    op_slots: Vec<Option<usize>>,
}

impl KeyStates {
    /// The slot of op `ordinal`'s key; every online op has one.
    fn slot_of(&self, ordinal: usize) -> Result<usize> {
        self.op_slots
            .get(ordinal)
            .copied()
            .flatten()
            .ok_or_else(|| StoreError::Corrupt(format!("op {ordinal} has no prefetched key")))
    }
}

const MAX_GROUP_COMMIT_OPS: usize = 8192;

/// Which tiers a write goes to, already checked against the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tiers {
    pub online: bool,
    pub offline: bool,
}

/// One checked write, ready to apply.
#[derive(Debug)]
pub(crate) enum WriteOp {
    Put {
        group: Arc<FeatureGroup>,
        id: RecordId,
        record: Record,
        /// `record` encoded, done before the op reaches the writer thread.
        encoded: Vec<u8>,
        tiers: Tiers,
        api_invocation_micros: i64,
    },
    Delete {
        group: Arc<FeatureGroup>,
        id: RecordId,
        event_time_micros: i64,
        event_time_value: Value,
        hard: bool,
        tiers: Tiers,
        api_invocation_micros: i64,
    },
}

impl WriteOp {
    fn group(&self) -> &FeatureGroup {
        match self {
            WriteOp::Put { group, .. } | WriteOp::Delete { group, .. } => group,
        }
    }
}

/// A change to the catalog: it stages its writes in the batch and returns
/// the group as changed, which the snapshot takes once the batch is durable.
pub(crate) type CatalogChange =
    Box<dyn FnOnce(&mut Catalog, &DB, &mut WriteBatch) -> Result<StoredGroup> + Send>;

/// What the writer thread is asked to do.
pub(crate) enum Command {
    Write {
        ops: Vec<WriteOp>,
        reply: oneshot::Sender<Written>,
    },
    Catalog {
        change: CatalogChange,
        reply: oneshot::Sender<Result<Arc<FeatureGroup>>>,
    },
    PurgeExpired {
        max_records: usize,
        reply: oneshot::Sender<Result<usize>>,
    },
}

/// State shared between the writer thread and readers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub db: DB,
    pub catalog: RwLock<Catalog>,
    pub backlog: Mutex<HashMap<u64, Backlog>>,
    pub clock: Arc<dyn Clock>,
}

/// About how many bytes the batch of `pending` takes: each put goes to the
/// online store and the offline log, with keys and headers.
fn batch_bytes(pending: &[Pending]) -> usize {
    pending
        .iter()
        .flat_map(|(ops, _)| ops.iter())
        .map(|op| match op {
            WriteOp::Put { encoded, id, .. } => 2 * (encoded.len() + id.0.len()) + 160,
            WriteOp::Delete { id, .. } => 2 * id.0.len() + 200,
        })
        .sum()
}

/// The writer thread's own state.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    write_options: WriteOptions,
    next_sequence: u64,
    /// The write time of the last offline-log entry; the next one gets a
    /// later one even when the clock has not moved.
    last_write_micros: i64,
}

type Pending = (Vec<WriteOp>, oneshot::Sender<Written>);

/// The answer to a write command: one result per op, and the ops
/// themselves, handed back so that the thread that allocated them frees
/// them (a free from another thread leaves the allocator's pages to be
/// reclaimed late, and fresh memory to be faulted in meanwhile).
#[derive(Debug)]
pub(crate) struct Written {
    pub(crate) results: Vec<Result<()>>,
    #[expect(dead_code, reason = "never read, only dropped by the receiver")]
    pub(crate) ops: Vec<WriteOp>,
}

impl Writer {
    pub(crate) fn new(shared: Arc<Shared>, durability: Durability, log_end: LogEnd) -> Self {
        let mut write_options = WriteOptions::default();
        write_options.set_sync(durability == Durability::Fsync);
        Self {
            shared,
            write_options,
            next_sequence: log_end.next_sequence,
            last_write_micros: log_end.last_write_micros,
        }
    }

    /// Runs until every sender is gone, then returns.
    pub(crate) fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        while let Some(first) = commands.blocking_recv() {
            let mut pending: Vec<Pending> = Vec::new();
            let mut pending_ops = 0;
            let mut next = Some(first);
            while let Some(command) = next.take() {
                // Writes queued before a catalog change or a purge are
                // committed before it runs.
                match command {
                    Command::Write { ops, reply } => {
                        pending_ops += ops.len();
                        pending.push((ops, reply));
                    }
                    Command::Catalog { change, reply } => {
                        self.commit_writes(std::mem::take(&mut pending));
                        pending_ops = 0;
                        let _ = reply.send(self.change_catalog(change));
                    }
                    Command::PurgeExpired { max_records, reply } => {
                        self.commit_writes(std::mem::take(&mut pending));
                        pending_ops = 0;
                        let _ = reply.send(self.purge_expired(max_records));
                    }
                }
                if pending_ops < MAX_GROUP_COMMIT_OPS {
                    next = commands.try_recv().ok();
                }
            }
            self.commit_writes(pending);
        }
    }

    fn change_catalog(&mut self, change: CatalogChange) -> Result<Arc<FeatureGroup>> {
        let shared = Arc::clone(&self.shared);
        let mut catalog = shared.catalog.write().unwrap_or_else(|e| e.into_inner());
        let mut batch = WriteBatch::default();
        let stored = change(&mut catalog, &shared.db, &mut batch)?;
        let mut options = WriteOptions::default();
        options.set_sync(true);
        shared.db.write_opt(batch, &options)?;
        let group = Arc::new(stored.group.clone());
        catalog.commit(stored);
        Ok(group)
    }

    /// Applies a group of writes in one batch and answers every caller.
    fn commit_writes(&mut self, pending: Vec<Pending>) {
        if pending.is_empty() {
            return;
        }
        let shared = Arc::clone(&self.shared);
        let first_sequence = self.next_sequence;
        // Sized up front: growing a batch of thousands of records copies
        // it over and over into fresh memory.
        let mut batch = WriteBatch::with_capacity_bytes(batch_bytes(&pending));
        let mut appended: Vec<(u64, i64)> = Vec::new();
        let mut outcomes: Vec<Vec<Result<()>>> = Vec::with_capacity(pending.len());
        let mut state = match self.prefetch(&pending) {
            Ok(state) => state,
            Err(error) => return fail_all(pending, &error),
        };
        let now = shared.clock.now_micros();
        {
            let catalog = shared.catalog.read().unwrap_or_else(|e| e.into_inner());
            let mut live_group = None;
            let mut next_ordinal = 0;
            for (ops, _) in &pending {
                let results = ops
                    .iter()
                    .map(|op| {
                        let ordinal = next_ordinal;
                        next_ordinal += 1;
                        let group_id = op.group().id;
                        if live_group != Some(group_id) {
                            if catalog.live_by_id(group_id).is_none() {
                                return Err(StoreError::GroupNotFound(op.group().name.clone()));
                            }
                            live_group = Some(group_id);
                        }
                        self.apply(op, ordinal, now, &mut state, &mut batch, &mut appended)
                    })
                    .collect();
                outcomes.push(results);
            }
        }
        {
            // Held across the write so that the flusher, which takes it to
            // trim what it flushed, never sees entries not yet counted.
            let mut backlog = shared.backlog.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(error) = shared.db.write_opt(batch, &self.write_options) {
                self.next_sequence = first_sequence;
                return fail_all(pending, &error.into());
            }
            for (group_id, api) in appended {
                backlog.entry(group_id).or_default().add(api);
            }
        }
        for ((ops, reply), results) in pending.into_iter().zip(outcomes) {
            let _ = reply.send(Written { results, ops });
        }
    }

    /// Reads, with one multi-get, the stored versions every online op of
    /// the group touches.
    fn prefetch(&self, pending: &[Pending]) -> Result<KeyStates> {
        let ops = || pending.iter().flat_map(|(ops, _)| ops.iter());
        let mut wanted: Vec<(Vec<u8>, usize)> = ops()
            .enumerate()
            .filter_map(|(ordinal, op)| match op {
                WriteOp::Put {
                    group, id, tiers, ..
                }
                | WriteOp::Delete {
                    group, id, tiers, ..
                } if tiers.online => Some((record_key(group.id, &id.0), ordinal)),
                _ => None,
            })
            .collect();
        wanted.sort_unstable();
        let mut keys: Vec<Vec<u8>> = Vec::with_capacity(wanted.len());
        let mut op_slots = vec![None; ops().count()];
        for (key, ordinal) in wanted {
            if keys.last() != Some(&key) {
                keys.push(key);
            }
            op_slots[ordinal] = Some(keys.len() - 1);
        }
        let db = &self.shared.db;
        let values = db.batched_multi_get_cf(cf(db, CF_RECORDS), &keys, true);
        let mut versions = Vec::with_capacity(keys.len());
        for value in values {
            let record = value?.map(|bytes| codec::decode(&bytes)).transpose()?;
            versions.push(record.as_ref().map(Version::of));
        }
        Ok(KeyStates {
            keys,
            versions,
            op_slots,
        })
    }

    /// Stages op number `ordinal` of the commit in `batch`.
    fn apply(
        &mut self,
        op: &WriteOp,
        ordinal: usize,
        now: i64,
        state: &mut KeyStates,
        batch: &mut WriteBatch,
        appended: &mut Vec<(u64, i64)>,
    ) -> Result<()> {
        let db = &self.shared.db;
        match op {
            WriteOp::Put {
                group,
                id,
                record,
                encoded,
                tiers,
                api_invocation_micros,
            } => {
                if tiers.online {
                    let slot = state.slot_of(ordinal)?;
                    let current = live_version(&state.versions[slot], now);
                    if current.is_none_or(|c| record.event_time_micros >= c.event_time_micros) {
                        unindex_expiry(db, batch, group.id, &id.0, &state.versions[slot]);
                        batch.put_cf(cf(db, CF_RECORDS), &state.keys[slot], encoded);
                        if let Some(expires) = record.expires_at_micros {
                            batch.put_cf(
                                cf(db, CF_EXPIRY),
                                expiry_key(expires, group.id, &id.0),
                                [],
                            );
                        }
                        state.versions[slot] = Some(Version::of(record));
                    }
                }
                if tiers.offline {
                    let header = EntryHeader {
                        group_id: group.id,
                        group_name: &group.name,
                        api_invocation_micros: *api_invocation_micros,
                        write_micros: self.next_write_micros(now),
                        is_deleted: false,
                        record_id: &id.0,
                    };
                    self.append(batch, header, encoded, appended);
                }
                Ok(())
            }
            WriteOp::Delete {
                group,
                id,
                event_time_micros,
                event_time_value,
                hard,
                tiers,
                api_invocation_micros,
            } => {
                if tiers.online {
                    let slot = state.slot_of(ordinal)?;
                    let current = live_version(&state.versions[slot], now);
                    let stale = current.is_some_and(|c| *event_time_micros < c.event_time_micros);
                    if stale && *hard {
                        return Err(StoreError::FailedPrecondition(format!(
                            "hard delete of record '{id}' is stale: its event time {} is earlier than the stored version's {}",
                            format_iso8601(*event_time_micros),
                            format_iso8601(current.map_or(0, |c| c.event_time_micros)),
                        )));
                    }
                    if !stale {
                        unindex_expiry(db, batch, group.id, &id.0, &state.versions[slot]);
                        if *hard {
                            batch.delete_cf(cf(db, CF_RECORDS), &state.keys[slot]);
                            state.versions[slot] = None;
                        } else {
                            let tombstone = Record {
                                schema_version: group.schema_version,
                                event_time_micros: *event_time_micros,
                                expires_at_micros: None,
                                tombstone: true,
                                values: Vec::new(),
                            };
                            let encoded = codec::encode(&tombstone);
                            batch.put_cf(cf(db, CF_RECORDS), &state.keys[slot], encoded);
                            state.versions[slot] = Some(Version::of(&tombstone));
                        }
                    }
                }
                if tiers.offline {
                    let entry = delete_marker(
                        group,
                        id,
                        (*event_time_micros, event_time_value.clone()),
                        *api_invocation_micros,
                        self.next_write_micros(now),
                    );
                    self.append(
                        batch,
                        entry.header(),
                        &codec::encode(&entry.record),
                        appended,
                    );
                }
                Ok(())
            }
        }
    }

    /// The write time of the next offline-log entry: the clock, but always
    /// after the entry before, so that write times follow commit order
    /// even when the clock stands still or steps back.
    fn next_write_micros(&mut self, now: i64) -> i64 {
        self.last_write_micros = now.max(self.last_write_micros.saturating_add(1));
        self.last_write_micros
    }

    /// Adds an offline-log entry (`header` around the encoded `record`) to
    /// the batch under the next sequence number.
    fn append(
        &mut self,
        batch: &mut WriteBatch,
        header: EntryHeader<'_>,
        record: &[u8],
        appended: &mut Vec<(u64, i64)>,
    ) {
        let db = &self.shared.db;
        batch.put_cf(
            cf(db, CF_OFFLINE_LOG),
            log_key(self.next_sequence),
            header.encode_with(record),
        );
        batch.put_cf(
            cf(db, CF_LOG_BY_GROUP),
            log_by_group_key(header.group_id, self.next_sequence),
            [],
        );
        self.next_sequence += 1;
        appended.push((header.group_id, header.api_invocation_micros));
    }

    /// Removes up to `max_records` expired records, each with a delete
    /// marker in the offline log; returns how many it removed.
    fn purge_expired(&mut self, max_records: usize) -> Result<usize> {
        let shared = Arc::clone(&self.shared);
        let db = &shared.db;
        let now = shared.clock.now_micros();
        let mut options = ReadOptions::default();
        options.set_iterate_upper_bound(expiry_upper_bound(now));
        let mut expired = Vec::new();
        for item in db
            .iterator_cf_opt(cf(db, CF_EXPIRY), options, IteratorMode::Start)
            .take(max_records)
        {
            let (key, _) = item?;
            expired.push(key.to_vec());
        }
        let mut batch = WriteBatch::default();
        let mut appended = Vec::new();
        let mut purged = 0;
        let catalog = shared.catalog.read().unwrap_or_else(|e| e.into_inner());
        for index_key in &expired {
            batch.delete_cf(cf(db, CF_EXPIRY), index_key);
            let Some((expires, group_id, record_id)) = parse_expiry_key(index_key) else {
                continue;
            };
            let Some(group) = catalog.live_by_id(group_id) else {
                continue;
            };
            let record_key = record_key_of_bytes(group_id, record_id);
            let Some(bytes) = db.get_pinned_cf(cf(db, CF_RECORDS), &record_key)? else {
                continue;
            };
            let record = codec::decode(&bytes)?;
            if record.expires_at_micros != Some(expires) || record.tombstone {
                continue;
            }
            batch.delete_cf(cf(db, CF_RECORDS), &record_key);
            purged += 1;
            if group.offline_enabled {
                let id = RecordId(String::from_utf8_lossy(record_id).into_owned());
                let event_time = (expires, event_time_value(group, expires));
                let write_micros = self.next_write_micros(now);
                let marker = delete_marker(group, &id, event_time, now, write_micros);
                self.append(
                    &mut batch,
                    marker.header(),
                    &codec::encode(&marker.record),
                    &mut appended,
                );
            }
        }
        drop(catalog);
        let first_sequence = self.next_sequence - appended.len() as u64;
        let mut backlog = shared.backlog.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(error) = db.write_opt(batch, &self.write_options) {
            self.next_sequence = first_sequence;
            return Err(error.into());
        }
        for (group_id, api) in appended {
            backlog.entry(group_id).or_default().add(api);
        }
        Ok(purged)
    }
}

/// Answers every caller of a group that could not be committed.
fn fail_all(pending: Vec<Pending>, error: &StoreError) {
    for (ops, reply) in pending {
        let results = ops.iter().map(|_| Err(error.clone())).collect();
        let _ = reply.send(Written { results, ops });
    }
}

/// The stored version unless it has expired (an expired record counts as
/// absent, even before the purge removes it).
fn live_version(stored: &Option<Version>, now: i64) -> Option<&Version> {
    stored
        .as_ref()
        .filter(|v| v.expires_at_micros.is_none_or(|at| at > now))
}

/// Drops the expiry-index entry of the stored version, if it has one.
fn unindex_expiry(
    db: &DB,
    batch: &mut WriteBatch,
    group_id: u64,
    id: &str,
    stored: &Option<Version>,
) {
    if let Some(expires) = stored.as_ref().and_then(|v| v.expires_at_micros) {
        batch.delete_cf(cf(db, CF_EXPIRY), expiry_key(expires, group_id, id));
    }
}

/// What the writer needs of a stored version to judge the writes after it:
/// its event time and expiry (a tombstone compares by event time too).
#[derive(Debug, Clone, Copy)]
struct Version {
    event_time_micros: i64,
    expires_at_micros: Option<i64>,
}

impl Version {
    fn of(record: &Record) -> Self {
        Self {
            event_time_micros: record.event_time_micros,
            expires_at_micros: record.expires_at_micros,
        }
    }
}

/// The event-time feature's value for an instant, in the group's type.
pub(crate) fn event_time_value(group: &FeatureGroup, micros: i64) -> Value {
    match group.features[group.event_time_index()].feature_type {
        FeatureType::Fractional => Value::Fractional(micros as f64 / MICROS_PER_SECOND as f64),
        _ => Value::String(format_iso8601(micros)),
    }
}

/// An offline delete marker: the record id and the delete's event time
/// (in micros and as the event-time feature's value), every other feature
/// null.
fn delete_marker(
    group: &FeatureGroup,
    id: &RecordId,
    (event_time_micros, event_time): (i64, Value),
    api_invocation_micros: i64,
    write_micros: i64,
) -> OfflineLogEntry {
    let mut values = vec![Value::Null; group.features.len()];
    let id_definition = &group.features[group.record_identifier_index()];
    values[group.record_identifier_index()] = match id_definition.feature_type {
        FeatureType::Integral => {
            id.0.parse()
                .map(Value::Integral)
                .unwrap_or(Value::String(id.0.clone()))
        }
        _ => Value::String(id.0.clone()),
    };
    values[group.event_time_index()] = event_time;
    OfflineLogEntry {
        group_id: group.id,
        group_name: group.name.clone(),
        api_invocation_micros,
        write_micros,
        is_deleted: true,
        record_id: id.clone(),
        record: Record {
            schema_version: group.schema_version,
            event_time_micros,
            expires_at_micros: None,
            tombstone: false,
            values,
        },
    }
}
