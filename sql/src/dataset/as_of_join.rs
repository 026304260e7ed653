//! [`AsOfJoinExec`]: the point-in-time join of one feature group onto the
//! entity rows, as one merge pass over two sorted streams.
//!
//! The entity side's keys (row number, id, time) are sorted here by (id,
//! time); the version side comes sorted by (id, event time) from a
//! spilling sort. A single cursor walks the versions forward while the
//! entity rows are read: the last version passed at or before an entity
//! row's time is the one that counts, except that among versions with the
//! same event time the one committed last (the later write_time, as
//! online) wins. Every version is looked at
//! once, nothing fans out, and only the batches that output rows point
//! into are kept.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::version_order::is_later;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray, new_null_array,
};
use arrow::compute::interleave;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimestampMicrosecondType};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties,
    PhysicalExpr, PlanProperties, ReplaceChildrenOptions, SendableRecordBatchStream,
};
use futures::{StreamExt, TryStreamExt};

/// Columns of the entity input, in this order.
pub(crate) const ENTITY_ROW: usize = 0;
pub(crate) const ENTITY_ID: usize = 1;
pub(crate) const ENTITY_TIME: usize = 2;

/// Columns of the feature input, in this order; the selected features
/// follow from [`FIRST_FEATURE`].
pub(crate) const VERSION_ID: usize = 0;
pub(crate) const VERSION_TIME: usize = 1;
pub(crate) const VERSION_WRITE_TIME: usize = 2;
pub(crate) const VERSION_DELETED: usize = 3;
pub(crate) const FIRST_FEATURE: usize = 4;

/// For each entity row, the features of the version that was current at
/// its time. Output: the entity row number, then the features.
#[derive(Debug)]
pub(crate) struct AsOfJoinExec {
    entities: Arc<dyn ExecutionPlan>,
    versions: Arc<dyn ExecutionPlan>,
    look_back_micros: Option<i64>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl AsOfJoinExec {
    pub(crate) fn try_new(
        entities: Arc<dyn ExecutionPlan>,
        versions: Arc<dyn ExecutionPlan>,
        look_back_micros: Option<i64>,
    ) -> DfResult<Self> {
        let entity_partitions = entities.output_partitioning().partition_count();
        let version_partitions = versions.output_partitioning().partition_count();
        if entity_partitions != version_partitions {
            return Err(DataFusionError::Internal(format!(
                "AsOfJoinExec needs inputs partitioned alike, got {entity_partitions} \
                 and {version_partitions} partitions"
            )));
        }
        let entity_schema = entities.schema();
        let version_schema = versions.schema();
        let mut fields = vec![Arc::clone(&entity_schema.fields()[ENTITY_ROW])];
        fields.extend(
            version_schema.fields()[FIRST_FEATURE..]
                .iter()
                .map(|f| Arc::new(Field::clone(f).with_nullable(true))),
        );
        let schema = Arc::new(Schema::new(fields));
        let properties = Arc::new(PlanProperties::new(
            datafusion::physical_expr::EquivalenceProperties::new(Arc::clone(&schema)),
            entities.output_partitioning().clone(),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(Self {
            entities,
            versions,
            look_back_micros,
            schema,
            properties,
        })
    }
}

impl DisplayAs for AsOfJoinExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "AsOfJoinExec: look_back={:?}us", self.look_back_micros)
    }
}

impl ExecutionPlan for AsOfJoinExec {
    fn name(&self) -> &str {
        "AsOfJoinExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.entities, &self.versions]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![false, false]
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
        if children.len() != 2 {
            return Err(DataFusionError::Internal(
                "AsOfJoinExec takes two inputs".into(),
            ));
        }
        let versions = children.pop().expect("two children");
        let entities = children.pop().expect("two children");
        Ok(match options.children_properties {
            ChildrenPropertiesMode::Keep => Arc::new(Self {
                entities,
                versions,
                look_back_micros: self.look_back_micros,
                schema: Arc::clone(&self.schema),
                properties: Arc::clone(&self.properties),
            }),
            ChildrenPropertiesMode::Recompute => {
                Arc::new(Self::try_new(entities, versions, self.look_back_micros)?)
            }
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
        let entities = self.entities.execute(partition, Arc::clone(&context))?;
        let versions = self.versions.execute(partition, context)?;
        let feature_schema = Arc::new(Schema::new(
            self.versions.schema().fields()[FIRST_FEATURE..].to_vec(),
        ));
        let merge = Merge::new(
            versions,
            &feature_schema,
            self.look_back_micros,
            Arc::clone(&self.schema),
        );
        let stream = futures::stream::try_unfold(
            (Some(entities), Vec::new().into_iter(), merge),
            |(mut unsorted, mut chunks, mut merge)| async move {
                if let Some(entities) = unsorted.take() {
                    // The entity keys are sorted on one thread while the
                    // version sort (which finishes before its first batch
                    // comes out) runs on the others.
                    let batches: Vec<RecordBatch> = entities.try_collect().await?;
                    let sorting = tokio::task::spawn_blocking(move || sort_entities(batches));
                    merge.cursor().await?;
                    chunks = sorting
                        .await
                        .map_err(|e| DataFusionError::External(Box::new(e)))??
                        .into_iter();
                }
                match chunks.next() {
                    Some(chunk) => {
                        let started = std::time::Instant::now();
                        let joined = merge.join(&chunk).await?;
                        merge.busy += started.elapsed();
                        Ok(Some((joined, (None, chunks, merge))))
                    }
                    None => {
                        tracing::debug!(
                            merge_us = merge.busy.as_micros() as u64,
                            "merged versions into entity rows"
                        );
                        Ok(None)
                    }
                }
            },
        );
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream.boxed(),
        )))
    }
}

