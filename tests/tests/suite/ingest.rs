//! Bulk ingest over Arrow Flight `DoPut` through the Rust client: Arrow
//! types cast to the features' types (and read back the same through
//! GetRecord and SQL), event times in every accepted form, per-row
//! failures, and ingest streams racing PutRecord on the same records.

use std::sync::Arc;

use almanac_client::Client;
use almanac_client::ingest::IngestSummary;
use almanac_client::proto as pb;
use almanac_client::values::{definition, feature, get, scalar};
use almanac_tests::fixtures::{code, group_request};
use almanac_tests::sql::query;
use almanac_tests::{TestServer, with_flushes};
use arrow::array::{
    ArrayRef, Date32Array, DictionaryArray, FixedSizeListArray, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, LargeListArray, LargeStringArray, ListArray, RecordBatch,
    StringArray, TimestampNanosecondArray, UInt8Array, UInt64Array,
};
use arrow::datatypes::{Field, Float64Type, Int32Type};
use pb::value::Kind;
use pb::{CollectionType as C, FeatureType as T};

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).expect("a valid batch")
}

async fn ingest(client: &Client, group: &str, batch: RecordBatch) -> IngestSummary {
    client
        .ingest_batch(group, batch)
        .await
        .expect("the ingest call succeeds")
}

#[tokio::test]
async fn arrow_types_are_cast_to_feature_types_and_read_back() {
    let server = TestServer::start_with(with_flushes).await;
    let client = &server.client;
    let mut request = group_request(
        "typed",
        ("id", T::Integral),
        &[
            ("count", T::Integral),
            ("score", T::Fractional),
            ("ratio", T::Fractional),
            ("category", T::String),
            ("label", T::String),
            ("day", T::String),
        ],
    );
    request.feature_definitions.extend([
        definition("ints", T::Integral, C::List, 0),
        definition("floats", T::Fractional, C::Set, 0),
        definition("words", T::String, C::List, 0),
        definition("embedding", T::Fractional, C::Vector, 3),
    ]);
    client.create_feature_group(request).await.unwrap();

    let item = |t| Arc::new(Field::new("item", t, true));
    let ints = ListArray::from_iter_primitive::<Int32Type, _, _>([
        Some(vec![Some(1), Some(2), Some(2)]),
        None,
    ]);
    let floats = LargeListArray::from_iter_primitive::<Float64Type, _, _>([
        Some(vec![Some(0.5), Some(1.5)]),
        Some(vec![]),
    ]);
    let words = ListArray::new(
        item(arrow::datatypes::DataType::Utf8),
        arrow::buffer::OffsetBuffer::from_lengths([2, 1]),
        Arc::new(StringArray::from(vec!["a, \"b\"", "é", "质"])),
        None,
    );
    let embedding = FixedSizeListArray::new(
        item(arrow::datatypes::DataType::Float64),
        3,
        Arc::new(Float64Array::from(vec![0.1, 0.2, 0.3, 1.0, 2.0, 3.0])),
        None,
    );
    let category: DictionaryArray<Int32Type> = vec!["books", "toys"].into_iter().collect();
    let summary = ingest(
        client,
        "typed",
        batch(vec![
            ("id", Arc::new(UInt8Array::from(vec![1, 2])) as ArrayRef),
            (
                "event_time",
                // 1 ns past the second is rounded down, never later.
                Arc::new(
                    TimestampNanosecondArray::from(vec![
                        1_772_323_200_000_000_001,
                        1_772_326_800_000_000_000,
                    ])
                    .with_timezone("UTC"),
                ),
            ),
            ("count", Arc::new(Int16Array::from(vec![Some(-7), None]))),
            ("score", Arc::new(Float32Array::from(vec![0.5, 2.25]))),
            ("ratio", Arc::new(Int32Array::from(vec![3, 4]))),
            ("category", Arc::new(category)),
            (
                "label",
                Arc::new(LargeStringArray::from(vec!["Très \"bon\", 好", ""])),
            ),
            ("day", Arc::new(Date32Array::from(vec![20_513, 0]))),
            ("ints", Arc::new(ints)),
            ("floats", Arc::new(floats)),
            ("words", Arc::new(words)),
            ("embedding", Arc::new(embedding)),
        ]),
    )
    .await;
    assert_eq!((summary.rows, summary.rows_written), (2, 2), "{summary:?}");

    let one = client.get_record("typed", "1", &[]).await.unwrap().unwrap();
    let expected = [
        ("id", Kind::Integral(1)),
        (
            "event_time",
            Kind::String("2026-03-01T00:00:00.000000Z".into()),
        ),
        ("count", Kind::Integral(-7)),
        ("score", Kind::Fractional(0.5)),
        ("ratio", Kind::Fractional(3.0)),
        ("category", Kind::String("books".into())),
        ("label", Kind::String("Très \"bon\", 好".into())),
        ("day", Kind::String("2026-03-01T00:00:00.000000Z".into())),
        (
            "ints",
            Kind::IntegralList(pb::IntegralList {
                values: vec![1, 2, 2],
            }),
        ),
        (
            "floats",
            Kind::FractionalList(pb::FractionalList {
                values: vec![0.5, 1.5],
            }),
        ),
        (
            "words",
            Kind::StringList(pb::StringList {
                values: vec!["a, \"b\"".into(), "é".into()],
            }),
        ),
        (
            "embedding",
            Kind::FractionalList(pb::FractionalList {
                values: vec![0.1, 0.2, 0.3],
            }),
        ),
    ];
    for (name, value) in expected {
        assert_eq!(get(&one, name), Some(&value), "{name}");
    }
    let two = client.get_record("typed", "2", &[]).await.unwrap().unwrap();
    assert_eq!(get(&two, "count"), None, "a null stays null");
    assert_eq!(get(&two, "ints"), None);
    assert_eq!(
        get(&two, "day"),
        Some(&Kind::String("1970-01-01T00:00:00.000000Z".into()))
    );

    // SQL sees what GetRecord sees, lists as lists.
    let rows = query(
        client,
        "SELECT id, event_time, count, score, ratio, category, label, day, ints, floats, words, \
         embedding FROM typed ORDER BY id",
    )
    .await;
    assert_eq!(
        rows[0],
        [
            "1",
            "2026-03-01T00:00:00Z",
            "-7",
            "0.5",
            "3.0",
            "books",
            "Très \"bon\", 好",
            "2026-03-01T00:00:00.000000Z",
            "[1, 2, 2]",
            "[0.5, 1.5]",
            "[a, \"b\", é]",
            "[0.1, 0.2, 0.3]",
        ]
    );
    assert_eq!(rows[1][2], "NULL");
    assert_eq!(rows[1][9], "[]");
}

