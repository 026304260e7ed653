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
    /// The rows not written, by position, with their reasons: all of them
    /// unless their reasons together pass the server's budget for one
    /// answer (a batch of millions of bad rows must not make an answer
    /// larger than a message may be).
    pub failed_rows: Vec<FailedRow>,
    /// Rows not written that did not fit in `failed_rows`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed_rows_unlisted: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// A row that was not written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedRow {
    /// The row's position in its batch (in a [`BatchResult`]) or in what
    /// the caller sent (in a client's summary), from 0.
    pub index: usize,
    pub reason: String,
}