/// Rows per chunk of sorted entity rows the merge joins at a time.
const CHUNK_ROWS: usize = 8192;

/// Sorts a partition's entity rows (row number, id, time: 24 bytes a row,
/// next to the entity table the server holds anyway) and sorts them by
/// (id, time), nulls first, into chunks.
fn sort_entities(batches: Vec<RecordBatch>) -> DfResult<Vec<RecordBatch>> {
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    let started = std::time::Instant::now();
    let all = arrow::compute::concat_batches(&first.schema(), &batches)?;
    drop(batches);
    let rows = all.num_rows();
    let times = all
        .column(ENTITY_TIME)
        .as_primitive::<TimestampMicrosecondType>()
        .values();
    let mut order: Vec<u32>;
    match Keys::new(all.column(ENTITY_ID))? {
        Keys::Integral(ids) => {
            // Sorting the keys themselves, not indices into them, keeps
            // the sort in cache.
            let mut keyed: Vec<(i64, i64, u32)> = Vec::with_capacity(rows);
            let mut nulls: Vec<u32> = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                match id {
                    Some(id) => keyed.push((id, times[i], i as u32)),
                    None => nulls.push(i as u32),
                }
            }
            keyed.sort_unstable_by_key(|&(id, time, _)| (id, time));
            order = nulls;
            order.extend(keyed.into_iter().map(|(_, _, i)| i));
        }
        Keys::Text(ids) => {
            let key = |i: usize| {
                (
                    ids.is_valid(i),
                    ids.is_valid(i).then(|| ids.value(i)),
                    times[i],
                )
            };
            order = (0..rows as u32).collect();
            order.sort_unstable_by(|&a, &b| key(a as usize).cmp(&key(b as usize)));
        }
    }
    let indices = arrow::array::UInt32Array::from(order);
    let sorted = arrow::compute::take_record_batch(&all, &indices)?;
    tracing::debug!(
        rows,
        elapsed_us = started.elapsed().as_micros() as u64,
        "sorted entity keys"
    );
    Ok((0..rows)
        .step_by(CHUNK_ROWS)
        .map(|start| sorted.slice(start, CHUNK_ROWS.min(rows - start)))
        .collect())
}

/// One row of nulls in the feature columns: where entity rows without a
/// version point.
fn null_row(schema: &SchemaRef) -> RecordBatch {
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| new_null_array(f.data_type(), 1))
        .collect();
    let nullable = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::clone(f).with_nullable(true))
            .collect::<Vec<_>>(),
    ));
    RecordBatch::try_new_with_options(
        nullable,
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .expect("a row of nulls fits any schema")
}

/// Record ids, as either of the two types they come in.
#[derive(Clone)]
enum Keys {
    Integral(Int64Array),
    Text(StringArray),
}

impl Keys {
    fn new(array: &ArrayRef) -> DfResult<Self> {
        match array.data_type() {
            DataType::Int64 => Ok(Keys::Integral(array.as_primitive().clone())),
            DataType::Utf8 => Ok(Keys::Text(array.as_string::<i32>().clone())),
            other => Err(DataFusionError::Internal(format!(
                "record ids of type {other} cannot be joined"
            ))),
        }
    }

    fn is_null(&self, row: usize) -> bool {
        match self {
            Keys::Integral(a) => a.is_null(row),
            Keys::Text(a) => a.is_null(row),
        }
    }

