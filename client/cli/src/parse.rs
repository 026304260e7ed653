//! Parsing command-line values: feature specs, tags, durations, records.

use almanac_client::proto as pb;
use almanac_client::values;
use anyhow::{Context, Result, bail};

/// Parses `NAME:TYPE[:COLLECTION[:DIM]]`.
pub fn feature_spec(spec: &str) -> Result<pb::FeatureDefinition> {
    let parts: Vec<&str> = spec.split(':').collect();
    let usage = "expected NAME:TYPE[:COLLECTION[:DIM]] with TYPE integral|fractional|string and COLLECTION list|set|vector";
    if !(2..=4).contains(&parts.len()) {
        bail!("--feature '{spec}': {usage}");
    }
    let feature_type = match parts[1].to_ascii_lowercase().as_str() {
        "integral" => pb::FeatureType::Integral,
        "fractional" => pb::FeatureType::Fractional,
        "string" => pb::FeatureType::String,
        other => bail!("--feature '{spec}': unknown type '{other}'; {usage}"),
    };
    let collection = match parts.get(2).map(|c| c.to_ascii_lowercase()) {
        None => pb::CollectionType::None,
        Some(c) if c == "list" => pb::CollectionType::List,
        Some(c) if c == "set" => pb::CollectionType::Set,
        Some(c) if c == "vector" => pb::CollectionType::Vector,
        Some(other) => bail!("--feature '{spec}': unknown collection '{other}'; {usage}"),
    };
    let dimension = match (collection, parts.get(3)) {
        (pb::CollectionType::Vector, Some(dim)) => dim
            .parse()
            .with_context(|| format!("--feature '{spec}': dimension '{dim}' is not a number"))?,
        (pb::CollectionType::Vector, None) => {
            bail!("--feature '{spec}': a vector needs a dimension, e.g. emb:fractional:vector:128")
        }
        (_, Some(_)) => bail!("--feature '{spec}': only vectors take a dimension"),
        (_, None) => 0,
    };
    Ok(values::definition(
        parts[0],
        feature_type,
        collection,
        dimension,
    ))
}

/// Parses `KEY=VALUE`.
pub fn key_value(flag: &str, text: &str) -> Result<(String, String)> {
    let (key, value) = text
        .split_once('=')
        .with_context(|| format!("{flag} '{text}': expected KEY=VALUE"))?;
    Ok((key.to_owned(), value.to_owned()))
}

/// Whole seconds of a duration, refusing zero.
pub fn ttl_seconds(flag: &str, duration: std::time::Duration) -> Result<u64> {
    let seconds = duration.as_secs();
    if seconds == 0 {
        bail!("{flag}: a TTL must be at least one second");
    }
    Ok(seconds)
}

/// Turns a JSON object of feature names to values into a record. Numbers
/// go typed (integers as integral, others as fractional), strings as
/// strings (the server parses them by the declared type), arrays as JSON
/// text parsed by the declared collection type, null as null.
pub fn record(json: &str) -> Result<Vec<pb::FeatureValue>> {
    let parsed: serde_json::Value =
        serde_json::from_str(json).context("--record is not valid JSON")?;
    let serde_json::Value::Object(object) = parsed else {
        bail!("--record must be a JSON object of feature names to values");
    };
    object
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                serde_json::Value::Null => values::null(),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => values::IntoValue::into_value(i),
                    None => values::IntoValue::into_value(n.as_f64().unwrap_or(f64::NAN)),
                },
                serde_json::Value::String(s) => values::IntoValue::into_value(s),
                serde_json::Value::Array(_) => values::text(value.to_string()),
                serde_json::Value::Bool(_) | serde_json::Value::Object(_) => {
                    bail!("--record: feature '{name}' has a value of a type features cannot hold (booleans and objects)")
                }
            };
            Ok(pb::FeatureValue { feature_name: name, value: Some(value) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_feature_specs() {
        let emb = feature_spec("emb:fractional:vector:128").unwrap();
        assert_eq!(emb.dimension, 128);
        assert_eq!(emb.collection, pb::CollectionType::Vector as i32);
        assert!(feature_spec("x").is_err());
        assert!(feature_spec("x:bool").is_err());
        assert!(feature_spec("x:string:vector").is_err());
        assert!(feature_spec("x:integral:list:3").is_err());
    }

    #[test]
    fn parses_records() {
        let record = record(r#"{"id":"r1","n":4,"x":1.5,"l":[1,2],"z":null}"#).unwrap();
        assert_eq!(record.len(), 5);
        assert!(super::record("[1]").is_err());
        assert!(super::record(r#"{"b":true}"#).is_err());
    }
}
