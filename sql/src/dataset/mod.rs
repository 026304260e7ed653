//! Point-in-time-correct datasets: for each row of an entity table (ids and
//! an event time) and each selected group, the features of the version
//! that was current at the row's time, with no leakage from the future.
//!
//! The rules (docs/reference.md section 8): the version with the row's id and the
//! latest event time at or before the row's time, within the group's
//! look-back if one is given, written at or before `written_before` if
//! given; ties on event time go to the version committed last. A
//! delete marker, or no such version, gives nulls; a null feature of the
//! chosen version stays null. Exactly one output row per entity row, in
//! the entity table's order, entity columns first; a feature is prefixed
//! with its group (`group__feature`) when its name would clash.
//!
//! # Layout
//!
//! - [`entities`]: checks the entity table and builds its join keys.
//! - [`plan`]: one group's plan: sorted, partitioned scans and the join.
//! - [`as_of_join`]: [`as_of_join::AsOfJoinExec`], the merge itself.
//! - [`zip`]: the entity batches side by side with every group's features,
//!   put back into entity order.

pub(crate) mod as_of_join;
pub(crate) mod entities;
pub(crate) mod plan;
pub(crate) mod zip;

use std::collections::HashMap;
use std::sync::Arc;

use almanac_types::FeatureType;
use almanac_types::dataset::DatasetRequest;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::TableProvider;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::execute_stream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;

use self::entities::{EntityTable, IdColumn, key_entities};
use self::plan::{GroupJoin, group_plan};
use self::zip::JoinedRows;
use crate::catalog::GroupTables;
use crate::error::{Result, SqlError};

/// Names the entity table's time column may have when none is named.
const USUAL_TIME_COLUMNS: [&str; 2] = ["event_time", "event_timestamp"];

/// A request checked against the groups and the entity table.
#[derive(Debug)]
struct Resolved {
    joins: Vec<GroupJoin>,
    ids: Vec<IdColumn>,
    time_column: usize,
    schema: SchemaRef,
}

/// The entity column called `name`: exactly, or else the one column with
/// that name in another case.
fn find_column(schema: &Schema, name: &str) -> Option<usize> {
    schema.index_of(name).ok().or_else(|| {
        let mut matches = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| f.name().eq_ignore_ascii_case(name));
        let (index, _) = matches.next()?;
        matches.next().is_none().then_some(index)
    })
}

fn resolve(tables: &GroupTables, request: &DatasetRequest, entities: &Schema) -> Result<Resolved> {
    if request.features.is_empty() {
        return Err(SqlError::Invalid(
            "the request selects no features; name at least one group".into(),
        ));
    }
    let written_before_micros = request.written_before_micros()?;
    let mut joins = Vec::new();
    let mut ids = Vec::new();
    for selection in &request.features {
        let table = tables.group_table(&selection.group).ok_or_else(|| {
            SqlError::NotFound(format!(
                "feature group '{}' does not exist",
                selection.group
            ))
        })?;
        let group = Arc::clone(table.group());
        if joins
            .iter()
            .any(|j: &GroupJoin| j.table.group().id == group.id)
        {
            return Err(SqlError::Invalid(format!(
                "feature group '{}' is selected twice; list all its features in one selection",
                group.name
            )));
        }
        let mut features: Vec<String> = Vec::new();
        if selection.features.is_empty() {
            features.extend(
                group
                    .features
                    .iter()
                    .filter(|f| f.name != group.record_identifier)
                    .map(|f| f.name.clone()),
            );
        }
        for name in &selection.features {
            let definition = group
                .features
                .iter()
                .find(|f| f.name == *name)
                .or_else(|| {
                    group
                        .features
                        .iter()
                        .find(|f| f.name.eq_ignore_ascii_case(name))
                })
                .ok_or_else(|| {
                    SqlError::Invalid(format!(
                        "feature '{name}' is not defined in feature group '{}'",
                        group.name
                    ))
                })?;
            if features.contains(&definition.name) {
                return Err(SqlError::Invalid(format!(
                    "feature '{name}' of group '{}' is selected twice",
                    group.name
                )));
            }
            features.push(definition.name.clone());
        }
        let id_name = selection
            .entity_column
            .as_deref()
            .unwrap_or(&group.record_identifier);
        let column = find_column(entities, id_name).ok_or_else(|| {
            SqlError::Invalid(format!(
                "the entity table has no column '{id_name}' to match the record ids of \
                 feature group '{}' (its record identifier is '{}'; name the entity column \
                 with entity_column, or --join-on COLUMN={}.{})",
                group.name, group.record_identifier, group.name, group.record_identifier
            ))
        })?;
        let id_type = group
            .feature(&group.record_identifier)
            .map(|(_, d)| d.feature_type)
            .unwrap_or(FeatureType::String);
        ids.push(IdColumn {
            column,
            group: group.name.clone(),
            data_type: match id_type {
                FeatureType::Integral => DataType::Int64,
                _ => DataType::Utf8,
            },
        });
        joins.push(GroupJoin {
            look_back_micros: selection.ttl_micros()?,
            written_before_micros,
            features,
            table,
        });
    }
    let time_column = time_column(request, entities, &joins, &ids)?;
    let schema = output_schema(entities, &joins)?;
    Ok(Resolved {
        joins,
        ids,
        time_column,
        schema,
    })
}

