//! [`GroupSource`]: what SQL needs from the online engine: the live
//! groups, and a group's offline data at one instant (its listed files and
//! the entries still in the offline log, from one snapshot, so a query sees
//! every acknowledged write exactly once). The engine implements it here.

use std::fmt::Debug;
use std::sync::Arc;

use almanac_online::{Engine, OfflineView, Result};
use almanac_types::FeatureGroup;

/// The groups SQL can query, and their offline data.
pub trait GroupSource: Send + Sync + Debug {
    /// The live group called exactly `name`.
    fn group(&self, name: &str) -> Option<Arc<FeatureGroup>>;

    /// Every live group.
    fn groups(&self) -> Vec<Arc<FeatureGroup>>;

    /// The group's files and unflushed entries, from one snapshot. It
    /// reads storage, so callers run it off the async threads.
    fn offline_view(&self, group_id: u64) -> Result<OfflineView>;
}

impl GroupSource for Engine {
    fn group(&self, name: &str) -> Option<Arc<FeatureGroup>> {
        Engine::group(self, name).ok()
    }

    fn groups(&self) -> Vec<Arc<FeatureGroup>> {
        Engine::groups(self)
    }

    fn offline_view(&self, group_id: u64) -> Result<OfflineView> {
        Engine::offline_view(self, group_id)
    }
}
