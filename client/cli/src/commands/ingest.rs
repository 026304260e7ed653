//! `almanac ingest`: reads a CSV, TSV, Parquet or JSON-lines file in
//! batches and writes them into a feature group over Arrow Flight `DoPut`,
//! several batches at once. Shows a progress bar on a terminal, prints a
//! summary, writes the rejected rows with their reasons to
//! `--failed-rows`, and fails if any row failed.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use almanac_client::ingest::{FailedRow, IngestSummary, split_by_record};
use anyhow::{Context, Result, bail};
use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_stream::wrappers::ReceiverStream;

use super::connect;
use crate::cli::IngestArgs;
use crate::files::{BatchSource, FileFormat};

pub async fn run(args: IngestArgs) -> Result<()> {
    if args.workers == 0 || args.batch_rows == 0 {
        bail!("--workers and --batch-rows must be at least 1");
    }
    let format = FileFormat::of(&args.file, args.format)?;
    let source = BatchSource::open(&args.file, format, args.batch_rows)?;
    let client = connect(&args.client).await?;
    // Fail before reading the file when the group does not exist.
    let description = client.describe_feature_group(&args.name).await?;
    let mut failed_writer = args
        .failed_rows
        .as_deref()
        .map(|path| FailedRowsWriter::create(path, &source.schema))
        .transpose()?;

    let progress = progress_bar(source.total, format);
    let read = source.progress();
    // One queue per worker; a record's rows all go to the same worker, in
    // file order, so that of two rows with the same identifier and event
    // time the later one wins, as in one PutRecord batch.
    let workers = args.workers;
    let (queues, receivers): (Vec<_>, Vec<_>) = (0..workers)
        .map(|_| tokio::sync::mpsc::channel::<Part>(2))
        .unzip();
    let id_column = description.record_identifier_feature_name;
    let reader = tokio::task::spawn_blocking(move || -> Result<()> {
        let mut offset = 0;
        for batch in source {
            let batch = batch?;
            let rows = batch.num_rows();
            for (worker, part) in split_by_worker(&batch, offset, &id_column, workers)? {
                if queues[worker].blocking_send(part).is_err() {
                    return Ok(());
                }
            }
            offset += rows;
        }
        Ok(())
    });

    let started = Instant::now();
    let group = args.name.as_str();
    let client = &client;
    let mut results = futures::stream::select_all(receivers.into_iter().map(|queue| {
        ReceiverStream::new(queue)
            .then(move |part| async move {
                let summary = client.ingest_batch(group, part.batch.clone()).await;
                (part, summary)
            })
            .boxed()
    }));
    let mut total = IngestSummary::default();
    while let Some((part, summary)) = results.next().await {
        let summary = summary.with_context(|| format!("ingest into '{group}' failed"))?;
        if let Some(writer) = failed_writer.as_mut() {
            writer.write(&part, &summary.failed_rows)?;
        }
        total.rows += summary.rows;
        total.rows_written += summary.rows_written;
        total.failed_rows_unlisted += summary.failed_rows_unlisted;
        total
            .failed_rows
            .extend(summary.failed_rows.into_iter().map(|row| FailedRow {
                index: part.file_rows[row.index],
                reason: row.reason,
            }));
        let elapsed = started.elapsed().as_secs_f64().max(1e-3);
        progress.set_position(read.load(Ordering::Relaxed));
        progress.set_message(format!(
            "{} rows, {:.0} rows/s, {} failed",
            total.rows,
            total.rows as f64 / elapsed,
            total.failed_rows.len() + total.failed_rows_unlisted
        ));
    }
    drop(results);
    reader.await.context("the file reader stopped")??;
    if let Some(writer) = failed_writer {
        writer.finish()?;
    }
    progress.finish_and_clear();

    let seconds = started.elapsed().as_secs_f64();
    total.failed_rows.sort_by_key(|row| row.index);
    if args.client.json {
        let failed: Vec<_> = total
            .failed_rows
            .iter()
            .map(|row| serde_json::json!({"row": row.index + 1, "reason": row.reason}))
            .collect();
        super::print_json(&serde_json::json!({
            "rows": total.rows,
            "rows_written": total.rows_written,
            "rows_failed": total.failed_rows.len() + total.failed_rows_unlisted,
            "seconds": seconds,
            "failed_rows": failed,
            "failed_rows_unlisted": total.failed_rows_unlisted,
        }));
    } else {
        println!(
            "ingested {} of {} rows into {group} in {seconds:.2} s ({:.0} rows/s); {} failed",
            total.rows_written,
            total.rows,
            total.rows as f64 / seconds.max(1e-3),
            total.failed_rows.len() + total.failed_rows_unlisted
        );
        for row in total.failed_rows.iter().take(10) {
            eprintln!("row {}: {}", row.index + 1, row.reason);
        }
        if total.failed_rows.len() > 10 {
            eprintln!("... and {} more", total.failed_rows.len() - 10);
        }
        if total.failed_rows_unlisted > 0 {
            eprintln!(
                "{} more failed rows are not listed (--failed-rows does not have them either): \
                 the server lists a batch's failed rows up to a size budget; use smaller --batch-rows",
                total.failed_rows_unlisted
            );
        }
    }
    if !total.failed_rows.is_empty() {
        let hint = match &args.failed_rows {
            Some(path) => format!("; they are in {}", path.display()),
            None => "; --failed-rows FILE keeps them".to_owned(),
        };
        bail!("{} rows failed{hint}", total.failed_rows.len());
    }
    Ok(())
}

