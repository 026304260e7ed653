//! Point-in-time datasets: a hand-written golden case that documents every
//! rule, the errors a bad request gets, and a property test against a
//! brute-force model on random histories.

use std::sync::Arc;

use almanac_client::Client;
use almanac_client::DeletionMode;
use almanac_client::dataset::{DatasetRequest, FeatureSelection};
use almanac_client::proto as pb;
use almanac_client::values::feature;
use almanac_tests::dataset::{dataset, dataset_error};
use almanac_tests::fixtures::{code, group_request, message};
use almanac_tests::{TestServer, with_flushes};
use almanac_types::time::{format_iso8601, parse_iso8601};
use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use pb::FeatureType as T;
use proptest::prelude::*;

const MINUTE: i64 = 60_000_000;
const HOUR: i64 = 60 * MINUTE;
const BASE: i64 = 1_772_323_200_000_000; // 2026-03-01T00:00:00Z

fn at(offset: i64) -> String {
    format_iso8601(BASE + offset)
}

/// The entity table: a driver, a customer and a time per row.
fn entities(rows: &[(Option<i64>, Option<&str>, i64)]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("driver_id", DataType::Int64, true),
        Field::new("customer_id", DataType::Utf8, true),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]));
    let drivers: ArrayRef = Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.0)));
    let customers: ArrayRef = Arc::new(StringArray::from_iter(rows.iter().map(|r| r.1)));
    let times: ArrayRef = Arc::new(
        TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| BASE + r.2))
            .with_timezone("UTC"),
    );
    RecordBatch::try_new(schema, vec![drivers, customers, times]).unwrap()
}

fn selection(group: &str, features: &[&str], ttl: Option<&str>) -> FeatureSelection {
    FeatureSelection {
        group: group.into(),
        features: features.iter().map(|f| f.to_string()).collect(),
        ttl: ttl.map(str::to_owned),
        entity_column: None,
    }
}

async fn put(client: &Client, group: &str, record: Vec<pb::FeatureValue>) {
    client.put_record(group, record).await.expect("put record");
}

/// Writes the golden histories. Every write before the clock moves is
/// written at 00:00 wall-clock time; the correction of driver 1001 at
/// 02:00 and driver 1003 arrive an hour later, after `written_before` of
/// the last request.
async fn golden_histories(server: &TestServer) {
    let client = &server.client;
    client
        .create_feature_group(group_request(
            "driver_stats",
            ("driver_id", T::Integral),
            &[
                ("conv_rate", T::Fractional),
                ("trips", T::Integral),
                ("city", T::String),
            ],
        ))
        .await
        .unwrap();
    client
        .create_feature_group(group_request(
            "customer_profile",
            ("customer_id", T::String),
            &[("city", T::String), ("lifetime_value", T::Fractional)],
        ))
        .await
        .unwrap();
    let driver = |id: i64, time: i64, conv: Option<f64>, trips: i64| {
        let mut record = vec![
            feature("driver_id", id),
            feature("event_time", at(time).as_str()),
            feature("trips", trips),
            feature("city", if id == 1002 { "Porto" } else { "Lisbon" }),
        ];
        if let Some(conv) = conv {
            record.push(feature("conv_rate", conv));
        }
        record
    };
    put(client, "driver_stats", driver(1001, 0, Some(0.5), 10)).await;
    put(
        client,
        "driver_stats",
        driver(1001, 2 * HOUR, Some(0.6), 12),
    )
    .await;
    // Its conv_rate left out: null in this version.
    put(client, "driver_stats", driver(1001, 5 * HOUR, None, 20)).await;
    put(client, "driver_stats", driver(1002, HOUR, Some(0.3), 3)).await;
    let customer = |id: &str, time: i64, city: &str, value: f64| {
        vec![
            feature("customer_id", id),
            feature("event_time", at(time).as_str()),
            feature("city", city),
            feature("lifetime_value", value),
        ]
    };
    put(
        client,
        "customer_profile",
        customer("c1", 0, "Lisbon", 100.0),
    )
    .await;
    put(
        client,
        "customer_profile",
        customer("c1", 3 * HOUR, "Porto", 150.0),
    )
    .await;
    put(
        client,
        "customer_profile",
        customer("c2", HOUR, "Faro", 20.0),
    )
    .await;
    // Part of the history in Parquet, part still in the log.
    server.wait_flushed().await;
    client
        .delete_record("driver_stats", "1002", &at(3 * HOUR), DeletionMode::Soft)
        .await
        .unwrap();
    server.clock.advance(HOUR);
    // A correction of the 02:00 version: same event time, later arrival.
    put(
        client,
        "driver_stats",
        driver(1001, 2 * HOUR, Some(0.65), 12),
    )
    .await;
    put(
        client,
        "driver_stats",
        driver(1003, 4 * HOUR, Some(0.9), 40),
    )
    .await;
}

