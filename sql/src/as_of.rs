//! [`AsOfTable`]: the table `as_of` returns. Its scan reads the group's
//! table with the event-time (and write-time) cut pushed down for pruning,
//! filters it, and keeps each record id's latest live version with
//! [`LatestVersionExec`].

use std::sync::Arc;

use almanac_offline::{IS_DELETED, WRITE_TIME};
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::ScalarValue;
use datafusion::datasource::TableProvider;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{Expr, TableType, col, lit};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::expressions::Column;
use datafusion::physical_plan::projection::ProjectionExec;

use crate::latest::{LatestVersionExec, VersionColumns};
use crate::table::GroupTable;

/// A group as of an event-time instant, optionally as written by a
/// wall-clock instant.
#[derive(Debug)]
pub(crate) struct AsOfTable {
    table: Arc<GroupTable>,
    event_time_micros: i64,
    written_before_micros: Option<i64>,
}

impl AsOfTable {
    pub(crate) fn new(
        table: Arc<GroupTable>,
        event_time_micros: i64,
        written_before_micros: Option<i64>,
    ) -> Self {
        Self {
            table,
            event_time_micros,
            written_before_micros,
        }
    }

    /// The rows a version must satisfy to count.
    fn visible(&self) -> Vec<Expr> {
        let group = self.table.group();
        let mut visible =
            vec![col(group.event_time.as_str()).lt_eq(timestamp(self.event_time_micros))];
        if let Some(written) = self.written_before_micros {
            visible.push(col(WRITE_TIME).lt_eq(timestamp(written)));
        }
        visible
    }
}

/// A UTC timestamp literal.
pub(crate) fn timestamp(micros: i64) -> Expr {
    lit(ScalarValue::TimestampMicrosecond(
        Some(micros),
        Some("UTC".into()),
    ))
}

#[async_trait]
impl TableProvider for AsOfTable {
    fn schema(&self) -> SchemaRef {
        self.table.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let schema = self.table.schema();
        let group = self.table.group();
        let index = |name: &str| schema.index_of(name);
        let version_columns = [
            index(&group.record_identifier)?,
            index(&group.event_time)?,
            index(WRITE_TIME)?,
            index(IS_DELETED)?,
        ];
        // Read only the columns asked for plus those that pick the version.
        let asked: Vec<usize> = projection
            .cloned()
            .unwrap_or_else(|| (0..schema.fields().len()).collect());
        let mut read: Vec<usize> = asked.iter().chain(&version_columns).copied().collect();
        read.sort_unstable();
        read.dedup();
        let position = |column: usize| read.iter().position(|&c| c == column).expect("read");

        let filtered = self.table.scan_where(state, &read, self.visible()).await?;
        let [record_id, event_time, write_time, is_deleted] = version_columns.map(position);
        let columns = VersionColumns {
            record_id,
            event_time,
            write_time,
            is_deleted,
        };
        let latest: Arc<dyn ExecutionPlan> = Arc::new(LatestVersionExec::new(filtered, columns));
        let expressions: Vec<(Arc<dyn datafusion::physical_plan::PhysicalExpr>, String)> = asked
            .iter()
            .map(|&column| {
                let name = schema.field(column).name().clone();
                (Arc::new(Column::new(&name, position(column))) as _, name)
            })
            .collect();
        Ok(Arc::new(ProjectionExec::try_new(expressions, latest)?))
    }
}
