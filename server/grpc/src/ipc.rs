//! Checks on Arrow IPC messages from clients (DoPut, DoExchange) before
//! arrow decodes them, and on the batches it decodes.
//!
//! arrow's IPC reader trusts the message headers: a buffer that points
//! past the message body, a validity buffer shorter than its column, an
//! integer of 7 bits or a list without a child make it panic instead of
//! failing. Each message is therefore checked here first, against the
//! layout of the stream's schema: the header must be a valid flatbuffer,
//! the schema may use only the types Almanac reads (with valid
//! parameters), and every column node and buffer of a batch must be
//! consistent with that layout and lie within the body. The batches that
//! come out of the decoder are then validated in full before use. Any
//! failure is INVALID_ARGUMENT, naming the message.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use arrow::array::RecordBatch;
use arrow::ipc::{self, MessageHeader, Type};
use arrow_flight::FlightData;
use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::error::FlightError;
use futures::{Stream, StreamExt, TryStreamExt};
use tonic::Status;

/// Deepest nesting of types in a schema.
const MAX_TYPE_DEPTH: usize = 16;
/// Largest list size or fixed binary width.
const MAX_FIXED_WIDTH: i32 = 1 << 20;

/// How a column's buffers are laid out in a record batch message.
#[derive(Debug, Clone)]
enum Layout {
    /// No buffers.
    Null,
    /// Validity and one data buffer (booleans, numbers, times,
    /// fixed-size binary, dictionary indices).
    Fixed,
    /// Validity, offsets and data (strings and binaries).
    Bytes,
    /// Validity, views, and a variable number of data buffers.
    View,
    /// Validity and offsets, then the child.
    List(Box<Layout>),
    /// Validity, then the child.
    FixedList(Box<Layout>),
    /// Validity, then each child.
    Struct(Vec<Layout>),
}

/// What the checks remember of a stream: its schema's layout.
#[derive(Debug, Default)]
pub(crate) struct IpcChecker {
    /// One layout per top-level field, once the schema has arrived.
    columns: Option<Vec<Layout>>,
    /// The layout of each dictionary's values, by dictionary id.
    dictionaries: HashMap<i64, Layout>,
    messages: usize,
    /// The stream's schema, once checked.
    schema: SchemaSlot,
}

fn malformed(message: usize, reason: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!(
        "the Arrow IPC stream is malformed at message {message}: {reason}"
    ))
}

impl IpcChecker {
    /// Checks one message; those without an IPC header (a descriptor or
    /// app_metadata alone) pass.
    pub(crate) fn check(&mut self, data: &FlightData) -> Result<(), Status> {
        self.messages += 1;
        let index = self.messages;
        if data.data_header.is_empty() {
            return Ok(());
        }
        let message = ipc::root_as_message(&data.data_header)
            .map_err(|e| malformed(index, format!("invalid header: {e}")))?;
        let body_length = message.bodyLength();
        if body_length < 0 || body_length as u64 > data.data_body.len() as u64 {
            return Err(malformed(
                index,
                format!(
                    "the header announces a body of {body_length} bytes, but {} came",
                    data.data_body.len()
                ),
            ));
        }
        let body = data.data_body.len();
        match message.header_type() {
            MessageHeader::Schema => {
                let schema = message
                    .header_as_schema()
                    .ok_or_else(|| malformed(index, "schema message without a schema"))?;
                self.schema(schema).map_err(|e| malformed(index, e))
            }
            MessageHeader::RecordBatch => {
                let batch = message
                    .header_as_record_batch()
                    .ok_or_else(|| malformed(index, "batch message without a batch"))?;
                let columns = self
                    .columns
                    .as_ref()
                    .ok_or_else(|| malformed(index, "a record batch came before the schema"))?;
                check_batch(batch, columns, body).map_err(|e| malformed(index, e))
            }
            MessageHeader::DictionaryBatch => {
                let dictionary = message
                    .header_as_dictionary_batch()
                    .ok_or_else(|| malformed(index, "dictionary message without a dictionary"))?;
                let layout = self.dictionaries.get(&dictionary.id()).ok_or_else(|| {
                    malformed(
                        index,
                        format!("dictionary {} is not in the schema", dictionary.id()),
                    )
                })?;
                let batch = dictionary
                    .data()
                    .ok_or_else(|| malformed(index, "dictionary message without data"))?;
                check_batch(batch, std::slice::from_ref(layout), body)
                    .map_err(|e| malformed(index, e))
            }
            other => Err(malformed(
                index,
                format!("unexpected message type {other:?}"),
            )),
        }
    }

