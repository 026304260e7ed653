//! What the background-load drivers share (`almanac-sqlbench loop` and
//! `almanac-ingestbench doput-loop`): they run until SIGTERM or SIGINT and
//! stamp each unit of work with wall-clock start and end times, so that
//! `benches/run-isolation.sh` can tell how much of it overlapped the window
//! `almanac-loadgen run --window-file` measured.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// Seconds since the Unix epoch, the clock every bench process shares.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

/// `start=S end=E` for work that started at `start` (Unix seconds) and ends
/// now, as the drivers print it.
pub fn span(start: f64) -> String {
    format!("start={start:.6} end={:.6}", unix_now())
}

/// A receiver that turns `true` on SIGTERM or SIGINT, or once `limit` has
/// passed (so that a driver left behind by a dead script ends by itself).
pub fn stop_signal(limit: Duration) -> std::io::Result<watch::Receiver<bool>> {
    #[cfg(unix)]
    let (mut terminate, mut interrupt) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        )
    };
    let (sender, receiver) = watch::channel(false);
    tokio::spawn(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
            _ = tokio::time::sleep(limit) => {}
        }
        #[cfg(not(unix))]
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = tokio::time::sleep(limit) => {}
        }
        let _ = sender.send(true);
    });
    Ok(receiver)
}

/// Creates the file at `path`, if one is given, to tell a waiting script
/// that the driver's set-up is done and its loops have started.
pub fn mark_ready(path: Option<&Path>) -> std::io::Result<()> {
    match path {
        Some(path) => std::fs::write(path, format!("{:.6}\n", unix_now())),
        None => Ok(()),
    }
}

/// Resolves once `stop` turns `true` (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}
