//! Every object path of the offline store, built in this one place.
//!
//! ```text
//! <root>/<group>-<creation epoch seconds>-<token>/schema.json
//! <root>/<group>-<creation epoch seconds>-<token>/data/year=YYYY/month=MM/day=DD/hour=HH/<first>-<last>-<part>.parquet
//! ```
//!
//! The token is random and chosen when the group is created, so each
//! incarnation of a name has a folder of its own, however quickly a name is
//! deleted and created again. Groups created before the token existed keep
//! their `<group>-<creation epoch seconds>` folder.
//!
//! `<first>` and `<last>` are the offline-log sequences the flush covered,
//! so a flush redone after a crash writes the very same names.

use almanac_online::FlushPlan;
use almanac_types::FeatureGroup;
use almanac_types::time::format_iso8601;
use object_store::path::Path;

/// The start of an hour partition, in epoch microseconds.
pub(crate) fn hour_start(event_time_micros: i64) -> i64 {
    const HOUR: i64 = 3_600_000_000;
    event_time_micros.div_euclid(HOUR) * HOUR
}

/// Where the offline store keeps its files: a root path within an object
/// store, and the URL users see for it.
#[derive(Debug, Clone)]
pub struct OfflineRoot {
    prefix: Path,
    url: String,
}

impl OfflineRoot {
    /// A root at `prefix` inside its object store, shown as `url`.
    pub fn new(prefix: Path, url: impl Into<String>) -> Self {
        Self {
            prefix,
            url: url.into(),
        }
    }

    /// The root's path inside its object store.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// `path` relative to the root, for a store scoped to it; `None` for a
    /// path outside the root.
    pub fn relative<'a>(&self, path: &'a str) -> Option<&'a str> {
        let prefix = self.prefix.as_ref();
        if prefix.is_empty() {
            return Some(path);
        }
        path.strip_prefix(prefix)?.strip_prefix('/')
    }

    /// The root as a URL (`file:///...` or `s3://bucket/prefix`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The folder holding everything of one group.
    pub fn group_dir(&self, group: &FeatureGroup) -> Path {
        self.prefix.clone().join(group_dir_name(group))
    }

    /// The group's folder as a URL, as DescribeFeatureGroup reports it.
    pub fn group_url(&self, group: &FeatureGroup) -> String {
        format!(
            "{}/{}",
            self.url.trim_end_matches('/'),
            group_dir_name(group)
        )
    }

    /// The self-describing schema file beside `data/`.
    pub fn schema_file(&self, group: &FeatureGroup) -> Path {
        self.group_dir(group).join("schema.json")
    }

    /// The file a flush writes for one group and one hour of event time.
    pub fn data_file(
        &self,
        group: &FeatureGroup,
        hour_micros: i64,
        plan: FlushPlan,
        part: u32,
    ) -> Path {
        let text = format_iso8601(hour_micros);
        let (year, rest) = text.split_once('-').unwrap_or(("0000", ""));
        let month = rest.get(0..2).unwrap_or("00");
        let day = rest.get(3..5).unwrap_or("00");
        let hour = rest.get(6..8).unwrap_or("00");
        self.group_dir(group)
            .join("data")
            .join(format!("year={year}"))
            .join(format!("month={month}"))
            .join(format!("day={day}"))
            .join(format!("hour={hour}"))
            .join(format!(
                "{:020}-{:020}-{part}.parquet",
                plan.first, plan.last
            ))
    }
}

/// The log range in a data file's name (`<first>-<last>-<part>.parquet`),
/// for flushed and compacted files alike.
pub(crate) fn data_file_range(path: &str) -> Option<(u64, u64)> {
    let name = path.rsplit('/').next()?.strip_suffix(".parquet")?;
    let mut parts = name.split('-');
    let first = parts.next()?.parse().ok()?;
    let last = parts.next()?.parse().ok()?;
    Some((first, last))
}

/// The hour-partition folder of a data file: everything before its name.
pub(crate) fn partition_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// The file a compaction of files covering `first..=last` writes, in
/// their partition folder.
pub(crate) fn compacted_file(partition: &str, first: u64, last: u64) -> Path {
    Path::from(format!("{partition}/{first:020}-{last:020}-c.parquet"))
}

fn group_dir_name(group: &FeatureGroup) -> String {
    group.offline_folder_name()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_files_are_hive_partitioned_by_event_hour() {
        let root = OfflineRoot::new(Path::from("var/data/offline"), "file:///var/data/offline");
        let group = crate::test_support::reviews_group(1_772_323_200_000_000);
        let micros = almanac_types::time::parse_iso8601("2026-03-01T17:45:00Z").unwrap();
        let path = root.data_file(
            &group,
            hour_start(micros),
            FlushPlan { first: 7, last: 9 },
            0,
        );
        assert_eq!(
            path.as_ref(),
            "var/data/offline/reviews-1772323200/data/year=2026/month=03/day=01/hour=17/00000000000000000007-00000000000000000009-0.parquet"
        );
        assert_eq!(
            root.group_url(&group),
            "file:///var/data/offline/reviews-1772323200"
        );
    }
}
