//! DoExchange: point-in-time datasets. The first message's command
//! descriptor is the request (JSON), the stream the entity table; the
//! dataset streams back. A build takes its query slot before the entity
//! table is received, so no more tables are held than builds may run.

use std::sync::Arc;

use almanac_sql::EntityTable;
use almanac_types::dataset::DatasetRequest;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow_flight::FlightData;
use arrow_flight::flight_descriptor::DescriptorType;
use futures::{StreamExt, TryStreamExt, stream};
use tonic::{Response, Status, Streaming};

use super::{FlightDataStream, FlightSqlEndpoint};
use crate::ipc;
use crate::status::{internal, request_status, sql_status};

/// Rows per entity batch the dataset is built and sent back in: small
/// batches as clients send them (a Parquet reader's 1,024 rows) are joined
/// up to this, so each output message carries enough rows.
const ENTITY_BATCH_ROWS: usize = 65_536;

impl FlightSqlEndpoint {
    /// Builds the dataset an exchange asks for.
    pub(super) async fn dataset(
        &self,
        mut input: Streaming<FlightData>,
    ) -> Result<Response<FlightDataStream>, Status> {
        let first = input
            .message()
            .await
            .map_err(request_status)?
            .ok_or_else(|| Status::invalid_argument("the exchange sent no message"))?;
        let command = first
            .flight_descriptor
            .as_ref()
            .filter(|d| d.r#type == DescriptorType::Cmd as i32)
            .map(|d| d.cmd.clone())
            .ok_or_else(|| {
                Status::invalid_argument(
                    "the exchange's first message must carry a command descriptor \
                     (a dataset request)",
                )
            })?;
        let dataset = DatasetRequest::from_command(&command)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        // A slot first: entity tables are held in memory, so no more are
        // received at once than builds may run.
        let admission = self.sql.admit_dataset().await.map_err(sql_status)?;
        let started = std::time::Instant::now();
        let entities = self
            .sql
            .receive_within(&admission, self.receive_entities(first, input))
            .await
            .map_err(sql_status)??;
        tracing::debug!(
            rows = entities.rows(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "received a dataset's entity table"
        );
        let result = self
            .sql
            .build_dataset(admission, &dataset, entities)
            .await
            .map_err(sql_status)?;
        Ok(self.encode(result.schema, result.batches))
    }

    /// Reads the entity table of a dataset exchange, whose first message
    /// has been read already; a table over the query memory limit is
    /// refused.
    async fn receive_entities(
        &self,
        first: FlightData,
        rest: Streaming<FlightData>,
    ) -> Result<EntityTable, Status> {
        // Clients differ: Rust's encoder puts the descriptor on the schema
        // message, pyarrow sends it alone first. Messages without an IPC
        // header (descriptor or app_metadata only) carry no table data.
        let messages = stream::once(async move { Ok(first) })
            .chain(rest)
            .try_filter(|message| futures::future::ready(!message.data_header.is_empty()));
        let (mut decoder, schema) = ipc::decode_checked(messages, "entity table");
        let limit = self.sql.memory_limit_bytes();
        let mut batches = Vec::new();
        let mut bytes = 0usize;
        while let Some(batch) = decoder.try_next().await? {
            bytes += batch.get_array_memory_size();
            if bytes > limit {
                return Err(Status::resource_exhausted(format!(
                    "the entity table is over the query memory limit of {} MiB",
                    limit >> 20
                )));
            }
            batches.push(batch);
        }
        let schema = schema
            .get()
            .ok_or_else(|| Status::invalid_argument("the entity table has no schema"))?;
        let batches = coalesce(&schema, batches).map_err(internal("joining the entity batches"))?;
        Ok(EntityTable { schema, batches })
    }
}

fn coalesce(
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<Vec<RecordBatch>, arrow::error::ArrowError> {
    let mut coalescer = arrow::compute::BatchCoalescer::new(Arc::clone(schema), ENTITY_BATCH_ROWS);
    for batch in batches {
        coalescer.push_batch(batch)?;
    }
    coalescer.finish_buffered_batch()?;
    Ok(std::iter::from_fn(|| coalescer.next_completed_batch()).collect())
}
