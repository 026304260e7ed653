//! Writing Parquet: one set of writer settings for flushed and compacted
//! files, so both are byte-for-byte reproducible.

use std::sync::Arc;

use almanac_online::OfflineLogEntry;
use almanac_types::FeatureGroup;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::batch::{entries_to_batch_of_width, entries_width};
use crate::error::{OfflineError, Result};
use crate::files::FileMeta;

/// Encodes log entries of one group as one zstd Parquet file, off the
/// async threads, and describes the file for the file list.
pub(crate) async fn encode_entries(
    group: Arc<FeatureGroup>,
    rows: Vec<OfflineLogEntry>,
) -> Result<(Bytes, FileMeta)> {
    tokio::task::spawn_blocking(move || {
        let width = entries_width(rows.iter());
        let batch = entries_to_batch_of_width(&group, width, rows.iter())?;
        let buffer = encode_batches(batch.schema(), std::slice::from_ref(&batch))?;
        let event = rows.iter().map(|e| e.record.event_time_micros);
        let write = rows.iter().map(|e| e.write_micros);
        let meta = FileMeta {
            rows: rows.len() as u64,
            bytes: buffer.len() as u64,
            min_event_micros: event.clone().min().unwrap_or(0),
            max_event_micros: event.max().unwrap_or(0),
            min_write_micros: write.clone().min().unwrap_or(0),
            max_write_micros: write.max().unwrap_or(0),
            schema_version: group.schema_version,
        };
        Ok((Bytes::from(buffer), meta))
    })
    .await
    .map_err(|e| OfflineError::Config(format!("parquet encoder stopped: {e}")))?
}

/// Batches as one zstd Parquet file.
pub(crate) fn encode_batches(schema: SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_max_row_group_row_count(Some(128 * 1024))
        .build();
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, schema, Some(properties))?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(buffer)
}