    /// Compares this array's `row` with `other`'s `other_row`; both are of
    /// the same type.
    fn compare(&self, row: usize, other: &Keys, other_row: usize) -> Ordering {
        match (self, other) {
            (Keys::Integral(a), Keys::Integral(b)) => a.value(row).cmp(&b.value(other_row)),
            (Keys::Text(a), Keys::Text(b)) => a.value(row).cmp(b.value(other_row)),
            _ => unreachable!("both sides are cast to the group's record-id type"),
        }
    }
}

/// A batch of versions and how far the cursor has read it.
struct VersionBatch {
    slot: usize,
    ids: Keys,
    times: TimestampMicrosecondArray,
    write_times: TimestampMicrosecondArray,
    deleted: BooleanArray,
    position: usize,
}

impl VersionBatch {
    fn is_read(&self) -> bool {
        self.position >= self.times.len()
    }
}

/// The version that is current for the entity rows being read.
struct Current {
    slot: usize,
    row: usize,
    ids: Keys,
    time: i64,
    /// write_time: which of two versions with the
    /// same event time arrived last.
    arrival: i64,
    deleted: bool,
}

impl Current {
    /// Whether `version` replaces this one: it is later, or as late and
    /// arrived after it.
    fn yields_to(&self, version: &Current) -> bool {
        self.ids.compare(self.row, &version.ids, version.row) != Ordering::Equal
            || is_later((self.time, self.arrival), (version.time, version.arrival))
    }
}

/// What the cursor does with the version under it.
enum Step {
    /// An older record id than the entity row's: pass it.
    Skip,
    /// The entity row's id, at or before its time: it becomes current.
    Take(Current),
    /// Past the entity row: stop here.
    Stop,
}

/// Version batches kept at once before the rows joined so far are
/// assembled and the batches let go.
const MAX_KEPT_BATCHES: usize = 4;

/// The state of one partition's merge.
struct Merge {
    versions: SendableRecordBatchStream,
    versions_done: bool,
    /// The feature columns of the version batches output rows may point
    /// into; slot 0 is the row of nulls, batches let go are `None`.
    sources: Vec<Option<RecordBatch>>,
    /// Whether an output row of the batch being joined points into the
    /// slot.
    pointed: Vec<bool>,
    cursor: Option<VersionBatch>,
    current: Option<Current>,
    look_back_micros: Option<i64>,
    schema: SchemaRef,
    /// Time spent joining (waiting for version batches included).
    busy: std::time::Duration,
}

impl Merge {
    fn new(
        versions: SendableRecordBatchStream,
        feature_schema: &SchemaRef,
        look_back_micros: Option<i64>,
        schema: SchemaRef,
    ) -> Self {
        Self {
            versions,
            versions_done: false,
            sources: vec![Some(null_row(feature_schema))],
            pointed: vec![true],
            cursor: None,
            current: None,
            look_back_micros,
            schema,
            busy: std::time::Duration::ZERO,
        }
    }

    /// The cursor's batch, moving on to the next non-empty batch when the
    /// current one is read to the end; `None` once all are read.
    async fn cursor(&mut self) -> DfResult<Option<&mut VersionBatch>> {
        if self.cursor.as_ref().is_none_or(VersionBatch::is_read) {
            if let Some(left) = self.cursor.take() {
                self.let_go(left.slot);
            }
            while !self.versions_done {
                match self.versions.try_next().await? {
                    None => self.versions_done = true,
                    Some(batch) if batch.num_rows() == 0 => {}
                    Some(batch) => {
                        self.cursor = Some(VersionBatch {
                            slot: self.sources.len(),
                            ids: Keys::new(batch.column(VERSION_ID))?,
                            times: batch.column(VERSION_TIME).as_primitive().clone(),
                            write_times: batch.column(VERSION_WRITE_TIME).as_primitive().clone(),
                            deleted: batch.column(VERSION_DELETED).as_boolean().clone(),
                            position: 0,
                        });
                        let features: Vec<usize> = (FIRST_FEATURE..batch.num_columns()).collect();
                        self.sources.push(Some(batch.project(&features)?));
                        self.pointed.push(false);
                        break;
                    }
                }
            }
        }
        Ok(self.cursor.as_mut())
    }

    /// Lets a batch the cursor has left go, unless output rows or the
    /// current version point into it.
    fn let_go(&mut self, slot: usize) {
        let current = self.current.as_ref().map(|c| c.slot);
        if !self.pointed[slot] && current != Some(slot) {
            self.sources[slot] = None;
        }
    }

    fn kept_batches(&self) -> usize {
        self.sources.iter().filter(|s| s.is_some()).count()
    }

