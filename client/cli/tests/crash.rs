//! The real binary is killed with SIGKILL in the middle of a stream of
//! writes; after a restart every acknowledged write is there, online and
//! in the offline log, exactly once.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use almanac_client::Client;
use almanac_client::proto as pb;
use almanac_client::values::{feature, scalar};
use almanac_online::{Engine, EngineConfig};
use support::ServerProcess;

const WRITERS: usize = 8;

fn group() -> pb::CreateFeatureGroupRequest {
    use pb::FeatureType as T;
    pb::CreateFeatureGroupRequest {
        feature_group_name: "events".into(),
        record_identifier_feature_name: "id".into(),
        event_time_feature_name: "ts".into(),
        feature_definitions: vec![
            scalar("id", T::String),
            scalar("ts", T::Fractional),
            scalar("payload", T::String),
        ],
        online_store: Some(pb::OnlineStoreConfig {
            enabled: true,
            default_ttl_seconds: None,
        }),
        offline_store: Some(pb::OfflineStoreConfig { enabled: true }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_exactly_once() {
    let data_dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data_dir.path(), &[]);
    let client = Client::connect(server.endpoint.clone()).await.unwrap();
    client.create_feature_group(group()).await.unwrap();

    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let client = client.clone();
        let acknowledged = Arc::clone(&acknowledged);
        writers.push(tokio::spawn(async move {
            // Bounded: stops at the first failure (the kill) or after 100k writes.
            for i in 0..100_000u32 {
                let id = format!("w{writer}-{i}");
                let record = vec![
                    feature("id", id.as_str()),
                    feature("ts", 1_767_312_000.0 + f64::from(i)),
                    feature("payload", "x".repeat(100)),
                ];
                match client.put_record("events", record).await {
                    Ok(()) => acknowledged.lock().unwrap().push(id),
                    Err(_) => return,
                }
            }
        }));
    }
    // Let the writes run, then kill without warning while they are in flight.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while acknowledged.lock().unwrap().len() < 5000 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill_hard();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 100,
        "only {} writes were acknowledged before the kill",
        acknowledged.len()
    );

    // Restart the real binary: every acknowledged write is readable.
    let server = ServerProcess::start(data_dir.path(), &[]);
    let client = Client::connect(server.endpoint.clone()).await.unwrap();
    for chunk in acknowledged.chunks(1000) {
        let response = client
            .batch_get_record(pb::BatchGetRecordRequest {
                identifiers: vec![pb::BatchGetRecordIdentifier {
                    feature_group_name: "events".into(),
                    record_identifiers_value_as_string: chunk.to_vec(),
                    feature_names: vec![],
                }],
                return_expiration: false,
            })
            .await
            .unwrap();
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let found: HashSet<_> = response
            .records
            .iter()
            .map(|r| r.record_identifier_value_as_string.clone())
            .collect();
        let missing: Vec<_> = chunk.iter().filter(|id| !found.contains(*id)).collect();
        assert!(
            missing.is_empty(),
            "acknowledged writes lost online: {missing:?}"
        );
    }
    server.stop();

    // The offline log holds each acknowledged write exactly once, and no
    // write twice.
    let engine = Engine::open(EngineConfig::new(data_dir.path())).unwrap();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (_, entry) in engine.read_offline_log(0, usize::MAX).unwrap() {
        *counts.entry(entry.record_id.0).or_default() += 1;
    }
    for id in &acknowledged {
        assert_eq!(
            counts.get(id),
            Some(&1),
            "offline log entries of acknowledged write {id}"
        );
    }
    assert!(counts.values().all(|&n| n == 1), "no write is logged twice");
}
