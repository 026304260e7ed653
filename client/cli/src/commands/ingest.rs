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

use almanac_client::ingest::{FailedRow, IngestSummary};
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
    client.describe_feature_group(&args.name).await?;
    let mut failed_writer = args
        .failed_rows
        .as_deref()
        .map(|path| FailedRowsWriter::create(path, &source.schema))
        .transpose()?;

    let progress = progress_bar(source.total, format);
    let read = source.progress();
    let (sender, batches) = tokio::sync::mpsc::channel::<(usize, RecordBatch)>(args.workers * 2);
    let reader = tokio::task::spawn_blocking(move || -> Result<()> {
        let mut offset = 0;
        for batch in source {
            let batch = batch?;
            let rows = batch.num_rows();
            if sender.blocking_send((offset, batch)).is_err() {
                break;
            }
            offset += rows;
        }
        Ok(())
    });

    let started = Instant::now();
    let group = args.name.as_str();
    let client = &client;
    let mut results = ReceiverStream::new(batches)
        .map(|(offset, batch)| async move {
            let summary = client.ingest_batch(group, batch.clone()).await;
            (offset, batch, summary)
        })
        .buffer_unordered(args.workers);
    let mut total = IngestSummary::default();
    while let Some((offset, batch, summary)) = results.next().await {
        let summary = summary.with_context(|| format!("ingest into '{group}' failed"))?;
        if let Some(writer) = failed_writer.as_mut() {
            writer.write(offset, &batch, &summary.failed_rows)?;
        }
        total.rows += summary.rows;
        total.rows_written += summary.rows_written;
        total
            .failed_rows
            .extend(summary.failed_rows.into_iter().map(|row| FailedRow {
                index: offset + row.index,
                reason: row.reason,
            }));
        let elapsed = started.elapsed().as_secs_f64().max(1e-3);
        progress.set_position(read.load(Ordering::Relaxed));
        progress.set_message(format!(
            "{} rows, {:.0} rows/s, {} failed",
            total.rows,
            total.rows as f64 / elapsed,
            total.failed_rows.len()
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
            "rows_failed": total.failed_rows.len(),
            "seconds": seconds,
            "failed_rows": failed,
        }));
    } else {
        println!(
            "ingested {} of {} rows into {group} in {seconds:.2} s ({:.0} rows/s); {} failed",
            total.rows_written,
            total.rows,
            total.rows as f64 / seconds.max(1e-3),
            total.failed_rows.len()
        );
        for row in total.failed_rows.iter().take(10) {
            eprintln!("row {}: {}", row.index + 1, row.reason);
        }
        if total.failed_rows.len() > 10 {
            eprintln!("... and {} more", total.failed_rows.len() - 10);
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
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
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
        let writer: Box<dyn BatchSink> = match FileFormat::of(path, None) {
            Ok(FileFormat::Jsonl) => Box::new(arrow::json::LineDelimitedWriter::new(file)),
            Ok(FileFormat::Tsv) => Box::new(
                arrow::csv::WriterBuilder::new()
                    .with_delimiter(b'\t')
                    .build(file),
            ),
            Ok(FileFormat::Csv) => Box::new(arrow::csv::WriterBuilder::new().build(file)),
            _ => bail!(
                "--failed-rows {}: name a .csv, .tsv or .jsonl file",
                path.display()
            ),
        };
        Ok(Self { schema, writer })
    }

    fn write(&mut self, offset: usize, batch: &RecordBatch, failed: &[FailedRow]) -> Result<()> {
        if failed.is_empty() {
            return Ok(());
        }
        let indices = UInt64Array::from_iter_values(failed.iter().map(|row| row.index as u64));
        let rows =
            UInt64Array::from_iter_values(failed.iter().map(|row| (offset + row.index + 1) as u64));
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