    /// Joins one batch of entity rows.
    async fn join(&mut self, entities: &RecordBatch) -> DfResult<RecordBatch> {
        let rows = entities.num_rows();
        let ids = Keys::new(entities.column(ENTITY_ID))?;
        let times = entities
            .column(ENTITY_TIME)
            .as_primitive::<TimestampMicrosecondType>()
            .clone();
        let mut picks: Vec<(usize, usize)> = Vec::with_capacity(rows);
        let mut parts: Vec<RecordBatch> = Vec::new();
        let mut assembled = 0;
        for row in 0..rows {
            if ids.is_null(row) || times.is_null(row) {
                picks.push((0, 0));
                continue;
            }
            let time = times.value(row);
            loop {
                let Some(cursor) = self.cursor().await? else {
                    break;
                };
                let position = cursor.position;
                let step = match cursor.ids.compare(position, &ids, row) {
                    Ordering::Less => Step::Skip,
                    Ordering::Equal if cursor.times.value(position) <= time => {
                        Step::Take(Current {
                            slot: cursor.slot,
                            row: position,
                            ids: cursor.ids.clone(),
                            time: cursor.times.value(position),
                            arrival: cursor.write_times.value(position),
                            deleted: cursor.deleted.is_valid(position)
                                && cursor.deleted.value(position),
                        })
                    }
                    _ => Step::Stop,
                };
                match step {
                    Step::Skip => {
                        cursor.position += 1;
                        self.current = None;
                    }
                    Step::Take(version) => {
                        cursor.position += 1;
                        if self.current.as_ref().is_none_or(|c| c.yields_to(&version)) {
                            self.current = Some(version);
                        }
                    }
                    Step::Stop => break,
                }
            }
            let pick = self.current.as_ref().filter(|current| {
                current.ids.compare(current.row, &ids, row) == Ordering::Equal
                    && !current.deleted
                    && self
                        .look_back_micros
                        .is_none_or(|look_back| current.time >= time.saturating_sub(look_back))
            });
            match pick {
                Some(current) => {
                    self.pointed[current.slot] = true;
                    picks.push((current.slot, current.row));
                }
                None => picks.push((0, 0)),
            }
            if self.kept_batches() > MAX_KEPT_BATCHES {
                parts.push(self.assemble(&entities.slice(assembled, row + 1 - assembled), &picks)?);
                picks.clear();
                assembled = row + 1;
                self.compact();
            }
        }
        if assembled < rows || parts.is_empty() {
            parts.push(self.assemble(&entities.slice(assembled, rows - assembled), &picks)?);
        }
        self.compact();
        if parts.len() == 1 {
            return Ok(parts.pop().expect("one part"));
        }
        Ok(arrow::compute::concat_batches(&self.schema, &parts)?)
    }

    /// The output rows for `entities`, whose versions are `picks`.
    fn assemble(&self, entities: &RecordBatch, picks: &[(usize, usize)]) -> DfResult<RecordBatch> {
        let null_row = self.sources[0].as_ref().expect("the row of nulls is kept");
        let mut columns: Vec<ArrayRef> = vec![Arc::clone(entities.column(ENTITY_ROW))];
        for feature in 0..null_row.num_columns() {
            let values: Vec<&dyn Array> = self
                .sources
                .iter()
                .map(|source| source.as_ref().unwrap_or(null_row).column(feature).as_ref())
                .collect();
            columns.push(interleave(&values, picks)?);
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }

    /// Once the rows so far are assembled: keeps only the row of nulls and
    /// the batches the cursor and the current version are in, renumbered.
    fn compact(&mut self) {
        let mut kept = vec![self.sources[0].take()];
        let mut moved: Vec<(usize, usize)> = Vec::new();
        let holders = [
            self.current.as_ref().map(|c| c.slot),
            self.cursor.as_ref().map(|c| c.slot),
        ];
        for slot in holders.into_iter().flatten() {
            if moved.iter().any(|(old, _)| *old == slot) {
                continue;
            }
            if let Some(batch) = self.sources[slot].take() {
                kept.push(Some(batch));
                moved.push((slot, kept.len() - 1));
            }
        }
        let new_slot = |old: usize| {
            moved
                .iter()
                .find(|(o, _)| *o == old)
                .map_or(0, |(_, new)| *new)
        };
        if let Some(current) = self.current.as_mut() {
            current.slot = new_slot(current.slot);
        }
        if let Some(cursor) = self.cursor.as_mut() {
            cursor.slot = new_slot(cursor.slot);
        }
        self.pointed = vec![false; kept.len()];
        self.pointed[0] = true;
        self.sources = kept;
    }
}
