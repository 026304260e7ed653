//! The background TTL purge: removes expired records (reads already hide
//! them) and appends their delete markers to the offline log.

use std::sync::Arc;
use std::time::Duration;

use crate::engine::Engine;

/// Records removed per writer command, so a large purge never holds up
/// other writes for long.
const PURGE_CHUNK: usize = 1000;

/// Purges every expired record now; returns how many went.
pub async fn purge_all_expired(engine: &Engine) -> crate::Result<usize> {
    let mut total = 0;
    loop {
        let purged = engine.purge_expired(PURGE_CHUNK).await?;
        total += purged;
        if purged < PURGE_CHUNK {
            return Ok(total);
        }
    }
}

/// Runs the purge every `interval` until `shutdown` resolves.
pub async fn run_purge_loop(
    engine: Arc<Engine>,
    interval: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = ticker.tick() => {
                match purge_all_expired(&engine).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, "purged expired records"),
                    Err(crate::StoreError::ShuttingDown) => return,
                    Err(error) => tracing::warn!(%error, "TTL purge failed; will retry"),
                }
            }
        }
    }
}