#[tokio::test]
async fn event_times_in_every_form_and_failures_per_row() {
    let server = TestServer::start().await;
    let client = &server.client;
    client
        .create_feature_group(group_request(
            "iso",
            ("id", T::String),
            &[("n", T::Integral)],
        ))
        .await
        .unwrap();
    let mut seconds = group_request("epoch", ("id", T::String), &[("n", T::Integral)]);
    seconds.feature_definitions[1] = scalar("event_time", T::Fractional);
    client.create_feature_group(seconds).await.unwrap();

    // Epoch seconds into an ISO-8601 event time, ISO-8601 text into a
    // Fractional one.
    let summary = ingest(
        client,
        "iso",
        batch(vec![
            (
                "id",
                Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
            ),
            (
                "event_time",
                Arc::new(Float64Array::from(vec![1_772_323_200.5, f64::NAN])),
            ),
            ("n", Arc::new(Int64Array::from(vec![1, 2]))),
        ]),
    )
    .await;
    assert_eq!(summary.rows_written, 1, "{summary:?}");
    assert_eq!(summary.failed_rows[0].index, 1);
    assert!(
        summary.failed_rows[0].reason.contains("event_time"),
        "{summary:?}"
    );
    let a = client.get_record("iso", "a", &[]).await.unwrap().unwrap();
    assert_eq!(
        get(&a, "event_time"),
        Some(&Kind::String("2026-03-01T00:00:00.500000Z".into()))
    );

    let summary = ingest(
        client,
        "epoch",
        batch(vec![
            (
                "id",
                Arc::new(StringArray::from(vec!["a", "b", "c", "d"])) as ArrayRef,
            ),
            (
                "event_time",
                Arc::new(StringArray::from(vec![
                    "2026-03-01T00:00:00Z",
                    "1772323200.25",
                    "noon",
                    "2026-03-01T00:00:00Z",
                ])),
            ),
            ("n", Arc::new(UInt64Array::from(vec![1, 2, 3, u64::MAX]))),
        ]),
    )
    .await;
    assert_eq!(summary.rows_written, 2, "{summary:?}");
    let failed: Vec<_> = summary.failed_rows.iter().map(|f| f.index).collect();
    assert_eq!(failed, [2, 3]);
    assert!(
        summary.failed_rows[0].reason.contains("'noon'"),
        "{summary:?}"
    );
    assert!(
        summary.failed_rows[1].reason.contains("does not fit"),
        "{summary:?}"
    );
    let b = client.get_record("epoch", "b", &[]).await.unwrap().unwrap();
    assert_eq!(
        get(&b, "event_time"),
        Some(&Kind::Fractional(1_772_323_200.25))
    );
    let a = client.get_record("epoch", "a", &[]).await.unwrap().unwrap();
    assert_eq!(
        get(&a, "event_time"),
        Some(&Kind::Fractional(1_772_323_200.0))
    );
    for absent in ["c", "d"] {
        assert_eq!(client.get_record("epoch", absent, &[]).await.unwrap(), None);
    }

    // Stream-level refusals: unknown group, a column that is no feature,
    // a column type no feature holds.
    let ok = || {
        batch(vec![
            ("id", Arc::new(StringArray::from(vec!["z"])) as ArrayRef),
            (
                "event_time",
                Arc::new(StringArray::from(vec!["2026-03-01T00:00:00Z"])),
            ),
        ])
    };
    let unknown = client.ingest_batch("nope", ok()).await;
    assert_eq!(code(&unknown), tonic::Code::NotFound);
    let mut extra = ok().columns().to_vec();
    extra.push(Arc::new(Int64Array::from(vec![1])));
    let schema = Arc::new(arrow::datatypes::Schema::new(vec![
        Field::new("id", arrow::datatypes::DataType::Utf8, true),
        Field::new("event_time", arrow::datatypes::DataType::Utf8, true),
        Field::new("stars", arrow::datatypes::DataType::Int64, true),
    ]));
    let extra = client
        .ingest_batch("iso", RecordBatch::try_new(schema, extra).unwrap())
        .await;
    assert_eq!(code(&extra), tonic::Code::InvalidArgument);
    assert!(format!("{extra:?}").contains("column 'stars'"), "{extra:?}");
    let boolean = client
        .ingest_batch(
            "iso",
            batch(vec![
                ("id", Arc::new(StringArray::from(vec!["z"])) as ArrayRef),
                (
                    "event_time",
                    Arc::new(StringArray::from(vec!["2026-03-01T00:00:00Z"])),
                ),
                ("n", Arc::new(arrow::array::BooleanArray::from(vec![true]))),
            ]),
        )
        .await;
    assert_eq!(code(&boolean), tonic::Code::InvalidArgument);
    assert_eq!(client.get_record("iso", "z", &[]).await.unwrap(), None);
}

