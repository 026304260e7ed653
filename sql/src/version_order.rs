//! Which of two versions of a record is the later one (docs/reference.md
//! section 4.2), in the one place every offline reader takes it from: the
//! greater event time, and on equal event times the greater `write_time`,
//! which the writer stamps in commit order, so that the offline winner is
//! always the online winner. `as_of` ([`crate::latest`]) asks its input
//! for [`latest_first`] order; the point-in-time join
//! ([`crate::dataset::as_of_join`]) compares with [`is_later`].

use std::sync::Arc;

use arrow::compute::SortOptions;
use datafusion::physical_expr::{LexRequirement, PhysicalExpr, PhysicalSortRequirement};

/// A version's place in its record's history: (event time, write time),
/// both in epoch microseconds.
pub(crate) type VersionKey = (i64, i64);

/// Whether the version at `candidate` comes after the one at `current`.
pub(crate) fn is_later(current: VersionKey, candidate: VersionKey) -> bool {
    candidate > current
}

/// The order in which the first row of each record id is its latest
/// version: by record id, then by event time and write time, latest first.
pub(crate) fn latest_first(
    record_id: Arc<dyn PhysicalExpr>,
    event_time: Arc<dyn PhysicalExpr>,
    write_time: Arc<dyn PhysicalExpr>,
) -> Option<LexRequirement> {
    let ascending = SortOptions {
        descending: false,
        nulls_first: false,
    };
    let latest_first = SortOptions {
        descending: true,
        nulls_first: false,
    };
    LexRequirement::new([
        PhysicalSortRequirement::new(record_id, Some(ascending)),
        PhysicalSortRequirement::new(event_time, Some(latest_first)),
        PhysicalSortRequirement::new(write_time, Some(latest_first)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_time_first_then_commit_order() {
        assert!(is_later((10, 5), (11, 1)));
        assert!(is_later((10, 5), (10, 6)));
        assert!(!is_later((10, 5), (10, 5)));
        assert!(!is_later((10, 5), (9, 99)));
    }
}
