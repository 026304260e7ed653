//! Feature types, feature definitions and feature groups.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, invalid};
use crate::names::{validate_feature_name, validate_name};

/// The scalar type of a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FeatureType {
    Integral,
    Fractional,
    String,
}

impl std::fmt::Display for FeatureType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FeatureType::Integral => "Integral",
            FeatureType::Fractional => "Fractional",
            FeatureType::String => "String",
        })
    }
}

/// Whether a feature holds one value or a collection of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CollectionType {
    /// A single value.
    None,
    /// An ordered list of values.
    List,
    /// A list of distinct values.
    Set,
    /// Exactly `dimension` fractional values.
    Vector { dimension: u32 },
}

/// Largest dimension of a vector feature.
pub(crate) const MAX_VECTOR_DIMENSION: u32 = 8192;

/// One feature of a group: its name, type and collection type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureDefinition {
    pub name: String,
    pub feature_type: FeatureType,
    pub collection: CollectionType,
}

impl FeatureDefinition {
    /// A single-valued feature.
    pub fn scalar(name: impl Into<String>, feature_type: FeatureType) -> Self {
        Self {
            name: name.into(),
            feature_type,
            collection: CollectionType::None,
        }
    }

    fn validate(&self) -> Result<()> {
        validate_feature_name(&self.name)?;
        if let CollectionType::Vector { dimension } = self.collection {
            if self.feature_type != FeatureType::Fractional {
                return Err(invalid!(
                    "feature '{}': a vector must be Fractional, not {}",
                    self.name,
                    self.feature_type
                ));
            }
            if !(1..=MAX_VECTOR_DIMENSION).contains(&dimension) {
                return Err(invalid!(
                    "feature '{}': vector dimension {dimension} is outside 1-{MAX_VECTOR_DIMENSION}",
                    self.name
                ));
            }
        }
        Ok(())
    }
}

/// Server-side limits, configurable at startup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub max_features: usize,
    pub max_record_bytes: usize,
    pub max_record_id_bytes: usize,
    pub max_description_chars: usize,
    pub max_tags: usize,
    pub max_batch_get_records: usize,
    pub max_batch_write_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_features: 2500,
            max_record_bytes: 350 * 1024,
            max_record_id_bytes: 2048,
            max_description_chars: 128,
            max_tags: 50,
            max_batch_get_records: 10_000,
            max_batch_write_entries: 10_000,
        }
    }
}

/// Longest tag key and tag value, and parameter key and value.
pub(crate) const MAX_TAG_KEY_CHARS: usize = 128;
pub(crate) const MAX_TAG_VALUE_CHARS: usize = 256;

/// What a caller asks for when creating a feature group.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureGroupSpec {
    pub name: String,
    pub record_identifier: String,
    pub event_time: String,
    pub features: Vec<FeatureDefinition>,
    pub online_enabled: bool,
    pub default_ttl_seconds: Option<u64>,
    pub offline_enabled: bool,
    pub description: String,
    pub tags: Vec<(String, String)>,
}

/// Description and parameters of one feature.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureMetadata {
    pub description: String,
    pub parameters: BTreeMap<String, String>,
    pub last_modified_micros: i64,
}

/// A feature group as the catalog stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureGroup {
    /// Internal id, never reused: a new group of the same name gets a new
    /// id, so it never sees the data of a deleted one.
    pub id: u64,
    pub name: String,
    pub record_identifier: String,
    pub event_time: String,
    /// Append-only: features are added, never removed or retyped.
    pub features: Vec<FeatureDefinition>,
    /// Bumped each time features are added; starts at 1.
    pub schema_version: u32,
    pub online_enabled: bool,
    pub default_ttl_seconds: Option<u64>,
    pub offline_enabled: bool,
    pub description: String,
    pub tags: Vec<(String, String)>,
    pub created_micros: i64,
    pub last_modified_micros: i64,
    /// Keyed by feature name, for features that have metadata.
    pub feature_metadata: BTreeMap<String, FeatureMetadata>,
    /// The folder of this group's offline files, under the offline root:
    /// `<name>-<creation epoch seconds>-<random token>`, chosen once at
    /// creation so that no other incarnation of the name can share it.
    /// `None` for groups created before the token existed, whose folder is
    /// `<name>-<creation epoch seconds>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_folder: Option<String>,
}

impl FeatureGroup {
    /// The folder of the group's offline files (see
    /// [`FeatureGroup::offline_folder`]).
    pub fn offline_folder_name(&self) -> String {
        match &self.offline_folder {
            Some(folder) => folder.clone(),
            None => format!(
                "{}-{}",
                self.name,
                self.created_micros.div_euclid(1_000_000)
            ),
        }
    }

