//! Time travel: the table functions `as_of` and `as_written`, and the
//! rewrite of `FOR SYSTEM_TIME AS OF` into `as_of`.
//!
//! - `as_of('<group>', <instant>)`: for each record id, the version with
//!   the latest event time at or before the instant, unless it is a delete
//!   marker. Ties on event time go to the version committed last, the
//!   later `write_time` (unique and increasing in commit order, so it
//!   orders the rows of one call too), as in the online tier; the
//!   `api_invocation_time` a request was stamped with does not count, as
//!   concurrent requests (or a clock stepped back) can commit out of its
//!   order.
//! - `as_of('<group>', <instant>, <written before>)`: the same over the
//!   rows with `write_time` at or before the second instant: the answer
//!   `as_of` gave at that wall-clock moment.
//! - `as_written('<group>', <instant>)`: the whole table as it stood at a
//!   wall-clock instant (rows with `write_time` at or before it).
//! - `SELECT ... FROM g FOR SYSTEM_TIME AS OF <instant>` is `as_of`.

use std::ops::ControlFlow;
use std::sync::Arc;

use almanac_offline::WRITE_TIME;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl};
use datafusion::common::ScalarValue;
use datafusion::datasource::{TableProvider, ViewTable, provider_as_source};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, col};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::sql::sqlparser::ast::{
    self, FunctionArg, FunctionArgExpr, Ident, ObjectName, ObjectNamePart, Statement, TableAlias,
    TableFactor, TableVersion, Value, Visit, VisitMut, Visitor, VisitorMut,
};

use crate::as_of::{AsOfTable, timestamp};
use crate::bounds::scalar_micros;
use crate::catalog::GroupTables;
use crate::error::SqlError;

/// Which time-travel function a [`TimeTravel`] implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeTravelKind {
    AsOf,
    AsWritten,
}

/// `as_of` or `as_written` over the groups of a catalog.
#[derive(Debug)]
pub(crate) struct TimeTravel {
    kind: TimeTravelKind,
    tables: Arc<GroupTables>,
}

impl TimeTravel {
    pub(crate) fn new(kind: TimeTravelKind, tables: Arc<GroupTables>) -> Self {
        Self { kind, tables }
    }

    fn name(&self) -> &'static str {
        match self.kind {
            TimeTravelKind::AsOf => "as_of",
            TimeTravelKind::AsWritten => "as_written",
        }
    }
}

impl TableFunctionImpl for TimeTravel {
    fn call_with_args(&self, args: TableFunctionArgs) -> DfResult<Arc<dyn TableProvider>> {
        let name = self.name();
        let exprs = args.exprs();
        let allowed = match self.kind {
            TimeTravelKind::AsOf => 2..=3,
            TimeTravelKind::AsWritten => 2..=2,
        };
        if !allowed.contains(&exprs.len()) {
            return Err(SqlError::Invalid(format!(
                "{name} takes {}: ('<feature group>', TIMESTAMP '...'{})",
                if self.kind == TimeTravelKind::AsOf {
                    "2 or 3 arguments"
                } else {
                    "2 arguments"
                },
                if self.kind == TimeTravelKind::AsOf {
                    "[, TIMESTAMP '<written before>']"
                } else {
                    ""
                },
            ))
            .into());
        }
        let context = SimplifyContext::builder()
            .with_config_options(Arc::new(args.session().config_options().clone()))
            .with_query_execution_start_time(
                args.session().execution_props().query_execution_start_time,
            )
            .build();
        let simplifier = ExprSimplifier::new(context);
        let group_name = match simplifier.simplify(exprs[0].clone())? {
            Expr::Literal(
                ScalarValue::Utf8(Some(s))
                | ScalarValue::LargeUtf8(Some(s))
                | ScalarValue::Utf8View(Some(s)),
                _,
            ) => s,
            other => {
                return Err(SqlError::Invalid(format!(
                    "{name}: the first argument must be a feature group name in quotes, not {other}"
                ))
                .into());
            }
        };
        let instant = |index: usize| -> DfResult<i64> {
            let expr = simplifier.simplify(exprs[index].clone())?;
            constant_micros(&expr).ok_or_else(|| {
                SqlError::Invalid(format!(
                    "{name}: argument {} must be a constant timestamp such as TIMESTAMP '2026-03-01T00:00:00Z', not {expr}",
                    index + 1
                ))
                .into()
            })
        };
        let table = self.tables.group_table(&group_name).ok_or_else(|| {
            SqlError::Invalid(format!("{name}: no feature group called '{group_name}'"))
        })?;
        match self.kind {
            TimeTravelKind::AsOf => {
                let written = if exprs.len() == 3 {
                    Some(instant(2)?)
                } else {
                    None
                };
                Ok(Arc::new(AsOfTable::new(table, instant(1)?, written)))
            }
            TimeTravelKind::AsWritten => {
                let group = Arc::clone(table.group());
                let plan =
                    LogicalPlanBuilder::scan(group.name.as_str(), provider_as_source(table), None)?
                        .filter(col(WRITE_TIME).lt_eq(timestamp(instant(1)?)))?
                        .build()?;
                Ok(Arc::new(ViewTable::new(plan, None)))
            }
        }
    }
}

