//! Feature values: [`Value`] as stored and returned, [`InputValue`] as sent.

/// A checked feature value, in the shape its feature's type declares.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Value {
    #[default]
    Null,
    Integral(i64),
    Fractional(f64),
    String(String),
    IntegralList(Vec<i64>),
    FractionalList(Vec<f64>),
    StringList(Vec<String>),
}

impl Value {
    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as SageMaker's `ValueAsString` would show it: scalars as
    /// text, collections as JSON arrays, null as `None`.
    pub fn to_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Integral(v) => Some(v.to_string()),
            Value::Fractional(v) => Some(format_fractional(*v)),
            Value::String(v) => Some(v.clone()),
            Value::IntegralList(v) => Some(serde_json::to_string(v).unwrap_or_default()),
            Value::FractionalList(v) => Some(format!(
                "[{}]",
                v.iter()
                    .map(|x| format_fractional(*x))
                    .collect::<Vec<_>>()
                    .join(",")
            )),
            Value::StringList(v) => Some(serde_json::to_string(v).unwrap_or_default()),
        }
    }
}

/// Formats a float so that it reads back to the same value.
fn format_fractional(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        v.to_string()
    }
}

/// A feature value as a client sends it: typed, or as text to be parsed by
/// the feature's declared type.
#[derive(Debug, Clone, PartialEq)]
pub enum InputValue {
    Null,
    Integral(i64),
    Fractional(f64),
    String(String),
    IntegralList(Vec<i64>),
    FractionalList(Vec<f64>),
    StringList(Vec<String>),
    /// SageMaker's `ValueAsString`; collections as JSON arrays.
    Text(String),
}

impl InputValue {
    /// A short name of the value's shape, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            InputValue::Null => "null",
            InputValue::Integral(_) => "an integral",
            InputValue::Fractional(_) => "a fractional",
            InputValue::String(_) => "a string",
            InputValue::IntegralList(_) => "a list of integrals",
            InputValue::FractionalList(_) => "a list of fractionals",
            InputValue::StringList(_) => "a list of strings",
            InputValue::Text(_) => "text",
        }
    }
}

impl From<Value> for InputValue {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => InputValue::Null,
            Value::Integral(v) => InputValue::Integral(v),
            Value::Fractional(v) => InputValue::Fractional(v),
            Value::String(v) => InputValue::String(v),
            Value::IntegralList(v) => InputValue::IntegralList(v),
            Value::FractionalList(v) => InputValue::FractionalList(v),
            Value::StringList(v) => InputValue::StringList(v),
        }
    }
}
