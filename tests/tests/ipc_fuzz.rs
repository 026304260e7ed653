//! Corrupted Arrow IPC in Flight streams: valid DoPut (bulk ingest) and
//! DoExchange (dataset) streams, each with one message's header or body
//! bytes flipped or its body cut short, sent through the raw Flight
//! client. Every stream must get a normal answer or a refusal
//! (INVALID_ARGUMENT for malformed data), never a reset connection, a
//! server panic or a DoPut that ends OK without answering each batch; the
//! server must keep answering and keep the rows written before.
//!
//! A failure prints its seed; replay it with `ALMANAC_FUZZ_SEED=<seed>`.

use std::sync::Arc;

use almanac_client::dataset::{DatasetRequest, FeatureSelection};
use almanac_client::proto::value::Kind;
use almanac_client::proto::{CollectionType as C, FeatureType as T};
use almanac_client::values::{definition, get};
use almanac_online::Durability;
use almanac_tests::fixtures::group_request;
use almanac_tests::robustness::{IsolatedServer, Rng, is_refusal, seed, within};
use almanac_tests::sql::rows;
use almanac_types::ingest::BatchResult;
use arrow::array::{
    ArrayRef, Float64Array, Int64Array, ListBuilder, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondArray,
};
use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::{FlightData, FlightDescriptor, PutResult};
use futures::{StreamExt, TryStreamExt, stream};
use tonic::Status;

const GROUP: &str = "fuzz";
/// Rows written by a valid stream before the corrupted ones.
const BASE_ROWS: usize = 100;
/// Corrupted streams sent per test.
const ITERATIONS: usize = 200;
/// Batches per ingest stream, and rows per batch.
const BATCHES: usize = 3;
const ROWS_PER_BATCH: usize = 8;
/// Entity rows per dataset exchange.
const ENTITY_ROWS: usize = 10;

/// A server with fast (unsynced) writes and the fuzz group: `id`,
/// `event_time`, `n`, `score` and a list of strings `tags`; the base rows
/// `base-0`..`base-99` (with `n` = i) written through a valid raw DoPut.
async fn start() -> IsolatedServer {
    let server = IsolatedServer::start_with(|config| {
        config.durability = Durability::OsBuffered;
    })
    .await;
    let mut request = group_request(
        GROUP,
        ("id", T::String),
        &[("n", T::Integral), ("score", T::Fractional)],
    );
    request
        .feature_definitions
        .push(definition("tags", T::String, C::List, 0));
    server
        .client
        .create_feature_group(request)
        .await
        .expect("create the group");
    let base = encode(
        ingest_descriptor(),
        vec![numbered_rows("base", 0, BASE_ROWS)],
    )
    .await;
    let answers = within("the base rows", put(&server, base))
        .await
        .expect("a valid stream is written");
    let results = batch_results("the base rows", &answers);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].rows_written, BASE_ROWS, "{results:?}");
    server
}

/// Rows `{prefix}-{from}`.. of the group, with `n` = their number.
fn numbered_rows(prefix: &str, from: usize, count: usize) -> RecordBatch {
    let numbers = from..from + count;
    let ids: StringArray = numbers
        .clone()
        .map(|i| Some(format!("{prefix}-{i}")))
        .collect();
    let mut tags = ListBuilder::new(StringBuilder::new());
    for i in numbers.clone() {
        if i % 3 == 0 {
            tags.append_null();
        } else {
            tags.values().append_value(format!("t{i}"));
            tags.values().append_value("é");
            tags.append(true);
        }
    }
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(ids)),
        (
            "event_time",
            Arc::new(StringArray::from(vec!["2026-03-01T00:00:00Z"; count])),
        ),
        (
            "n",
            Arc::new(Int64Array::from_iter_values(
                numbers.clone().map(|i| i as i64),
            )),
        ),
        (
            "score",
            Arc::new(Float64Array::from_iter_values(
                numbers.map(|i| i as f64 / 4.0),
            )),
        ),
        ("tags", Arc::new(tags.finish())),
    ];
    RecordBatch::try_from_iter(columns).expect("a valid batch")
}

fn ingest_descriptor() -> FlightDescriptor {
    FlightDescriptor::new_path(vec![GROUP.to_owned()])
}

/// The Flight messages of a valid stream of `batches`, the descriptor on
/// the first.
async fn encode(descriptor: FlightDescriptor, batches: Vec<RecordBatch>) -> Vec<FlightData> {
    FlightDataEncoderBuilder::new()
        .with_schema(batches[0].schema())
        .with_flight_descriptor(Some(descriptor))
        .build(stream::iter(batches.into_iter().map(Ok)))
        .try_collect()
        .await
        .expect("encode a valid stream")
}

