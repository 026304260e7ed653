//! Building feature values from Rust values.

use almanac_proto as pb;
use pb::value::Kind;

/// Rust values that make a feature value.
pub trait IntoValue {
    /// The protobuf value.
    fn into_value(self) -> pb::Value;
}

macro_rules! into_value {
    ($($t:ty => |$v:ident| $kind:expr),* $(,)?) => {
        $(impl IntoValue for $t {
            fn into_value(self) -> pb::Value {
                let $v = self;
                pb::Value { kind: Some($kind) }
            }
        })*
    };
}

into_value! {
    i64 => |v| Kind::Integral(v),
    i32 => |v| Kind::Integral(i64::from(v)),
    f64 => |v| Kind::Fractional(v),
    String => |v| Kind::String(v),
    &str => |v| Kind::String(v.to_owned()),
    Vec<i64> => |v| Kind::IntegralList(pb::IntegralList { values: v }),
    Vec<f64> => |v| Kind::FractionalList(pb::FractionalList { values: v }),
    Vec<String> => |v| Kind::StringList(pb::StringList { values: v }),
}

impl IntoValue for pb::Value {
    fn into_value(self) -> pb::Value {
        self
    }
}

/// A value given as text, parsed by the feature's declared type.
pub fn text(value: impl Into<String>) -> pb::Value {
    pb::Value {
        kind: Some(Kind::Text(value.into())),
    }
}

/// An explicit null.
pub fn null() -> pb::Value {
    pb::Value { kind: None }
}

/// One feature of a record.
pub fn feature(name: impl Into<String>, value: impl IntoValue) -> pb::FeatureValue {
    pb::FeatureValue {
        feature_name: name.into(),
        value: Some(value.into_value()),
    }
}

/// The value of `name` in a record, if present.
pub fn get<'a>(record: &'a [pb::FeatureValue], name: &str) -> Option<&'a Kind> {
    record
        .iter()
        .find(|f| f.feature_name == name)
        .and_then(|f| f.value.as_ref())
        .and_then(|v| v.kind.as_ref())
}

/// A feature definition, e.g. `definition("emb", FeatureType::Fractional,
/// CollectionType::Vector, 128)`.
pub fn definition(
    name: impl Into<String>,
    feature_type: pb::FeatureType,
    collection: pb::CollectionType,
    dimension: u32,
) -> pb::FeatureDefinition {
    pb::FeatureDefinition {
        name: name.into(),
        r#type: feature_type as i32,
        collection: collection as i32,
        dimension,
    }
}

/// A single-valued feature definition.
pub fn scalar(name: impl Into<String>, feature_type: pb::FeatureType) -> pb::FeatureDefinition {
    definition(name, feature_type, pb::CollectionType::None, 0)
}