    /// Checks a creation request and builds the group it describes.
    pub fn create(
        spec: FeatureGroupSpec,
        id: u64,
        now_micros: i64,
        limits: &Limits,
    ) -> Result<Self> {
        validate_name("feature group name", &spec.name)?;
        if !spec.online_enabled && !spec.offline_enabled {
            return Err(invalid!(
                "feature group '{}' must enable the online store, the offline store or both",
                spec.name
            ));
        }
        if spec.features.is_empty() {
            return Err(invalid!("feature_definitions must not be empty"));
        }
        check_feature_count(spec.features.len(), limits)?;
        check_description(&spec.description, limits)?;
        check_tags(&spec.tags, limits)?;
        let default_ttl_seconds = ttl_setting(spec.default_ttl_seconds)?;
        check_new_features(&[], &spec.features)?;

        let group = FeatureGroup {
            id,
            name: spec.name,
            record_identifier: spec.record_identifier,
            event_time: spec.event_time,
            features: spec.features,
            schema_version: 1,
            online_enabled: spec.online_enabled,
            default_ttl_seconds,
            offline_enabled: spec.offline_enabled,
            description: spec.description,
            tags: spec.tags,
            created_micros: now_micros,
            last_modified_micros: now_micros,
            feature_metadata: BTreeMap::new(),
            offline_folder: None,
        };
        group.check_special_features()?;
        Ok(group)
    }

    fn check_special_features(&self) -> Result<()> {
        let id = self.feature(&self.record_identifier).ok_or_else(|| {
            invalid!(
                "record_identifier_feature_name '{}' is not among the feature definitions",
                self.record_identifier
            )
        })?;
        if id.1.collection != CollectionType::None || id.1.feature_type == FeatureType::Fractional {
            return Err(invalid!(
                "record identifier feature '{}' must be a single Integral or String",
                self.record_identifier
            ));
        }
        let time = self.feature(&self.event_time).ok_or_else(|| {
            invalid!(
                "event_time_feature_name '{}' is not among the feature definitions",
                self.event_time
            )
        })?;
        if time.1.collection != CollectionType::None || time.1.feature_type == FeatureType::Integral
        {
            return Err(invalid!(
                "event time feature '{}' must be a single String (ISO-8601) or Fractional (epoch seconds)",
                self.event_time
            ));
        }
        if self.record_identifier == self.event_time {
            return Err(invalid!(
                "the record identifier and the event time must be different features"
            ));
        }
        Ok(())
    }

    /// The position and definition of the feature called `name` (exact case).
    pub fn feature(&self, name: &str) -> Option<(usize, &FeatureDefinition)> {
        self.features
            .iter()
            .enumerate()
            .find(|(_, f)| f.name == name)
    }

    /// Like [`feature`](Self::feature) but an error naming the feature.
    pub fn require_feature(&self, name: &str) -> Result<(usize, &FeatureDefinition)> {
        self.feature(name).ok_or_else(|| {
            invalid!(
                "feature '{name}' is not defined in feature group '{}'",
                self.name
            )
        })
    }

    /// Position of the record-identifier feature.
    pub fn record_identifier_index(&self) -> usize {
        self.feature(&self.record_identifier)
            .map(|(i, _)| i)
            .unwrap_or_default()
    }

    /// Position of the event-time feature.
    pub fn event_time_index(&self) -> usize {
        self.feature(&self.event_time)
            .map(|(i, _)| i)
            .unwrap_or_default()
    }

    /// Adds features (the schema version goes up by one) and returns the
    /// updated group; the current one is left as it is.
    pub fn with_added_features(
        &self,
        additions: Vec<FeatureDefinition>,
        limits: &Limits,
    ) -> Result<Self> {
        if additions.is_empty() {
            return Ok(self.clone());
        }
        check_feature_count(self.features.len() + additions.len(), limits)?;
        check_new_features(&self.features, &additions)?;
        let mut group = self.clone();
        group.features.extend(additions);
        group.schema_version += 1;
        Ok(group)
    }

    /// The TTL in seconds that applies to a write asking for `ttl_seconds`.
    /// A write's own 0 means no TTL, whatever the group's default.
    pub fn effective_ttl(&self, ttl_seconds: Option<u64>) -> Option<u64> {
        zero_is_none(ttl_seconds.or(self.default_ttl_seconds))
    }
}

fn check_feature_count(count: usize, limits: &Limits) -> Result<()> {
    if count > limits.max_features {
        return Err(Error::OverLimit(format!(
            "a feature group may have at most {} features (max_features); this one would have {count}",
            limits.max_features
        )));
    }
    Ok(())
}

/// Checks a description against the limit.
pub fn check_description(description: &str, limits: &Limits) -> Result<()> {
    let chars = description.chars().count();
    if chars > limits.max_description_chars {
        return Err(Error::OverLimit(format!(
            "description is {chars} characters long; the limit is {} (max_description_chars)",
            limits.max_description_chars
        )));
    }
    Ok(())
}

