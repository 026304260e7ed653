//! Data files the CLI reads: CSV and TSV (with a header; quoted fields may
//! hold delimiters, quotes and line breaks; a quote never closed is an
//! error naming its line), Parquet, and JSON lines. The format comes from
//! the extension or `--format`.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use clap::ValueEnum;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Rows read to infer the column types of a text file.
const INFER_ROWS: usize = 10_000;

/// A data file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    Csv,
    Tsv,
    Parquet,
    /// One JSON object per line.
    Jsonl,
}

impl FileFormat {
    /// `given`, else the format the file's extension names.
    pub fn of(path: &Path, given: Option<FileFormat>) -> Result<Self> {
        if let Some(format) = given {
            return Ok(format);
        }
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        Ok(match extension.as_deref() {
            Some("csv") => FileFormat::Csv,
            Some("tsv" | "tab") => FileFormat::Tsv,
            Some("parquet" | "pq") => FileFormat::Parquet,
            Some("jsonl" | "ndjson" | "json") => FileFormat::Jsonl,
            _ => bail!(
                "{}: cannot tell the format from the extension; use --format csv|tsv|parquet|jsonl",
                path.display()
            ),
        })
    }

    fn csv_format(self) -> arrow::csv::reader::Format {
        arrow::csv::reader::Format::default()
            .with_header(true)
            .with_delimiter(self.csv_delimiter())
    }

    fn csv_delimiter(self) -> u8 {
        if self == FileFormat::Tsv { b'\t' } else { b',' }
    }
}

fn open(path: &Path) -> Result<File> {
    File::open(path).with_context(|| format!("cannot open {}", path.display()))
}

/// The column types a file's values have: Parquet's own; for text formats
/// inferred from the first rows (ISO-8601 times as UTC timestamps).
pub fn inferred_schema(path: &Path, format: FileFormat) -> Result<SchemaRef> {
    schema_from_rows(path, format, Some(INFER_ROWS))
}

/// Like [`inferred_schema`], from the first `rows` rows (all of them for
/// `None`).
fn schema_from_rows(path: &Path, format: FileFormat, rows: Option<usize>) -> Result<SchemaRef> {
    let schema = match format {
        FileFormat::Parquet => {
            let reader = ParquetRecordBatchReaderBuilder::try_new(open(path)?)
                .with_context(|| format!("{} is not a Parquet file", path.display()))?;
            return Ok(Arc::clone(reader.schema()));
        }
        FileFormat::Csv | FileFormat::Tsv => {
            format
                .csv_format()
                .infer_schema(open(path)?, rows)
                .with_context(|| format!("cannot read the header of {}", path.display()))?
                .0
        }
        FileFormat::Jsonl => {
            arrow::json::reader::infer_json_schema(BufReader::new(open(path)?), rows)
                .with_context(|| format!("{} is not JSON lines", path.display()))?
                .0
        }
    };
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| match field.data_type() {
            DataType::Timestamp(unit, None) => field
                .as_ref()
                .clone()
                .with_data_type(DataType::Timestamp(*unit, Some("UTC".into()))),
            _ => field.as_ref().clone(),
        })
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

/// A whole file, each column in the type [`inferred_schema`] gives it
/// (for an entity table, whose times must be timestamps).
pub fn read_typed(path: &Path, format: FileFormat) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let schema = inferred_schema(path, format)?;
    let read_error = |e| anyhow::anyhow!("cannot read {}: {e}", path.display());
    let batches = match format {
        FileFormat::Parquet => ParquetRecordBatchReaderBuilder::try_new(open(path)?)?
            .build()?
            .collect::<Result<Vec<_>, _>>()
            .map_err(read_error)?,
        FileFormat::Csv | FileFormat::Tsv => arrow::csv::ReaderBuilder::new(Arc::clone(&schema))
            .with_format(format.csv_format())
            .with_batch_size(65_536)
            .build(QuoteCheck::new(open(path)?, format))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(read_error)?,
        FileFormat::Jsonl => arrow::json::ReaderBuilder::new(Arc::clone(&schema))
            .with_batch_size(65_536)
            .build(BufReader::new(open(path)?))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(read_error)?,
    };
    Ok((schema, batches))
}

