//! [`QueryLeases`]: which files running queries may still read. A query
//! holds a [`Lease`] from before it looks at the file list until its last
//! batch; a compaction deletes the files it replaced only once every query
//! that started before its commit has finished, so no query loses a file
//! under it, and readers of the folder see each row once again soon after.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The running queries, by the epoch they started in.
#[derive(Debug, Default)]
pub struct QueryLeases {
    state: Mutex<LeaseState>,
}

#[derive(Debug, Default)]
struct LeaseState {
    epoch: u64,
    active: BTreeMap<u64, usize>,
}

/// Held by a running query; released when dropped.
#[derive(Debug)]
pub struct Lease {
    leases: Arc<QueryLeases>,
    epoch: u64,
}

impl QueryLeases {
    /// A lease in the current epoch.
    pub fn acquire(self: &Arc<Self>) -> Lease {
        let mut state = self.lock();
        let epoch = state.epoch;
        *state.active.entry(epoch).or_default() += 1;
        Lease {
            leases: Arc::clone(self),
            epoch,
        }
    }

    /// Starts a new epoch and returns it: queries from now on see the file
    /// list as it is now.
    pub fn advance(&self) -> u64 {
        let mut state = self.lock();
        state.epoch += 1;
        state.epoch
    }

    /// Whether every query that started before `epoch` has finished.
    pub fn released_before(&self, epoch: u64) -> bool {
        self.lock()
            .active
            .keys()
            .next()
            .is_none_or(|&oldest| oldest >= epoch)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LeaseState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut state = self.leases.lock();
        if let Some(count) = state.active.get_mut(&self.epoch) {
            *count -= 1;
            if *count == 0 {
                state.active.remove(&self.epoch);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_go_only_after_older_queries_finish() {
        let leases = Arc::new(QueryLeases::default());
        let old = leases.acquire();
        let commit = leases.advance();
        let new = leases.acquire();
        assert!(!leases.released_before(commit));
        drop(old);
        assert!(leases.released_before(commit));
        drop(new);
        assert!(leases.released_before(leases.advance()));
    }
}