/// Ingest streams and PutRecord calls on the same records at once: every
/// row lands offline, and online each record ends at its latest event
/// time, whichever writer got there last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_is_safe_alongside_other_writers() {
    let server = TestServer::start_with(with_flushes).await;
    let client = &server.client;
    client
        .create_feature_group(group_request(
            "shared",
            ("id", T::Integral),
            &[("v", T::Integral)],
        ))
        .await
        .unwrap();
    const IDS: i64 = 500;
    const ROUNDS: i64 = 8;
    let time = |round: i64| format!("2026-03-01T{round:02}:00:00Z");
    let stream = |round: i64| {
        let client = client.clone();
        async move {
            let ids: Vec<i64> = (0..IDS).collect();
            let summary = client
                .ingest_batch(
                    "shared",
                    batch(vec![
                        ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
                        (
                            "event_time",
                            Arc::new(StringArray::from(vec![time(round); IDS as usize])),
                        ),
                        ("v", Arc::new(Int64Array::from(vec![round; IDS as usize]))),
                    ]),
                )
                .await
                .unwrap();
            assert_eq!(summary.rows_written, IDS as usize);
        }
    };
    let single = |round: i64| {
        let client = client.clone();
        async move {
            for id in (0..IDS).step_by(25) {
                client
                    .put_record(
                        "shared",
                        vec![
                            feature("id", id),
                            feature("event_time", time(round).as_str()),
                            feature("v", round * 100),
                        ],
                    )
                    .await
                    .unwrap();
            }
        }
    };
    // Even rounds by DoPut, odd ones by PutRecord, all at once and in
    // reverse order of event time.
    let mut tasks = Vec::new();
    for round in (0..ROUNDS).rev() {
        if round % 2 == 0 {
            tasks.push(tokio::spawn(stream(round)));
        } else {
            tasks.push(tokio::spawn(single(round)));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    for id in [0, 7, 25, 499] {
        let record = client
            .get_record("shared", &id.to_string(), &[])
            .await
            .unwrap()
            .unwrap();
        // Round 7 (PutRecord) wrote every 25th id; round 6 (DoPut) all.
        let expected = if id % 25 == 0 { 700 } else { 6 };
        assert_eq!(
            get(&record, "v"),
            Some(&Kind::Integral(expected)),
            "id {id}"
        );
    }
    let expected_rows = (ROUNDS / 2) * IDS + (ROUNDS / 2) * (IDS / 25);
    let rows = query(client, "SELECT count(*), count(DISTINCT id) FROM shared").await;
    assert_eq!(rows, [[expected_rows.to_string(), IDS.to_string()]]);
}

/// A batch larger than the server's conversion chunk, with bad rows in
/// several chunks; within a batch, of two rows with the same identifier and
/// event time the later one wins; a date no microsecond count holds fails
/// its row instead of the server.
#[tokio::test]
async fn large_batches_keep_row_numbers_and_order() {
    let server = TestServer::start().await;
    let client = &server.client;
    client
        .create_feature_group(group_request(
            "big",
            ("id", T::Integral),
            &[("n", T::Integral), ("day", T::String)],
        ))
        .await
        .unwrap();
    const ROWS: usize = 10_000;
    let bad = [4_095, 4_096, 9_999];
    let ids: Vec<i64> = (0..ROWS as i64).map(|i| i % 5_000).collect();
    let n: Vec<String> = (0..ROWS)
        .map(|i| {
            if bad.contains(&i) {
                "x".into()
            } else {
                i.to_string()
            }
        })
        .collect();
    let days: Vec<i32> = (0..ROWS)
        .map(|i| if i == 7_000 { i32::MAX } else { 20_513 })
        .collect();
    let summary = ingest(
        client,
        "big",
        batch(vec![
            ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
            (
                "event_time",
                Arc::new(StringArray::from(vec!["2026-03-01T00:00:00Z"; ROWS])),
            ),
            ("n", Arc::new(StringArray::from(n))),
            ("day", Arc::new(Date32Array::from(days))),
        ]),
    )
    .await;
    let failed: Vec<usize> = summary.failed_rows.iter().map(|f| f.index).collect();
    assert_eq!(failed, [4_095, 4_096, 7_000, 9_999], "{summary:?}");
    assert!(
        summary.failed_rows[2].reason.contains("'day'"),
        "{summary:?}"
    );
    assert_eq!(summary.rows_written, ROWS - 4);
    // Ids repeat at row + 5,000 with the same event time: the later row's
    // value stands, unless the later row failed.
    for (id, expected) in [(0, 5_000), (4_094, 9_094), (4_095, 9_095), (4_999, 4_999)] {
        let record = client
            .get_record("big", &id.to_string(), &[])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            get(&record, "n"),
            Some(&Kind::Integral(expected)),
            "id {id}"
        );
    }
}

