//! Limits on a statement's size and shape, checked before it is planned,
//! so that no statement can exhaust a thread's stack or keep the planner
//! busy for minutes (README, "Offline store and SQL").
//!
//! sqlparser builds chains of binary operators (`1+1+...`, `a AND b AND
//! ...`, `a || b || ...`) and set operations (`UNION ALL ...`) with loops,
//! not recursion, so its own recursion limit does not bound how deep the
//! tree gets; walking or even dropping such a tree recurses once per level.
//! [`parse_checked`] therefore runs on a thread of its own whose stack is
//! sized for the deepest tree a statement of the allowed length can
//! produce; it measures the tree there and drops a refused one there too.
//! Only statements within the limits leave that thread, and those are
//! shallow enough for any thread.

use std::collections::VecDeque;
use std::ops::ControlFlow;

use datafusion::sql::parser::{DFParserBuilder, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::{Expr, Select, Visit, Visitor};

use crate::dialect::AlmanacDialect;
use crate::error::{Result, SqlError};

/// How large and how deep a statement may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLimits {
    /// Longest statement text, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of expressions, counting each operator of a chain
    /// such as `a + b + c` or `x AND y AND z` as one level.
    pub max_expression_depth: usize,
    /// Most expression nodes (columns, literals, operators, calls, list
    /// items) in the whole statement.
    pub max_expression_nodes: usize,
    /// Most `SELECT` blocks (each branch of a `UNION` is one).
    pub max_selects: usize,
    /// Most items in one `SELECT` list.
    pub max_select_items: usize,
    /// Deepest nesting of parentheses, subqueries and function calls the
    /// parser follows.
    pub max_parser_recursion: usize,
}

impl Default for StatementLimits {
    fn default() -> Self {
        Self {
            max_bytes: 2 << 20,
            max_expression_depth: 500,
            max_expression_nodes: 250_000,
            max_selects: 500,
            max_select_items: 10_000,
            max_parser_recursion: 64,
        }
    }
}

/// Stack of the thread that parses and checks one statement. The deepest
/// tree a statement of `max_bytes` can hold is about `max_bytes / 2`
/// levels (`1+1+...`); walking and dropping it takes well under 256 bytes
/// of stack a level. Only the pages a statement really touches are ever
/// backed by memory, and the thread ends after each statement.
fn parser_stack_bytes(limits: &StatementLimits) -> usize {
    (limits.max_bytes / 2).saturating_mul(512).max(64 << 20)
}

/// Parses `sql` as exactly one statement and checks it against `limits`,
/// on a thread of its own (see the module documentation).
pub(crate) async fn parse_checked(sql: &str, limits: &StatementLimits) -> Result<DfStatement> {
    if sql.len() > limits.max_bytes {
        return Err(SqlError::OverLimit(format!(
            "the statement is {} bytes long; the limit is {} bytes",
            sql.len(),
            limits.max_bytes
        )));
    }
    let (reply, answer) = tokio::sync::oneshot::channel();
    let text = sql.to_owned();
    let checked_limits = limits.clone();
    std::thread::Builder::new()
        .name("almanac-sql-parse".into())
        .stack_size(parser_stack_bytes(limits))
        .spawn(move || {
            let _ = reply.send(parse_here(&text, &checked_limits));
        })
        .map_err(|e| SqlError::Unavailable(format!("cannot start a parser thread: {e}")))?;
    answer
        .await
        .map_err(|_| SqlError::Internal("the parser thread stopped without an answer".into()))?
}

/// Parses and checks on the current thread, which must have the stack of
/// [`parser_stack_bytes`].
fn parse_here(sql: &str, limits: &StatementLimits) -> Result<DfStatement> {
    let mut statements: VecDeque<DfStatement> = DFParserBuilder::new(sql)
        .with_dialect(&AlmanacDialect)
        .with_recursion_limit(limits.max_parser_recursion)
        .build()?
        .parse_statements()
        .map_err(|error| {
            let message = error.to_string();
            if message.to_lowercase().contains("recursion") {
                return SqlError::Invalid(format!(
                    "the statement nests parentheses, subqueries or function calls more than {} levels deep (the nesting limit)",
                    limits.max_parser_recursion
                ));
            }
            // The parser backtracks over some constructs (CASE among
            // them), so running out of depth there surfaces as a syntax
            // error at a later token; a statement nested that deep is told
            // about the limit as well as the error.
            let depth = nesting_depth(sql);
            if depth * 2 > limits.max_parser_recursion {
                SqlError::Invalid(format!(
                    "{message}; the statement nests parentheses and CASE expressions {depth} levels deep, \
                     near or over the nesting limit of {} levels",
                    limits.max_parser_recursion
                ))
            } else {
                SqlError::from(error)
            }
        })?;
    if statements.len() != 1 {
        return Err(SqlError::Invalid(format!(
            "expected exactly one statement, found {}",
            statements.len()
        )));
    }
    let statement = statements.pop_front().expect("one statement");
    check_shape(&statement, limits)?;
    Ok(statement)
}

