//! The physical plan of one group's point-in-time join:
//!
//! ```text
//! AsOfJoinExec
//!   SortExec (id, time)                      SortExec (id, event time, api time, write time)
//!     RepartitionExec (hash of id)             RepartitionExec (hash of id)
//!       entity key batches                       FilterExec (event-time window, written_before)
//!                                                  the group's files and unflushed rows
//! ```
//!
//! Both sorts spill under the query's memory limit; the scan prunes files
//! by the event-time window the entity rows span (widened by the
//! look-back) and by `written_before`.

use std::sync::Arc;

use almanac_offline::schema::{API_INVOCATION_TIME, IS_DELETED, WRITE_TIME};
use arrow::compute::SortOptions;
use arrow::datatypes::SchemaRef;
use datafusion::common::DFSchema;
use datafusion::datasource::TableProvider;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Expr, col};
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_plan::expressions::Column;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::{ExecutionPlan, Partitioning, PhysicalExpr};

use super::as_of_join::AsOfJoinExec;
use super::entities::{KeyedEntities, ROW, TIME, id_column};
use crate::as_of::timestamp;
use crate::error::Result;
use crate::table::GroupTable;

/// One group's part of the dataset.
#[derive(Debug)]
pub struct GroupJoin {
    pub table: Arc<GroupTable>,
    /// Canonical names of the selected features.
    pub features: Vec<String>,
    pub look_back_micros: Option<i64>,
    pub written_before_micros: Option<i64>,
}

/// Version columns the join reads, under names no feature can have.
const VERSION_ID: &str = "__almanac_id";
const VERSION_TIME: &str = "__almanac_event_time";
const VERSION_API_TIME: &str = "__almanac_api_time";
const VERSION_WRITE_TIME: &str = "__almanac_write_time";
const VERSION_DELETED: &str = "__almanac_deleted";

fn column(schema: &SchemaRef, name: &str) -> Result<Arc<dyn PhysicalExpr>> {
    Ok(Arc::new(Column::new_with_schema(name, schema)?))
}

fn ascending(expr: Arc<dyn PhysicalExpr>) -> PhysicalSortExpr {
    PhysicalSortExpr::new(
        expr,
        SortOptions {
            descending: false,
            nulls_first: true,
        },
    )
}

fn ordering(exprs: Vec<Arc<dyn PhysicalExpr>>) -> LexOrdering {
    LexOrdering::new(exprs.into_iter().map(ascending)).expect("at least one sort key")
}

/// The plan that yields `(row, features...)` for the `index`-th group,
/// one row per entity row, in (record id, time) order per partition.
pub async fn group_plan(
    state: &SessionState,
    join: &GroupJoin,
    index: usize,
    entities: &KeyedEntities,
    partitions: usize,
) -> Result<Arc<dyn ExecutionPlan>> {
    let (earliest, latest) = entities.time_range.expect("the table is not empty");

    // Entity side: (row, id, time), partitioned by id, sorted by (id, time).
    let source = MemorySourceConfig::try_new_exec(
        &[entities.keys.clone()],
        Arc::clone(&entities.key_schema),
        None,
    )?;
    let key_schema = source.schema();
    let id_name = id_column(index);
    let keyed: Arc<dyn ExecutionPlan> = Arc::new(ProjectionExec::try_new(
        [
            (column(&key_schema, ROW)?, ROW.to_owned()),
            (column(&key_schema, &id_name)?, id_name.clone()),
            (column(&key_schema, TIME)?, TIME.to_owned()),
        ],
        source,
    )?);
    let keyed_schema = keyed.schema();
    let keyed = Arc::new(RepartitionExec::try_new(
        keyed,
        Partitioning::Hash(vec![column(&keyed_schema, &id_name)?], partitions),
    )?);
    let entity_side: Arc<dyn ExecutionPlan> = Arc::new(
        SortExec::new(
            ordering(vec![
                column(&keyed_schema, &id_name)?,
                column(&keyed_schema, TIME)?,
            ]),
            keyed,
        )
        .with_preserve_partitioning(true),
    );

    // Version side: the versions that can be picked, partitioned by id and
    // sorted by (id, event time, api time, write time).
    let table_schema = join.table.schema();
    let group = join.table.group();
    let mut window: Vec<Expr> = vec![col(group.event_time.as_str()).lt_eq(timestamp(latest))];
    if let Some(look_back) = join.look_back_micros {
        window.push(
            col(group.event_time.as_str()).gt_eq(timestamp(earliest.saturating_sub(look_back))),
        );
    }
    if let Some(written) = join.written_before_micros {
        window.push(col(WRITE_TIME).lt_eq(timestamp(written)));
    }
    let mut wanted: Vec<&str> = vec![
        &group.record_identifier,
        &group.event_time,
        API_INVOCATION_TIME,
        WRITE_TIME,
        IS_DELETED,
    ];
    wanted.extend(join.features.iter().map(String::as_str));
    let mut read: Vec<usize> = wanted
        .iter()
        .map(|name| table_schema.index_of(name))
        .collect::<Result<_, _>>()?;
    read.sort_unstable();
    read.dedup();
    let scan = join.table.scan(state, Some(&read), &window, None).await?;
    let scan_schema = scan.schema();
    let predicate = window
        .into_iter()
        .reduce(Expr::and)
        .expect("the event-time cut");
    let predicate = state.create_physical_expr(
        predicate,
        &DFSchema::try_from(scan_schema.as_ref().clone())?,
    )?;
    let filtered: Arc<dyn ExecutionPlan> = Arc::new(FilterExec::try_new(predicate, scan)?);
    let mut projection = vec![
        (
            column(&scan_schema, &group.record_identifier)?,
            VERSION_ID.to_owned(),
        ),
        (
            column(&scan_schema, &group.event_time)?,
            VERSION_TIME.to_owned(),
        ),
        (
            column(&scan_schema, API_INVOCATION_TIME)?,
            VERSION_API_TIME.to_owned(),
        ),
        (
            column(&scan_schema, WRITE_TIME)?,
            VERSION_WRITE_TIME.to_owned(),
        ),
        (
            column(&scan_schema, IS_DELETED)?,
            VERSION_DELETED.to_owned(),
        ),
    ];
    for feature in &join.features {
        projection.push((column(&scan_schema, feature)?, feature.clone()));
    }
    let versions: Arc<dyn ExecutionPlan> = Arc::new(ProjectionExec::try_new(projection, filtered)?);
    let version_schema = versions.schema();
    let versions = Arc::new(RepartitionExec::try_new(
        versions,
        Partitioning::Hash(vec![column(&version_schema, VERSION_ID)?], partitions),
    )?);
    let version_side: Arc<dyn ExecutionPlan> = Arc::new(
        SortExec::new(
            ordering(vec![
                column(&version_schema, VERSION_ID)?,
                column(&version_schema, VERSION_TIME)?,
                column(&version_schema, VERSION_API_TIME)?,
                column(&version_schema, VERSION_WRITE_TIME)?,
            ]),
            versions,
        )
        .with_preserve_partitioning(true),
    );

    Ok(Arc::new(AsOfJoinExec::try_new(
        entity_side,
        version_side,
        join.look_back_micros,
    )?))
}
