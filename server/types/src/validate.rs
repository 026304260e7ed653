//! Checking incoming records against a feature group.
//!
//! Every error names the feature it is about; nothing is written unless the
//! whole record passes.

use std::collections::HashSet;

use crate::codec;
use crate::error::{Error, Result, invalid};
use crate::record::{CheckedRecord, Record, RecordId};
use crate::schema::{CollectionType, FeatureDefinition, FeatureGroup, FeatureType, Limits};
use crate::time::{epoch_seconds_to_micros, parse_iso8601};
use crate::value::{InputValue, Value};

/// Checks a record sent to PutRecord and returns its identifier and the
/// version to store, encoded. `ttl_seconds` is the TTL that applies to the
/// write.
pub fn validate_record(
    group: &FeatureGroup,
    input: Vec<(String, InputValue)>,
    ttl_seconds: Option<u64>,
    limits: &Limits,
) -> Result<CheckedRecord> {
    let mut values = vec![Value::Null; group.features.len()];
    let mut seen = HashSet::with_capacity(input.len());
    for (name, input_value) in input {
        let (index, definition) = group.require_feature(&name)?;
        if !seen.insert(index) {
            return Err(invalid!("feature '{name}' is given more than once"));
        }
        values[index] = convert(definition, input_value)?;
    }
    validate_values(group, values, ttl_seconds, limits)
}

/// Checks a record whose values are converted already and in the group's
/// feature order (bulk ingest): the identifier, the event time and the
/// size. Returns the identifier and the version to store, encoded.
pub fn validate_values(
    group: &FeatureGroup,
    values: Vec<Value>,
    ttl_seconds: Option<u64>,
    limits: &Limits,
) -> Result<CheckedRecord> {
    let id_index = group.record_identifier_index();
    let id = match &values[id_index] {
        Value::Null => {
            return Err(invalid!(
                "record identifier feature '{}' is missing",
                group.record_identifier
            ));
        }
        Value::Integral(v) => RecordId(v.to_string()),
        Value::String(v) => RecordId(v.clone()),
        _ => unreachable_shape(&group.record_identifier)?,
    };
    check_record_id(group, &id, limits)?;

    let time_index = group.event_time_index();
    let event_time_micros = event_time_of(&group.event_time, &values[time_index])?;
    let expires_at_micros = ttl_seconds.map(|ttl| {
        event_time_micros
            .saturating_add((ttl as i64).saturating_mul(crate::time::MICROS_PER_SECOND))
    });

    let record = Record {
        schema_version: group.schema_version,
        event_time_micros,
        expires_at_micros,
        tombstone: false,
        values,
    };
    let encoded = codec::encode(&record);
    let size = encoded.len();
    if size > limits.max_record_bytes {
        return Err(Error::OverLimit(format!(
            "record '{id}' is {size} bytes encoded; the limit is {} bytes (max_record_bytes)",
            limits.max_record_bytes
        )));
    }
    Ok(CheckedRecord {
        id,
        record,
        encoded,
    })
}

fn unreachable_shape<T>(feature: &str) -> Result<T> {
    Err(invalid!(
        "feature '{feature}' has a value of the wrong shape"
    ))
}

/// The event time in microseconds of a checked event-time value.
fn event_time_of(feature: &str, value: &Value) -> Result<i64> {
    let prefix = |e: Error| invalid!("event time feature '{feature}': {e}");
    match value {
        Value::Null => Err(invalid!("event time feature '{feature}' is missing")),
        Value::String(text) => parse_iso8601(text).map_err(prefix),
        Value::Fractional(seconds) => epoch_seconds_to_micros(*seconds).map_err(prefix),
        _ => unreachable_shape(feature),
    }
}

/// Parses the text form of a record identifier (GetRecord, DeleteRecord)
/// into its canonical form.
pub fn parse_record_id(group: &FeatureGroup, text: &str, limits: &Limits) -> Result<RecordId> {
    let (_, definition) = group.require_feature(&group.record_identifier)?;
    let id = match definition.feature_type {
        FeatureType::Integral => {
            let value: i64 = text.trim().parse().map_err(|_| {
                invalid!(
                    "record identifier '{text}' is not an integer, as feature '{}' is Integral",
                    group.record_identifier
                )
            })?;
            RecordId(value.to_string())
        }
        _ => RecordId(text.to_owned()),
    };
    check_record_id(group, &id, limits)?;
    Ok(id)
}

fn check_record_id(group: &FeatureGroup, id: &RecordId, limits: &Limits) -> Result<()> {
    if id.0.is_empty() {
        return Err(invalid!(
            "record identifier feature '{}' must not be empty",
            group.record_identifier
        ));
    }
    if id.0.len() > limits.max_record_id_bytes {
        return Err(Error::OverLimit(format!(
            "record identifier is {} bytes; the limit is {} bytes (max_record_id_bytes)",
            id.0.len(),
            limits.max_record_id_bytes
        )));
    }
    Ok(())
}