/// How deep `sql` nests parentheses and CASE ... END, from its tokens (so
/// that strings and comments do not count); 0 when it does not tokenize.
fn nesting_depth(sql: &str) -> usize {
    use datafusion::sql::sqlparser::keywords::Keyword;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    let Ok(tokens) = Tokenizer::new(&AlmanacDialect, sql).tokenize() else {
        return 0;
    };
    let (mut depth, mut deepest) = (0usize, 0usize);
    for token in tokens {
        match token {
            Token::LParen => depth += 1,
            Token::Word(word) if word.keyword == Keyword::CASE => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Word(word) if word.keyword == Keyword::END => depth = depth.saturating_sub(1),
            _ => {}
        }
        deepest = deepest.max(depth);
    }
    deepest
}

/// Measures the statement's tree, stopping at the first limit it passes.
fn check_shape(statement: &DfStatement, limits: &StatementLimits) -> Result<()> {
    let mut shape = Shape {
        limits,
        depth: 0,
        nodes: 0,
        selects: 0,
    };
    let result = match statement {
        DfStatement::Statement(statement) => statement.visit(&mut shape),
        DfStatement::Explain(explain) => match explain.statement.as_ref() {
            DfStatement::Statement(statement) => statement.visit(&mut shape),
            _ => ControlFlow::Continue(()),
        },
        _ => ControlFlow::Continue(()),
    };
    match result {
        ControlFlow::Break(error) => Err(error),
        ControlFlow::Continue(()) => Ok(()),
    }
}

struct Shape<'a> {
    limits: &'a StatementLimits,
    depth: usize,
    nodes: usize,
    selects: usize,
}

impl Visitor for Shape<'_> {
    type Break = SqlError;

    fn pre_visit_expr(&mut self, _expr: &Expr) -> ControlFlow<SqlError> {
        self.depth += 1;
        self.nodes += 1;
        if self.depth > self.limits.max_expression_depth {
            return ControlFlow::Break(SqlError::Invalid(format!(
                "an expression nests more than {} levels deep, the expression depth limit (each operator of a chain such as \
                 a + b + c or x AND y AND z is a level); split it, or use IN (...) for long lists of alternatives",
                self.limits.max_expression_depth
            )));
        }
        if self.nodes > self.limits.max_expression_nodes {
            return ControlFlow::Break(SqlError::OverLimit(format!(
                "the statement has more than {} expression nodes, the limit (columns, literals, operators, calls and list items)",
                self.limits.max_expression_nodes
            )));
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, _expr: &Expr) -> ControlFlow<SqlError> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<SqlError> {
        if select.projection.len() > self.limits.max_select_items {
            return ControlFlow::Break(SqlError::OverLimit(format!(
                "a SELECT list has {} items; the limit is {}",
                select.projection.len(),
                self.limits.max_select_items
            )));
        }
        self.selects += 1;
        if self.selects > self.limits.max_selects {
            return ControlFlow::Break(SqlError::OverLimit(format!(
                "the statement has more than {} SELECT blocks, the limit (each branch of a UNION is one)",
                self.limits.max_selects
            )));
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> StatementLimits {
        StatementLimits {
            max_bytes: 1 << 20,
            max_expression_depth: 100,
            max_expression_nodes: 5_000,
            max_selects: 20,
            max_select_items: 3_000,
            max_parser_recursion: 50,
        }
    }

    fn check(sql: &str) -> Result<DfStatement> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(parse_checked(sql, &limits()))
    }

    #[test]
    fn admits_statements_within_the_limits() {
        let chain = vec!["1"; 90].join(" + ");
        check(&format!("SELECT {chain}")).unwrap();
        let list = (0..4_000).map(|i| i.to_string()).collect::<Vec<_>>();
        check(&format!("SELECT * FROM t WHERE id IN ({})", list.join(","))).unwrap();
    }

    #[test]
    fn refuses_deep_chains_naming_the_limit() {
        for sql in [
            format!("SELECT {}", vec!["1"; 200_000].join("+")),
            format!("SELECT 1 WHERE {}", vec!["x=1"; 50_000].join(" AND ")),
            format!("SELECT {}", vec!["'a'"; 100_000].join("||")),
        ] {
            let error = check(&sql).unwrap_err();
            assert!(matches!(error, SqlError::Invalid(_)), "{error:?}");
            assert!(error.to_string().contains("100 levels"), "{error}");
        }
    }

    #[test]
    fn refuses_too_many_nodes_selects_and_bytes() {
        let list = (0..6_000).map(|i| i.to_string()).collect::<Vec<_>>();
        let error = check(&format!("SELECT 1 WHERE x IN ({})", list.join(","))).unwrap_err();
        assert!(
            error.to_string().contains("5000 expression nodes"),
            "{error}"
        );
        let error = check(&format!("SELECT {}", list[..4_000].join(","))).unwrap_err();
        assert!(error.to_string().contains("the limit is 3000"), "{error}");
        let union = vec!["SELECT 1"; 30_000].join(" UNION ALL ");
        let error = check(&union).unwrap_err();
        assert!(error.to_string().contains("20 SELECT blocks"), "{error}");
        let error = check(&format!("SELECT '{}'", "x".repeat(2 << 20))).unwrap_err();
        assert!(matches!(error, SqlError::OverLimit(_)), "{error:?}");
        assert!(error.to_string().contains("1048576 bytes"), "{error}");
    }

    #[test]
    fn refuses_deep_nesting_through_the_parser() {
        let sql = format!("SELECT {}1{}", "(".repeat(10_000), ")".repeat(10_000));
        let error = check(&sql).unwrap_err();
        assert!(error.to_string().contains("50 levels"), "{error}");
    }
}