/// The entity rows of the golden case, each with the rule it shows.
const GOLDEN_ROWS: [(Option<i64>, Option<&str>, i64); 12] = [
    // 0: the version at 00:00 is the latest at 01:00.
    (Some(1001), Some("c1"), HOUR),
    // 1: a row at exactly an event time sees that version; of the two
    //    versions at 02:00, the one that arrived last (the correction).
    (Some(1001), Some("c2"), 2 * HOUR),
    // 2: one microsecond before 02:00: still the 00:00 version.
    (Some(1001), Some("c1"), 2 * HOUR - 1),
    // 3: the 05:00 version has no conv_rate: null, not the older 0.65.
    (Some(1001), Some("c1"), 6 * HOUR),
    // 4: driver 1002's version at 01:00.
    (Some(1002), Some("c2"), 2 * HOUR),
    // 5: driver 1002 was deleted at 03:00: nulls.
    (Some(1002), Some("c3"), 3 * HOUR),
    // 6: before driver 1002's first version: nulls.
    (Some(1002), Some("c1"), 30 * MINUTE),
    // 7: an id that was never written: nulls; a null customer id too.
    (Some(9999), None, 5 * HOUR),
    // 8: a duplicate of row 0: the same answer, its own output row.
    (Some(1001), Some("c1"), HOUR),
    // 9: driver 1003, written later.
    (Some(1003), Some("c1"), 4 * HOUR),
    // 10: the 02:00 version is exactly 2 h old: inside a 2 h look-back.
    (Some(1001), Some("c1"), 4 * HOUR),
    // 11: one microsecond later it is too old for a 2 h look-back.
    (Some(1001), Some("c1"), 4 * HOUR + 1),
];

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// Rows written as lines of space-separated cells.
fn table(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(str::split_whitespace)
        .map(|cells| cells.map(str::to_owned).collect::<Vec<_>>())
        .filter(|cells| !cells.is_empty())
        .collect()
}

