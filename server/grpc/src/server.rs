//! Running the server: [`serve`] takes a bound listener and a shutdown
//! future, so tests can bind `127.0.0.1:0`.

use std::future::Future;
use std::sync::Arc;

use almanac_offline::{OfflineError, OfflineFlusher, OfflineStore};
use almanac_online::{Engine, EngineConfig};
use almanac_proto::feature_store_server::FeatureStoreServer;
use almanac_sql::SqlEngine;
use arrow_flight::flight_service_server::FlightServiceServer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::codegen::http;
use tonic::transport::server::TcpIncoming;

use crate::config::ServerConfig;
use crate::flight_sql::FlightSqlEndpoint;
use crate::runtimes::Runtimes;
use crate::service::FeatureStoreService;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("online store: {0}")]
    Online(#[from] almanac_online::StoreError),
    #[error("offline store: {0}")]
    Offline(#[from] OfflineError),
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("cannot start the server's threads: {0}")]
    Threads(#[from] std::io::Error),
}

/// The storage a server runs on, opened and checked before it listens.
#[derive(Debug, Clone)]
pub struct Storage {
    pub engine: Arc<Engine>,
    pub offline: OfflineStore,
}

/// Opens the online engine and the offline store a configuration
/// describes. A configuration that cannot work (an unusable offline store
/// location or setting) fails here, before the server announces itself.
pub fn open_storage(
    config: &ServerConfig,
    clock: Arc<dyn almanac_types::time::Clock>,
) -> Result<Storage, ServeError> {
    let offline = OfflineStore::open(
        config.offline_store.as_deref(),
        &config.data_dir,
        &config.offline_store_options,
    )?;
    let engine = Engine::open(EngineConfig {
        data_dir: config.data_dir.clone(),
        durability: config.durability,
        limits: config.limits.clone(),
        clock,
        block_cache_bytes: config.block_cache_bytes,
    })?;
    Ok(Storage {
        engine: Arc::new(engine),
        offline,
    })
}

/// Serves `almanac.v1.FeatureStore`, Arrow Flight SQL and
/// `grpc.health.v1.Health` on `listener`, with the offline flusher in the
/// background, until `shutdown` resolves; then stops accepting, lets
/// in-flight requests finish, stops the TTL purge, flushes the offline
/// backlog and closes the engine's writer, in that order.
pub async fn serve(
    listener: TcpListener,
    storage: Storage,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let Storage { engine, offline } = storage;
    let runtimes = Runtimes::start(config.sql.target_partitions)?;
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<FeatureStoreServer<FeatureStoreService>>()
        .await;

    let (stop_background, background_stopped) = watch::channel(false);
    let purge = runtimes.background().spawn(almanac_online::run_purge_loop(
        Arc::clone(&engine),
        config.ttl_purge_interval,
        async move {
            let mut stopped = background_stopped;
            let _ = stopped.wait_for(|&stop| stop).await;
        },
    ));

    let flusher = OfflineFlusher::new(Arc::clone(&engine), offline.clone(), config.flusher.clone());
    let flush_status = flusher.status();
    let leases = flusher.leases();
    let (stop_flusher, flusher_stopped) = watch::channel(false);
    let flusher = runtimes.background().spawn(flusher.run(
        async move {
            let mut stopped = flusher_stopped;
            let _ = stopped.wait_for(|&stop| stop).await;
        },
        config.shutdown_flush_timeout,
    ));

    let handlers = FeatureStoreService::new(Arc::clone(&engine), offline.clone(), flush_status)
        .with_max_message_bytes(config.max_message_bytes);
    let service = FeatureStoreServer::new(handlers.clone())
        .max_decoding_message_size(config.max_message_bytes)
        .max_encoding_message_size(config.max_message_bytes);
    let sql = SqlEngine::new(
        engine.clone(),
        offline.clone(),
        config.sql.clone(),
        leases,
        runtimes.query().clone(),
    );
    let endpoint = FlightSqlEndpoint::new(
        sql.clone(),
        Arc::clone(&engine),
        handlers,
        runtimes.background().clone(),
    )
    .with_max_message_bytes(config.max_message_bytes);
    let flight = FlightServiceServer::new(endpoint)
        .max_decoding_message_size(config.max_message_bytes)
        .max_encoding_message_size(config.max_message_bytes);
    // Running queries end at once when shutdown starts, so that the
    // transport's wait for in-flight requests is short.
    let shutdown = async move {
        shutdown.await;
        sql.cancel_running();
    };
    let local = listener.local_addr().ok();
    // Small responses go out at once: without TCP_NODELAY, Nagle's
    // algorithm and delayed ACKs hold a response's last frame for ~40 ms.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    tracing::info!(
        address = ?local,
        data_dir = %config.data_dir.display(),
        offline_store = offline.root().url(),
        "almanac serving"
    );
    let result = tonic::transport::Server::builder()
        // Bulk transfers (entity tables in, datasets and query results out)
        // would otherwise crawl through HTTP/2's 64 KiB default windows.
        .http2_adaptive_window(Some(true))
        // Bounds the requests one connection can have in flight.
        .max_concurrent_streams(Some(MAX_STREAMS_PER_CONNECTION))
        .layer(tower::util::MapResponseLayer::new(message_size_status))
        .add_service(health_service)
        .add_service(service)
        .add_service(flight)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await;

    let _ = stop_background.send(true);
    let _ = purge.await;
    let _ = stop_flusher.send(true);
    let _ = flusher.await;
    drop(runtimes);
    engine.shutdown();
    tracing::info!("almanac stopped");
    Ok(result?)
}

/// HTTP/2 streams (requests in flight) one connection may open.
const MAX_STREAMS_PER_CONNECTION: u32 = 1024;

/// tonic refuses a message over `max_decoding_message_size` with
/// OUT_OF_RANGE; Almanac's contract (README, errors) says
/// RESOURCE_EXHAUSTED for anything over a size limit. The refusal is a
/// trailers-only response, so its status is in the headers.
fn message_size_status<B>(mut response: http::Response<B>) -> http::Response<B> {
    let headers = response.headers_mut();
    let out_of_range = headers.get("grpc-status").is_some_and(|code| code == "11");
    let too_large = headers
        .get("grpc-message")
        .and_then(|message| message.to_str().ok())
        .is_some_and(|message| {
            message
                .replace("%20", " ")
                .contains("message length too large")
        });
    if out_of_range && too_large {
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
    }
    bound_status_message(headers);
    response
}

/// Cuts a status message that would strain the HTTP/2 header limit (the
/// errors of `crate::status` are bounded already; this catches any other).
/// The message is percent-encoded: the cut never splits an escape.
fn bound_status_message(headers: &mut http::HeaderMap) {
    const MAX_ENCODED: usize = 4 * crate::status::MAX_STATUS_MESSAGE_BYTES;
    let Some(message) = headers.get("grpc-message") else {
        return;
    };
    let bytes = message.as_bytes();
    if bytes.len() <= MAX_ENCODED {
        return;
    }
    let mut end = MAX_ENCODED;
    // An escape is '%' and two hex digits: never end inside one.
    if let Some(percent) = bytes[end.saturating_sub(2)..end]
        .iter()
        .position(|&b| b == b'%')
    {
        end = end - 2 + percent;
    }
    let mut cut = bytes[..end].to_vec();
    cut.extend_from_slice(b"...%20(message%20cut)");
    if let Ok(value) = http::HeaderValue::from_bytes(&cut) {
        headers.insert("grpc-message", value);
    }
}
