//! `almanac serve` configured the documented ways (issue 11): S3 through the
//! standard `AWS_*` environment variables flushes for real; a configuration
//! that cannot work fails before the server announces that it listens.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{ALMANAC, ServerProcess};
use almanac_tests::seaweed::SeaweedFs;

#[test]
fn s3_configured_by_environment_variables_flushes() {
    let weed = SeaweedFs::start("envbucket");
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_with_env(
        data.path(),
        &[
            "--offline-store",
            "s3://envbucket/features",
            "--flush-interval",
            "100ms",
        ],
        &[
            ("AWS_ENDPOINT_URL", weed.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "almanac"),
            ("AWS_SECRET_ACCESS_KEY", "almanac-secret"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    server.create_group(
        work.path(),
        "reviews",
        "review_id",
        "event_time",
        &["review_id:String", "event_time:String", "stars:Integral"],
    );
    for id in 0..3 {
        server.succeed(
            work.path(),
            &[
                "put-record",
                "reviews",
                "--record",
                &format!(
                    r#"{{"review_id": "r{id}", "event_time": "2026-03-01T05:00:00Z", "stars": 4}}"#
                ),
            ],
        );
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let keys = weed.list_keys("features/");
        if keys.iter().any(|k| k.ends_with(".parquet")) {
            break;
        }
        assert!(Instant::now() < deadline, "nothing flushed to S3: {keys:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let description = server.succeed(
        work.path(),
        &["describe-feature-group", "reviews", "--json"],
    );
    assert!(!description.contains("Blocked"), "{description}");
    let count = server.succeed(work.path(), &["query", "SELECT count(*) AS n FROM reviews"]);
    assert!(count.contains('3'), "{count}");
    server.stop();
}

/// Runs `almanac serve` with `args` and `env`, which must fail before the
/// line scripts wait for; returns its standard error.
fn serve_fails(data_dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = Command::new(ALMANAC)
        .arg("serve")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run almanac serve");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{stderr}");
    assert!(!stderr.contains("almanac listening on"), "{stderr}");
    stderr
}

#[test]
fn a_plain_http_s3_endpoint_without_allow_http_fails_at_start() {
    let data = tempfile::tempdir().unwrap();
    let stderr = serve_fails(
        data.path(),
        &["--offline-store", "s3://bucket/prefix"],
        &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")],
    );
    assert!(stderr.contains("AWS_ALLOW_HTTP=true"), "{stderr}");
}

#[test]
fn an_unusable_offline_store_fails_before_listening() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let location = file.join("offline");
    let stderr = serve_fails(
        data.path(),
        &["--offline-store", location.to_str().unwrap()],
        &[],
    );
    assert!(stderr.contains("offline"), "{stderr}");
    let stderr = serve_fails(
        data.path(),
        &[
            "--offline-store",
            "s3://bucket/p",
            "--offline-store-option",
            "no_such_option=1",
        ],
        &[],
    );
    assert!(stderr.contains("no_such_option"), "{stderr}");
}