#[tokio::test]
async fn golden_case_documents_the_rules() {
    let server = TestServer::start_with(with_flushes).await;
    golden_histories(&server).await;
    let client = &server.client;
    let request = DatasetRequest {
        features: vec![
            selection("driver_stats", &["conv_rate", "trips", "city"], None),
            selection("customer_profile", &["city", "lifetime_value"], None),
        ],
        ..Default::default()
    };
    let (columns, rows) = dataset(client, &request, entities(&GOLDEN_ROWS)).await;
    // Entity columns first, as sent; `city` is in both groups, so both are
    // prefixed with their group.
    assert_eq!(
        columns,
        [
            "driver_id",
            "customer_id",
            "event_time",
            "conv_rate",
            "trips",
            "driver_stats__city",
            "customer_profile__city",
            "lifetime_value"
        ]
    );
    // driver_id customer_id event_time conv_rate trips driver_stats__city
    // customer_profile__city lifetime_value, one entity row a line.
    let expected = table(
        "
         1001 c1 2026-03-01T01:00:00Z 0.5 10 Lisbon Lisbon 100.0
         1001 c2 2026-03-01T02:00:00Z 0.65 12 Lisbon Faro 20.0
         1001 c1 2026-03-01T01:59:59.999999Z 0.5 10 Lisbon Lisbon 100.0
         1001 c1 2026-03-01T06:00:00Z NULL 20 Lisbon Porto 150.0
         1002 c2 2026-03-01T02:00:00Z 0.3 3 Porto Faro 20.0
         1002 c3 2026-03-01T03:00:00Z NULL NULL NULL NULL NULL
         1002 c1 2026-03-01T00:30:00Z NULL NULL NULL Lisbon 100.0
         9999 NULL 2026-03-01T05:00:00Z NULL NULL NULL NULL NULL
         1001 c1 2026-03-01T01:00:00Z 0.5 10 Lisbon Lisbon 100.0
         1003 c1 2026-03-01T04:00:00Z 0.9 40 Lisbon Porto 150.0
         1001 c1 2026-03-01T04:00:00Z 0.65 12 Lisbon Porto 150.0
         1001 c1 2026-03-01T04:00:00.000001Z 0.65 12 Lisbon Porto 150.0
        ",
    );
    assert_eq!(rows, expected);

    // A 2 h look-back on driver_stats: rows 10 and 11 straddle it; row 3's
    // 05:00 version is 1 h old and counts.
    let request = DatasetRequest {
        features: vec![selection("driver_stats", &["conv_rate"], Some("2h"))],
        ..Default::default()
    };
    let (columns, rows) = dataset(client, &request, entities(&GOLDEN_ROWS)).await;
    assert_eq!(columns[3], "conv_rate");
    let conv: Vec<&str> = rows.iter().map(|r| r[3].as_str()).collect();
    assert_eq!(
        conv,
        [
            "0.5", "0.65", "0.5", "NULL", "0.3", "NULL", "NULL", "NULL", "0.5", "0.9", "0.65",
            "NULL"
        ]
    );

    // The store as it was at 00:30 wall-clock time: neither the correction
    // nor driver 1003 had been written, so row 1 sees 0.6 and row 9 nulls.
    let request = DatasetRequest {
        features: vec![selection("driver_stats", &["conv_rate"], None)],
        written_before: Some(at(30 * MINUTE)),
        ..Default::default()
    };
    let (_, rows) = dataset(client, &request, entities(&GOLDEN_ROWS)).await;
    let conv: Vec<&str> = rows.iter().map(|r| r[3].as_str()).collect();
    assert_eq!(
        conv,
        [
            "0.5", "0.6", "0.5", "NULL", "0.3", "NULL", "NULL", "NULL", "0.5", "NULL", "0.6", "0.6"
        ]
    );

    // Every feature but the record identifier when none are named; the
    // group's event_time clashes with the entity column and is prefixed.
    let request = DatasetRequest {
        features: vec![selection("customer_profile", &[], None)],
        ..Default::default()
    };
    let (columns, rows) = dataset(client, &request, entities(&GOLDEN_ROWS[..1])).await;
    assert_eq!(
        columns,
        [
            "driver_id",
            "customer_id",
            "event_time",
            "customer_profile__event_time",
            "city",
            "lifetime_value"
        ]
    );
    assert_eq!(
        rows[0][3..],
        row(&["2026-03-01T00:00:00Z", "Lisbon", "100.0"])
    );
}

#[tokio::test]
async fn entity_columns_are_matched_by_name_or_mapping_and_times_by_type() {
    let server = TestServer::start_with(with_flushes).await;
    golden_histories(&server).await;
    let client = &server.client;
    // Ids under another name, as text; times as ISO-8601 strings.
    let schema = Arc::new(Schema::new(vec![
        Field::new("driver", DataType::Utf8, false),
        Field::new("ts", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec!["1001", "1002"])),
            Arc::new(StringArray::from(vec![at(HOUR), at(2 * HOUR)])),
        ],
    )
    .unwrap();
    let mut driver = selection("driver_stats", &["trips"], None);
    driver.entity_column = Some("driver".into());
    let request = DatasetRequest {
        features: vec![driver],
        event_time_column: Some("ts".into()),
        ..Default::default()
    };
    let (columns, rows) = dataset(client, &request, batch.clone()).await;
    assert_eq!(columns, ["driver", "ts", "trips"]);
    assert_eq!(rows[0][2], "10");
    assert_eq!(rows[1][2], "3");

    // Epoch seconds work as times too.
    let schema = Arc::new(Schema::new(vec![
        Field::new("driver_id", DataType::Int64, false),
        Field::new("event_time", DataType::Float64, false),
    ]));
    let seconds = (BASE + HOUR) as f64 / 1e6;
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![1001])),
            Arc::new(arrow::array::Float64Array::from(vec![seconds])),
        ],
    )
    .unwrap();
    let request = DatasetRequest {
        features: vec![selection("driver_stats", &["trips"], None)],
        ..Default::default()
    };
    let (_, rows) = dataset(client, &request, batch).await;
    assert_eq!(rows[0][2], "10");

    // Zone-less nanosecond timestamps are read as UTC.
    let schema = Arc::new(Schema::new(vec![
        Field::new("driver_id", DataType::Int64, false),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            false,
        ),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![1001, 1001])),
            Arc::new(arrow::array::TimestampNanosecondArray::from(vec![
                (BASE + 2 * HOUR) * 1000,
                (BASE + 2 * HOUR) * 1000 - 1,
            ])),
        ],
    )
    .unwrap();
    let (_, rows) = dataset(client, &request, batch).await;
    assert_eq!(rows[0][2], "12");
    assert_eq!(rows[1][2], "10", "one nanosecond before 02:00");

    // An empty entity table gives an empty dataset with the full schema.
    let (columns, rows) = dataset(client, &request, entities(&[])).await;
    assert_eq!(columns, ["driver_id", "customer_id", "event_time", "trips"]);
    assert!(rows.is_empty());
}