fn check_tags(tags: &[(String, String)], limits: &Limits) -> Result<()> {
    if tags.len() > limits.max_tags {
        return Err(Error::OverLimit(format!(
            "{} tags given; the limit is {} (max_tags)",
            tags.len(),
            limits.max_tags
        )));
    }
    let mut keys = HashSet::new();
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > MAX_TAG_KEY_CHARS {
            return Err(invalid!(
                "tag key '{key}' must be 1-{MAX_TAG_KEY_CHARS} characters"
            ));
        }
        if value.chars().count() > MAX_TAG_VALUE_CHARS {
            return Err(invalid!(
                "tag '{key}': value is longer than {MAX_TAG_VALUE_CHARS} characters"
            ));
        }
        if !keys.insert(key.as_str()) {
            return Err(invalid!("tag key '{key}' is given twice"));
        }
    }
    Ok(())
}

/// Largest TTL accepted: 100 years, so that event time + TTL never overflows.
pub(crate) const MAX_TTL_SECONDS: u64 = 100 * 366 * 24 * 3600;

/// A group's default TTL as stored: checked against the limit, with 0,
/// which the API accepts for "no TTL", stored as none.
pub fn ttl_setting(ttl_seconds: Option<u64>) -> Result<Option<u64>> {
    check_ttl(ttl_seconds)?;
    Ok(zero_is_none(ttl_seconds))
}

/// The one place where a TTL of 0 becomes no TTL.
fn zero_is_none(ttl_seconds: Option<u64>) -> Option<u64> {
    ttl_seconds.filter(|&ttl| ttl > 0)
}

/// Checks a TTL in seconds.
pub fn check_ttl(ttl_seconds: Option<u64>) -> Result<()> {
    match ttl_seconds {
        Some(ttl) if ttl > MAX_TTL_SECONDS => Err(invalid!(
            "ttl of {ttl} seconds is over the limit of {MAX_TTL_SECONDS} seconds (100 years)"
        )),
        _ => Ok(()),
    }
}

/// Checks `additions` on their own and against `existing` (names unique
/// regardless of case).
fn check_new_features(
    existing: &[FeatureDefinition],
    additions: &[FeatureDefinition],
) -> Result<()> {
    let mut seen: HashSet<String> = existing
        .iter()
        .map(|f| f.name.to_ascii_lowercase())
        .collect();
    for feature in additions {
        feature.validate()?;
        if !seen.insert(feature.name.to_ascii_lowercase()) {
            return Err(invalid!(
                "feature name '{}' is used twice (feature names are unique regardless of case)",
                feature.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn spec() -> FeatureGroupSpec {
        FeatureGroupSpec {
            name: "reviews".into(),
            record_identifier: "review_id".into(),
            event_time: "event_time".into(),
            features: vec![
                FeatureDefinition::scalar("review_id", FeatureType::String),
                FeatureDefinition::scalar("event_time", FeatureType::String),
                FeatureDefinition::scalar("star_rating", FeatureType::Integral),
            ],
            online_enabled: true,
            default_ttl_seconds: None,
            offline_enabled: true,
            description: String::new(),
            tags: vec![],
        }
    }

    #[test]
    fn creates_a_valid_group() {
        let group = FeatureGroup::create(spec(), 1, 0, &Limits::default()).unwrap();
        assert_eq!(group.schema_version, 1);
        assert_eq!(group.record_identifier_index(), 0);
        assert_eq!(group.event_time_index(), 1);
    }

    #[test]
    fn refuses_duplicate_names_regardless_of_case() {
        let mut s = spec();
        s.features.push(FeatureDefinition::scalar(
            "Star_Rating",
            FeatureType::Fractional,
        ));
        let err = FeatureGroup::create(s, 1, 0, &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("Star_Rating"), "{err}");
    }

    #[test]
    fn refuses_missing_or_mistyped_special_features() {
        let mut s = spec();
        s.event_time = "nope".into();
        assert!(FeatureGroup::create(s, 1, 0, &Limits::default()).is_err());
        let mut s = spec();
        s.event_time = "star_rating".into();
        let err = FeatureGroup::create(s, 1, 0, &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("event time"), "{err}");
    }

    #[test]
    fn adding_features_bumps_the_schema_version() {
        let group = FeatureGroup::create(spec(), 1, 0, &Limits::default()).unwrap();
        let added = group
            .with_added_features(
                vec![FeatureDefinition::scalar(
                    "helpful_votes",
                    FeatureType::Integral,
                )],
                &Limits::default(),
            )
            .unwrap();
        assert_eq!(added.schema_version, 2);
        assert_eq!(added.features.len(), 4);
        assert!(
            group
                .with_added_features(
                    vec![FeatureDefinition::scalar("REVIEW_ID", FeatureType::String)],
                    &Limits::default()
                )
                .is_err()
        );
    }
}