    fn schema(&mut self, schema: ipc::Schema) -> Result<(), String> {
        // A stream may change its schema between batches; the new one
        // replaces the old.
        self.dictionaries.clear();
        if schema.endianness() != ipc::Endianness::Little {
            return Err("big-endian data is not accepted".into());
        }
        let fields = schema.fields().ok_or("a schema without fields")?;
        let mut columns = Vec::with_capacity(fields.len());
        for field in fields {
            columns.push(self.field(field, 0)?);
        }
        self.columns = Some(columns);
        // Safe to convert now: every type and parameter was checked.
        self.schema
            .set(std::sync::Arc::new(ipc::convert::fb_to_schema(schema)));
        Ok(())
    }

    /// The layout of `field`, after checking its type's parameters.
    fn field(&mut self, field: ipc::Field, depth: usize) -> Result<Layout, String> {
        let name = field.name().unwrap_or_default().to_owned();
        if depth > MAX_TYPE_DEPTH {
            return Err(format!("types nest more than {MAX_TYPE_DEPTH} levels deep"));
        }
        let bad = |what: &str| format!("column '{name}': {what}");
        let children = |count: usize| -> Result<Vec<ipc::Field>, String> {
            let children: Vec<_> = field
                .children()
                .map(|c| c.iter().collect())
                .unwrap_or_default();
            if children.len() != count {
                return Err(bad(&format!(
                    "expected {count} child type(s), found {}",
                    children.len()
                )));
            }
            Ok(children)
        };
        let layout = match field.type_type() {
            Type::Null => Layout::Null,
            Type::Bool => Layout::Fixed,
            Type::Int => {
                let int = field
                    .type_as_int()
                    .ok_or_else(|| bad("integer without parameters"))?;
                check_int(int).map_err(|e| bad(&e))?;
                Layout::Fixed
            }
            Type::FloatingPoint => {
                let float = field
                    .type_as_floating_point()
                    .ok_or_else(|| bad("float without parameters"))?;
                if !matches!(
                    float.precision(),
                    ipc::Precision::HALF | ipc::Precision::SINGLE | ipc::Precision::DOUBLE
                ) {
                    return Err(bad("unknown float precision"));
                }
                Layout::Fixed
            }
            Type::Decimal => {
                let decimal = field
                    .type_as_decimal()
                    .ok_or_else(|| bad("decimal without parameters"))?;
                let precision = decimal.precision();
                if !matches!(decimal.bitWidth(), 32 | 64 | 128 | 256)
                    || !(1..=76).contains(&precision)
                    || decimal.scale().abs() > precision
                {
                    return Err(bad("invalid decimal width, precision or scale"));
                }
                Layout::Fixed
            }
            Type::FixedSizeBinary => {
                let binary = field
                    .type_as_fixed_size_binary()
                    .ok_or_else(|| bad("fixed-size binary without a width"))?;
                if !(0..=MAX_FIXED_WIDTH).contains(&binary.byteWidth()) {
                    return Err(bad("invalid fixed-size binary width"));
                }
                Layout::Fixed
            }
            Type::Date => {
                let date = field
                    .type_as_date()
                    .ok_or_else(|| bad("date without a unit"))?;
                if !matches!(date.unit(), ipc::DateUnit::DAY | ipc::DateUnit::MILLISECOND) {
                    return Err(bad("unknown date unit"));
                }
                Layout::Fixed
            }
            Type::Time => {
                let time = field
                    .type_as_time()
                    .ok_or_else(|| bad("time without a unit"))?;
                let valid = matches!(
                    (time.bitWidth(), time.unit()),
                    (32, ipc::TimeUnit::SECOND | ipc::TimeUnit::MILLISECOND)
                        | (64, ipc::TimeUnit::MICROSECOND | ipc::TimeUnit::NANOSECOND)
                );
                if !valid {
                    return Err(bad("invalid time width or unit"));
                }
                Layout::Fixed
            }
            Type::Timestamp => {
                let timestamp = field
                    .type_as_timestamp()
                    .ok_or_else(|| bad("timestamp without a unit"))?;
                check_time_unit(timestamp.unit()).map_err(|e| bad(&e))?;
                Layout::Fixed
            }
            Type::Duration => {
                let duration = field
                    .type_as_duration()
                    .ok_or_else(|| bad("duration without a unit"))?;
                check_time_unit(duration.unit()).map_err(|e| bad(&e))?;
                Layout::Fixed
            }
            Type::Interval => {
                let interval = field
                    .type_as_interval()
                    .ok_or_else(|| bad("interval without a unit"))?;
                if !matches!(
                    interval.unit(),
                    ipc::IntervalUnit::YEAR_MONTH
                        | ipc::IntervalUnit::DAY_TIME
                        | ipc::IntervalUnit::MONTH_DAY_NANO
                ) {
                    return Err(bad("unknown interval unit"));
                }
                Layout::Fixed
            }
            Type::Utf8 | Type::LargeUtf8 | Type::Binary | Type::LargeBinary => Layout::Bytes,
            Type::Utf8View | Type::BinaryView => Layout::View,
            Type::List | Type::LargeList => {
                let child = children(1)?.remove(0);
                Layout::List(Box::new(self.field(child, depth + 1)?))
            }
            Type::FixedSizeList => {
                let list = field
                    .type_as_fixed_size_list()
                    .ok_or_else(|| bad("fixed-size list without a size"))?;
                if !(0..=MAX_FIXED_WIDTH).contains(&list.listSize()) {
                    return Err(bad("invalid fixed-size list size"));
                }
                let child = children(1)?.remove(0);
                Layout::FixedList(Box::new(self.field(child, depth + 1)?))
            }
            Type::Struct_ => {
                let mut layouts = Vec::new();
                for child in field.children().into_iter().flatten() {
                    layouts.push(self.field(child, depth + 1)?);
                }
                Layout::Struct(layouts)
            }
            other => {
                return Err(bad(&format!(
                    "the type {other:?} is not accepted (use numbers, strings, times, lists or structs)"
                )));
            }
        };
        let Some(dictionary) = field.dictionary() else {
            return Ok(layout);
        };
        let index = dictionary
            .indexType()
            .ok_or_else(|| bad("dictionary without an index type"))?;
        check_int(index).map_err(|e| bad(&e))?;
        // The column holds indices; the values come in dictionary batches.
        self.dictionaries.insert(dictionary.id(), layout);
        Ok(Layout::Fixed)
    }
}

