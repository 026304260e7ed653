//! The online tier against a brute-force model: random sequences of puts
//! (with ties and out-of-order event times, with and without TTL), soft and
//! hard deletes, clock moves and purges. After every step, every record
//! reads as the model says, and the offline log holds exactly the entries
//! the model expects, in order.

use std::collections::BTreeMap;
use std::sync::Arc;

use almanac_online::purge_all_expired;
use almanac_online::{DeleteRequest, Engine, EngineConfig, PutEntry, StoreError};
use almanac_types::time::ManualClock;
use almanac_types::{FeatureDefinition, FeatureGroupSpec, FeatureType, InputValue, Value};
use proptest::prelude::*;

const SECOND: i64 = 1_000_000;
const IDS: [&str; 3] = ["a", "b", "c"];

#[derive(Debug, Clone)]
enum Op {
    Put {
        id: usize,
        time: i64,
        stars: i64,
        ttl: Option<u64>,
    },
    Delete {
        id: usize,
        time: i64,
        hard: bool,
    },
    Advance {
        seconds: i64,
    },
    Purge,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 0..6i64, 0..100i64, prop::option::of(1..4u64))
            .prop_map(|(id, time, stars, ttl)| Op::Put { id, time, stars, ttl }),
        2 => (0..3usize, 0..6i64, any::<bool>()).prop_map(|(id, time, hard)| Op::Delete { id, time, hard }),
        1 => (0..3i64).prop_map(|seconds| Op::Advance { seconds }),
        1 => Just(Op::Purge),
    ]
}

/// What the model keeps per record id.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Stored {
    time: i64,
    expires: Option<i64>,
    tombstone: bool,
    stars: i64,
}

/// (record id, event time in micros, is_deleted, stars)
type LogEntry = (String, i64, bool, Option<i64>);

#[derive(Debug, Default)]
struct Model {
    now: i64,
    records: BTreeMap<usize, Stored>,
    log: Vec<LogEntry>,
}

impl Model {
    fn live(&self, id: usize) -> Option<Stored> {
        self.records
            .get(&id)
            .copied()
            .filter(|r| r.expires.is_none_or(|e| e > self.now))
    }

    /// Applies an op; whether the engine should refuse it.
    fn apply(&mut self, op: &Op) -> bool {
        match *op {
            Op::Put {
                id,
                time,
                stars,
                ttl,
            } => {
                let time = time * SECOND;
                if self.live(id).is_none_or(|c| time >= c.time) {
                    let expires = ttl.map(|t| time + t as i64 * SECOND);
                    self.records.insert(
                        id,
                        Stored {
                            time,
                            expires,
                            tombstone: false,
                            stars,
                        },
                    );
                }
                self.log.push((IDS[id].into(), time, false, Some(stars)));
                false
            }
            Op::Delete { id, time, hard } => {
                let time = time * SECOND;
                let stale = self.live(id).is_some_and(|c| time < c.time);
                if stale && hard {
                    return true;
                }
                if !stale {
                    if hard {
                        self.records.remove(&id);
                    } else {
                        self.records.insert(
                            id,
                            Stored {
                                time,
                                expires: None,
                                tombstone: true,
                                stars: 0,
                            },
                        );
                    }
                }
                self.log.push((IDS[id].into(), time, true, None));
                false
            }
            Op::Advance { seconds } => {
                self.now += seconds * SECOND;
                false
            }
            Op::Purge => {
                let mut expired: Vec<(i64, usize)> = self
                    .records
                    .iter()
                    .filter(|(_, r)| !r.tombstone && r.expires.is_some_and(|e| e <= self.now))
                    .map(|(&id, r)| (r.expires.unwrap_or_default(), id))
                    .collect();
                expired.sort();
                for (expires, id) in expired {
                    self.records.remove(&id);
                    self.log.push((IDS[id].into(), expires, true, None));
                }
                false
            }
        }
    }

    fn reads(&self, id: usize) -> Option<i64> {
        self.live(id).filter(|r| !r.tombstone).map(|r| r.stars)
    }
}

fn spec() -> FeatureGroupSpec {
    FeatureGroupSpec {
        name: "model".into(),
        record_identifier: "id".into(),
        event_time: "ts".into(),
        features: vec![
            FeatureDefinition::scalar("id", FeatureType::String),
            FeatureDefinition::scalar("ts", FeatureType::Fractional),
            FeatureDefinition::scalar("stars", FeatureType::Integral),
        ],
        online_enabled: true,
        default_ttl_seconds: None,
        offline_enabled: true,
        description: String::new(),
        tags: vec![],
    }
}