/// A batch of nothing but bad rows, each quoting a long bad value: every
/// reason is cut to a bounded length, and the answer lists failed rows only
/// while they fit in a quarter of the largest message, counting the rest,
/// so that it never grows past what a message may carry.
#[tokio::test]
async fn failed_rows_are_listed_within_a_budget_and_the_rest_counted() {
    const MAX_MESSAGE: usize = 1 << 20;
    let server = TestServer::start_with(|config| config.max_message_bytes = MAX_MESSAGE).await;
    let client = &server.client;
    client
        .create_feature_group(group_request(
            "strict",
            ("id", T::Integral),
            &[("n", T::Integral)],
        ))
        .await
        .unwrap();
    const ROWS: usize = 400;
    // 1.4 KB of text that is no integer, half of it quotes that JSON
    // escapes: listing every reason in full would take about 1.5 MB,
    // over the 1 MiB message.
    let bad_value = format!("not a number {}", "\"x".repeat(700));
    let summary = ingest(
        client,
        "strict",
        batch(vec![
            (
                "id",
                Arc::new(Int64Array::from_iter_values(0..ROWS as i64)) as ArrayRef,
            ),
            (
                "event_time",
                Arc::new(StringArray::from(vec!["2026-03-01T00:00:00Z"; ROWS])),
            ),
            ("n", Arc::new(StringArray::from(vec![bad_value; ROWS]))),
        ]),
    )
    .await;
    assert_eq!(summary.rows, ROWS);
    assert_eq!(summary.rows_written, 0);
    assert_eq!(
        summary.failed_rows.len() + summary.failed_rows_unlisted,
        ROWS
    );
    assert!(
        summary.failed_rows_unlisted > 0,
        "{}",
        summary.failed_rows.len()
    );
    assert!(!summary.failed_rows.is_empty());
    let listed: Vec<usize> = summary.failed_rows.iter().map(|row| row.index).collect();
    assert_eq!(listed, (0..listed.len()).collect::<Vec<_>>());
    for row in &summary.failed_rows {
        assert!(row.reason.contains("'n'"), "{}", row.reason);
        assert!(row.reason.len() < 1_200, "{} bytes", row.reason.len());
    }
    // The group takes good rows after it.
    let summary = ingest(
        client,
        "strict",
        batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
            (
                "event_time",
                Arc::new(StringArray::from(vec!["2026-03-01T00:00:00Z"])),
            ),
            ("n", Arc::new(StringArray::from(vec!["7"]))),
        ]),
    )
    .await;
    assert_eq!((summary.rows_written, summary.failed_rows_unlisted), (1, 0));
}
