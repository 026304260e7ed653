//! Online reads keep answering while heavy SQL and a bulk ingest run
//! (issue 11, defect 5). Only what cannot flake is asserted: every read is
//! answered, correctly, and none waits anywhere near a second. The tight
//! latency figures come from `benches/run-isolation.sh`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use almanac_client::proto as pb;
use almanac_tests::TestServer;
use almanac_tests::fixtures::{batch_entry, create_reviews, review};
use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};

const RECORDS: usize = 20_000;

async fn populate(server: &TestServer) {
    for chunk in (0..RECORDS).collect::<Vec<_>>().chunks(5_000) {
        let entries = chunk
            .iter()
            .map(|i| {
                let mut record = review(&format!("r{i}"), "2026-03-01T00:00:00Z", (i % 5) as i64);
                record[2] =
                    almanac_client::values::feature("product_id", format!("p{}", i % 97).as_str());
                batch_entry("reviews", record)
            })
            .collect();
        server
            .client
            .batch_write_record(pb::BatchWriteRecordRequest { entries })
            .await
            .unwrap();
    }
}

fn ingest_batch(offset: usize, rows: usize) -> RecordBatch {
    let ids: Vec<String> = (offset..offset + rows)
        .map(|i| format!("bulk-{i}"))
        .collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("review_id", Arc::new(StringArray::from(ids))),
        (
            "event_time",
            Arc::new(StringArray::from(vec!["2026-03-02T00:00:00Z"; rows])),
        ),
        (
            "product_id",
            Arc::new(StringArray::from(vec!["bulk"; rows])),
        ),
        (
            "star_rating",
            Arc::new(Int64Array::from_iter_values(
                (0..rows as i64).map(|i| i % 5),
            )),
        ),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_reads_answer_while_sql_and_ingest_run() {
    let server = TestServer::start().await;
    create_reviews(&server.client, "reviews").await;
    create_reviews(&server.client, "bulk").await;
    populate(&server).await;

    let stop = Arc::new(AtomicBool::new(false));
    let queries = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    // Four CPU-heavy queries, over and over.
    for _ in 0..4 {
        let (client, stop, queries) = (server.client.clone(), stop.clone(), queries.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let sql = "SELECT a.product_id, count(*), avg(b.star_rating) \
                           FROM reviews a JOIN reviews b ON a.star_rating = b.star_rating \
                           GROUP BY a.product_id ORDER BY 2 DESC";
                let _ = client.query(sql).await;
                queries.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // A bulk ingest, batch after batch.
    {
        let (client, stop) = (server.client.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut offset = 0;
            while !stop.load(Ordering::Relaxed) {
                let batch = ingest_batch(offset, 20_000);
                offset += 20_000;
                client.ingest_batch("bulk", batch).await.expect("ingest");
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    for i in 0..400 {
        let id = format!("r{}", (i * 37) % RECORDS);
        let sent = Instant::now();
        let record = tokio::time::timeout(
            Duration::from_secs(10),
            server.client.get_record("reviews", &id, &[]),
        )
        .await
        .expect("GetRecord answered within 10 s")
        .expect("GetRecord succeeded");
        slowest = slowest.max(sent.elapsed());
        assert!(record.is_some(), "{id}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for task in load {
        let _ = tokio::time::timeout(Duration::from_secs(60), task).await;
    }
    eprintln!(
        "400 reads in {elapsed:?} while {} queries ran; slowest read {slowest:?}",
        queries.load(Ordering::Relaxed)
    );
    assert!(slowest < Duration::from_secs(1), "slowest read {slowest:?}");
}