/// Rows of the file bound for one worker: a batch and, for each of its
/// rows, its row number in the file (from 0).
struct Part {
    batch: RecordBatch,
    file_rows: Vec<usize>,
}

/// Splits a batch whose first row is file row `offset` over `workers`
/// by record identifier ([`split_by_record`]), with each row's file row.
fn split_by_worker(
    batch: &RecordBatch,
    offset: usize,
    id_column: &str,
    workers: usize,
) -> Result<Vec<(usize, Part)>> {
    Ok(split_by_record(batch, id_column, workers)?
        .into_iter()
        .map(|part| {
            let file_rows = part.rows.iter().map(|row| offset + row).collect();
            (
                part.stream,
                Part {
                    batch: part.batch,
                    file_rows,
                },
            )
        })
        .collect())
}

/// A bar on a terminal, nothing otherwise.
fn progress_bar(total: u64, format: FileFormat) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let unit = if format == FileFormat::Parquet {
        "{pos}/{len} rows"
    } else {
        "{bytes}/{total_bytes}"
    };
    let template = format!("{{bar:30}} {unit} {{msg}}, {{eta}} left");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Writes rejected rows as they come back: a `row` column (1-based in the
/// file), the `reason`, then the file's columns. CSV, TSV or JSON lines by
/// the file's extension.
struct FailedRowsWriter {
    schema: SchemaRef,
    writer: Box<dyn BatchSink>,
}

trait BatchSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
    fn finish(self: Box<Self>) -> Result<()>;
}

impl BatchSink for arrow::csv::Writer<File> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(arrow::csv::Writer::write(self, batch)?)
    }
    fn finish(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}

impl BatchSink for arrow::json::LineDelimitedWriter<File> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(arrow::json::LineDelimitedWriter::write(self, batch)?)
    }
    fn finish(mut self: Box<Self>) -> Result<()> {
        Ok(arrow::json::LineDelimitedWriter::finish(&mut self)?)
    }
}

impl FailedRowsWriter {
    fn create(path: &Path, input: &SchemaRef) -> Result<Self> {
        let mut fields = vec![
            Field::new("row", DataType::UInt64, false),
            Field::new("reason", DataType::Utf8, false),
        ];
        fields.extend(
            input
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true)),
        );
        let schema = Arc::new(Schema::new(fields));
        let format = match FileFormat::of(path, None) {
            Ok(format @ (FileFormat::Csv | FileFormat::Tsv | FileFormat::Jsonl)) => format,
            _ => bail!(
                "--failed-rows {}: name a .csv, .tsv or .jsonl file",
                path.display()
            ),
        };
        let nested = input.fields().iter().find(|f| f.data_type().is_nested());
        if let (FileFormat::Csv | FileFormat::Tsv, Some(field)) = (format, nested) {
            bail!(
                "--failed-rows {}: column '{}' holds lists, which CSV cannot; name a .jsonl file",
                path.display(),
                field.name()
            );
        }
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let writer: Box<dyn BatchSink> = match format {
            FileFormat::Jsonl => Box::new(arrow::json::LineDelimitedWriter::new(file)),
            FileFormat::Tsv => Box::new(
                arrow::csv::WriterBuilder::new()
                    .with_delimiter(b'\t')
                    .build(file),
            ),
            _ => Box::new(arrow::csv::WriterBuilder::new().build(file)),
        };
        Ok(Self { schema, writer })
    }

    fn write(&mut self, part: &Part, failed: &[FailedRow]) -> Result<()> {
        if failed.is_empty() {
            return Ok(());
        }
        let batch = &part.batch;
        let indices = UInt64Array::from_iter_values(failed.iter().map(|row| row.index as u64));
        let rows = UInt64Array::from_iter_values(
            failed
                .iter()
                .map(|row| (part.file_rows[row.index] + 1) as u64),
        );
        let reasons = StringArray::from_iter_values(failed.iter().map(|row| row.reason.as_str()));
        let mut columns: Vec<ArrayRef> = vec![Arc::new(rows), Arc::new(reasons)];
        for column in batch.columns() {
            columns.push(arrow::compute::take(column, &indices, None)?);
        }
        let rejected = RecordBatch::try_new(Arc::clone(&self.schema), columns)?;
        self.writer
            .write(&rejected)
            .context("cannot write the failed rows (lists need a .jsonl file)")
    }

    fn finish(self) -> Result<()> {
        self.writer.finish()
    }
}
