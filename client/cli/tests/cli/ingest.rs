//! `almanac ingest` and `create-feature-group --from-file` end to end with
//! the real binary: a CSV with bad rows, and the seed chapter's workflow on
//! a generated Amazon-reviews TSV (create from the file, ingest, the SQL of
//! products with at least 1,000 reviews, new versions, time travel, an
//! online read).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::support::Scratch;
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Field, Schema};

fn json_lines(output: &str) -> Vec<serde_json::Value> {
    output
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[test]
fn bad_rows_are_reported_and_only_good_rows_land() {
    let scratch = Scratch::start();
    let (server, dir) = (&scratch.server, scratch.dir());
    server.create_group(
        dir,
        "reviews",
        "review_id",
        "event_time",
        &[
            "review_id:string",
            "event_time:string",
            "star_rating:integral",
            "review_body:string",
        ],
    );
    // Rows 2 (not an integer), 3 (no identifier) and 5 (not a time) are
    // bad; row 4's body has a comma, quotes, a line break and non-ASCII.
    std::fs::write(
        dir.join("reviews.csv"),
        "review_id,event_time,star_rating,review_body\n\
         R1,2026-03-01T00:00:00Z,5,fine\n\
         R2,2026-03-01T00:00:00Z,five,\"wrong type\"\n\
         ,2026-03-01T00:00:00Z,3,no id\n\
         R4,2026-03-01T00:00:00Z,4,\"Très \"\"bon\"\", vraiment\n质量很好\"\n\
         R5,yesterday,2,bad time\n\
         R6,2026-03-01T00:00:00Z,,no rating\n",
    )
    .unwrap();
    let output = server.run(
        dir,
        &[
            "ingest",
            "reviews",
            "reviews.csv",
            "--batch-rows",
            "2",
            "--failed-rows",
            "failed.csv",
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("ingested 3 of 6 rows"), "{stdout}");
    assert!(
        stderr.contains("row 2: feature 'star_rating' is Integral; 'five' is not an integer"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: 3 rows failed; they are in failed.csv"),
        "{stderr}"
    );

    // The failed-rows file: the row number, the reason, the row as read.
    let reader = arrow::csv::ReaderBuilder::new(Arc::new(Schema::new(vec![
        Field::new("row", DataType::Utf8, true),
        Field::new("reason", DataType::Utf8, true),
        Field::new("review_id", DataType::Utf8, true),
        Field::new("event_time", DataType::Utf8, true),
        Field::new("star_rating", DataType::Utf8, true),
        Field::new("review_body", DataType::Utf8, true),
    ])))
    .with_header(true)
    .build(std::fs::File::open(dir.join("failed.csv")).unwrap())
    .unwrap();
    let mut failed = BTreeMap::new();
    for batch in reader {
        let batch = batch.unwrap();
        for i in 0..batch.num_rows() {
            let text = |c: usize| batch.column(c).as_string::<i32>().value(i).to_owned();
            failed.insert(text(0).parse::<u32>().unwrap(), (text(1), text(2), text(4)));
        }
    }
    assert_eq!(failed.keys().copied().collect::<Vec<_>>(), vec![2, 3, 5]);
    assert_eq!(failed[&2].1, "R2");
    assert_eq!(failed[&2].2, "five");
    assert!(
        failed[&3].0.contains("'review_id' is missing"),
        "{failed:?}"
    );
    assert!(failed[&5].0.contains("'yesterday'"), "{failed:?}");

    // The good rows, text intact; nothing of the bad ones.
    let r4 = server.succeed(dir, &["get-record", "reviews", "R4", "--json"]);
    let r4: serde_json::Value = serde_json::from_str(&r4).unwrap();
    assert_eq!(
        r4["review_body"], "Très \"bon\", vraiment\n质量很好",
        "{r4}"
    );
    assert_eq!(r4["star_rating"], 4, "{r4}");
    let r6 = server.succeed(dir, &["get-record", "reviews", "R6", "--json"]);
    assert!(
        !r6.contains("star_rating"),
        "a missing rating is null: {r6}"
    );
    for absent in ["R2", "R5"] {
        let output = server.run(dir, &["get-record", "reviews", absent, "--json"]);
        assert!(
            !String::from_utf8_lossy(&output.stdout).contains(absent),
            "{absent} must not be written"
        );
    }
    let ids = server.succeed(
        dir,
        &[
            "query",
            "SELECT review_id FROM reviews ORDER BY review_id",
            "--format",
            "csv",
        ],
    );
    assert_eq!(ids, "review_id\nR1\nR4\nR6\n");

    // A column that is no feature refuses the whole file.
    std::fs::write(
        dir.join("extra.csv"),
        "review_id,event_time,stars\nR9,2026-03-01T00:00:00Z,1\n",
    )
    .unwrap();
    let error = server.fail(dir, &["ingest", "reviews", "extra.csv"]);
    assert!(
        error.contains("column 'stars' is not a feature of feature group 'reviews'"),
        "{error}"
    );
    let error = server.fail(dir, &["ingest", "nope", "reviews.csv"]);
    assert!(error.contains("'nope' does not exist"), "{error}");
}

/// The seed chapter's Feature Store section with the CLI.
#[test]
fn an_unclosed_quote_fails_naming_its_line() {
    let scratch = Scratch::start();
    let (server, dir) = (&scratch.server, scratch.dir());
    server.create_group(
        dir,
        "reviews",
        "review_id",
        "event_time",
        &[
            "review_id:string",
            "event_time:string",
            "review_body:string",
        ],
    );
    // Line 3's quote is never closed: read naively, the rest of the file
    // is R2's body, and R2 one good row.
    std::fs::write(
        dir.join("reviews.csv"),
        "review_id,event_time,review_body\n\
         R1,2026-03-01T00:00:00Z,fine\n\
         R2,2026-03-01T00:00:00Z,\"never closed\n\
         R3,2026-03-01T00:00:00Z,swallowed\n",
    )
    .unwrap();
    let error = server.fail(dir, &["ingest", "reviews", "reviews.csv"]);
    assert!(error.contains("reviews.csv"), "{error}");
    assert!(
        error.contains("line 3: a quoted field starts here and is never closed"),
        "{error}"
    );
    for absent in ["R2", "R3"] {
        let record = server.succeed(dir, &["get-record", "reviews", absent, "--json"]);
        assert_eq!(record.trim(), "null", "{absent} must not be written");
    }
}

#[test]
fn seed_workflow_with_the_cli() {
    let scratch = Scratch::start();
    let (server, dir) = (&scratch.server, scratch.dir());
    generate_reviews(dir, "reviews.tsv", 20_000, "2026-03-01T00:00:00Z");

    // The group's definitions come from the file's columns.
    server.succeed(
        dir,
        &[
            "create-feature-group",
            "reviews",
            "--from-file",
            "reviews.tsv",
            "--record-identifier",
            "review_id",
            "--event-time",
            "event_time",
        ],
    );
    let described = server.succeed(dir, &["describe-feature-group", "reviews"]);
    for feature in [
        "customer_id:integral",
        "star_rating:integral",
        "review_body:string",
        "review_date:string",
        "event_time:string",
    ] {
        assert!(described.contains(feature), "{feature}: {described}");
    }

    let summary = server.succeed(
        dir,
        &[
            "ingest",
            "reviews",
            "reviews.tsv",
            "--workers",
            "2",
            "--json",
        ],
    );
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["rows_written"], 20_000, "{summary}");
    assert_eq!(summary["rows_failed"], 0, "{summary}");

    // Products with at least 1,000 reviews, by average rating: the same
    // answer the file itself gives.
    let seed_sql = "SELECT product_id, count(*) AS reviews, avg(star_rating) AS rating \
                    FROM reviews GROUP BY product_id HAVING count(*) >= 1000 \
                    ORDER BY rating DESC";
    let rows = json_lines(&server.succeed(dir, &["query", seed_sql, "--format", "json"]));
    let expected = popular_products(&dir.join("reviews.tsv"));
    assert!(expected.len() >= 3, "the generator makes popular products");
    assert_eq!(rows.len(), expected.len());
    for (row, (product, count, rating)) in rows.iter().zip(&expected) {
        assert_eq!(row["product_id"], product.as_str());
        assert_eq!(row["reviews"], *count);
        let got = row["rating"].as_f64().unwrap();
        assert!((got - rating).abs() < 1e-9, "{product}: {got} vs {rating}");
    }

    // Newer versions of three reviews a day later.
    let first = json_lines(&server.succeed(
        dir,
        &[
            "query",
            "SELECT review_id, star_rating FROM reviews ORDER BY review_id LIMIT 3",
            "--format",
            "json",
        ],
    ));
    let mut updates = String::from("review_id\tstar_rating\tevent_time\n");
    for row in &first {
        let stars = row["star_rating"].as_i64().unwrap() % 5 + 1;
        updates.push_str(&format!(
            "{}\t{stars}\t2026-03-02T00:00:00Z\n",
            row["review_id"].as_str().unwrap()
        ));
    }
    std::fs::write(dir.join("updates.tsv"), updates).unwrap();
    server.succeed(dir, &["ingest", "reviews", "updates.tsv"]);

    let ids: Vec<String> = first
        .iter()
        .map(|row| format!("'{}'", row["review_id"].as_str().unwrap()))
        .collect();
    let at = |when: &str| {
        let sql = format!(
            "SELECT review_id, star_rating FROM reviews FOR SYSTEM_TIME AS OF TIMESTAMP '{when}' \
             WHERE review_id IN ({}) ORDER BY review_id",
            ids.join(",")
        );
        json_lines(&server.succeed(dir, &["query", &sql, "--format", "json"]))
    };
    // Back in time: the original ratings; now: the new ones.
    assert_eq!(at("2026-03-01T12:00:00Z"), first);
    let now = at("2026-03-03T00:00:00Z");
    for (new, old) in now.iter().zip(&first) {
        let expected = old["star_rating"].as_i64().unwrap() % 5 + 1;
        assert_eq!(new["star_rating"], expected, "{new} after {old}");
    }

    // Online, at prediction time: the latest version of one review; the
    // update left out the body, so it is null now.
    let id = first[0]["review_id"].as_str().unwrap();
    let record = server.succeed(dir, &["get-record", "reviews", id, "--json"]);
    let record: serde_json::Value = serde_json::from_str(&record).unwrap();
    assert_eq!(record["event_time"], "2026-03-02T00:00:00Z", "{record}");
    assert_eq!(record["star_rating"], now[0]["star_rating"]);
}

/// Runs the example generator (`client/python/examples/make_reviews.py`).
fn generate_reviews(dir: &Path, name: &str, rows: usize, event_time: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../python/examples/make_reviews.py");
    let python = almanac_tests::python();
    let status = std::process::Command::new(python)
        .arg(script)
        .arg(dir.join(name))
        .args(["--rows", &rows.to_string(), "--event-time", event_time])
        .status()
        .expect("run make_reviews.py");
    assert!(status.success());
}

/// (product, reviews, average rating) for products with at least 1,000
/// reviews, best first, computed from the TSV itself.
fn popular_products(path: &Path) -> Vec<(String, i64, f64)> {
    let format = arrow::csv::reader::Format::default()
        .with_header(true)
        .with_delimiter(b'\t');
    let (schema, _) = format
        .infer_schema(std::fs::File::open(path).unwrap(), None)
        .unwrap();
    let reader = arrow::csv::ReaderBuilder::new(Arc::new(schema))
        .with_format(format)
        .build(std::fs::File::open(path).unwrap())
        .unwrap();
    let mut stats: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for batch in reader {
        let batch = batch.unwrap();
        let products = batch.column_by_name("product_id").unwrap();
        let stars = batch.column_by_name("star_rating").unwrap();
        let stars = arrow::compute::cast(stars, &DataType::Int64).unwrap();
        let stars = stars.as_primitive::<arrow::datatypes::Int64Type>();
        for i in 0..batch.num_rows() {
            let entry = stats
                .entry(products.as_string::<i32>().value(i).to_owned())
                .or_default();
            entry.0 += 1;
            entry.1 += stars.value(i);
            assert!(!stars.is_null(i));
        }
    }
    let mut popular: Vec<_> = stats
        .into_iter()
        .filter(|(_, (count, _))| *count >= 1000)
        .map(|(product, (count, sum))| (product, count, sum as f64 / count as f64))
        .collect();
    popular.sort_by(|a, b| b.2.total_cmp(&a.2));
    popular
}

/// JSON lines and Parquet with list columns; rejected rows to a JSON-lines
/// file.
#[test]
fn json_lines_and_parquet_with_collections() {
    let scratch = Scratch::start();
    let (server, dir) = (&scratch.server, scratch.dir());
    server.create_group(
        dir,
        "items",
        "id",
        "event_time",
        &[
            "id:integral",
            "event_time:string",
            "tags:string:set",
            "scores:fractional:vector:2",
        ],
    );
    std::fs::write(
        dir.join("items.jsonl"),
        concat!(
            r#"{"id": 1, "event_time": "2026-03-01T00:00:00Z", "tags": ["a", "b"], "scores": [0.5, 1.5]}"#,
            "\n",
            r#"{"id": 2, "event_time": "2026-03-01T00:00:00Z", "tags": ["a", "a"], "scores": [1, 2]}"#,
            "\n",
            r#"{"id": "three", "event_time": "2026-03-01T00:00:00Z", "tags": [], "scores": [1, 2]}"#,
            "\n",
            r#"{"id": 4, "event_time": "2026-03-01T00:00:00Z", "tags": [], "scores": [1, 2, 3]}"#,
            "\n",
        ),
    )
    .unwrap();
    let output = server.run(
        dir,
        &[
            "ingest",
            "items",
            "items.jsonl",
            "--failed-rows",
            "failed.jsonl",
        ],
    );
    assert!(!output.status.success());
    let failed: Vec<serde_json::Value> =
        json_lines(&std::fs::read_to_string(dir.join("failed.jsonl")).unwrap());
    let rows: Vec<_> = failed.iter().map(|f| f["row"].as_u64().unwrap()).collect();
    assert_eq!(rows.len(), 3, "{failed:?}");
    let reason = |row: u64| {
        failed.iter().find(|f| f["row"] == row).unwrap()["reason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(reason(2).contains("'tags' is a set"), "{failed:?}");
    assert!(
        reason(3).contains("'three' is not an integer"),
        "{failed:?}"
    );
    assert!(reason(4).contains("vector of dimension 2"), "{failed:?}");
    let one = server.succeed(dir, &["get-record", "items", "1", "--json"]);
    let one: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(one["tags"], serde_json::json!(["a", "b"]), "{one}");
    assert_eq!(one["scores"], serde_json::json!([0.5, 1.5]), "{one}");

    // The same group from Parquet, lists as Arrow lists.
    let tags = arrow::array::ListArray::new(
        Arc::new(Field::new("item", DataType::Utf8, true)),
        arrow::buffer::OffsetBuffer::from_lengths([2]),
        Arc::new(arrow::array::StringArray::from(vec!["x", "y"])),
        None,
    );
    let scores =
        arrow::array::ListArray::from_iter_primitive::<arrow::datatypes::Float64Type, _, _>([
            Some(vec![Some(2.5), Some(3.5)]),
        ]);
    let batch = arrow::array::RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(arrow::array::Int64Array::from(vec![5])) as arrow::array::ArrayRef,
        ),
        (
            "event_time",
            Arc::new(arrow::array::StringArray::from(vec![
                "2026-03-01T01:00:00Z",
            ])),
        ),
        ("scores", Arc::new(scores)),
        ("tags", Arc::new(tags)),
    ])
    .unwrap();
    let file = std::fs::File::create(dir.join("items.parquet")).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    server.succeed(dir, &["ingest", "items", "items.parquet"]);
    let five = server.succeed(dir, &["get-record", "items", "5", "--json"]);
    let five: serde_json::Value = serde_json::from_str(&five).unwrap();
    assert_eq!(five["tags"], serde_json::json!(["x", "y"]), "{five}");
    assert_eq!(five["scores"], serde_json::json!([2.5, 3.5]), "{five}");
}

/// With several workers, the rows of one record still apply in file order:
/// of rows with the same identifier and event time, the last one wins.
#[test]
fn workers_keep_each_records_rows_in_file_order() {
    let scratch = Scratch::start();
    let (server, dir) = (&scratch.server, scratch.dir());
    server.create_group(
        dir,
        "counters",
        "id",
        "event_time",
        &["id:string", "event_time:string", "n:integral"],
    );
    let mut csv = String::from("id,event_time,n\n");
    for n in 0..400 {
        csv.push_str(&format!("k{},2026-03-01T00:00:00Z,{n}\n", n % 8));
    }
    std::fs::write(dir.join("counters.csv"), csv).unwrap();
    server.succeed(
        dir,
        &[
            "ingest",
            "counters",
            "counters.csv",
            "--workers",
            "4",
            "--batch-rows",
            "3",
        ],
    );
    for k in 0..8 {
        let record = server.succeed(dir, &["get-record", "counters", &format!("k{k}"), "--json"]);
        let record: serde_json::Value = serde_json::from_str(&record).unwrap();
        assert_eq!(record["n"], 392 + k, "k{k}: {record}");
    }
}
