//! `almanac dataset` end to end with the real binary: a TSV entity table
//! whose id column has another name, a look-back, Parquet output read
//! back, and the one-line errors of bad flags.

use crate::support::Scratch;

#[test]
fn datasets_from_tsv_to_parquet_with_a_mapping_and_a_look_back() {
    let scratch = Scratch::start();
    let (server, dir) = (&scratch.server, scratch.dir());
    server.create_group(
        dir,
        "driver_stats",
        "driver_id",
        "event_time",
        &["driver_id:integral", "event_time:string", "trips:integral"],
    );
    for (time, trips) in [("2026-03-01T00:00:00Z", 10), ("2026-03-01T02:00:00Z", 20)] {
        let record = format!(r#"{{"driver_id":7,"event_time":"{time}","trips":{trips}}}"#);
        server.succeed(dir, &["put-record", "driver_stats", "--record", &record]);
    }
    std::fs::write(
        dir.join("entities.tsv"),
        "driver\tts\n7\t2026-03-01T01:00:00Z\n7\t2026-03-01T03:00:00Z\n7\t2026-03-01T05:00:00Z\n8\t2026-03-01T05:00:00Z\n",
    )
    .unwrap();
    let common = [
        "dataset",
        "--entities",
        "entities.tsv",
        "--feature",
        "driver_stats:trips",
        "--join-on",
        "driver=driver_stats.driver_id",
        "--event-time",
        "ts",
    ];
    let mut args = common.to_vec();
    args.extend(["--ttl", "driver_stats=2h", "--output", "training.parquet"]);
    server.succeed(dir, &args);
    // Read the Parquet file back through the CLI's own SQL-free path: the
    // server cannot read a client's file, so check it with the parquet
    // crate's reader.
    let file = std::fs::File::open(dir.join("training.parquet")).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    let text = arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    // 01:00 sees 00:00 (1 h old); 03:00 sees 02:00; 05:00's latest is
    // 3 h old, past the 2 h look-back; driver 8 was never written.
    let trips: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("| 7") || l.starts_with("| 8"))
        .map(|l| l.rsplit('|').nth(1).unwrap().trim())
        .collect();
    assert_eq!(trips, ["10", "20", "", ""], "{text}");
    assert!(text.contains("| driver | ts"), "{text}");

    let mut args = common.to_vec();
    args.extend(["--output", "training.json"]);
    assert!(server.fail(dir, &args).contains(".parquet or .csv"));
    let args = [
        "dataset",
        "--entities",
        "entities.tsv",
        "--feature",
        "driver_stats:trips",
        "--join-on",
        "driver=driver_stats.trips",
        "--output",
        "x.csv",
    ];
    assert!(
        server
            .fail(dir, &args)
            .contains("not the record identifier")
    );
    let args = [
        "dataset",
        "--entities",
        "entities.tsv",
        "--feature",
        "driver_stats:speed",
        "--join-on",
        "driver=driver_stats.driver_id",
        "--output",
        "x.csv",
    ];
    let error = server.fail(dir, &args);
    assert!(
        error.contains("INVALID_ARGUMENT") && error.contains("'speed'"),
        "{error}"
    );
    scratch.stop();
}