/// A constant instant: a timestamp, or ISO-8601 text.
fn constant_micros(expr: &Expr) -> Option<i64> {
    let Expr::Literal(value, _) = expr else {
        return None;
    };
    match value {
        ScalarValue::Utf8(Some(text))
        | ScalarValue::LargeUtf8(Some(text))
        | ScalarValue::Utf8View(Some(text)) => almanac_types::time::parse_iso8601(text).ok(),
        other => scalar_micros(other),
    }
}

/// Rewrites every `<table> FOR SYSTEM_TIME AS OF <expr>` in `statement`
/// into `as_of('<table>', <expr>) AS <alias or table>`, and refuses the
/// other table-version clauses rather than ignoring them. The clause
/// applies to feature groups only: on a name that a `WITH` clause of the
/// statement defines it is refused, since it would otherwise travel the
/// group of that name. Unquoted table-function names are folded to lower
/// case, as unquoted table names are (`AS_OF(...)` is `as_of(...)`).
pub(crate) fn rewrite_system_time(statement: &mut Statement) -> Result<(), SqlError> {
    struct CteNames(Vec<String>);
    impl Visitor for CteNames {
        type Break = ();
        fn pre_visit_query(&mut self, query: &ast::Query) -> ControlFlow<()> {
            if let Some(with) = &query.with {
                for cte in &with.cte_tables {
                    self.0.push(cte.alias.name.value.to_lowercase());
                }
            }
            ControlFlow::Continue(())
        }
    }
    struct Rewriter {
        ctes: Vec<String>,
    }
    impl VisitorMut for Rewriter {
        type Break = SqlError;
        fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<SqlError> {
            let TableFactor::Table {
                name,
                alias,
                args,
                version,
                ..
            } = factor
            else {
                return ControlFlow::Continue(());
            };
            if args.is_some()
                && let [ObjectNamePart::Identifier(ident)] = name.0.as_mut_slice()
                && ident.quote_style.is_none()
            {
                ident.value = ident.value.to_lowercase();
            }
            let Some(taken) = version.take() else {
                return ControlFlow::Continue(());
            };
            if let [ObjectNamePart::Identifier(ident)] = name.0.as_slice()
                && self.ctes.contains(&ident.value.to_lowercase())
            {
                return ControlFlow::Break(SqlError::Invalid(format!(
                    "FOR SYSTEM_TIME AS OF applies to feature groups, and '{}' is a common table expression (WITH) of this statement; \
                     apply it to the feature group inside the WITH clause",
                    ident.value
                )));
            }
            let instant = match taken {
                TableVersion::ForSystemTimeAsOf(expr) => expr,
                other => {
                    return ControlFlow::Break(SqlError::Invalid(format!(
                        "'{other}' is not supported; use FOR SYSTEM_TIME AS OF TIMESTAMP '...' or as_of('<group>', TIMESTAMP '...')"
                    )));
                }
            };
            if args.is_some() {
                return ControlFlow::Break(SqlError::Invalid(format!(
                    "FOR SYSTEM_TIME AS OF applies to a feature group, not to the function {name}"
                )));
            }
            let table = match name.0.last() {
                Some(ObjectNamePart::Identifier(ident)) => ident.value.clone(),
                _ => name.to_string(),
            };
            *args = Some(ast::TableFunctionArgs {
                args: vec![
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(ast::Expr::Value(
                        Value::SingleQuotedString(table.clone()).into(),
                    ))),
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(instant)),
                ],
                settings: None,
            });
            if alias.is_none() {
                *alias = Some(TableAlias {
                    explicit: true,
                    name: Ident::new(table),
                    columns: Vec::new(),
                    at: None,
                });
            }
            *name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("as_of"))]);
            ControlFlow::Continue(())
        }
    }
    let mut ctes = CteNames(Vec::new());
    let _ = Visit::visit(&*statement, &mut ctes);
    match statement.visit(&mut Rewriter { ctes: ctes.0 }) {
        ControlFlow::Break(error) => Err(error),
        ControlFlow::Continue(()) => Ok(()),
    }
}
