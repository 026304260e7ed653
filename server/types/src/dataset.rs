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
    let not_a_duration = || invalid!("'{text}' is not a duration such as 2h, 30m or 7d");
    let too_long = || invalid!("'{text}' is longer than any time Almanac stores");
    let mut rest = text.trim();
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(not_a_duration());
    }
    // Nanoseconds in u128: no sum of terms that passes the check below
    // can overflow it.
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(not_a_duration)?;
        let (number, after) = rest.split_at(digits);
        let after = after.trim_start();
        let unit_end = after
            .find(|c: char| c.is_whitespace() || c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        let unit_nanos = unit_nanos(unit).ok_or_else(|| {
            invalid!("'{text}' is not a duration such as 2h, 30m or 7d (unknown unit '{unit}')")
        })?;
        total = total
            .checked_add(term_nanos(number, unit_nanos).ok_or_else(not_a_duration)?)
            .ok_or_else(too_long)?;
        if total / 1_000 > i64::MAX as u128 {
            return Err(too_long());
        }
        rest = after.trim_start();
    }
    Ok((total / 1_000) as i64)
}

/// Nanoseconds in a unit of a look-back: the units of humantime's
/// durations, which clients such as the CLI use.
fn unit_nanos(unit: &str) -> Option<u128> {
    const SECOND: u128 = 1_000_000_000;
    Some(match unit {
        "nsec" | "ns" | "nanos" => 1,
        "usec" | "us" | "µs" | "micros" => 1_000,
        "msec" | "ms" | "millis" => 1_000_000,
        "seconds" | "second" | "secs" | "sec" | "s" => SECOND,
        "minutes" | "minute" | "mins" | "min" | "m" => 60 * SECOND,
        "hours" | "hour" | "hrs" | "hr" | "h" => 3_600 * SECOND,
        "days" | "day" | "d" => 86_400 * SECOND,
        "weeks" | "week" | "wks" | "wk" | "w" => 7 * 86_400 * SECOND,
        "months" | "month" | "M" => 2_630_016 * SECOND,
        "years" | "year" | "yrs" | "yr" | "y" => 31_557_600 * SECOND,
        _ => return None,
    })
}

/// `number` (digits, optionally a fraction) of a unit of `unit_nanos`, in
/// nanoseconds (the fraction's remainder dropped); None when it is not a
/// number or is far over any time Almanac stores.
fn term_nanos(number: &str, unit_nanos: u128) -> Option<u128> {
    let (whole, fraction) = match number.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (number, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Over 20 digits, even of nanoseconds, is past any time Almanac stores.
    if whole.len() > 20 {
        return None;
    }
    let whole: u128 = whole.parse().ok()?;
    let fraction = &fraction[..fraction.len().min(18)];
    let fraction_nanos = if fraction.is_empty() {
        0
    } else {
        let numerator: u128 = fraction.parse().ok()?;
        numerator * unit_nanos / 10u128.pow(fraction.len() as u32)
    };
    whole.checked_mul(unit_nanos)?.checked_add(fraction_nanos)
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
        assert_eq!(parse_look_back("2h30m").unwrap(), 9_000_000_000);
        assert_eq!(parse_look_back("1.5s").unwrap(), 1_500_000);
        assert_eq!(parse_look_back("7days").unwrap(), 604_800_000_000);
        assert_eq!(parse_look_back("0").unwrap(), 0);
        assert!(parse_look_back("soon").is_err());
        assert!(parse_look_back("").is_err());
        assert!(parse_look_back("5").is_err());
        assert!(parse_look_back("1.s").is_err());
        assert!(parse_look_back(".5s").is_err());
        assert!(parse_look_back("5 parsecs").is_err());
        assert_eq!(parse_look_back(" 1 h 2 m ").unwrap(), 3_720_000_000);
        // Once a panic in humantime, now a clear refusal.
        let error = parse_look_back("18446744073709551615s 0s 1000ms").unwrap_err();
        assert!(
            error.to_string().contains("longer than any time"),
            "{error}"
        );
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