/// Corrupts one message: flips 1 to 8 bytes of its header or body, or cuts
/// its body short. Says what it did.
fn corrupt(rng: &mut Rng, messages: &mut [FlightData]) -> String {
    let index = rng.below(messages.len());
    let message = &mut messages[index];
    let has_body = !message.data_body.is_empty();
    match rng.below(3) {
        1 if has_body => {
            let mut body = message.data_body.to_vec();
            let flips = flip(rng, &mut body);
            message.data_body = body.into();
            format!("message {index}: body bytes flipped {flips}")
        }
        2 if has_body => {
            let length = message.data_body.len();
            let cut = rng.below(length);
            message.data_body = message.data_body.slice(..cut);
            format!("message {index}: body cut from {length} to {cut} bytes")
        }
        _ => {
            let mut header = message.data_header.to_vec();
            let flips = flip(rng, &mut header);
            message.data_header = header.into();
            format!("message {index}: header bytes flipped {flips}")
        }
    }
}

/// XORs 1 to 8 random bytes with random non-zero masks; lists them.
fn flip(rng: &mut Rng, bytes: &mut [u8]) -> String {
    let mut flipped = Vec::new();
    for _ in 0..rng.between(1..=8) {
        let at = rng.below(bytes.len());
        let mask = rng.between(1..=255) as u8;
        bytes[at] ^= mask;
        flipped.push(format!("{at}^{mask:#04x}"));
    }
    flipped.join(" ")
}

/// Sends an ingest stream and gathers the server's answers.
async fn put(server: &IsolatedServer, messages: Vec<FlightData>) -> Result<Vec<PutResult>, Status> {
    let mut results = server
        .flight()
        .do_put(stream::iter(messages))
        .await?
        .into_inner();
    let mut answers = Vec::new();
    while let Some(answer) = results.message().await? {
        answers.push(answer);
    }
    Ok(answers)
}

/// The batch results of a DoPut's answers, each checked for consistency.
fn batch_results(context: &str, answers: &[PutResult]) -> Vec<BatchResult> {
    answers
        .iter()
        .enumerate()
        .map(|(i, answer)| {
            let result: BatchResult = serde_json::from_slice(&answer.app_metadata)
                .unwrap_or_else(|e| panic!("{context}: answer {i} is not a batch result: {e}"));
            assert_eq!(result.batch, i as u64, "{context}: {result:?}");
            assert_eq!(
                result.rows_written + result.failed_rows.len(),
                result.rows,
                "{context}: {result:?}"
            );
            result
        })
        .collect()
}

/// Asserts that the base rows read back unchanged, by GetRecord and SQL.
async fn assert_base_rows_intact(server: &IsolatedServer) {
    for i in 0..BASE_ROWS {
        let id = format!("base-{i}");
        let record = within(&id, server.client.get_record(GROUP, &id, &[]))
            .await
            .expect("GetRecord")
            .unwrap_or_else(|| panic!("{id} is gone"));
        assert_eq!(get(&record, "n"), Some(&Kind::Integral(i as i64)), "{id}");
    }
    let counted = within(
        "counting the base rows",
        server.sql("SELECT count(*), sum(n) FROM fuzz WHERE id LIKE 'base-%'"),
    )
    .await
    .expect("count the base rows");
    let sum = BASE_ROWS * (BASE_ROWS - 1) / 2;
    assert_eq!(rows(&counted), [[BASE_ROWS.to_string(), sum.to_string()]]);
}

#[tokio::test]
async fn corrupted_ingest_streams_are_answered_or_refused() {
    let server = start().await;
    let seed = seed(0x1bc_f1a9);
    let mut rng = Rng::new(seed);
    let (mut answered, mut refused) = (0, 0);
    for i in 0..ITERATIONS {
        let batches = (0..BATCHES)
            .map(|b| numbered_rows(&format!("put{i}"), b * ROWS_PER_BATCH, ROWS_PER_BATCH))
            .collect();
        let mut messages = encode(ingest_descriptor(), batches).await;
        let how = corrupt(&mut rng, &mut messages);
        let context = format!("DoPut {i} of seed {seed}, {how}");
        match within(&context, put(&server, messages)).await {
            Ok(answers) => {
                assert_eq!(
                    answers.len(),
                    BATCHES,
                    "{context}: the stream ended OK with {} answers for {BATCHES} batches",
                    answers.len()
                );
                batch_results(&context, &answers);
                answered += 1;
            }
            Err(status) => {
                assert!(
                    is_refusal(status.code()),
                    "{context}: answered {:?}: {}",
                    status.code(),
                    status.message()
                );
                refused += 1;
            }
        }
        server.assert_alive(&context).await;
    }
    eprintln!("{ITERATIONS} corrupted DoPut streams: {answered} answered, {refused} refused");
    assert_base_rows_intact(&server).await;
    server.stop().await;
}

