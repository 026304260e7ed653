//! What the server answers for each batch of a bulk ingest (Arrow Flight
//! `DoPut`), as JSON in the batch's `PutResult` metadata; shared by the
//! server and the clients.

use serde::{Deserialize, Serialize};

/// The answer to one ingested batch, sent once the batch is durable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchResult {
    /// The batch's position in its stream, from 0.
    pub batch: u64,
    /// Rows in the batch.
    pub rows: usize,
    pub rows_written: usize,
    /// The rows not written, by position.
    pub failed_rows: Vec<FailedRow>,
}

/// A row that was not written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedRow {
    /// The row's position in its batch (in a [`BatchResult`]) or in what
    /// the caller sent (in a client's summary), from 0.
    pub index: usize,
    pub reason: String,
}
