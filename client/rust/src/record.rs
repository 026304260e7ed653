//! [`Record`]: one record's feature values, as sent to PutRecord and
//! returned by GetRecord, with typed access by feature name.

use std::ops::Deref;

use almanac_proto as pb;
use pb::value::Kind;

use crate::values::{IntoValue, feature};

/// A record: feature values in the order they were given or returned.
///
/// ```
/// use almanac_client::Record;
/// let record = Record::new()
///     .with("review_id", "r1")
///     .with("event_time", "2026-01-02T00:00:00Z")
///     .with("star_rating", 4);
/// assert_eq!(record.integral("star_rating"), Some(4));
/// assert_eq!(record.text("review_id"), Some("r1"));
/// assert_eq!(record.fractional("missing"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    values: Vec<pb::FeatureValue>,
}

impl Record {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// This record with feature `name` set to `value` (added at the end,
    /// or replacing the value already given for `name`).
    pub fn with(mut self, name: impl Into<String>, value: impl IntoValue) -> Self {
        self.set(name, value);
        self
    }

    /// Sets feature `name` to `value`.
    pub fn set(&mut self, name: impl Into<String>, value: impl IntoValue) {
        let value = feature(name, value);
        match self
            .values
            .iter_mut()
            .find(|v| v.feature_name == value.feature_name)
        {
            Some(slot) => *slot = value,
            None => self.values.push(value),
        }
    }

    /// The value of feature `name`; `None` when the record does not have
    /// it or it is null.
    pub fn get(&self, name: &str) -> Option<&Kind> {
        crate::values::get(&self.values, name)
    }

    /// An Integral feature's value.
    pub fn integral(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            Kind::Integral(value) => Some(*value),
            _ => None,
        }
    }

    /// A Fractional feature's value.
    pub fn fractional(&self, name: &str) -> Option<f64> {
        match self.get(name)? {
            Kind::Fractional(value) => Some(*value),
            _ => None,
        }
    }

    /// A String feature's value (or a value sent as text).
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            Kind::String(value) | Kind::Text(value) => Some(value),
            _ => None,
        }
    }

    /// The names of the features present, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(|v| v.feature_name.as_str())
    }

    /// The protobuf values.
    pub fn into_values(self) -> Vec<pb::FeatureValue> {
        self.values
    }
}

impl Deref for Record {
    type Target = [pb::FeatureValue];

    fn deref(&self) -> &Self::Target {
        &self.values
    }
}

impl From<Vec<pb::FeatureValue>> for Record {
    fn from(values: Vec<pb::FeatureValue>) -> Self {
        Self { values }
    }
}

impl From<Record> for Vec<pb::FeatureValue> {
    fn from(record: Record) -> Self {
        record.values
    }
}

impl FromIterator<pb::FeatureValue> for Record {
    fn from_iter<I: IntoIterator<Item = pb::FeatureValue>>(values: I) -> Self {
        Self {
            values: values.into_iter().collect(),
        }
    }
}

impl IntoIterator for Record {
    type Item = pb::FeatureValue;
    type IntoIter = std::vec::IntoIter<pb::FeatureValue>;

    fn into_iter(self) -> Self::IntoIter {
        self.values.into_iter()
    }
}

/// How DeleteRecord deletes (docs/reference.md, section 4.7). Either way
/// the offline store gets a delete marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeletionMode {
    /// The online record becomes a tombstone at the delete's event time,
    /// which reads never return and which keeps refusing older writes (the
    /// default, as in SageMaker).
    #[default]
    Soft,
    /// The online record is removed and any later write is accepted; a
    /// delete older than the live record is refused.
    Hard,
}

impl From<DeletionMode> for pb::DeletionMode {
    fn from(mode: DeletionMode) -> Self {
        match mode {
            DeletionMode::Soft => pb::DeletionMode::SoftDelete,
            DeletionMode::Hard => pb::DeletionMode::HardDelete,
        }
    }
}