/// The entity table's event-time column: the one named, or else the one
/// named like a group's event-time feature or `event_time` /
/// `event_timestamp`, or else the only timestamp column.
fn time_column(
    request: &DatasetRequest,
    entities: &Schema,
    joins: &[GroupJoin],
    ids: &[IdColumn],
) -> Result<usize> {
    if let Some(name) = &request.event_time_column {
        return find_column(entities, name).ok_or_else(|| {
            SqlError::Invalid(format!(
                "the entity table has no event-time column '{name}'"
            ))
        });
    }
    let is_id = |index: usize| ids.iter().any(|id| id.column == index);
    let mut names: Vec<&str> = joins
        .iter()
        .map(|j| j.table.group().event_time.as_str())
        .collect();
    names.extend(USUAL_TIME_COLUMNS);
    for name in names {
        if let Some(index) = find_column(entities, name).filter(|&i| !is_id(i)) {
            return Ok(index);
        }
    }
    let timestamps: Vec<usize> = entities
        .fields()
        .iter()
        .enumerate()
        .filter(|(i, f)| !is_id(*i) && matches!(f.data_type(), DataType::Timestamp(..)))
        .map(|(i, _)| i)
        .collect();
    match timestamps.as_slice() {
        [only] => Ok(*only),
        _ => Err(SqlError::Invalid(
            "cannot tell which entity column holds the event time; name it with \
             event_time_column (--event-time COLUMN)"
                .into(),
        )),
    }
}

/// Entity columns as sent, then each group's features; a feature whose
/// name another selected feature or an entity column also has (in any
/// case) is called `group__feature`.
fn output_schema(entities: &Schema, joins: &[GroupJoin]) -> Result<SchemaRef> {
    let mut uses: HashMap<String, usize> = HashMap::new();
    for field in entities.fields() {
        *uses.entry(field.name().to_lowercase()).or_default() += 1;
    }
    for join in joins {
        for feature in &join.features {
            *uses.entry(feature.to_lowercase()).or_default() += 1;
        }
    }
    let mut fields: Vec<Field> = entities
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    for join in joins {
        let table_schema = join.table.schema();
        for feature in &join.features {
            let field = table_schema.field_with_name(feature)?;
            let name = if uses[&feature.to_lowercase()] > 1 {
                format!("{}__{feature}", join.table.group().name)
            } else {
                feature.clone()
            };
            if fields.iter().any(|f| f.name().eq_ignore_ascii_case(&name)) {
                return Err(SqlError::Invalid(format!(
                    "output column '{name}' would appear twice; rename the entity column"
                )));
            }
            fields.push(Field::new(name, field.data_type().clone(), true));
        }
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// Plans the dataset and starts it; the batches stream in entity order.
pub(crate) async fn build(
    context: &SessionContext,
    tables: &GroupTables,
    request: &DatasetRequest,
    entities: EntityTable,
) -> Result<SendableRecordBatchStream> {
    let resolved = resolve(tables, request, &entities.schema)?;
    let keyed = key_entities(&entities, resolved.time_column, &resolved.ids)?;
    let schema = Arc::clone(&resolved.schema);
    if keyed.time_range.is_none() {
        let empty = futures::stream::empty();
        return Ok(Box::pin(RecordBatchStreamAdapter::new(schema, empty)));
    }
    let state = context.state();
    let task = context.task_ctx();
    let rows = entities.rows();
    let mut joined = Vec::with_capacity(resolved.joins.len());
    for (index, join) in resolved.joins.iter().enumerate() {
        let plan = group_plan(&state, join, index, &keyed).await?;
        let started = std::time::Instant::now();
        let stream = execute_stream(plan, Arc::clone(&task))?;
        joined.push(JoinedRows::gather(stream, rows, &task).await?);
        tracing::debug!(
            group = %join.table.group().name,
            rows,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "joined"
        );
    }
    let started = std::time::Instant::now();
    let batches = zip::zip(schema, entities.batches, joined);
    tracing::debug!(elapsed_us = started.elapsed().as_micros() as u64, "zipped");
    Ok(batches)
}