fn check_int(int: ipc::Int) -> Result<(), String> {
    if matches!(int.bitWidth(), 8 | 16 | 32 | 64) {
        Ok(())
    } else {
        Err(format!("an integer of {} bits", int.bitWidth()))
    }
}

fn check_time_unit(unit: ipc::TimeUnit) -> Result<(), String> {
    match unit {
        ipc::TimeUnit::SECOND
        | ipc::TimeUnit::MILLISECOND
        | ipc::TimeUnit::MICROSECOND
        | ipc::TimeUnit::NANOSECOND => Ok(()),
        _ => Err("unknown time unit".into()),
    }
}

/// Checks a batch's column nodes and buffers against `columns`.
fn check_batch(batch: ipc::RecordBatch, columns: &[Layout], body: usize) -> Result<(), String> {
    let rows = batch.length();
    // Every row of a non-null column takes at least a bit of the body.
    let max_rows = (body as i64).saturating_mul(8).saturating_add(1 << 20);
    if rows < 0 || rows > max_rows {
        return Err(format!("a batch of {rows} rows in a body of {body} bytes"));
    }
    let nodes: Vec<ipc::FieldNode> = batch
        .nodes()
        .map(|n| n.iter().copied().collect())
        .unwrap_or_default();
    let buffers: Vec<ipc::Buffer> = batch
        .buffers()
        .map(|b| b.iter().copied().collect())
        .unwrap_or_default();
    for (index, buffer) in buffers.iter().enumerate() {
        let (offset, length) = (buffer.offset(), buffer.length());
        let end = offset.checked_add(length);
        if offset < 0 || length < 0 || end.is_none_or(|end| end as u64 > body as u64) {
            return Err(format!(
                "buffer {index} ({offset}+{length}) lies outside the body of {body} bytes"
            ));
        }
    }
    let variadic: Vec<i64> = batch
        .variadicBufferCounts()
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let mut walk = Walk {
        nodes: nodes.iter(),
        buffers: buffers.iter(),
        variadic: variadic.iter(),
        max_rows,
    };
    for layout in columns {
        walk.column(layout)?;
    }
    Ok(())
}

/// Consumes a batch's nodes and buffers column by column.
struct Walk<'a> {
    nodes: std::slice::Iter<'a, ipc::FieldNode>,
    buffers: std::slice::Iter<'a, ipc::Buffer>,
    variadic: std::slice::Iter<'a, i64>,
    max_rows: i64,
}

