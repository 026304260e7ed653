//! Test support for Almanac's integration tests: the real server on
//! `127.0.0.1:0`, over a real RocksDB in a temporary directory, driven by
//! the real Rust client, with a clock the test moves by hand.
//!
//! # Layout
//!
//! - [`TestServer`]: start, stop and restart a server.
//! - [`fixtures`]: feature groups and records the tests share.
//! - [`sql`]: running queries and reading their results as text.
//! - [`dataset`]: building datasets and reading them as text.
//! - [`robustness`]: a server isolated on its own runtime, timeouts and a
//!   seeded generator, for tests that throw generated and corrupted
//!   requests at it.
//! - [`sql_gen`]: random SQL expression trees.
//! - [`seaweed`]: SeaweedFS, a real S3 server, on loopback.

pub mod dataset;
pub mod fixtures;
pub mod robustness;
pub mod seaweed;
pub mod sql;
pub mod sql_gen;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use almanac_client::Client;
use almanac_grpc::ServerConfig;
use almanac_online::{Engine, OfflineLogEntry};
use almanac_types::time::{ManualClock, parse_iso8601};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The instant every test clock starts at.
pub const START: &str = "2026-03-01T00:00:00Z";

/// The Python interpreter with the test tools (pyarrow, DuckDB, the ADBC
/// driver, SeaweedFS), as `tests/run.sh` sets it up. Without it the test
/// process stops at once with one line saying how to run the suite, rather
/// than every test failing on its own.
pub fn python() -> PathBuf {
    match std::env::var_os("ALMANAC_TEST_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => {
            // Straight to the stream: the test harness captures eprintln!,
            // and its capture is lost when the process exits.
            use std::io::Write;
            let _ = std::io::stderr().write_all(
                b"error: these tests need the Python test tools; run the suite with `bash tests/run.sh` (it sets ALMANAC_TEST_PYTHON)\n",
            );
            std::process::exit(2)
        }
    }
}

/// Runs a script of `tests/python` with [`python`] and returns its output.
pub fn run_python(script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(script);
    let output = std::process::Command::new(python())
        .arg(&path)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// A configuration change that makes the flusher run every 50 ms.
pub fn with_flushes(config: &mut ServerConfig) {
    config.flusher.interval = std::time::Duration::from_millis(50);
    config.shutdown_flush_timeout = std::time::Duration::from_secs(10);
}

/// A running server and a client connected to it.
pub struct TestServer {
    pub client: Client,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    pub clock: ManualClock,
    pub config: ServerConfig,
    engine: Arc<Engine>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    data_dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server on a fresh data directory.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server on a fresh data directory after `configure` has had
    /// its say on the configuration.
    pub async fn start_with(configure: impl FnOnce(&mut ServerConfig)) -> Self {
        let data_dir = tempfile::tempdir().expect("temporary directory");
        let mut config = ServerConfig::new(data_dir.path());
        // The offline log stays as written unless a test asks for flushes
        // (see `with_flushes`), so tests can look at it.
        config.flusher.interval = std::time::Duration::from_secs(3600);
        config.shutdown_flush_timeout = std::time::Duration::ZERO;
        configure(&mut config);
        let clock = ManualClock::new(parse_iso8601(START).expect("start time"));
        Self::launch(config, clock, Some(data_dir)).await
    }

    async fn launch(
        config: ServerConfig,
        clock: ManualClock,
        data_dir: Option<tempfile::TempDir>,
    ) -> Self {
        let storage =
            almanac_grpc::open_storage(&config, Arc::new(clock.clone())).expect("open storage");
        let engine = Arc::clone(&storage.engine);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn({
            let config = config.clone();
            async move {
                almanac_grpc::serve(listener, storage, config, async {
                    let _ = stopped.await;
                })
                .await
                .expect("server");
            }
        });
        let endpoint = format!("http://{address}");
        let client = Client::connect(endpoint.clone()).await.expect("connect");
        Self {
            client,
            endpoint,
            clock,
            config,
            engine,
            stop: Some(stop),
            task: Some(task),
            data_dir,
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// The engine behind the server, to look at the offline log.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Every offline-log entry, in arrival order.
    pub fn offline_log(&self) -> Vec<(u64, OfflineLogEntry)> {
        self.engine
            .read_offline_log(0, usize::MAX)
            .expect("read offline log")
    }

    /// Waits until the offline log is empty: every entry is in Parquet.
    /// Needs a server started with [`with_flushes`].
    pub async fn wait_flushed(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.engine.offline_backlog_total() > 0
            || self
                .engine
                .unfinished_flush()
                .expect("flush plan")
                .is_some()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the offline log was not flushed within 30 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Waits until `group`'s offline status is `status`, and returns the
    /// offline state then.
    pub async fn wait_offline_status(
        &self,
        group: &str,
        status: almanac_client::proto::OfflineStoreStatus,
    ) -> almanac_client::proto::OfflineStoreState {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let state = self
                .client
                .describe_feature_group(group)
                .await
                .expect("describe")
                .offline_store_state
                .unwrap_or_default();
            if state.status == status as i32 {
                return state;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "offline status never became {status:?}: {state:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Stops the server in order and closes RocksDB.
    async fn halt(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
    }

    /// Stops the server and starts a new one on the same data directory.
    pub async fn restart(mut self) -> Self {
        self.halt().await;
        let (config, clock, data_dir) = (
            self.config.clone(),
            self.clock.clone(),
            self.data_dir.take(),
        );
        drop(self);
        Self::launch(config, clock, data_dir).await
    }

    /// Stops the server in order; its data directory goes with it.
    pub async fn stop(mut self) {
        self.halt().await;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