/// What a dataset exchange got back.
enum Exchanged {
    /// A dataset: its schema, if any was sent, and its rows.
    Dataset(Option<arrow::datatypes::SchemaRef>, Vec<RecordBatch>),
    /// A status from the server.
    Refused(Status),
    /// A stream that is not valid Flight data.
    Garbage(String),
}

/// Sends a dataset exchange and reads its answer.
async fn exchange(server: &IsolatedServer, messages: Vec<FlightData>) -> Exchanged {
    let response = match server.flight().do_exchange(stream::iter(messages)).await {
        Ok(response) => response.into_inner(),
        Err(status) => return Exchanged::Refused(status),
    };
    let mut dataset = FlightRecordBatchStream::new_from_flight_data(
        response.map_err(|status| FlightError::Tonic(Box::new(status))),
    );
    let mut batches = Vec::new();
    while let Some(batch) = dataset.next().await {
        match batch {
            Ok(batch) => batches.push(batch),
            Err(FlightError::Tonic(status)) => return Exchanged::Refused(*status),
            Err(other) => return Exchanged::Garbage(other.to_string()),
        }
    }
    Exchanged::Dataset(dataset.schema().cloned(), batches)
}

/// The entity table: `base-0`.. a day after they were written.
fn entities() -> RecordBatch {
    let day_after = 1_772_409_600_000_000; // 2026-03-02T00:00:00Z
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "id",
            Arc::new(StringArray::from_iter_values(
                (0..ENTITY_ROWS).map(|i| format!("base-{i}")),
            )),
        ),
        (
            "event_time",
            Arc::new(
                TimestampMicrosecondArray::from(vec![day_after; ENTITY_ROWS]).with_timezone("UTC"),
            ),
        ),
        (
            "k",
            Arc::new(Int64Array::from_iter_values(0..ENTITY_ROWS as i64)),
        ),
    ];
    RecordBatch::try_from_iter(columns).expect("a valid batch")
}

fn dataset_descriptor() -> FlightDescriptor {
    let request = DatasetRequest {
        features: vec![FeatureSelection {
            group: GROUP.into(),
            features: vec!["n".into(), "tags".into()],
            ..FeatureSelection::default()
        }],
        ..DatasetRequest::default()
    };
    FlightDescriptor::new_cmd(request.to_command())
}

#[tokio::test]
async fn corrupted_dataset_exchanges_are_answered_or_refused() {
    let server = start().await;
    // Half the entity rows per message, so there is more than one body.
    let entities = entities();
    let halves = vec![
        entities.slice(0, ENTITY_ROWS / 2),
        entities.slice(ENTITY_ROWS / 2, ENTITY_ROWS - ENTITY_ROWS / 2),
    ];
    let valid = encode(dataset_descriptor(), halves.clone()).await;
    match within("a valid exchange", exchange(&server, valid)).await {
        Exchanged::Dataset(_, batches) => {
            let dataset = rows(&batches);
            assert_eq!(dataset.len(), ENTITY_ROWS);
            for (i, row) in dataset.iter().enumerate() {
                assert_eq!(row[0], format!("base-{i}"));
                assert_eq!(row[3], i.to_string(), "{row:?}");
            }
        }
        Exchanged::Refused(status) => panic!("a valid exchange was refused: {status}"),
        Exchanged::Garbage(error) => panic!("a valid exchange came back broken: {error}"),
    }

    let seed = seed(0x0da7_a5e7);
    let mut rng = Rng::new(seed);
    let (mut answered, mut refused) = (0, 0);
    for i in 0..ITERATIONS {
        let mut messages = encode(dataset_descriptor(), halves.clone()).await;
        let how = corrupt(&mut rng, &mut messages);
        let context = format!("DoExchange {i} of seed {seed}, {how}");
        match within(&context, exchange(&server, messages)).await {
            Exchanged::Dataset(schema, _) => {
                assert!(
                    schema.is_some(),
                    "{context}: the exchange ended OK without a dataset"
                );
                answered += 1;
            }
            Exchanged::Refused(status) => {
                assert!(
                    is_refusal(status.code()),
                    "{context}: answered {:?}: {}",
                    status.code(),
                    status.message()
                );
                refused += 1;
            }
            Exchanged::Garbage(error) => {
                panic!("{context}: the answer is not valid Flight data: {error}")
            }
        }
        server.assert_alive(&context).await;
    }
    eprintln!("{ITERATIONS} corrupted DoExchange streams: {answered} answered, {refused} refused");
    assert_base_rows_intact(&server).await;
    server.stop().await;
}
