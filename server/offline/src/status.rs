//! Whether the offline store is taking files: shown by DescribeFeatureGroup.

use std::sync::Mutex;

/// Why the flusher cannot write, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub reason: String,
    pub since_micros: i64,
}

/// The flusher's health, shared with the gRPC service.
#[derive(Debug, Default)]
pub struct FlushStatus {
    blocked: Mutex<Option<Blocked>>,
}

impl FlushStatus {
    /// `Some` while object storage refuses writes.
    pub fn blocked(&self) -> Option<Blocked> {
        self.lock().clone()
    }

    pub(crate) fn set_blocked(&self, reason: String, now_micros: i64) {
        let mut blocked = self.lock();
        match blocked.as_mut() {
            Some(current) => current.reason = reason,
            None => {
                *blocked = Some(Blocked {
                    reason,
                    since_micros: now_micros,
                })
            }
        }
    }

    pub(crate) fn set_active(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Blocked>> {
        self.blocked.lock().unwrap_or_else(|e| e.into_inner())
    }
}
