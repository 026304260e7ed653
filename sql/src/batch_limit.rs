//! Values computed by projections, under the memory limit.
//!
//! DataFusion's memory pool counts what operators buffer, not the batches
//! a projection computes. Operators such as `||` are not functions, so
//! [`crate::functions`] does not see them; a chain of common table
//! expressions each doubling a string (`s || s`) would grow one value past
//! any limit. [`BoundProjections`], run after DataFusion's own physical
//! optimizer rules, puts a [`BoundedOutputExec`] above every projection:
//! a batch larger than the bound fails the query with RESOURCE_EXHAUSTED,
//! so no chain gets further than one step past it.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::expressions::Column;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PhysicalExpr, PlanProperties,
    SendableRecordBatchStream,
};
use futures::StreamExt;

/// Puts a [`BoundedOutputExec`] above every projection.
#[derive(Debug)]
pub(crate) struct BoundProjections {
    pub max_batch_bytes: usize,
}

impl PhysicalOptimizerRule for BoundProjections {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(projection) = node.downcast_ref::<ProjectionExec>() else {
                return Ok(Transformed::no(node));
            };
            // Columns passed through share their input's buffers: only
            // what the projection computes is new.
            let computed = projection
                .expr()
                .iter()
                .enumerate()
                .filter(|(_, e)| !e.expr.as_ref().is::<Column>())
                .map(|(i, _)| i)
                .collect::<Vec<_>>();
            if computed.is_empty() {
                return Ok(Transformed::no(node));
            }
            let bounded = BoundedOutputExec::new(node, computed, self.max_batch_bytes);
            Ok(Transformed::yes(Arc::new(bounded) as Arc<dyn ExecutionPlan>))
        })
        .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "bound_projections"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Passes its input's batches on, failing on one whose `computed` columns
/// take more than `max_batch_bytes`.
#[derive(Debug)]
pub(crate) struct BoundedOutputExec {
    input: Arc<dyn ExecutionPlan>,
    computed: Arc<[usize]>,
    max_batch_bytes: usize,
}

impl BoundedOutputExec {
    pub(crate) fn new(
        input: Arc<dyn ExecutionPlan>,
        computed: Vec<usize>,
        max_batch_bytes: usize,
    ) -> Self {
        Self {
            input,
            computed: computed.into(),
            max_batch_bytes,
        }
    }
}

impl DisplayAs for BoundedOutputExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "BoundedOutputExec: max_batch_bytes={}",
            self.max_batch_bytes
        )
    }
}

impl ExecutionPlan for BoundedOutputExec {
    fn name(&self) -> &str {
        "BoundedOutputExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return Err(DataFusionError::Internal(
                "BoundedOutputExec takes one input".into(),
            ));
        }
        Ok(Arc::new(Self {
            input: children.swap_remove(0),
            computed: Arc::clone(&self.computed),
            max_batch_bytes: self.max_batch_bytes,
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let schema = input.schema();
        let limit = self.max_batch_bytes;
        let computed = Arc::clone(&self.computed);
        let stream = input.map(move |batch| {
            let batch = batch?;
            let bytes: usize = computed
                .iter()
                .map(|&i| batch.column(i).get_array_memory_size())
                .sum();
            if bytes > limit {
                return Err(DataFusionError::ResourcesExhausted(format!(
                    "a computed batch takes {bytes} bytes, over the limit of {limit} bytes for the values of one step (half the query memory limit)"
                )));
            }
            Ok(batch)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}