#[tokio::test]
async fn bad_requests_are_refused_with_the_reason() {
    let server = TestServer::start_with(with_flushes).await;
    golden_histories(&server).await;
    let client = &server.client;
    let rows = entities(&GOLDEN_ROWS[..2]);
    let request = |selection: FeatureSelection| DatasetRequest {
        features: vec![selection],
        ..Default::default()
    };

    let error = dataset_error(client, &request(selection("nope", &[], None)), rows.clone()).await;
    assert_eq!(error.code(), Some(tonic::Code::NotFound), "{error}");
    assert!(error.to_string().contains("'nope'"), "{error}");

    let error = dataset_error(
        client,
        &request(selection("driver_stats", &["speed"], None)),
        rows.clone(),
    )
    .await;
    assert_eq!(error.code(), Some(tonic::Code::InvalidArgument), "{error}");
    assert!(error.to_string().contains("'speed'"), "{error}");

    let error = dataset_error(
        client,
        &request(selection("driver_stats", &["trips"], Some("soon"))),
        rows.clone(),
    )
    .await;
    assert_eq!(error.code(), Some(tonic::Code::InvalidArgument), "{error}");
    assert!(error.to_string().contains("soon"), "{error}");

    let mut unmatched = selection("driver_stats", &["trips"], None);
    unmatched.entity_column = Some("vehicle".into());
    let error = dataset_error(client, &request(unmatched), rows.clone()).await;
    assert_eq!(error.code(), Some(tonic::Code::InvalidArgument), "{error}");
    assert!(error.to_string().contains("'vehicle'"), "{error}");

    // A time that is not a time names its row.
    let schema = Arc::new(Schema::new(vec![
        Field::new("driver_id", DataType::Int64, false),
        Field::new("event_time", DataType::Utf8, true),
    ]));
    let bad_times = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![1001, 1001, 1001])),
            Arc::new(StringArray::from(vec![
                Some(at(HOUR)),
                Some("yesterday".to_owned()),
                None,
            ])),
        ],
    )
    .unwrap();
    let result = dataset_error(
        client,
        &request(selection("driver_stats", &["trips"], None)),
        bad_times.clone(),
    )
    .await;
    assert_eq!(result.code(), Some(tonic::Code::InvalidArgument));
    assert!(
        result.to_string().contains("entity row 1") && result.to_string().contains("yesterday"),
        "{result}"
    );
    let nulls = bad_times.slice(2, 1);
    let result = dataset_error(
        client,
        &request(selection("driver_stats", &["trips"], None)),
        nulls,
    )
    .await;
    assert!(result.to_string().contains("is null"), "{result}");

    // A date too far out for microseconds is refused, not wrapped.
    let schema = Arc::new(Schema::new(vec![
        Field::new("driver_id", DataType::Int64, false),
        Field::new("event_time", DataType::Date64, false),
    ]));
    let far = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![1001])),
            Arc::new(arrow::array::Date64Array::from(vec![i64::MAX / 10])),
        ],
    )
    .unwrap();
    let result = dataset_error(
        client,
        &request(selection("driver_stats", &["trips"], None)),
        far,
    )
    .await;
    assert_eq!(result.code(), Some(tonic::Code::InvalidArgument));
    assert!(result.to_string().contains("out of range"), "{result}");

    // The server is still answering.
    let put = client
        .put_record("driver_stats", vec![feature("driver_id", "x")])
        .await;
    assert_eq!(
        code(&put),
        tonic::Code::InvalidArgument,
        "{}",
        message(&put)
    );
    let (_, rows) = dataset(
        client,
        &request(selection("driver_stats", &["trips"], None)),
        entities(&GOLDEN_ROWS[..1]),
    )
    .await;
    assert_eq!(rows[0][3], "10");
}

// ---------------------------------------------------------------------------
// The property test.

const IDS: i64 = 4;