/// Batches of a file as they are read, with how far into the file the
/// reader is, for progress.
pub struct BatchSource {
    pub schema: SchemaRef,
    /// What [`BatchSource::done`] counts up to: bytes for text files, rows
    /// for Parquet.
    pub total: u64,
    done: Arc<AtomicU64>,
    batches: Box<dyn Iterator<Item = Result<RecordBatch>> + Send>,
}

impl std::fmt::Debug for BatchSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchSource")
            .field("schema", &self.schema)
            .field("total", &self.total)
            .finish()
    }
}

impl BatchSource {
    /// Opens `path` for ingest. Text columns are read as text (CSV, TSV)
    /// or with numbers and text kept as text (JSON lines), so that the
    /// server parses each value by its feature's type and a bad value fails
    /// its row, not the file.
    pub fn open(path: &Path, format: FileFormat, batch_rows: usize) -> Result<Self> {
        let done = Arc::new(AtomicU64::new(0));
        let read_error = {
            let path = path.display().to_string();
            move |e: arrow::error::ArrowError| anyhow::anyhow!("cannot read {path}: {e}")
        };
        match format {
            FileFormat::Parquet => {
                let builder = ParquetRecordBatchReaderBuilder::try_new(open(path)?)
                    .with_context(|| format!("{} is not a Parquet file", path.display()))?;
                let schema = Arc::clone(builder.schema());
                let total = builder.metadata().file_metadata().num_rows().max(0) as u64;
                let reader = builder.with_batch_size(batch_rows).build()?;
                let counter = Arc::clone(&done);
                let batches = reader.map(move |batch| {
                    let batch = batch.map_err(read_error.clone())?;
                    counter.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
                    Ok(batch)
                });
                Ok(Self {
                    schema,
                    total,
                    done,
                    batches: Box::new(batches),
                })
            }
            FileFormat::Csv | FileFormat::Tsv => {
                let header = inferred_schema(path, format)?;
                let text = Arc::new(Schema::new(
                    header
                        .fields()
                        .iter()
                        .map(|f| Field::new(f.name(), DataType::Utf8, true))
                        .collect::<Vec<_>>(),
                ));
                let (file, total) = counted(path, &done)?;
                let reader = arrow::csv::ReaderBuilder::new(Arc::clone(&text))
                    .with_format(format.csv_format())
                    .with_batch_size(batch_rows)
                    .build(QuoteCheck::new(file, format))?;
                Ok(Self {
                    schema: text,
                    total,
                    done,
                    batches: Box::new(reader.map(move |b| b.map_err(read_error.clone()))),
                })
            }
            FileFormat::Jsonl => {
                // Every line is read to find the keys: one that first shows
                // up late must not be dropped.
                let inferred = schema_from_rows(path, format, None)?;
                let schema = Arc::new(Schema::new(
                    inferred
                        .fields()
                        .iter()
                        .map(|f| match f.data_type() {
                            DataType::List(_) | DataType::Struct(_) => f.as_ref().clone(),
                            _ => Field::new(f.name(), DataType::Utf8, true),
                        })
                        .collect::<Vec<_>>(),
                ));
                let (file, total) = counted(path, &done)?;
                let reader = arrow::json::ReaderBuilder::new(Arc::clone(&schema))
                    .with_batch_size(batch_rows)
                    .with_coerce_primitive(true)
                    .build(BufReader::new(file))?;
                Ok(Self {
                    schema,
                    total,
                    done,
                    batches: Box::new(reader.map(move |b| b.map_err(read_error.clone()))),
                })
            }
        }
    }

    /// How far the reader is, in the unit of [`BatchSource::total`].
    pub fn progress(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.done)
    }
}

impl Iterator for BatchSource {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.batches.next()
    }
}