/// An engine on `dir`, reading `clock`, with the `model` group.
async fn open_engine(dir: &std::path::Path, clock: &ManualClock) -> Engine {
    let mut config = EngineConfig::new(dir);
    config.clock = Arc::new(clock.clone());
    config.block_cache_bytes = 8 << 20;
    let engine = Engine::open(config).unwrap();
    engine.create_group(spec()).await.unwrap();
    engine
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(0);
    let engine = open_engine(dir.path(), &clock).await;
    let mut model = Model::default();

    for op in &ops {
        let refused = model.apply(op);
        match *op {
            Op::Put {
                id,
                time,
                stars,
                ttl,
            } => {
                let values = vec![
                    ("id".to_string(), InputValue::String(IDS[id].into())),
                    ("ts".to_string(), InputValue::Fractional(time as f64)),
                    ("stars".to_string(), InputValue::Integral(stars)),
                ];
                let entry = PutEntry {
                    group: "model".into(),
                    values,
                    target_stores: None,
                    ttl_seconds: ttl,
                };
                engine.put_record(entry).await.unwrap();
            }
            Op::Delete { id, time, hard } => {
                let request = DeleteRequest {
                    group: "model".into(),
                    record_id: IDS[id].into(),
                    event_time: time.to_string(),
                    hard,
                    target_stores: None,
                };
                let result = engine.delete_record(request).await;
                prop_assert_eq!(
                    refused,
                    matches!(result, Err(StoreError::FailedPrecondition(_))),
                    "{:?} {:?}",
                    op,
                    result
                );
            }
            Op::Advance { seconds } => clock.advance(seconds * SECOND),
            Op::Purge => {
                purge_all_expired(&engine).await.unwrap();
            }
        }
        for (id, name) in IDS.iter().enumerate() {
            let read = engine
                .get_record("model", name, &["stars".to_string()])
                .unwrap();
            let stars = read.and_then(|view| match view.values.first() {
                Some((_, Value::Integral(stars))) => Some(*stars),
                _ => None,
            });
            prop_assert_eq!(stars, model.reads(id), "record {} after {:?}", name, op);
        }
    }
    let log: Vec<LogEntry> = engine
        .read_offline_log(0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, e)| {
            let stars = match e.record.value(2) {
                Value::Integral(v) => Some(*v),
                _ => None,
            };
            (
                e.record_id.0,
                e.record.event_time_micros,
                e.is_deleted,
                stars,
            )
        })
        .collect();
    prop_assert_eq!(log, model.log);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn online_tier_matches_the_model(ops in prop::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(run(ops))?;
    }
}

/// A group whose stored records are mostly expired: each ListRecords page
/// stops after examining `MAX_LIST_SCAN` entries, short or even empty but
/// with a token, and paging on still lists every live id exactly once.
#[test]
fn listing_skips_a_bounded_number_of_dead_records_per_page() {
    use almanac_online::{MAX_LIST_PAGE, MAX_LIST_SCAN};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(0);
        let engine = open_engine(dir.path(), &clock).await;
        let entry = |id: String, ttl: Option<u64>| PutEntry {
            group: "model".into(),
            values: vec![
                ("id".to_string(), InputValue::String(id)),
                ("ts".to_string(), InputValue::Fractional(1.0)),
                ("stars".to_string(), InputValue::Integral(1)),
            ],
            target_stores: None,
            ttl_seconds: ttl,
        };
        // Live ids sort before, between and after the expiring ones.
        let live = ["a-first", "m-middle", "z-last"];
        let expiring = 2 * MAX_LIST_SCAN + 500;
        for chunk in (0..expiring).collect::<Vec<_>>().chunks(1_000) {
            let entries = chunk
                .iter()
                .map(|i| {
                    entry(
                        format!("{}-{i:06}", if *i % 2 == 0 { "e" } else { "p" }),
                        Some(1),
                    )
                })
                .collect();
            for result in engine.put_records(entries).await.unwrap() {
                result.unwrap();
            }
        }
        clock.advance(2 * SECOND);
        for id in live {
            engine.put_record(entry(id.into(), None)).await.unwrap();
        }

        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        let mut short_pages_with_token = 0;
        loop {
            let (page, next) = engine
                .list_records("model", MAX_LIST_PAGE, token.as_deref(), false)
                .unwrap();
            pages += 1;
            assert!(
                pages <= expiring / MAX_LIST_SCAN + 3,
                "listing does not end"
            );
            if next.is_some() && page.len() < MAX_LIST_PAGE {
                short_pages_with_token += 1;
            }
            seen.extend(page.into_iter().map(|r| r.record_id));
            match next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, live);
        assert!(
            short_pages_with_token >= 2,
            "{short_pages_with_token} short pages"
        );
    });
}
