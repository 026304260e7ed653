//! The physical plan of one group's point-in-time join:
//!
//! ```text
//! AsOfJoinExec
//!   entity key batches     SortPreservingMergeExec (id, event time)
//!                            SortExec (id, event time), per scan partition
//!                              FilterExec (event-time window, written_before)
//!                                the group's files and unflushed rows
//! ```
//!
//! Versions are sorted by (id, event time) only: one 128-bit key when ids
//! are integers, which sorts much faster than two columns. Ties on event
//! time are settled by the join, which sees them side by side. The sort
//! spills under the query's memory limit; the join sorts the entity keys
//! itself, in memory like the entity table. The scan prunes files by the
//! event-time window the entity rows span (widened by the look-back) and
//! by `written_before`.

use std::sync::Arc;

use almanac_offline::{IS_DELETED, WRITE_TIME};
use arrow::array::{AsArray, Decimal128Array};
use arrow::compute::SortOptions;
use arrow::datatypes::{DataType, Int64Type, SchemaRef, TimeUnit, TimestampMicrosecondType};
use datafusion::common::DFSchema;
use datafusion::datasource::TableProvider;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::execution::SessionState;
use datafusion::logical_expr::{ColumnarValue, Expr, ScalarUDF, Volatility, col, create_udf};
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_plan::expressions::Column;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};

use super::as_of_join::AsOfJoinExec;
use super::entities::{KeyedEntities, ROW, TIME, id_column};
use crate::as_of::timestamp;
use crate::error::Result;
use crate::table::GroupTable;

/// One group's part of the dataset.
#[derive(Debug)]
pub(crate) struct GroupJoin {
    pub table: Arc<GroupTable>,
    /// Canonical names of the selected features.
    pub features: Vec<String>,
    pub look_back_micros: Option<i64>,
    pub written_before_micros: Option<i64>,
}

/// Version columns the join reads, under names no feature can have.
const VERSION_ID: &str = "__almanac_id";
const VERSION_TIME: &str = "__almanac_event_time";
const VERSION_WRITE_TIME: &str = "__almanac_write_time";
const VERSION_DELETED: &str = "__almanac_deleted";
const VERSION_KEY: &str = "__almanac_version_key";

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
/// one row per entity row, in (record id, time) order.
pub(crate) async fn group_plan(
    state: &SessionState,
    join: &GroupJoin,
    index: usize,
    entities: &KeyedEntities,
) -> Result<Arc<dyn ExecutionPlan>> {
    let (earliest, latest) = entities.time_range.expect("the table is not empty");

    // Entity side: (row, id, time) in one partition; the join sorts it.
    let source = MemorySourceConfig::try_new_exec(
        std::slice::from_ref(&entities.keys),
        Arc::clone(&entities.key_schema),
        None,
    )?;
    let key_schema = source.schema();
    let id_name = id_column(index);
    let entity_side: Arc<dyn ExecutionPlan> = Arc::new(ProjectionExec::try_new(
        [
            (column(&key_schema, ROW)?, ROW.to_owned()),
            (column(&key_schema, &id_name)?, id_name.clone()),
            (column(&key_schema, TIME)?, TIME.to_owned()),
        ],
        source,
    )?);

    // Version side: the versions that can be picked, sorted by (id, event
    // time) in each scan partition at once, then merged into one stream.
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
    let filtered = join.table.scan_where(state, &read, window).await?;
    let scan_schema = filtered.schema();
    let df_schema = DFSchema::try_from(scan_schema.as_ref().clone())?;
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
    let columns = projection.len();
    let integral_ids = scan_schema
        .field_with_name(&group.record_identifier)?
        .data_type()
        == &DataType::Int64;
    if integral_ids {
        // One 128-bit key sorts much faster than two columns.
        let key = version_key().call(vec![
            col(group.record_identifier.as_str()),
            col(group.event_time.as_str()),
        ]);
        projection.push((
            state.create_physical_expr(key, &df_schema)?,
            VERSION_KEY.to_owned(),
        ));
    }
    let versions: Arc<dyn ExecutionPlan> = Arc::new(ProjectionExec::try_new(projection, filtered)?);
    let version_schema = versions.schema();
    let sort_keys = if integral_ids {
        vec![column(&version_schema, VERSION_KEY)?]
    } else {
        vec![
            column(&version_schema, VERSION_ID)?,
            column(&version_schema, VERSION_TIME)?,
        ]
    };
    let sorted = Arc::new(
        SortExec::new(ordering(sort_keys.clone()), versions).with_preserve_partitioning(true),
    );
    let merged: Arc<dyn ExecutionPlan> =
        Arc::new(SortPreservingMergeExec::new(ordering(sort_keys), sorted));
    let version_side: Arc<dyn ExecutionPlan> = if integral_ids {
        let kept: Vec<(Arc<dyn PhysicalExpr>, String)> = version_schema.fields()[..columns]
            .iter()
            .map(|f| Ok((column(&version_schema, f.name())?, f.name().clone())))
            .collect::<Result<_>>()?;
        Arc::new(ProjectionExec::try_new(kept, merged)?)
    } else {
        merged
    };

    Ok(Arc::new(AsOfJoinExec::try_new(
        entity_side,
        version_side,
        join.look_back_micros,
    )?))
}

/// The sort key of a version with an integral record id: the id in the
/// high 64 bits, the event time (sign bit flipped, so that it orders as
/// unsigned) in the low 64, as one Decimal128 that orders like the pair.
fn version_key() -> ScalarUDF {
    create_udf(
        "almanac_version_key",
        vec![DataType::Int64, utc_micros()],
        DataType::Decimal128(38, 0),
        Volatility::Immutable,
        Arc::new(|arguments: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(arguments)?;
            let ids = arrays[0].as_primitive::<Int64Type>();
            let times = arrays[1].as_primitive::<TimestampMicrosecondType>();
            let keys: Decimal128Array = ids
                .iter()
                .zip(times.iter())
                .map(|(id, time)| {
                    let (id, time) = (id?, time?);
                    let low = (time as u64) ^ (1u64 << 63);
                    Some(((id as i128) << 64) | low as i128)
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(
                keys.with_precision_and_scale(38, 0)?,
            )))
        }),
    )
}

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}