/// Parses the text form of an event time (DeleteRecord) by the group's
/// event-time type; returns the microseconds and the value to store.
pub fn parse_event_time(group: &FeatureGroup, text: &str) -> Result<(i64, Value)> {
    let (_, definition) = group.require_feature(&group.event_time)?;
    let value = convert(definition, InputValue::Text(text.to_owned()))?;
    let micros = event_time_of(&group.event_time, &value)?;
    Ok((micros, value))
}

/// Converts one incoming value to the declared shape of its feature.
pub fn convert(definition: &FeatureDefinition, input: InputValue) -> Result<Value> {
    let name = &definition.name;
    let mismatch = |got: &InputValue| {
        invalid!(
            "feature '{name}' is {}; got {}",
            describe(definition),
            got.kind()
        )
    };
    let value = match (definition.collection, definition.feature_type, input) {
        (_, _, InputValue::Null) => return Ok(Value::Null),
        (
            CollectionType::None,
            FeatureType::String,
            InputValue::String(s) | InputValue::Text(s),
        ) => Value::String(s),
        (CollectionType::None, FeatureType::Integral, InputValue::Integral(v)) => {
            Value::Integral(v)
        }
        (CollectionType::None, FeatureType::Fractional, InputValue::Fractional(v)) => {
            Value::Fractional(v)
        }
        (CollectionType::None, FeatureType::Fractional, InputValue::Integral(v)) => {
            Value::Fractional(v as f64)
        }
        (
            CollectionType::None,
            FeatureType::Integral,
            InputValue::String(s) | InputValue::Text(s),
        ) => Value::Integral(
            s.trim()
                .parse()
                .map_err(|_| invalid!("feature '{name}' is Integral; '{s}' is not an integer"))?,
        ),
        (
            CollectionType::None,
            FeatureType::Fractional,
            InputValue::String(s) | InputValue::Text(s),
        ) => Value::Fractional(
            s.trim()
                .parse()
                .map_err(|_| invalid!("feature '{name}' is Fractional; '{s}' is not a number"))?,
        ),
        (CollectionType::None, _, other) => return Err(mismatch(&other)),
        (_, FeatureType::Integral, InputValue::IntegralList(v)) => Value::IntegralList(v),
        (_, FeatureType::Fractional, InputValue::FractionalList(v)) => Value::FractionalList(v),
        (_, FeatureType::Fractional, InputValue::IntegralList(v)) => {
            Value::FractionalList(v.into_iter().map(|x| x as f64).collect())
        }
        (_, FeatureType::String, InputValue::StringList(v)) => Value::StringList(v),
        (_, feature_type, InputValue::String(text) | InputValue::Text(text)) => {
            parse_json_list(name, feature_type, &text)?
        }
        (_, _, other) => return Err(mismatch(&other)),
    };
    check_collection(definition, &value)?;
    Ok(value)
}

fn parse_json_list(name: &str, feature_type: FeatureType, text: &str) -> Result<Value> {
    let bad = |e: serde_json::Error| {
        invalid!(
            "feature '{name}' is a collection of {feature_type}; '{text}' is not a JSON array of them ({e})"
        )
    };
    Ok(match feature_type {
        FeatureType::Integral => Value::IntegralList(serde_json::from_str(text).map_err(bad)?),
        FeatureType::Fractional => {
            let approximate: Vec<f64> = serde_json::from_str(text).map_err(bad)?;
            Value::FractionalList(exact_numbers(text).unwrap_or(approximate))
        }
        FeatureType::String => Value::StringList(serde_json::from_str(text).map_err(bad)?),
    })
}

/// The numbers of `text`, a JSON array of numbers that serde_json has
/// accepted, each parsed by the standard library, which rounds correctly:
/// serde_json's own parsing (without its `float_roundtrip` feature) can be
/// one unit in the last place off for long numbers, so a value would not
/// read back from its own text.
fn exact_numbers(text: &str) -> Option<Vec<f64>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?.trim();
    if inner.is_empty() {
        return Some(Vec::new());
    }
    inner
        .split(',')
        .map(|number| number.trim().parse::<f64>().ok())
        .collect()
}

fn check_collection(definition: &FeatureDefinition, value: &Value) -> Result<()> {
    let name = &definition.name;
    match definition.collection {
        CollectionType::None | CollectionType::List => Ok(()),
        CollectionType::Set => {
            let duplicate = match value {
                Value::IntegralList(v) => has_duplicate(v.iter().copied()),
                Value::FractionalList(v) => {
                    // -0.0 and 0.0 are one value; so is every NaN.
                    has_duplicate(v.iter().map(|x| {
                        if *x == 0.0 {
                            0
                        } else if x.is_nan() {
                            1
                        } else {
                            x.to_bits()
                        }
                    }))
                }
                Value::StringList(v) => has_duplicate(v.iter()),
                _ => false,
            };
            if duplicate {
                return Err(invalid!(
                    "feature '{name}' is a set; its values must be distinct"
                ));
            }
            Ok(())
        }
        CollectionType::Vector { dimension } => match value {
            Value::FractionalList(v) if v.len() == dimension as usize => Ok(()),
            Value::FractionalList(v) => Err(invalid!(
                "feature '{name}' is a vector of dimension {dimension}; got {} values",
                v.len()
            )),
            _ => Err(invalid!("feature '{name}' is a vector of fractionals")),
        },
    }
}