#[derive(Debug, Clone)]
enum Op {
    /// One BatchWriteRecord call: `(group, id, event hour, value)`.
    Batch(Vec<(usize, i64, i64, i64)>),
    Delete(usize, i64, i64),
    /// Lets the flusher move the log to Parquet.
    Pause,
    /// Moves the wall clock on by an hour: `written_before` cuts here.
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    let version = (0usize..2, 0..IDS, 0i64..6, 0i64..100);
    prop_oneof![
        5 => prop::collection::vec(version, 1..4).prop_map(Op::Batch),
        1 => (0usize..2, 0..IDS, 0i64..6).prop_map(|(g, id, h)| Op::Delete(g, id, h)),
        1 => Just(Op::Pause),
        1 => Just(Op::Tick),
    ]
}

/// An entity row: driver, user (both may be ids never written, 4 and 5),
/// event hour, and -1, 0 or +1 microsecond.
fn entity_row() -> impl Strategy<Value = (i64, i64, i64, i64)> {
    (0..IDS + 2, 0..IDS + 2, -1i64..8, -1i64..2)
}

/// One write of the model: group, id, event time, value (None for a
/// delete), and the wall-clock hour it was written in.
type Version = (usize, i64, i64, Option<i64>, i64);

fn expected(
    history: &[Version],
    group: usize,
    id: i64,
    time: i64,
    look_back: Option<i64>,
    written_before_hour: Option<i64>,
) -> String {
    let chosen = history
        .iter()
        .filter(|v| v.0 == group && v.1 == id && v.2 <= time)
        .filter(|v| look_back.is_none_or(|l| v.2 >= time - l))
        .filter(|v| written_before_hour.is_none_or(|w| v.4 < w))
        // max_by_key keeps the last of equal keys: the later arrival.
        .max_by_key(|v| v.2);
    match chosen {
        Some((_, _, _, Some(value), _)) => value.to_string(),
        _ => "NULL".into(),
    }
}

fn model_group(index: usize) -> pb::CreateFeatureGroupRequest {
    if index == 0 {
        group_request(
            "drivers",
            ("driver_id", T::Integral),
            &[("value", T::Integral)],
        )
    } else {
        group_request("users", ("user_id", T::String), &[("value", T::Integral)])
    }
}

fn model_id(group: usize, id: i64) -> String {
    if group == 0 {
        id.to_string()
    } else {
        format!("u{id}")
    }
}

async fn check(
    ops: Vec<Op>,
    rows: Vec<(i64, i64, i64, i64)>,
    look_backs: [Option<i64>; 2],
    cut: Option<i64>,
) {
    let server = TestServer::start_with(with_flushes).await;
    let client = &server.client;
    for index in 0..2 {
        client
            .create_feature_group(model_group(index))
            .await
            .unwrap();
    }
    let names = ["drivers", "users"];
    let mut history: Vec<Version> = Vec::new();
    let mut wall_hour = 0;
    for op in ops {
        match op {
            Op::Batch(versions) => {
                let entries = versions
                    .iter()
                    .map(|&(g, id, hour, value)| {
                        let id_feature = if g == 0 { "driver_id" } else { "user_id" };
                        almanac_tests::fixtures::batch_entry(
                            names[g],
                            vec![
                                feature(id_feature, model_id(g, id).as_str()),
                                feature("event_time", at(hour * HOUR).as_str()),
                                feature("value", value),
                            ],
                        )
                    })
                    .collect();
                let response = client
                    .batch_write_record(pb::BatchWriteRecordRequest { entries })
                    .await
                    .unwrap();
                assert_eq!(response.written as usize, versions.len());
                history.extend(
                    versions
                        .iter()
                        .map(|&(g, id, hour, value)| (g, id, hour * HOUR, Some(value), wall_hour)),
                );
            }
            Op::Delete(g, id, hour) => {
                client
                    .delete_record(
                        names[g],
                        &model_id(g, id),
                        &at(hour * HOUR),
                        DeletionMode::Soft,
                    )
                    .await
                    .unwrap();
                history.push((g, id, hour * HOUR, None, wall_hour));
            }
            Op::Pause => tokio::time::sleep(std::time::Duration::from_millis(120)).await,
            Op::Tick => {
                server.clock.advance(HOUR);
                wall_hour += 1;
            }
        }
    }
    let times: Vec<i64> = rows.iter().map(|r| r.2 * HOUR + r.3).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("driver_id", DataType::Int64, false),
        Field::new("user_id", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| model_id(1, r.1)),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(times.iter().map(|t| BASE + t))
                    .with_timezone("UTC"),
            ),
        ],
    )
    .unwrap();
    let start = parse_iso8601(almanac_tests::START).unwrap();
    let request = DatasetRequest {
        features: (0..2)
            .map(|g| FeatureSelection {
                group: names[g].into(),
                features: vec!["value".into()],
                ttl: look_backs[g].map(|l| format!("{l}us")),
                entity_column: None,
            })
            .collect(),
        event_time_column: Some("ts".into()),
        // Between two wall-clock hours: writes of earlier hours count.
        written_before: cut.map(|hour| format_iso8601(start + hour * HOUR - MINUTE)),
    };
    let (columns, output) = dataset(client, &request, batch).await;
    assert_eq!(
        columns,
        [
            "driver_id",
            "user_id",
            "ts",
            "drivers__value",
            "users__value"
        ]
    );
    assert_eq!(output.len(), rows.len());
    for (index, (row, time)) in rows.iter().zip(&times).enumerate() {
        let want = [
            expected(&history, 0, row.0, *time, look_backs[0], cut),
            expected(&history, 1, row.1, *time, look_backs[1], cut),
        ];
        assert_eq!(
            output[index][3..],
            want,
            "entity row {index} {row:?}\nrequest {request:?}\nhistory {history:?}"
        );
    }
}

