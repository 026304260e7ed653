//! The read-only guard: only queries run. Writes, DDL, `COPY`, `SET`,
//! `CREATE EXTERNAL TABLE`, and anything that reads files or URLs are
//! refused before planning, with a message that says why.

use std::ops::ControlFlow;

use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{ObjectNamePart, Statement, TableFactor, Visit, Visitor};

use crate::error::SqlError;

/// Table functions a query may call.
pub(crate) const TABLE_FUNCTIONS: [&str; 4] = ["as_of", "as_written", "generate_series", "range"];

/// Refuses every statement that is not a read-only query.
pub(crate) fn check_read_only(statement: &DfStatement) -> Result<(), SqlError> {
    match statement {
        DfStatement::Statement(statement) => check_statement(statement),
        DfStatement::Explain(explain) => check_read_only(&explain.statement),
        DfStatement::CreateExternalTable(_) => Err(refused(
            "CREATE EXTERNAL TABLE is refused: feature groups are the only tables",
        )),
        DfStatement::CopyTo(_) => Err(refused("COPY is refused: the SQL interface is read-only")),
        DfStatement::Reset(_) => Err(refused(
            "RESET is refused: query settings are fixed by the server",
        )),
    }
}

fn check_statement(statement: &Statement) -> Result<(), SqlError> {
    match statement {
        Statement::Query(_)
        | Statement::ShowTables { .. }
        | Statement::ShowColumns { .. }
        | Statement::ExplainTable { .. } => check_sources(statement),
        Statement::Explain { statement, .. } => check_statement(statement),
        Statement::Set(_) => Err(refused(
            "SET is refused: query settings are fixed by the server",
        )),
        other => {
            let text = other.to_string();
            let kind: Vec<&str> = text.split_whitespace().take(2).collect();
            Err(refused(&format!(
                "'{}' statements are refused: the SQL interface is read-only (SELECT, WITH, EXPLAIN, SHOW and DESCRIBE run; write with PutRecord or ingest, define groups with CreateFeatureGroup)",
                kind.join(" ").to_uppercase()
            )))
        }
    }
}

/// Refuses tables named by a file path or URL, and table functions other
/// than [`TABLE_FUNCTIONS`].
fn check_sources(statement: &Statement) -> Result<(), SqlError> {
    struct Sources;
    impl Visitor for Sources {
        type Break = SqlError;
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<SqlError> {
            let TableFactor::Table { name, args, .. } = factor else {
                return ControlFlow::Continue(());
            };
            for part in &name.0 {
                if let ObjectNamePart::Identifier(ident) = part
                    && (ident.quote_style == Some('\'')
                        || ident.value.contains('/')
                        || ident.value.contains("://"))
                {
                    return ControlFlow::Break(refused(&format!(
                        "reading files or URLs is refused ({name}): query feature groups by name"
                    )));
                }
            }
            if args.is_some() {
                let function = name.to_string().to_lowercase();
                if !TABLE_FUNCTIONS.contains(&function.as_str()) {
                    return ControlFlow::Break(refused(&format!(
                        "table function '{function}' is not available: only {} can be called",
                        TABLE_FUNCTIONS.join(", ")
                    )));
                }
            }
            ControlFlow::Continue(())
        }
    }
    match statement.visit(&mut Sources) {
        ControlFlow::Break(error) => Err(error),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn refused(message: &str) -> SqlError {
    SqlError::ReadOnly(message.to_owned())
}
