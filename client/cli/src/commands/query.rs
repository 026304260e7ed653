//! `almanac query`: SQL over Arrow Flight SQL, written as a table, CSV,
//! JSON lines or Parquet, batch by batch (a table needs the whole result).

use std::fs::File;
use std::io::{IsTerminal, Write};

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use futures::StreamExt;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::connect;
use crate::cli::{QueryArgs, QueryFormat};

pub async fn run(args: QueryArgs) -> Result<()> {
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let format = args.format.unwrap_or(if to_terminal {
        QueryFormat::Table
    } else {
        QueryFormat::Csv
    });
    if format == QueryFormat::Parquet && to_terminal {
        bail!("--format parquet needs --output FILE (or a redirect)");
    }
    let sink: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let client = connect(&args.client).await?;
    let mut result = client.query_stream(&args.sql).await?;
    let mut writer = BatchWriter::new(format, sink, &result.schema)?;
    while let Some(batch) = result.batches.next().await {
        writer.write(&batch?)?;
    }
    writer.finish()
}

/// Writes result batches in one of the output formats.
pub(super) enum BatchWriter {
    Table(Box<dyn Write + Send>, Vec<RecordBatch>),
    Csv(arrow::csv::Writer<Box<dyn Write + Send>>),
    Json(arrow::json::LineDelimitedWriter<Box<dyn Write + Send>>),
    Parquet(ArrowWriter<Box<dyn Write + Send>>),
}

impl BatchWriter {
    pub(super) fn new(
        format: QueryFormat,
        sink: Box<dyn Write + Send>,
        schema: &arrow::datatypes::SchemaRef,
    ) -> Result<Self> {
        Ok(match format {
            QueryFormat::Table => Self::Table(sink, Vec::new()),
            QueryFormat::Csv => Self::Csv(
                arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(sink),
            ),
            QueryFormat::Json => Self::Json(arrow::json::LineDelimitedWriter::new(sink)),
            QueryFormat::Parquet => {
                let properties = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    .build();
                Self::Parquet(ArrowWriter::try_new(
                    sink,
                    schema.clone(),
                    Some(properties),
                )?)
            }
        })
    }

    pub(super) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            Self::Table(_, batches) => batches.push(batch.clone()),
            Self::Csv(writer) => writer.write(batch)?,
            Self::Json(writer) => writer.write(batch)?,
            Self::Parquet(writer) => writer.write(batch)?,
        }
        Ok(())
    }

    pub(super) fn finish(self) -> Result<()> {
        match self {
            Self::Table(mut sink, batches) => {
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                writeln!(
                    sink,
                    "{}",
                    arrow::util::pretty::pretty_format_batches(&batches)?
                )?;
                writeln!(sink, "({rows} row{})", if rows == 1 { "" } else { "s" })?;
            }
            Self::Csv(writer) => drop(writer.into_inner()),
            Self::Json(mut writer) => writer.finish()?,
            Self::Parquet(writer) => {
                writer.close()?;
            }
        }
        Ok(())
    }
}
