//! The offline log by group (`offline_log_by_group`): one empty key per log
//! entry, `<group id><sequence>`, written in the same batch as the entry
//! and trimmed with it. It lets a query, a group purge and the backlog
//! bookkeeping read one group's entries without reading the others'.

use rocksdb::{DB, Direction, IteratorMode, ReadOptions, WriteBatch};

use crate::db::cf;
use crate::error::{Result, StoreError};
use crate::keys::{
    CF_CATALOG, CF_LOG_BY_GROUP, CF_OFFLINE_LOG, LOG_BY_GROUP_BUILT_KEY, group_record_range,
    log_by_group_key, parse_log_key, sequence_of_log_by_group_key,
};
use crate::offline_log::OfflineLogEntry;

/// The sequences of `group_id`'s entries still in the log, in log order,
/// as `options` (e.g. a snapshot) sees them.
pub(crate) fn group_log_sequences(
    db: &DB,
    group_id: u64,
    options: ReadOptions,
) -> Result<Vec<u64>> {
    group_log_sequences_from(db, group_id, 0, options, usize::MAX)
}

/// Up to `limit` sequences of `group_id`'s entries from sequence `from` on.
pub(crate) fn group_log_sequences_from(
    db: &DB,
    group_id: u64,
    from: u64,
    mut options: ReadOptions,
    limit: usize,
) -> Result<Vec<u64>> {
    let (_, end) = group_record_range(group_id);
    options.set_iterate_upper_bound(end);
    let start = log_by_group_key(group_id, from);
    let mut sequences = Vec::new();
    for item in db
        .iterator_cf_opt(
            cf(db, CF_LOG_BY_GROUP),
            options,
            IteratorMode::From(&start, Direction::Forward),
        )
        .take(limit)
    {
        let (key, _) = item?;
        let sequence = sequence_of_log_by_group_key(&key)
            .ok_or_else(|| StoreError::Corrupt("offline log index key".into()))?;
        sequences.push(sequence);
    }
    Ok(sequences)
}

/// Indexes the whole log once, for a store written before the index
/// existed; a no-op afterwards.
pub(crate) fn build_if_missing(db: &DB) -> Result<()> {
    if db
        .get_cf(cf(db, CF_CATALOG), LOG_BY_GROUP_BUILT_KEY)?
        .is_some()
    {
        return Ok(());
    }
    let mut batch = WriteBatch::default();
    let mut indexed = 0usize;
    for item in db.iterator_cf(cf(db, CF_OFFLINE_LOG), IteratorMode::Start) {
        let (key, value) = item?;
        let sequence =
            parse_log_key(&key).ok_or_else(|| StoreError::Corrupt("offline log key".into()))?;
        let (group_id, _) = OfflineLogEntry::decode_header(&value)?;
        batch.put_cf(
            cf(db, CF_LOG_BY_GROUP),
            log_by_group_key(group_id, sequence),
            [],
        );
        indexed += 1;
        if batch.len() >= 65_536 {
            db.write(std::mem::take(&mut batch))?;
        }
    }
    batch.put_cf(cf(db, CF_CATALOG), LOG_BY_GROUP_BUILT_KEY, []);
    db.write(batch)?;
    if indexed > 0 {
        tracing::info!(entries = indexed, "indexed the offline log by group");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use almanac_types::time::ManualClock;
    use almanac_types::{FeatureDefinition, FeatureGroupSpec, FeatureType, InputValue};

    use super::*;
    use crate::engine::{Engine, EngineConfig, PutEntry};
    use crate::flush_state::FlushPlan;

    fn spec(name: &str) -> FeatureGroupSpec {
        FeatureGroupSpec {
            name: name.into(),
            record_identifier: "id".into(),
            event_time: "ts".into(),
            features: vec![
                FeatureDefinition::scalar("id", FeatureType::String),
                FeatureDefinition::scalar("ts", FeatureType::Fractional),
            ],
            online_enabled: true,
            default_ttl_seconds: None,
            offline_enabled: true,
            description: String::new(),
            tags: vec![],
        }
    }

    async fn put(engine: &Engine, group: &str, id: &str) {
        engine
            .put_record(PutEntry {
                group: group.into(),
                values: vec![
                    ("id".into(), InputValue::String(id.into())),
                    ("ts".into(), InputValue::Fractional(1.0)),
                ],
                target_stores: None,
                ttl_seconds: None,
            })
            .await
            .unwrap();
    }

    fn pending_ids(engine: &Engine, group_id: u64) -> Vec<String> {
        let view = engine.offline_view(group_id).unwrap();
        view.pending.into_iter().map(|e| e.record_id.0).collect()
    }

    fn index_len(engine: &Engine) -> usize {
        let db = &engine.shared.db;
        db.iterator_cf(cf(db, CF_LOG_BY_GROUP), IteratorMode::Start)
            .count()
    }

    #[tokio::test]
    async fn a_group_reads_purges_and_flushes_only_its_own_entries() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = EngineConfig::new(dir.path());
        config.clock = Arc::new(ManualClock::new(0));
        config.block_cache_bytes = 8 << 20;
        let engine = Engine::open(config).unwrap();
        let a = engine.create_group(spec("a")).await.unwrap();
        let b = engine.create_group(spec("b")).await.unwrap();
        let c = engine.create_group(spec("c")).await.unwrap();
        for (group, id) in [
            ("a", "a1"),
            ("b", "b1"),
            ("a", "a2"),
            ("c", "c1"),
            ("b", "b2"),
        ] {
            put(&engine, group, id).await;
        }
        assert_eq!(pending_ids(&engine, a.id), ["a1", "a2"]);
        assert_eq!(pending_ids(&engine, b.id), ["b1", "b2"]);
        assert_eq!(index_len(&engine), 5);

        // A store from before the index: rebuilt, in log order, at start.
        {
            let db = &engine.shared.db;
            let (start, end) = (log_by_group_key(0, 0), log_by_group_key(u64::MAX, 0));
            db.delete_range_cf(cf(db, CF_LOG_BY_GROUP), start, end)
                .unwrap();
            db.delete_cf(cf(db, CF_CATALOG), LOG_BY_GROUP_BUILT_KEY)
                .unwrap();
            assert_eq!(pending_ids(&engine, a.id), Vec::<String>::new());
            build_if_missing(db).unwrap();
            build_if_missing(db).unwrap();
        }
        assert_eq!(pending_ids(&engine, a.id), ["a1", "a2"]);
        assert_eq!(index_len(&engine), 5);

        // Purging a deleted group takes its entries and only those.
        engine.delete_group("c", true).await.unwrap();
        assert_eq!(pending_ids(&engine, c.id), Vec::<String>::new());
        assert_eq!(index_len(&engine), 4);
        assert_eq!(engine.offline_backlog_total(), 4);

        // A flush of the first three sequences trims their index entries.
        let plan = FlushPlan { first: 0, last: 2 };
        engine.begin_flush(plan).unwrap();
        engine.commit_flush(plan, &[], 0).unwrap();
        assert_eq!(pending_ids(&engine, a.id), Vec::<String>::new());
        assert_eq!(pending_ids(&engine, b.id), ["b2"]);
        assert_eq!(index_len(&engine), 1);
        assert_eq!(engine.offline_backlog(b.id).entries, 1);
    }
}
