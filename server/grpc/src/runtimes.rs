//! Where work runs. The online path (every gRPC call, GetRecord's RocksDB
//! read) runs on the runtime that calls [`crate::serve`], at normal
//! priority. Everything else runs on runtimes of its own whose threads
//! are in Linux's idle scheduling class (`SCHED_IDLE`), so that on a busy
//! machine the kernel gives the online path the CPU first:
//!
//! - the query runtime: SQL planning and execution, dataset builds;
//! - the background runtime: bulk ingest (decoding and converting Arrow),
//!   the offline flusher and compactor, the TTL purge.
//!
//! Why the idle class and not only nice 19: a normal thread that wakes up
//! (a GetRecord arriving) preempts an idle-class thread at once, whereas a
//! nice-19 thread keeps the CPU until its time slice ends, a few
//! milliseconds that land in the online tail. Idle-class threads still run
//! whenever the online path leaves a core free, and get a sliver of CPU
//! even on a saturated machine, so they are slowed, never stopped. Where
//! the idle class is not available (other systems), the threads fall back
//! to nice 19.
//!
//! RocksDB's own compaction threads run at low CPU and IO priority too
//! (`almanac_online::db`).

use std::io;

use tokio::runtime::{Builder, Handle, Runtime};

/// The runtimes of a server's analytical and background work. Dropping
/// them stops them without waiting for their tasks, which is allowed
/// anywhere, async code included (dropping a tokio runtime is not; a
/// server whose future is dropped mid-way would panic).
#[derive(Debug)]
pub(crate) struct Runtimes {
    query: Option<Runtime>,
    background: Option<Runtime>,
}

/// Stack of query threads: DataFusion walks plans recursively, and its
/// deepest plans (within the statement limits) need more than the 2 MiB
/// default. Only the pages used are backed by memory.
const QUERY_STACK_BYTES: usize = 64 << 20;

impl Runtimes {
    /// `query_threads` threads for queries, two for background work.
    pub(crate) fn start(query_threads: usize) -> io::Result<Self> {
        Ok(Self {
            query: Some(low_priority(
                "almanac-query",
                query_threads.max(1),
                QUERY_STACK_BYTES,
            )?),
            background: Some(low_priority("almanac-background", 2, 8 << 20)?),
        })
    }

    /// Where queries and dataset builds run.
    pub(crate) fn query(&self) -> &Handle {
        self.query.as_ref().expect("running until dropped").handle()
    }

    /// Where ingest, the flusher and the TTL purge run.
    pub(crate) fn background(&self) -> &Handle {
        self.background
            .as_ref()
            .expect("running until dropped")
            .handle()
    }
}

impl Drop for Runtimes {
    fn drop(&mut self) {
        for runtime in [self.query.take(), self.background.take()]
            .into_iter()
            .flatten()
        {
            runtime.shutdown_background();
        }
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

/// Makes the calling thread yield the CPU to normal-priority threads: the
/// idle scheduling class where there is one, else nice 19. Lowering one's
/// own priority needs no privilege; should the system refuse anyway, the
/// thread runs at normal priority and says so once.
fn lower_priority() {
    use thread_priority::{ThreadPriority, set_current_thread_priority};
    if idle_class().is_ok() {
        return;
    }
    if let Err(error) = set_current_thread_priority(ThreadPriority::Min) {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            tracing::warn!(?error, "cannot lower the priority of background threads")
        });
    }
}

/// Moves the calling thread into the idle scheduling class. The library
/// also resets the thread's nice value, which fails in a process started
/// with a raised one; what counts is the class the thread ends up in.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn idle_class() -> Result<(), thread_priority::Error> {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id, thread_schedule_policy,
    };
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    let result = set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle);
    match thread_schedule_policy() {
        Ok(policy) if policy == idle => Ok(()),
        _ => result,
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn idle_class() -> Result<(), thread_priority::Error> {
    Err(thread_priority::Error::Priority("no idle scheduling class"))
}