fn look_back() -> impl Strategy<Value = Option<i64>> {
    prop::option::of((0i64..4).prop_map(|h| h * HOUR))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn datasets_match_the_model(
        ops in prop::collection::vec(op(), 1..25),
        rows in prop::collection::vec(entity_row(), 1..40),
        look_backs in [look_back(), look_back()],
        cut in prop::option::of(1i64..4),
    ) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(check(ops, rows, look_backs, cut));
    }
}

#[tokio::test]
async fn a_history_larger_than_the_memory_limit_is_sorted_on_disk() {
    // 40 MiB for the whole build; the history below is about 100 MiB in
    // memory, so the version sort has to spill to disk.
    let server = TestServer::start_with(|config| {
        with_flushes(config);
        config.sql.memory_limit_bytes = 40 << 20;
    })
    .await;
    let client = &server.client;
    client
        .create_feature_group(group_request(
            "notes",
            ("driver_id", T::Integral),
            &[("version", T::Integral), ("note", T::String)],
        ))
        .await
        .unwrap();
    let drivers = 250i64;
    let versions = 1000i64;
    let note = "n".repeat(400);
    for version in 0..versions {
        let entries = (0..drivers)
            .map(|driver| {
                almanac_tests::fixtures::batch_entry(
                    "notes",
                    vec![
                        feature("driver_id", driver),
                        feature("event_time", at(version * MINUTE).as_str()),
                        feature("version", version),
                        feature("note", note.as_str()),
                    ],
                )
            })
            .collect();
        client
            .batch_write_record(pb::BatchWriteRecordRequest { entries })
            .await
            .unwrap();
    }
    server.wait_flushed().await;
    // Each driver at a different minute, half a minute after a version.
    let schema = Arc::new(Schema::new(vec![
        Field::new("driver_id", DataType::Int64, false),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(0..drivers)),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    (0..drivers).map(|d| BASE + (d * 3) * MINUTE + MINUTE / 2),
                )
                .with_timezone("UTC"),
            ),
        ],
    )
    .unwrap();
    let request = DatasetRequest {
        features: vec![selection("notes", &["version"], None)],
        ..Default::default()
    };
    let (_, rows) = dataset(client, &request, batch).await;
    assert_eq!(rows.len(), drivers as usize);
    for (driver, row) in rows.iter().enumerate() {
        assert_eq!(row[2], (driver * 3).to_string(), "driver {driver}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_pyarrow_flight_builds_a_dataset() {
    let server = TestServer::start_with(with_flushes).await;
    golden_histories(&server).await;
    let uri = server.endpoint.replace("http://", "grpc://");
    let seen = tokio::task::spawn_blocking(move || {
        almanac_tests::run_python("flight_dataset.py", &[&uri])
    })
    .await
    .unwrap();
    // 01:00 sees the 00:00 version; 02:00 the correction; driver 1002's
    // 01:00 version is within 90 minutes of 02:00; 4242 was never written.
    assert!(
        seen.contains(
            r#"{"columns": ["driver_id", "event_time", "trips"], "trips": [10, 12, 3, null]}"#
        ),
        "{seen}"
    );
    assert!(
        seen.contains("feature group 'nope' does not exist"),
        "{seen}"
    );
}
