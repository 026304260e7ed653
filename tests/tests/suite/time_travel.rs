//! Time travel against a brute-force model: random histories with ties on
//! event time (across calls and within one batch), delete markers and
//! out-of-order event times, partly flushed to Parquet and partly still in
//! the log, queried at and around every event time. The server's clock
//! steps back now and then, so a later call can carry an earlier
//! `api_invocation_time`: ties still go to the version committed last, as
//! online.

use almanac_client::DeletionMode;
use almanac_client::proto as pb;
use almanac_tests::fixtures::{batch_entry, review, stars};
use almanac_tests::sql::query;
use almanac_tests::{TestServer, with_flushes};
use almanac_types::time::format_iso8601;
use proptest::prelude::*;

const HOUR: i64 = 3_600_000_000;
const BASE: i64 = 1_772_323_200_000_000; // 2026-03-01T00:00:00Z

#[derive(Debug, Clone)]
enum Op {
    /// Writes one version per entry, in one BatchWriteRecord call.
    Batch(Vec<(u8, i64, i64)>),
    Delete(u8, i64),
    /// Gives the flusher time to move what is in the log to Parquet.
    Pause,
    /// Steps the server's clock back an hour, as a wall clock corrected
    /// by NTP does.
    ClockBack,
}

fn op() -> impl Strategy<Value = Op> {
    let version = (0u8..4, 0i64..6, 0i64..100);
    prop_oneof![
        4 => prop::collection::vec(version, 1..4).prop_map(Op::Batch),
        1 => (0u8..4, 0i64..6).prop_map(|(id, hour)| Op::Delete(id, hour)),
        1 => Just(Op::Pause),
        1 => Just(Op::ClockBack),
    ]
}

/// `(id, event time, stars or None for a delete marker)`, in commit order.
type History = Vec<(u8, i64, Option<i64>)>;

fn expected(history: &History, instant: i64) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for id in 0u8..4 {
        let chosen = history
            .iter()
            .filter(|(i, event, _)| *i == id && *event <= instant)
            // max_by_key keeps the last of equal keys: the later arrival.
            .max_by_key(|(_, event, _)| *event);
        if let Some((_, _, Some(stars))) = chosen {
            rows.push(vec![format!("r{id}"), stars.to_string()]);
        }
    }
    rows
}

async fn check(ops: Vec<Op>) {
    let server = TestServer::start_with(with_flushes).await;
    almanac_tests::fixtures::create_reviews(&server.client, "reviews").await;
    let mut history: History = Vec::new();
    for op in ops {
        match op {
            Op::Batch(versions) => {
                let entries = versions
                    .iter()
                    .map(|&(id, hour, stars)| {
                        let time = format_iso8601(BASE + hour * HOUR);
                        batch_entry("reviews", review(&format!("r{id}"), &time, stars))
                    })
                    .collect();
                let response = server
                    .client
                    .batch_write_record(pb::BatchWriteRecordRequest { entries })
                    .await
                    .unwrap();
                assert_eq!(response.written as usize, versions.len());
                history.extend(
                    versions
                        .iter()
                        .map(|&(id, hour, stars)| (id, BASE + hour * HOUR, Some(stars))),
                );
            }
            Op::Delete(id, hour) => {
                let time = format_iso8601(BASE + hour * HOUR);
                server
                    .client
                    .delete_record("reviews", &format!("r{id}"), &time, DeletionMode::Soft)
                    .await
                    .unwrap();
                history.push((id, BASE + hour * HOUR, None));
            }
            Op::Pause => tokio::time::sleep(std::time::Duration::from_millis(120)).await,
            Op::ClockBack => server.clock.advance(-HOUR),
        }
    }
    // Online, the latest version of each id (ties to the one committed
    // last) is the record GetRecord returns, unless it is a delete marker.
    let latest = expected(&history, i64::MAX);
    for id in 0u8..4 {
        let record_id = format!("r{id}");
        let online = stars(
            &server
                .client
                .get_record("reviews", &record_id, &[])
                .await
                .unwrap(),
        );
        let offline = latest
            .iter()
            .find(|row| row[0] == record_id)
            .map(|row| row[1].parse::<i64>().unwrap());
        assert_eq!(online, offline, "GetRecord {record_id}\n{history:?}");
    }
    for hour in -1..7 {
        for instant in [BASE + hour * HOUR - 1, BASE + hour * HOUR] {
            let sql = format!(
                "SELECT review_id, star_rating FROM as_of('reviews', TIMESTAMP '{}') ORDER BY review_id",
                format_iso8601(instant)
            );
            assert_eq!(
                query(&server.client, &sql).await,
                expected(&history, instant),
                "{sql}\n{history:?}"
            );
        }
    }
    let instant = BASE + 3 * HOUR;
    let sql = format!(
        "SELECT review_id, star_rating FROM reviews FOR SYSTEM_TIME AS OF TIMESTAMP '{}' ORDER BY review_id",
        format_iso8601(instant)
    );
    assert_eq!(
        query(&server.client, &sql).await,
        expected(&history, instant),
        "{sql}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn as_of_matches_the_model(ops in prop::collection::vec(op(), 1..25)) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(check(ops));
    }
}