impl Walk<'_> {
    fn column(&mut self, layout: &Layout) -> Result<(), String> {
        let node = self.nodes.next().ok_or("fewer column nodes than columns")?;
        let (length, nulls) = (node.length(), node.null_count());
        if length < 0 || length > self.max_rows || nulls < 0 || nulls > length {
            return Err(format!("a column node of {length} rows and {nulls} nulls"));
        }
        if matches!(layout, Layout::Null) {
            return Ok(());
        }
        let validity = self.buffer()?;
        if nulls > 0 && (validity.length() as u64) * 8 < length as u64 {
            return Err(format!(
                "a validity buffer of {} bytes for {length} rows",
                validity.length()
            ));
        }
        match layout {
            Layout::Null => {}
            Layout::Fixed => {
                self.buffer()?;
            }
            Layout::Bytes => {
                self.buffer()?;
                self.buffer()?;
            }
            Layout::View => {
                self.buffer()?;
                let count = *self
                    .variadic
                    .next()
                    .ok_or("a view column without its buffer count")?;
                if count < 0 || count > self.buffers.len() as i64 {
                    return Err(format!("a view column with {count} data buffers"));
                }
                for _ in 0..count {
                    self.buffer()?;
                }
            }
            Layout::List(child) => {
                self.buffer()?;
                self.column(child)?;
            }
            Layout::FixedList(child) => self.column(child)?,
            Layout::Struct(children) => {
                for child in children {
                    self.column(child)?;
                }
            }
        }
        Ok(())
    }

    fn buffer(&mut self) -> Result<ipc::Buffer, String> {
        self.buffers
            .next()
            .copied()
            .ok_or_else(|| "fewer buffers than the columns need".to_owned())
    }
}

/// Decoded and validated batches of a client's stream.
pub(crate) type CheckedBatches = Pin<Box<dyn Stream<Item = Result<RecordBatch, Status>> + Send>>;

/// A stream of client batches: every message checked before decoding,
/// every decoded batch validated in full, and a panic inside arrow (which
/// the checks exist to prevent) answered as a malformed stream rather than
/// a broken handler.
pub(crate) fn decode_checked<S>(messages: S, what: &'static str) -> (CheckedBatches, SchemaSlot)
where
    S: Stream<Item = Result<FlightData, Status>> + Send + 'static,
{
    let mut checker = IpcChecker::default();
    let slot = checker.schema.clone();
    let checked = messages
        .map_err(crate::status::request_status)
        .and_then(move |message| {
            let result = checker.check(&message).map(|()| message);
            futures::future::ready(result)
        })
        .map_err(|status| FlightError::Tonic(Box::new(status)));
    let decoder = FlightRecordBatchStream::new_from_flight_data(checked);
    let batches = AssertUnwindSafe(decoder)
        .catch_unwind()
        .map(move |item| match item {
            Ok(Ok(batch)) => validate(batch, what),
            Ok(Err(FlightError::Tonic(status))) => Err(*status),
            Ok(Err(other)) => Err(Status::invalid_argument(format!(
                "the {what} is not valid Arrow: {other}"
            ))),
            Err(_) => Err(Status::invalid_argument(format!(
                "the {what} is not valid Arrow: its messages are inconsistent"
            ))),
        })
        // Nothing after an error: the stream is not trusted any more.
        .scan(false, |failed, item| {
            if *failed {
                return futures::future::ready(None);
            }
            *failed = item.is_err();
            futures::future::ready(Some(item))
        });
    (Box::pin(batches), slot)
}

/// The schema of a checked stream, once its schema message has come.
#[derive(Debug, Clone, Default)]
pub(crate) struct SchemaSlot(std::sync::Arc<std::sync::Mutex<Option<arrow::datatypes::SchemaRef>>>);

impl SchemaSlot {
    fn set(&self, schema: arrow::datatypes::SchemaRef) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(schema);
    }

    /// The schema, once its message has been checked.
    pub(crate) fn get(&self) -> Option<arrow::datatypes::SchemaRef> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Full validation of a decoded batch: offsets, UTF-8, nested lengths.
fn validate(batch: RecordBatch, what: &str) -> Result<RecordBatch, Status> {
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        column.to_data().validate_full().map_err(|e| {
            Status::invalid_argument(format!(
                "the {what} is not valid Arrow: column '{}': {e}",
                field.name()
            ))
        })?;
    }
    Ok(batch)
}
