//! The request to build a point-in-time-correct dataset, as clients send it
//! and the server reads it: which groups and features to join onto an
//! entity table, with an optional look-back per group and an optional
//! wall-clock cut. On the wire it is JSON (so that any Flight client, the
//! Python package included, can write it by hand).

use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};
use crate::time::parse_iso8601;

/// What to join onto an entity table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetRequest {
    /// One selection per feature group, in output order.
    pub features: Vec<FeatureSelection>,
    /// The entity table's event-time column; when left out, the column
    /// named like a group's event-time feature, `event_time` or
    /// `event_timestamp`, or else the table's only timestamp column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time_column: Option<String>,
    /// Only versions written at or before this wall-clock instant
    /// (ISO-8601 UTC) count: the store as it was then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_before: Option<String>,
}

/// Some features of one group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSelection {
    pub group: String,
    /// The features to fetch; empty means every feature but the record
    /// identifier.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// How far back from the entity row's time a version may lie and
    /// still count (`2h`, `30m`, `7d`, `1h 30m`); a version exactly this
    /// old counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// The entity column holding this group's record ids; by default the
    /// column named like the group's record identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_column: Option<String>,
}

/// The command a Flight `DoExchange` carries in its descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeCommand {
    pub build_dataset: DatasetRequest,
}

impl DatasetRequest {
    /// The request as the JSON a `DoExchange` descriptor carries.
    pub fn to_command(&self) -> Vec<u8> {
        serde_json::to_vec(&ExchangeCommand {
            build_dataset: self.clone(),
        })
        .expect("a dataset request always serialises")
    }

    /// Reads a `DoExchange` descriptor's command.
    pub fn from_command(bytes: &[u8]) -> Result<Self> {
        let command: ExchangeCommand = serde_json::from_slice(bytes).map_err(|e| {
            invalid!(
                "the exchange command is not a dataset request \
                 ({{\"build_dataset\": {{\"features\": [...]}}}}): {e}"
            )
        })?;
        Ok(command.build_dataset)
    }

    /// `written_before` in epoch microseconds.
    pub fn written_before_micros(&self) -> Result<Option<i64>> {
        self.written_before
            .as_deref()
            .map(|text| parse_iso8601(text).map_err(|e| invalid!("written_before: {e}")))
            .transpose()
    }
}

impl FeatureSelection {
    /// Reads `GROUP`, `GROUP:*` or `GROUP:F1,F2,...`.
    pub fn parse(spec: &str) -> Result<Self> {
        let (group, features) = match spec.split_once(':') {
            Some((group, features)) => (group.trim(), features.trim()),
            None => (spec.trim(), ""),
        };
        if group.is_empty() {
            return Err(invalid!(
                "'{spec}' names no feature group; write GROUP:FEATURE,FEATURE"
            ));
        }
        if spec.contains(':') && features.is_empty() {
            return Err(invalid!(
                "'{spec}' names no features after ':'; write GROUP:FEATURE,... or GROUP alone for all"
            ));
        }
        let features: Vec<String> = if features.is_empty() || features == "*" {
            Vec::new()
        } else {
            features.split(',').map(|f| f.trim().to_owned()).collect()
        };
        if let Some(empty) = features.iter().position(String::is_empty) {
            return Err(invalid!(
                "'{spec}': feature {} of the list is empty",
                empty + 1
            ));
        }
        Ok(Self {
            group: group.to_owned(),
            features,
            ..Self::default()
        })
    }

    /// The look-back in microseconds.
    pub fn ttl_micros(&self) -> Result<Option<i64>> {
        self.ttl
            .as_deref()
            .map(|text| parse_look_back(text).map_err(|e| invalid!("ttl of '{}': {e}", self.group)))
            .transpose()
    }
}

/// Reads a look-back such as `2h`, `90min`, `7days` or `1h 30m`.
pub fn parse_look_back(text: &str) -> Result<i64> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|e| invalid!("'{text}' is not a duration such as 2h, 30m or 7d ({e})"))?;
    i64::try_from(duration.as_micros())
        .map_err(|_| invalid!("'{text}' is longer than any time Almanac stores"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_parse() {
        let s = FeatureSelection::parse("driver_stats:conv_rate, acc_rate").unwrap();
        assert_eq!(s.group, "driver_stats");
        assert_eq!(s.features, ["conv_rate", "acc_rate"]);
        assert!(FeatureSelection::parse("g:*").unwrap().features.is_empty());
        assert!(FeatureSelection::parse("g").unwrap().features.is_empty());
        assert!(FeatureSelection::parse(":a").is_err());
        assert!(FeatureSelection::parse("g:").is_err());
        assert!(FeatureSelection::parse("g:a,,b").is_err());
    }

    #[test]
    fn look_backs_parse() {
        assert_eq!(parse_look_back("2h").unwrap(), 7_200_000_000);
        assert_eq!(parse_look_back("1h 30m").unwrap(), 5_400_000_000);
        assert_eq!(parse_look_back("1us").unwrap(), 1);
        assert!(parse_look_back("soon").is_err());
    }

    #[test]
    fn commands_round_trip() {
        let request = DatasetRequest {
            features: vec![FeatureSelection {
                group: "g".into(),
                features: vec!["a".into()],
                ttl: Some("2h".into()),
                entity_column: Some("id".into()),
            }],
            event_time_column: Some("ts".into()),
            written_before: Some("2026-01-01T00:00:00Z".into()),
        };
        let decoded = DatasetRequest::from_command(&request.to_command()).unwrap();
        assert_eq!(decoded, request);
        assert_eq!(
            decoded.written_before_micros().unwrap(),
            Some(1_767_225_600_000_000)
        );
        let error = DatasetRequest::from_command(b"{\"build\": 1}").unwrap_err();
        assert!(error.to_string().contains("not a dataset request"));
    }
}
