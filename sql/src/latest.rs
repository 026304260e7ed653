//! [`LatestVersionExec`]: the physical operator behind `as_of`. On input
//! partitioned by record id and sorted by (record id, event time desc,
//! write_time desc), the first row of each record id is its latest
//! version (docs/reference.md section 4.2: on equal event times the
//! version committed last wins, and `write_time` is unique and increasing
//! in commit order, as the online tier applies writes); the operator keeps that row unless it
//! is a delete marker, and drops the rest. It streams, holding one key
//! between batches; the planner adds the repartition and the sort (which
//! spills under the query's memory limit) that its requirements ask for.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::compute::kernels::cmp::distinct;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::OrderingRequirements;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::expressions::Column;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, Distribution, ExecutionPlan,
    ExecutionPlanProperties, InputDistributionRequirements, PhysicalExpr, PlanProperties,
    ReplaceChildrenOptions, SendableRecordBatchStream,
};
use futures::StreamExt;

use crate::version_order::latest_first;

/// Column positions the operator works with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VersionColumns {
    pub record_id: usize,
    pub event_time: usize,
    pub write_time: usize,
    pub is_deleted: usize,
}

/// Keeps the latest live version of each record id.
#[derive(Debug)]
pub(crate) struct LatestVersionExec {
    input: Arc<dyn ExecutionPlan>,
    columns: VersionColumns,
    properties: Arc<PlanProperties>,
}

impl LatestVersionExec {
    pub(crate) fn new(input: Arc<dyn ExecutionPlan>, columns: VersionColumns) -> Self {
        let properties = Arc::new(PlanProperties::new(
            input.equivalence_properties().clone(),
            input.output_partitioning().clone(),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Self {
            input,
            columns,
            properties,
        }
    }

    fn column(&self, index: usize) -> Arc<dyn PhysicalExpr> {
        let name = self.input.schema().field(index).name().clone();
        Arc::new(Column::new(&name, index))
    }
}

impl DisplayAs for LatestVersionExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "LatestVersionExec: record_id={}",
            self.input.schema().field(self.columns.record_id).name()
        )
    }
}

impl ExecutionPlan for LatestVersionExec {
    fn name(&self) -> &str {
        "LatestVersionExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn input_distribution_requirements(&self) -> InputDistributionRequirements {
        InputDistributionRequirements::new(vec![Distribution::KeyPartitioned(vec![
            self.column(self.columns.record_id),
        ])])
    }

    fn required_input_ordering(&self) -> Vec<Option<OrderingRequirements>> {
        let c = self.columns;
        let requirement = latest_first(
            self.column(c.record_id),
            self.column(c.event_time),
            self.column(c.write_time),
        );
        vec![OrderingRequirements::new_alternatives(requirement, false)]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        options: ReplaceChildrenOptions,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return Err(DataFusionError::Internal(
                "LatestVersionExec takes one input".into(),
            ));
        }
        let input = children.swap_remove(0);
        Ok(match options.children_properties {
            ChildrenPropertiesMode::Keep => Arc::new(Self {
                input,
                columns: self.columns,
                properties: Arc::clone(&self.properties),
            }),
            ChildrenPropertiesMode::Recompute => Arc::new(Self::new(input, self.columns)),
        })
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let schema = input.schema();
        let mut keeper = LatestKeeper {
            columns: self.columns,
            previous_key: None,
        };
        let stream = input.map(move |batch| keeper.keep(batch?));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// The per-partition state: the last record id seen.
struct LatestKeeper {
    columns: VersionColumns,
    previous_key: Option<ArrayRef>,
}

impl LatestKeeper {
    fn keep(&mut self, batch: RecordBatch) -> DfResult<RecordBatch> {
        let rows = batch.num_rows();
        if rows == 0 {
            return Ok(batch);
        }
        let keys = batch.column(self.columns.record_id);
        let mut first_of_key = Vec::with_capacity(rows);
        first_of_key.push(match &self.previous_key {
            None => true,
            Some(previous) => distinct(&keys.slice(0, 1), previous)?.value(0),
        });
        if rows > 1 {
            let changed = distinct(&keys.slice(1, rows - 1), &keys.slice(0, rows - 1))?;
            first_of_key.extend((0..rows - 1).map(|i| changed.value(i)));
        }
        self.previous_key = Some(keys.slice(rows - 1, 1));
        let deleted = batch.column(self.columns.is_deleted).as_boolean();
        let keep: BooleanArray = first_of_key
            .into_iter()
            .enumerate()
            .map(|(i, first)| Some(first && !(deleted.is_valid(i) && deleted.value(i))))
            .collect();
        Ok(filter_record_batch(&batch, &keep)?)
    }
}
