//! Time ranges read off a query's filters, to skip files (and log entries)
//! that cannot hold a matching row.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};

/// An inclusive range of epoch microseconds; unbounded by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeBounds {
    pub min: i64,
    pub max: i64,
}

impl Default for TimeBounds {
    fn default() -> Self {
        Self {
            min: i64::MIN,
            max: i64::MAX,
        }
    }
}

impl TimeBounds {
    /// The bounds that the conjunctive `filters` put on column `column`.
    /// Filters it does not understand leave the bounds as they are.
    pub(crate) fn from_filters(filters: &[Expr], column: &str) -> Self {
        let mut bounds = Self::default();
        for filter in filters {
            bounds.narrow(filter, column);
        }
        bounds
    }

    fn narrow(&mut self, filter: &Expr, column: &str) {
        match filter {
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::And,
                right,
            }) => {
                self.narrow(left, column);
                self.narrow(right, column);
            }
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                let (op, value) = match (left.as_ref(), right.as_ref()) {
                    (Expr::Column(c), Expr::Literal(v, _)) if c.name == column => (*op, v),
                    (Expr::Literal(v, _), Expr::Column(c)) if c.name == column => match op.swap() {
                        Some(op) => (op, v),
                        None => return,
                    },
                    _ => return,
                };
                let Some(micros) = scalar_micros(value) else {
                    return;
                };
                match op {
                    Operator::Eq => {
                        self.min = self.min.max(micros);
                        self.max = self.max.min(micros);
                    }
                    Operator::Gt => self.min = self.min.max(micros.saturating_add(1)),
                    Operator::GtEq => self.min = self.min.max(micros),
                    Operator::Lt => self.max = self.max.min(micros.saturating_sub(1)),
                    Operator::LtEq => self.max = self.max.min(micros),
                    _ => {}
                }
            }
            Expr::Between(between) if !between.negated => {
                if let (Expr::Column(c), Expr::Literal(low, _), Expr::Literal(high, _)) = (
                    between.expr.as_ref(),
                    between.low.as_ref(),
                    between.high.as_ref(),
                ) && c.name == column
                    && let (Some(low), Some(high)) = (scalar_micros(low), scalar_micros(high))
                {
                    self.min = self.min.max(low);
                    self.max = self.max.min(high);
                }
            }
            _ => {}
        }
    }

    /// Whether `[min, max]` meets these bounds.
    pub(crate) fn overlaps(&self, min: i64, max: i64) -> bool {
        min <= self.max && max >= self.min
    }

    pub(crate) fn contains(&self, micros: i64) -> bool {
        self.min <= micros && micros <= self.max
    }
}

/// A timestamp literal in epoch microseconds. Rounds outward, so that
/// bounds never exclude a row they should keep.
pub(crate) fn scalar_micros(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::TimestampSecond(Some(v), _) => v.checked_mul(1_000_000),
        ScalarValue::TimestampMillisecond(Some(v), _) => v.checked_mul(1_000),
        ScalarValue::TimestampMicrosecond(Some(v), _) => Some(*v),
        ScalarValue::TimestampNanosecond(Some(v), _) => Some(v.div_euclid(1_000)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::{col, lit};

    fn ts(micros: i64) -> Expr {
        lit(ScalarValue::TimestampMicrosecond(
            Some(micros),
            Some("UTC".into()),
        ))
    }

    #[test]
    fn reads_ranges_off_filters() {
        let filters = [
            col("event_time")
                .gt_eq(ts(10))
                .and(col("event_time").lt(ts(20))),
            col("other").lt(ts(0)),
        ];
        let bounds = TimeBounds::from_filters(&filters, "event_time");
        assert_eq!(bounds, TimeBounds { min: 10, max: 19 });
        assert!(bounds.overlaps(19, 30));
        assert!(!bounds.overlaps(20, 30));
        let flipped = [ts(5).lt(col("event_time"))];
        assert_eq!(TimeBounds::from_filters(&flipped, "event_time").min, 6);
        let or = [col("event_time").lt(ts(5)).or(col("event_time").gt(ts(9)))];
        assert_eq!(
            TimeBounds::from_filters(&or, "event_time"),
            TimeBounds::default()
        );
    }
}
