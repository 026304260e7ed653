//! Support for robustness tests, which throw generated and corrupted
//! requests at a server that must answer every one of them and stay up.
//!
//! - [`IsolatedServer`]: the real server on a runtime of its own, so a
//!   handler stuck in a loop stalls the server, not the test that waits for
//!   its answer; panics on the server's threads are recorded.
//! - [`within`]: awaits an answer for at most [`ANSWER_TIMEOUT`].
//! - [`is_refusal`]: the codes a request the server will not run gets.
//! - [`Rng`]: a small seeded generator, so a failure can be replayed from
//!   the seed its message prints.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once, PoisonError};
use std::time::Duration;

use almanac_client::proto::FeatureType as T;
use almanac_client::values::feature;
use almanac_client::{Client, ClientError};
use almanac_grpc::ServerConfig;
use arrow::array::RecordBatch;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::sql::client::FlightSqlServiceClient;
use futures::TryStreamExt;
use tonic::Code;
use tonic::transport::Channel;

use crate::fixtures::group_request;
use crate::{START, TestServer};

/// Longest a test waits for any one answer before it calls the server
/// stalled.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// The group and record every liveness check reads back.
const PROBE_GROUP: &str = "probe";
const PROBE_ID: &str = "alive";

/// Panics seen on server threads: (thread name, panic message).
static SERVER_PANICS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// Numbers each isolated server, whose threads carry it in their name.
static SERVERS: AtomicUsize = AtomicUsize::new(0);

/// A server on a runtime of its own (two worker threads, as on a two-core
/// machine), with a client on the caller's runtime, and a probe record
/// that [`IsolatedServer::assert_alive`] reads back.
pub struct IsolatedServer {
    /// A client on the caller's runtime.
    pub client: Client,
    pub endpoint: String,
    /// The name of every thread of the server's runtime.
    thread_name: String,
    server: Option<TestServer>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl IsolatedServer {
    /// Starts a server on a fresh data directory after `configure` has had
    /// its say on the configuration.
    pub async fn start_with(configure: impl FnOnce(&mut ServerConfig) + Send + 'static) -> Self {
        record_server_panics();
        let thread_name = format!("almanac-grpc-{}", SERVERS.fetch_add(1, Ordering::Relaxed));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(&thread_name)
            .enable_all()
            .build()
            .expect("server runtime");
        let server = runtime
            .spawn(TestServer::start_with(configure))
            .await
            .expect("the server starts");
        let endpoint = server.endpoint.clone();
        let client = Client::connect(endpoint.clone()).await.expect("connect");
        client
            .create_feature_group(group_request(PROBE_GROUP, ("id", T::String), &[]))
            .await
            .expect("create the probe group");
        client
            .put_record(
                PROBE_GROUP,
                vec![feature("id", PROBE_ID), feature("event_time", START)],
            )
            .await
            .expect("write the probe record");
        Self {
            client,
            endpoint,
            thread_name,
            server: Some(server),
            runtime: Some(runtime),
        }
    }

    /// A raw Flight client on this server without message size limits, so
    /// that only the server's limits apply.
    pub fn flight(&self) -> FlightServiceClient<Channel> {
        FlightServiceClient::new(self.client.channel())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX)
    }

    /// Runs `sql` through Flight SQL (GetFlightInfo, then DoGet) and
    /// gathers its batches.
    pub async fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>, ClientError> {
        let mut flight = FlightSqlServiceClient::new_from_inner(self.flight());
        let info = flight
            .execute(sql.to_owned(), None)
            .await
            .map_err(client_error)?;
        let mut batches = Vec::new();
        for endpoint in info.endpoint {
            let Some(ticket) = endpoint.ticket else {
                continue;
            };
            let stream = flight.do_get(ticket).await.map_err(client_error)?;
            batches.extend(stream.try_collect::<Vec<_>>().await.map_err(client_error)?);
        }
        Ok(batches)
    }

