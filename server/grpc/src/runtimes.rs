//! Where work runs. The online path (every gRPC call, GetRecord's RocksDB
//! read) runs on the runtime that calls [`crate::serve`], at normal
//! priority. Everything else runs on runtimes of its own whose threads
//! have the lowest CPU priority (nice 19), so that on a busy machine the
//! kernel gives the online path the CPU first:
//!
//! - the query runtime: SQL planning and execution, dataset builds;
//! - the background runtime: bulk ingest (decoding and converting Arrow),
//!   the offline flusher and compactor, the TTL purge.
//!
//! RocksDB's own compaction threads run at low CPU and IO priority too
//! (`almanac_online::db`).

use std::io;

use tokio::runtime::{Builder, Runtime};

/// The runtimes of a server's analytical and background work.
#[derive(Debug)]
pub struct Runtimes {
    pub query: Runtime,
    pub background: Runtime,
}

/// Stack of query threads: DataFusion walks plans recursively, and its
/// deepest plans (within the statement limits) need more than the 2 MiB
/// default. Only the pages used are backed by memory.
const QUERY_STACK_BYTES: usize = 64 << 20;

impl Runtimes {
    /// `query_threads` threads for queries, two for background work.
    pub fn start(query_threads: usize) -> io::Result<Self> {
        Ok(Self {
            query: low_priority("almanac-query", query_threads.max(1), QUERY_STACK_BYTES)?,
            background: low_priority("almanac-background", 2, 8 << 20)?,
        })
    }

    /// Stops both runtimes without waiting for their tasks (callable from
    /// async code, unlike dropping a runtime).
    pub fn shut_down(self) {
        self.query.shutdown_background();
        self.background.shutdown_background();
    }
}

/// A multi-thread runtime whose worker and blocking threads all run at the
/// lowest CPU priority.
fn low_priority(name: &'static str, threads: usize, stack_bytes: usize) -> io::Result<Runtime> {
    Builder::new_multi_thread()
        .worker_threads(threads)
        .max_blocking_threads(threads.max(2) * 2)
        .thread_name(name)
        .thread_stack_size(stack_bytes)
        .on_thread_start(lower_priority)
        .enable_all()
        .build()
}

/// Makes the calling thread yield the CPU to normal-priority threads.
/// Lowering one's own priority needs no privilege; should the system
/// refuse anyway, the thread runs at normal priority and says so once.
fn lower_priority() {
    use thread_priority::{ThreadPriority, set_current_thread_priority};
    if let Err(error) = set_current_thread_priority(ThreadPriority::Min) {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            tracing::warn!(?error, "cannot lower the priority of background threads")
        });
    }
}