fn has_duplicate<T: std::hash::Hash + Eq>(values: impl Iterator<Item = T>) -> bool {
    let mut seen = HashSet::new();
    values.into_iter().any(|v| !seen.insert(v))
}

/// "Integral", "a list of String", "a vector of 128 Fractional", ...
pub fn describe(definition: &FeatureDefinition) -> String {
    let t = definition.feature_type;
    match definition.collection {
        CollectionType::None => t.to_string(),
        CollectionType::List => format!("a list of {t}"),
        CollectionType::Set => format!("a set of {t}"),
        CollectionType::Vector { dimension } => format!("a vector of {dimension} {t}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::FeatureGroupSpec;

    fn group() -> FeatureGroup {
        let features = vec![
            FeatureDefinition::scalar("review_id", FeatureType::String),
            FeatureDefinition::scalar("event_time", FeatureType::String),
            FeatureDefinition::scalar("star_rating", FeatureType::Integral),
            FeatureDefinition::scalar("score", FeatureType::Fractional),
            FeatureDefinition {
                name: "tags".into(),
                feature_type: FeatureType::String,
                collection: CollectionType::Set,
            },
            FeatureDefinition {
                name: "emb".into(),
                feature_type: FeatureType::Fractional,
                collection: CollectionType::Vector { dimension: 3 },
            },
        ];
        let spec = FeatureGroupSpec {
            name: "reviews".into(),
            record_identifier: "review_id".into(),
            event_time: "event_time".into(),
            features,
            online_enabled: true,
            default_ttl_seconds: None,
            offline_enabled: true,
            description: String::new(),
            tags: vec![],
        };
        FeatureGroup::create(spec, 1, 0, &Limits::default()).unwrap()
    }

    fn input(pairs: &[(&str, InputValue)]) -> Vec<(String, InputValue)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn accepts_typed_and_text_values() {
        let CheckedRecord { id, record, .. } = validate_record(
            &group(),
            input(&[
                ("review_id", InputValue::String("r1".into())),
                (
                    "event_time",
                    InputValue::Text("2026-01-02T00:00:00Z".into()),
                ),
                ("star_rating", InputValue::Text("4".into())),
                ("score", InputValue::Integral(3)),
                ("tags", InputValue::Text(r#"["a","b"]"#.into())),
                ("emb", InputValue::FractionalList(vec![0.1, 0.2, 0.3])),
            ]),
            Some(60),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(id.0, "r1");
        assert_eq!(record.values[2], Value::Integral(4));
        assert_eq!(record.values[3], Value::Fractional(3.0));
        assert_eq!(
            record.expires_at_micros,
            Some(record.event_time_micros + 60_000_000)
        );
    }

    #[test]
    fn errors_name_the_feature() {
        let cases = [
            (
                "star_rating",
                InputValue::Text("four".into()),
                "star_rating",
            ),
            ("star_rating", InputValue::Fractional(4.5), "star_rating"),
            (
                "tags",
                InputValue::StringList(vec!["a".into(), "a".into()]),
                "tags",
            ),
            ("emb", InputValue::FractionalList(vec![1.0]), "emb"),
            ("nope", InputValue::Integral(1), "nope"),
            (
                "event_time",
                InputValue::Text("yesterday".into()),
                "event_time",
            ),
        ];
        for (feature, value, expected) in cases {
            let mut pairs = vec![
                ("review_id".to_string(), InputValue::String("r1".into())),
                (
                    "event_time".to_string(),
                    InputValue::Text("2026-01-02T00:00:00Z".into()),
                ),
            ];
            pairs.retain(|(n, _)| n != feature);
            pairs.push((feature.to_string(), value));
            let err = validate_record(&group(), pairs, None, &Limits::default()).unwrap_err();
            assert!(err.to_string().contains(expected), "{err}");
        }
    }

    #[test]
    fn requires_identifier_and_event_time() {
        let err = validate_record(
            &group(),
            input(&[(
                "event_time",
                InputValue::Text("2026-01-02T00:00:00Z".into()),
            )]),
            None,
            &Limits::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("review_id"), "{err}");
        let err = validate_record(
            &group(),
            input(&[("review_id", InputValue::Text("r".into()))]),
            None,
            &Limits::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("event_time"), "{err}");
    }
}
