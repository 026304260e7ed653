//! The SQL engine's error enum, with the classification of DataFusion's
//! errors into what the caller did wrong and what the server could not do.

use datafusion::error::DataFusionError;

/// What can go wrong with a query.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// Bad SQL, an unknown table or column, a type error.
    #[error("{0}")]
    Invalid(String),
    /// A feature group the request names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A statement that would change something, or read files or URLs:
    /// the SQL interface is read-only.
    #[error("{0}")]
    ReadOnly(String),
    /// The query went over its memory or time limit.
    #[error("{0}")]
    OverLimit(String),
    /// Object storage or the online engine failed; worth retrying.
    #[error("storage: {0}")]
    Unavailable(String),
    /// A fault of the engine itself.
    #[error("internal: {0}")]
    Internal(String),
}

pub type Result<T, E = SqlError> = std::result::Result<T, E>;

impl From<DataFusionError> for SqlError {
    fn from(error: DataFusionError) -> Self {
        let message = error.to_string();
        let root = error.find_root();
        match root {
            DataFusionError::SQL(..)
            | DataFusionError::Plan(_)
            | DataFusionError::SchemaError(..)
            | DataFusionError::NotImplemented(_)
            | DataFusionError::Configuration(_)
            | DataFusionError::Execution(_)
            | DataFusionError::ArrowError(..) => SqlError::Invalid(clean(root)),
            DataFusionError::ResourcesExhausted(_) => SqlError::OverLimit(format!(
                "the query needs more memory than its limit allows: {}",
                clean(root)
            )),
            DataFusionError::ObjectStore(_) | DataFusionError::IoError(_) => {
                SqlError::Unavailable(message)
            }
            DataFusionError::External(inner) => match inner.downcast_ref::<SqlError>() {
                Some(SqlError::Invalid(m)) => SqlError::Invalid(m.clone()),
                Some(SqlError::NotFound(m)) => SqlError::NotFound(m.clone()),
                Some(SqlError::ReadOnly(m)) => SqlError::ReadOnly(m.clone()),
                Some(SqlError::OverLimit(m)) => SqlError::OverLimit(m.clone()),
                Some(SqlError::Unavailable(m)) => SqlError::Unavailable(m.clone()),
                Some(SqlError::Internal(m)) => SqlError::Internal(m.clone()),
                // Other external errors come from functions refusing their
                // input (an invalid regular expression, a bad format).
                None => SqlError::Invalid(clean(root)),
            },
            _ => SqlError::Internal(message),
        }
    }
}

/// What went wrong, from the innermost error: DataFusion prefixes its
/// messages with the error kind ("Error during planning: ...") and wraps
/// them in context; users need only the cause itself.
fn clean(root: &DataFusionError) -> String {
    root.message().trim().to_owned()
}

impl From<arrow::error::ArrowError> for SqlError {
    fn from(error: arrow::error::ArrowError) -> Self {
        SqlError::from(DataFusionError::from(error))
    }
}

impl From<almanac_types::Error> for SqlError {
    fn from(error: almanac_types::Error) -> Self {
        match error {
            almanac_types::Error::Invalid(m) => SqlError::Invalid(m),
            almanac_types::Error::OverLimit(m) => SqlError::OverLimit(m),
            almanac_types::Error::Corrupt(m) => SqlError::Internal(m),
        }
    }
}

impl From<almanac_online::StoreError> for SqlError {
    fn from(error: almanac_online::StoreError) -> Self {
        use almanac_online::StoreError as E;
        let message = error.to_string();
        match error {
            // A group deleted while the query was being planned.
            E::GroupNotFound(_) => SqlError::NotFound(message),
            E::Invalid(_) | E::OverLimit(_) | E::GroupExists(_) | E::FailedPrecondition(_) => {
                SqlError::Invalid(message)
            }
            E::TooLarge(_) => SqlError::OverLimit(message),
            E::Storage(_) | E::Io(_) | E::ShuttingDown => SqlError::Unavailable(message),
            E::Corrupt(_) => SqlError::Internal(message),
        }
    }
}

impl From<SqlError> for DataFusionError {
    fn from(error: SqlError) -> Self {
        DataFusionError::External(Box::new(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_keep_the_cause_without_datafusion_prefixes() {
        let error = DataFusionError::Plan("table 'x' not found".into()).context("planning");
        assert!(error.to_string().contains("Error during planning: "));
        match SqlError::from(error) {
            SqlError::Invalid(message) => assert_eq!(message, "table 'x' not found"),
            other => panic!("{other:?}"),
        }
        let error = DataFusionError::ResourcesExhausted("pool is full".into());
        match SqlError::from(error) {
            SqlError::OverLimit(message) => assert_eq!(
                message,
                "the query needs more memory than its limit allows: pool is full"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn engine_errors_keep_their_class() {
        use almanac_online::StoreError;
        let class = |error: StoreError| match SqlError::from(error) {
            SqlError::Invalid(_) => "invalid",
            SqlError::NotFound(_) => "not found",
            SqlError::ReadOnly(_) => "read-only",
            SqlError::OverLimit(_) => "over limit",
            SqlError::Unavailable(_) => "unavailable",
            SqlError::Internal(_) => "internal",
        };
        assert_eq!(class(StoreError::GroupNotFound("g".into())), "not found");
        assert_eq!(class(StoreError::Invalid("bad".into())), "invalid");
        assert_eq!(class(StoreError::TooLarge("big".into())), "over limit");
        assert_eq!(class(StoreError::ShuttingDown), "unavailable");
        assert_eq!(class(StoreError::Io("disk".into())), "unavailable");
        assert_eq!(class(StoreError::Corrupt("bytes".into())), "internal");
    }
}
