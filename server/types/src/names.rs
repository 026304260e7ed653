//! Names of feature groups and features.

use crate::error::{Result, invalid};

/// Feature names that Almanac's offline store uses for its own columns.
pub const RESERVED_FEATURE_NAMES: [&str; 3] = ["is_deleted", "write_time", "api_invocation_time"];

/// Longest feature-group or feature name.
pub const MAX_NAME_CHARS: usize = 64;

/// Checks `name` against `[a-zA-Z0-9]([_-]*[a-zA-Z0-9]){0,63}`; `what` says
/// which name it is in the error ("feature group name", "feature name").
pub fn validate_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(invalid!("{what} must not be empty"));
    }
    if name.len() > MAX_NAME_CHARS {
        return Err(invalid!(
            "{what} '{name}' is {} characters long; the limit is {MAX_NAME_CHARS}",
            name.len()
        ));
    }
    let bytes = name.as_bytes();
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    let separator = |b: u8| b == b'_' || b == b'-';
    if !bytes.iter().all(|&b| alnum(b) || separator(b)) {
        return Err(invalid!(
            "{what} '{name}' may contain only ASCII letters, digits, '_' and '-'"
        ));
    }
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Err(invalid!(
            "{what} '{name}' must start and end with a letter or a digit"
        ));
    }
    Ok(())
}

/// Checks a feature name, including the reserved names (in any case).
pub fn validate_feature_name(name: &str) -> Result<()> {
    validate_name("feature name", name)?;
    if let Some(reserved) = RESERVED_FEATURE_NAMES
        .iter()
        .find(|reserved| reserved.eq_ignore_ascii_case(name))
    {
        return Err(invalid!(
            "feature name '{name}' is reserved: '{reserved}' is a column of the offline store"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for name in [
            "a",
            "A1",
            "review_id",
            "star-rating",
            "a_-_b",
            &"x".repeat(64),
        ] {
            validate_name("feature name", name).unwrap();
        }
    }

    #[test]
    fn refuses_invalid_names() {
        for name in ["", "_a", "a_", "-a", "a b", "é", "a.b", &"x".repeat(65)] {
            assert!(validate_name("feature name", name).is_err(), "{name}");
        }
    }

    #[test]
    fn refuses_reserved_names_in_any_case() {
        for name in ["is_deleted", "WRITE_TIME", "Api_Invocation_Time"] {
            let err = validate_feature_name(name).unwrap_err().to_string();
            assert!(err.contains("reserved"), "{err}");
        }
    }
}