    /// The panics seen on this server's threads so far.
    pub fn panics(&self) -> Vec<String> {
        SERVER_PANICS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(thread, _)| *thread == self.thread_name)
            .map(|(_, message)| message.clone())
            .collect()
    }

    /// Asserts that no server thread has panicked; `after` says what ran
    /// last.
    pub fn assert_no_panics(&self, after: &str) {
        let panics = self.panics();
        assert!(
            panics.is_empty(),
            "after {after}: the server panicked: {panics:#?}"
        );
    }

    /// Asserts that the server still answers a GetRecord and `SELECT 1`,
    /// and has not panicked; `after` says what ran last.
    pub async fn assert_alive(&self, after: &str) {
        let record = within(
            &format!("GetRecord after {after}"),
            self.client.get_record(PROBE_GROUP, PROBE_ID, &[]),
        )
        .await;
        assert!(
            matches!(record, Ok(Some(_))),
            "after {after}: GetRecord of the probe record answered {record:?}"
        );
        let select = within(&format!("SELECT 1 after {after}"), self.sql("SELECT 1")).await;
        match select {
            Ok(batches) => assert_eq!(
                crate::sql::rows(&batches),
                [["1"]],
                "after {after}: SELECT 1"
            ),
            Err(error) => panic!("after {after}: SELECT 1 failed: {error}"),
        }
        self.assert_no_panics(after);
    }

    /// Stops the server in order, if it stops within 10 s; a server that
    /// does not is left to the end of the process.
    pub async fn stop(mut self) {
        if let (Some(server), Some(runtime)) = (self.server.take(), &self.runtime) {
            let stopping = runtime.spawn(server.stop());
            let _ = tokio::time::timeout(Duration::from_secs(10), stopping).await;
        }
    }
}

impl Drop for IsolatedServer {
    fn drop(&mut self) {
        // A stalled server may never finish its requests: its runtime is
        // not waited for.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        self.server.take();
    }
}

/// Records every panic on a server thread, once per process, and still
/// prints it as the default hook does.
fn record_server_panics() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            if let Some(name) = thread.name().filter(|n| n.starts_with("almanac-grpc-")) {
                SERVER_PANICS
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((name.to_owned(), info.to_string()));
            }
            default(info);
        }));
    });
}

fn client_error(error: FlightError) -> ClientError {
    match error {
        FlightError::Tonic(status) => ClientError::Status(*status),
        other => ClientError::Protocol(other.to_string()),
    }
}

/// Awaits `answer`, failing the test when it takes longer than
/// [`ANSWER_TIMEOUT`]; `what` names the request.
pub async fn within<T>(what: &str, answer: impl Future<Output = T>) -> T {
    match tokio::time::timeout(ANSWER_TIMEOUT, answer).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: no answer within {ANSWER_TIMEOUT:?}; the server stalled"),
    }
}

/// Whether `code` is how the server refuses a request it will not run:
/// INVALID_ARGUMENT for a malformed one, RESOURCE_EXHAUSTED for one over a
/// limit.
pub fn is_refusal(code: Code) -> bool {
    matches!(code, Code::InvalidArgument | Code::ResourceExhausted)
}

/// The start of a long text and its length, for failure messages.
pub fn excerpt(text: &str) -> String {
    const SHOWN: usize = 100;
    match text.char_indices().nth(SHOWN) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}... ({} bytes)", &text[..end], text.len()),
    }
}

/// The fuzz seed: `ALMANAC_FUZZ_SEED` when set (to replay a failure),
/// else `default`.
pub fn seed(default: u64) -> u64 {
    match std::env::var("ALMANAC_FUZZ_SEED") {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("ALMANAC_FUZZ_SEED={text} is not a number")),
        Err(_) => default,
    }
}

/// SplitMix64: small, fast and good enough to pick test inputs; the same
/// seed gives the same sequence everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`; `n` must not be 0.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `range`.
    pub fn between(&mut self, range: std::ops::RangeInclusive<usize>) -> usize {
        range.start() + self.below(range.end() - range.start() + 1)
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// One of `items`, which must not be empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
