//! Read operations of the [`Engine`]: GetRecord, BatchGetRecord,
//! ListRecords, and reading the offline log.

use almanac_types::codec;
use almanac_types::validate::parse_record_id;
use almanac_types::{FeatureGroup, Record, Value};
use rocksdb::{Direction, IteratorMode, ReadOptions};

use crate::db::cf;
use crate::engine::Engine;
use crate::error::{Result, StoreError};
use crate::keys::{
    CF_OFFLINE_LOG, CF_RECORDS, group_record_range, log_key, parse_log_key, record_id_of_key,
    record_key,
};
use crate::offline_log::OfflineLogEntry;

/// A live record as reads return it: its non-null features, projected.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordView {
    pub values: Vec<(String, Value)>,
    pub expires_at_micros: Option<i64>,
}

/// One group's part of a BatchGetRecord.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchGetRequest {
    pub group: String,
    pub record_ids: Vec<String>,
    pub features: Vec<String>,
}

/// What BatchGetRecord found.
#[derive(Debug, Default)]
pub struct BatchGetOutcome {
    /// (group, record id as sent, record)
    pub records: Vec<(String, String, RecordView)>,
    /// (group, record id as sent, error)
    pub errors: Vec<(String, String, StoreError)>,
    /// Identifiers beyond the cap, to be asked for again.
    pub unprocessed: Vec<BatchGetRequest>,
}

/// One entry of ListRecords.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedRecord {
    pub record_id: String,
    pub event_time_micros: i64,
    pub soft_deleted: bool,
}

/// Largest ListRecords page.
pub const MAX_LIST_PAGE: usize = 1000;

/// Stored entries one ListRecords page examines at most. Expired and
/// (unless asked for) soft-deleted records are skipped, so without a bound
/// a group of mostly deleted records would make one call walk all of them;
/// with it, a page can come back short, even empty, with a token to go on.
pub const MAX_LIST_SCAN: usize = 10_000;

impl Engine {
    fn online_group(&self, name: &str) -> Result<std::sync::Arc<FeatureGroup>> {
        let group = self.group(name)?;
        if !group.online_enabled {
            return Err(StoreError::FailedPrecondition(format!(
                "feature group '{name}' has no online store; query its offline store with SQL"
            )));
        }
        Ok(group)
    }

    /// The latest live version of a record, projected to `features` (all
    /// when empty); `None` when there is none.
    pub fn get_record(
        &self,
        group: &str,
        record_id: &str,
        features: &[String],
    ) -> Result<Option<RecordView>> {
        let group = self.online_group(group)?;
        let projection = projection(&group, features)?;
        let id = parse_record_id(&group, record_id, &self.limits)?;
        let db = &self.shared.db;
        let stored = db.get_pinned_cf(cf(db, CF_RECORDS), record_key(group.id, &id.0))?;
        let Some(bytes) = stored else { return Ok(None) };
        let record = codec::decode(&bytes)?;
        Ok(self.view(&group, &projection, record))
    }

    fn view(
        &self,
        group: &FeatureGroup,
        projection: &[usize],
        mut record: Record,
    ) -> Option<RecordView> {
        if record.tombstone || record.is_expired(self.now_micros()) {
            return None;
        }
        // Values move out of the decoded record: nothing is copied twice.
        let values = projection
            .iter()
            .filter_map(|&i| match record.values.get_mut(i).map(std::mem::take) {
                None | Some(Value::Null) => None,
                Some(value) => Some((group.features[i].name.clone(), value)),
            })
            .collect();
        Some(RecordView {
            values,
            expires_at_micros: record.expires_at_micros,
        })
    }

    /// Reads many records across groups with RocksDB's multi-get. Errors
    /// are per identifier; identifiers over the cap come back unprocessed.
    pub fn batch_get_records(&self, requests: Vec<BatchGetRequest>) -> BatchGetOutcome {
        let mut outcome = BatchGetOutcome::default();
        let mut budget = self.limits.max_batch_get_records;
        for mut request in requests {
            if request.record_ids.len() > budget {
                let rest = request.record_ids.split_off(budget);
                outcome.unprocessed.push(BatchGetRequest {
                    record_ids: rest,
                    ..request.clone()
                });
            }
            budget -= request.record_ids.len();
            if !request.record_ids.is_empty() {
                self.batch_get_group(request, &mut outcome);
            }
        }
        outcome
    }