/// A file whose reads are counted into `done`, and its size.
fn counted(path: &Path, done: &Arc<AtomicU64>) -> Result<(CountingReader, u64)> {
    let mut file = open(path)?;
    let total = file.seek(std::io::SeekFrom::End(0))?;
    file.rewind()?;
    Ok((
        CountingReader {
            inner: BufReader::with_capacity(1 << 20, file),
            done: Arc::clone(done),
        },
        total,
    ))
}

/// Counts the bytes read through it.
struct CountingReader {
    inner: BufReader<File>,
    done: Arc<AtomicU64>,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where a CSV reader is within a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldState {
    /// At the start of a field (or of a record).
    Start,
    /// In a field that did not start with a quote: quotes are text.
    Unquoted,
    /// In a quoted field.
    Quoted,
    /// Just after a quote in a quoted field: it closes the field, unless a
    /// second quote follows (an escaped quote).
    QuoteInQuoted,
}

/// Reads a CSV or TSV file through, tracking quoted fields as the CSV
/// reader does, and fails at the end of a file that ends inside a quoted
/// field. Otherwise an unbalanced quote makes the rest of the file one
/// field, and often one row the reader accepts.
struct QuoteCheck<R> {
    inner: R,
    delimiter: u8,
    state: FieldState,
    /// The line being read, from 1.
    line: u64,
    /// The line of the quote that opened the current quoted field.
    opened_on: u64,
}

impl<R> QuoteCheck<R> {
    fn new(inner: R, format: FileFormat) -> Self {
        Self {
            inner,
            delimiter: format.csv_delimiter(),
            state: FieldState::Start,
            line: 1,
            opened_on: 0,
        }
    }

    fn scan(&mut self, bytes: &[u8]) {
        use FieldState::*;
        for &byte in bytes {
            self.state = match (self.state, byte) {
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, _) => Quoted,
                (QuoteInQuoted, b'"') => Quoted,
                (Start, b'"') => {
                    self.opened_on = self.line;
                    Quoted
                }
                (_, b'\n' | b'\r') => Start,
                (_, byte) if byte == self.delimiter => Start,
                _ => Unquoted,
            };
            if byte == b'\n' {
                self.line += 1;
            }
        }
    }
}

impl<R: Read> Read for QuoteCheck<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() && self.state == FieldState::Quoted {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "line {}: a quoted field starts here and is never closed (an unbalanced '\"')",
                    self.opened_on
                ),
            ));
        }
        self.scan(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` through a [`QuoteCheck`] in pieces of `chunk` bytes.
    fn check(text: &str, chunk: usize) -> std::io::Result<()> {
        let mut reader = QuoteCheck::new(text.as_bytes(), FileFormat::Csv);
        let mut buf = vec![0; chunk];
        while reader.read(&mut buf)? > 0 {}
        Ok(())
    }

    #[test]
    fn balanced_quotes_pass() {
        for text in [
            "a,b\n1,2\n",
            "a,b\n\"x, \"\"y\"\"\",2\n",
            "a,b\n\"two\nlines\",2\r\n3,4",
            // A quote inside an unquoted field is text.
            "a,b\n5\" screen,2\n",
            "a,b\n\"\",\"\"\n",
        ] {
            for chunk in [1, 3, 1024] {
                assert!(check(text, chunk).is_ok(), "{text:?} in {chunk}-byte reads");
            }
        }
    }

    #[test]
    fn an_unclosed_quote_names_its_line() {
        let text = "a,b\n1,2\n3,\"oops\n4,5\n6,7\n";
        for chunk in [1, 4, 1024] {
            let error = check(text, chunk).unwrap_err();
            assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
            assert!(
                error.to_string().starts_with("line 3: a quoted field"),
                "{error}"
            );
        }
        // An escaped quote does not close the field.
        let error = check("a\n\"x\"\"\n", 1024).unwrap_err();
        assert!(error.to_string().starts_with("line 2:"), "{error}");
    }
}
