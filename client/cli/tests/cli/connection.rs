//! How the client commands reach a server, with the real binary: a server
//! that accepts connections but never answers makes every kind of call
//! fail within `--timeout` (or `--connect-timeout`) with an error naming
//! it, and an `https://` endpoint is TLS or nothing.

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{ALMANAC, Scratch, ServerProcess};

/// Longest any command here may take: far above the 1 s timeouts, far
/// below forever.
const PATIENCE: Duration = Duration::from_secs(30);

/// A listener whose connections the kernel accepts (into the backlog)
/// but the program never takes: nothing is read, nothing answered.
fn never_accepting() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    (listener, address)
}

/// A listener that accepts every connection and reads all it is sent,
/// but never sends a byte.
fn mute() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for connection in listener.incoming() {
            let Ok(mut connection) = connection else {
                continue;
            };
            std::thread::spawn(move || {
                let mut sink = [0u8; 8192];
                while matches!(connection.read(&mut sink), Ok(n) if n > 0) {}
            });
        }
    });
    address
}

/// Runs `almanac args` in `dir` with `env`, and how long it took; fails
/// the test if it runs longer than [`PATIENCE`].
fn run_timed(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = Command::new(ALMANAC)
        .args(args)
        .env_remove("ALMANAC_ENDPOINT")
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run almanac");
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("{args:?} still waits after {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = started.elapsed();
    (child.wait_with_output().expect("output"), elapsed)
}

/// Runs a command that must fail with one line on standard error; returns
/// that line.
fn fail_timed(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let (output, elapsed) = run_timed(dir, args, env);
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    assert!(!output.status.success(), "{args:?} should fail");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        elapsed >= Duration::from_millis(900),
        "{args:?} failed after {elapsed:?}, before its timeout: {stderr}"
    );
    stderr
}

/// Files the data commands read.
fn write_inputs(dir: &Path) {
    std::fs::write(
        dir.join("reviews.csv"),
        "review_id,event_time\nR1,2026-03-01T00:00:00Z\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("entities.csv"),
        "review_id,event_time\nR1,2026-03-02T00:00:00Z\n",
    )
    .unwrap();
}

/// One of every kind of call: unary, Flight SQL, a dataset's exchange,
/// an ingest.
const COMMANDS: [&[&str]; 5] = [
    &["describe-feature-group", "reviews"],
    &["list-feature-groups"],
    &["query", "SELECT 1"],
    &[
        "dataset",
        "--entities",
        "entities.csv",
        "--feature",
        "reviews",
        "--output",
        "out.csv",
    ],
    &["ingest", "reviews", "reviews.csv"],
];

#[test]
fn a_server_that_never_accepts_fails_every_call_within_the_timeout() {
    let (_listener, address) = never_accepting();
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let endpoint = format!("http://{address}");
    for command in COMMANDS {
        let mut args = command.to_vec();
        args.extend(["--endpoint", endpoint.as_str(), "--connect-timeout", "1s"]);
        args.extend(["--timeout", "1s"]);
        let error = fail_timed(dir.path(), &args, &[]);
        assert_eq!(
            error,
            format!("error: no answer from {endpoint} within 1s (--timeout / ALMANAC_TIMEOUT)"),
            "{command:?}"
        );
    }
}

#[test]
fn a_server_that_accepts_and_stays_mute_fails_every_call_within_the_timeout() {
    let address = mute();
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let endpoint = format!("http://{address}");
    // The settings from the environment this time.
    let env = [
        ("ALMANAC_ENDPOINT", endpoint.as_str()),
        ("ALMANAC_CONNECT_TIMEOUT", "1s"),
        ("ALMANAC_TIMEOUT", "1s"),
    ];
    for command in COMMANDS {
        let error = fail_timed(dir.path(), command, &env);
        assert_eq!(
            error,
            format!("error: no answer from {endpoint} within 1s (--timeout / ALMANAC_TIMEOUT)"),
            "{command:?}"
        );
    }
}

#[test]
fn a_query_whose_first_row_takes_longer_than_the_timeout_fails() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    // The server gives up on the query itself after 20 s, in case the
    // client leaving does not stop it sooner.
    let server = ServerProcess::start(data.path(), &["--query-timeout", "20s"]);
    // The schema comes at once; the one row only after summing 10^11
    // numbers, long after the timeout.
    let sql = "SELECT sum(value % 7) AS s FROM range(0, 100000000000)";
    let args = [
        "query",
        sql,
        "--endpoint",
        server.endpoint.as_str(),
        "--timeout",
        "1s",
    ];
    let error = fail_timed(work.path(), &args, &[]);
    assert_eq!(
        error,
        format!(
            "error: no answer from {} within 1s (--timeout / ALMANAC_TIMEOUT)",
            server.endpoint
        )
    );
    // The server is fine, and a query that streams at once is not cut
    // short.
    let output = server.succeed(
        work.path(),
        &["query", "SELECT 1 AS one", "--timeout", "1s"],
    );
    assert_eq!(output, "one\n1\n");
}

#[test]
fn a_connection_that_cannot_be_made_fails_within_the_connect_timeout() {
    // A documentation address (TEST-NET-1): nothing answers, not even a
    // refusal, so only the connect timeout ends the wait.
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "list-feature-groups",
        "--endpoint",
        "http://192.0.2.1:50051",
        "--connect-timeout",
        "1s",
    ];
    let (output, elapsed) = run_timed(dir.path(), &args, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    assert!(!output.status.success());
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    // Where the network refuses at once, the error says so instead.
    assert!(
        stderr
            == "error: cannot connect to http://192.0.2.1:50051 within 1s \
                   (--connect-timeout / ALMANAC_CONNECT_TIMEOUT)"
            || stderr.starts_with("error: cannot connect to http://192.0.2.1:50051: "),
        "{stderr}"
    );
}

#[test]
fn timeouts_must_be_longer_than_zero() {
    let (_listener, address) = never_accepting();
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("http://{address}");
    let (output, _) = run_timed(
        dir.path(),
        &[
            "list-feature-groups",
            "--endpoint",
            endpoint.as_str(),
            "--timeout",
            "0s",
        ],
        &[],
    );
    assert!(!output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "error: --connect-timeout and --timeout must be longer than 0s"
    );
}

#[test]
fn an_https_endpoint_is_tls_or_fails() {
    let scratch = Scratch::start();
    let (server, dir) = (&scratch.server, scratch.dir());
    // The server speaks plain text: over http:// the call works...
    server.succeed(dir, &["list-feature-groups"]);
    // ... over https:// it must fail the TLS handshake, not fall back.
    let address = server.endpoint.trim_start_matches("http://");
    let https = format!("https://{address}");
    for command in [
        &["list-feature-groups"][..],
        &["query", "SELECT 1"],
        &["describe-feature-group", "reviews"],
    ] {
        let mut args = command.to_vec();
        args.extend(["--endpoint", https.as_str()]);
        let error = server.fail(dir, &args);
        assert!(
            error.starts_with(&format!("error: cannot connect to {https} over TLS: ")),
            "{command:?}: {error}"
        );
    }
    // Any other scheme is refused before connecting.
    let grpc = format!("grpc://{address}");
    let error = server.fail(dir, &["list-feature-groups", "--endpoint", grpc.as_str()]);
    assert_eq!(
        error,
        format!("error: invalid endpoint '{grpc}': the scheme is 'grpc'; use http:// or https://")
    );
    scratch.stop();
}