    fn batch_get_group(&self, request: BatchGetRequest, outcome: &mut BatchGetOutcome) {
        let checked = self
            .online_group(&request.group)
            .and_then(|group| projection(&group, &request.features).map(|p| (group, p)));
        let (group, projection) = match checked {
            Ok(checked) => checked,
            Err(error) => {
                for id in request.record_ids {
                    outcome
                        .errors
                        .push((request.group.clone(), id, error.clone()));
                }
                return;
            }
        };
        let mut keys = Vec::with_capacity(request.record_ids.len());
        let mut asked = Vec::with_capacity(request.record_ids.len());
        for id in request.record_ids {
            match parse_record_id(&group, &id, &self.limits) {
                Ok(parsed) => {
                    keys.push(record_key(group.id, &parsed.0));
                    asked.push(id);
                }
                Err(error) => outcome
                    .errors
                    .push((request.group.clone(), id, error.into())),
            }
        }
        let db = &self.shared.db;
        let values = db.batched_multi_get_cf(cf(db, CF_RECORDS), &keys, false);
        for (id, value) in asked.into_iter().zip(values) {
            let decoded = value.map_err(StoreError::from).and_then(|v| {
                v.map(|bytes| codec::decode(&bytes).map_err(StoreError::from))
                    .transpose()
            });
            match decoded {
                Ok(Some(record)) => {
                    if let Some(view) = self.view(&group, &projection, record) {
                        outcome.records.push((request.group.clone(), id, view));
                    }
                }
                Ok(None) => {}
                Err(error) => outcome.errors.push((request.group.clone(), id, error)),
            }
        }
    }

    /// A page of the record ids in the online store, in key order. The
    /// token is the last id the previous page examined: a page that hit
    /// [`MAX_LIST_SCAN`] before filling up ends early and carries a token
    /// even when it holds no record.
    pub fn list_records(
        &self,
        group: &str,
        page_size: usize,
        page_token: Option<&str>,
        include_soft_deleted: bool,
    ) -> Result<(Vec<ListedRecord>, Option<String>)> {
        let group = self.online_group(group)?;
        let page_size = page_size.clamp(1, MAX_LIST_PAGE);
        let (start, end) = group_record_range(group.id);
        let from = match page_token {
            Some(token) => {
                let mut key = record_key(group.id, &decode_token(token)?);
                key.push(0);
                key
            }
            None => start,
        };
        let mut options = ReadOptions::default();
        options.set_iterate_upper_bound(end);
        let db = &self.shared.db;
        let now = self.now_micros();
        let mut page = Vec::new();
        // The key of the last entry examined, kept once the page stops
        // early; the iterator hands each key over owned, so nothing is
        // copied per entry.
        let mut resume_after = None;
        let mut examined = None;
        for (scanned, item) in db
            .iterator_cf_opt(
                cf(db, CF_RECORDS),
                options,
                IteratorMode::From(&from, Direction::Forward),
            )
            .enumerate()
        {
            let (key, value) = item?;
            if page.len() == page_size || scanned == MAX_LIST_SCAN {
                resume_after = examined;
                break;
            }
            let record = codec::decode(&value)?;
            if !(record.is_expired(now) || (record.tombstone && !include_soft_deleted)) {
                page.push(ListedRecord {
                    record_id: String::from_utf8_lossy(record_id_of_key(&key)).into_owned(),
                    event_time_micros: record.event_time_micros,
                    soft_deleted: record.tombstone,
                });
            }
            examined = Some(key);
        }
        let token = resume_after.map(|key: Box<[u8]>| encode_token(record_id_of_key(&key)));
        Ok((page, token))
    }

    /// Up to `limit` offline-log entries from sequence `from` on, with their
    /// sequence numbers, in arrival order.
    pub fn read_offline_log(&self, from: u64, limit: usize) -> Result<Vec<(u64, OfflineLogEntry)>> {
        let db = &self.shared.db;
        let start = log_key(from);
        let mut entries = Vec::new();
        for item in db
            .iterator_cf(
                cf(db, CF_OFFLINE_LOG),
                IteratorMode::From(&start, Direction::Forward),
            )
            .take(limit)
        {
            let (key, value) = item?;
            let sequence =
                parse_log_key(&key).ok_or_else(|| StoreError::Corrupt("offline log key".into()))?;
            entries.push((sequence, OfflineLogEntry::decode(&value)?));
        }
        Ok(entries)
    }
}

/// Positions of the projected features; every feature when none is named.
fn projection(group: &FeatureGroup, features: &[String]) -> Result<Vec<usize>> {
    if features.is_empty() {
        return Ok((0..group.features.len()).collect());
    }
    features
        .iter()
        .map(|name| {
            group
                .require_feature(name)
                .map(|(i, _)| i)
                .map_err(StoreError::from)
        })
        .collect()
}

fn encode_token(record_id: &[u8]) -> String {
    record_id.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_token(token: &str) -> Result<String> {
    let bad = || {
        StoreError::Invalid(format!(
            "page_token '{token}' is not a token this server issued"
        ))
    };
    if !token.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| {
            token
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)?;
    String::from_utf8(bytes).map_err(|_| bad())
}
