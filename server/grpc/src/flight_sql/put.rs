//! DoPut: bulk ingest into a feature group named by a path descriptor
//! ([`crate::ingest`]); every Flight SQL command that would write through
//! SQL (updates, ADBC ingest, Substrait) is refused, the SQL interface
//! being read-only.

use std::sync::Arc;

use arrow_flight::PutResult;
use arrow_flight::flight_descriptor::DescriptorType;
use arrow_flight::sql::server::PeekableFlightDataStream;
use futures::{Stream, TryStreamExt};
use tonic::{Request, Status};

use super::FlightSqlEndpoint;
use crate::ingest;
use crate::ipc;
use crate::status::to_status;

/// Bulk ingest streams that run at once; more are refused with
/// RESOURCE_EXHAUSTED (each holds the single writer's queue and a
/// background thread's time, so more would only wait).
pub(crate) const MAX_INGEST_STREAMS: usize = 16;

type PutResults = std::pin::Pin<Box<dyn Stream<Item = Result<PutResult, Status>> + Send>>;

impl FlightSqlEndpoint {
    /// Starts a bulk ingest stream into the group the first message's
    /// path descriptor names; its batches are decoded and written on the
    /// background runtime, one result per batch.
    pub(super) async fn ingest(
        &self,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<PutResults, Status> {
        let mut input = request.into_inner().into_peekable();
        let descriptor = match std::pin::Pin::new(&mut input).peek().await {
            Some(Ok(first)) => first.flight_descriptor.clone(),
            Some(Err(status)) => return Err(status.clone()),
            None => None,
        };
        let group_name = match descriptor {
            Some(d) if d.r#type == DescriptorType::Path as i32 && d.path.len() == 1 => {
                d.path[0].clone()
            }
            _ => {
                return Err(Status::invalid_argument(
                    "DoPut needs a path descriptor with one element: the feature group's name",
                ));
            }
        };
        let group = self.engine.group(&group_name).map_err(to_status)?;
        let slot = Arc::clone(&self.ingest_slots)
            .try_acquire_owned()
            .map_err(|_| {
                Status::resource_exhausted(format!(
                    "{MAX_INGEST_STREAMS} bulk ingest streams are running, the most this server runs at once; try again when one ends"
                ))
            })?;
        let messages =
            input.try_filter(|message| futures::future::ready(!message.data_header.is_empty()));
        let (batches, _) = ipc::decode_checked(messages, "ingest stream");
        let (results, replies) = tokio::sync::mpsc::channel(4);
        let engine = Arc::clone(&self.engine);
        let max_message_bytes = self.max_message_bytes;
        self.background.spawn(async move {
            ingest::ingest(engine, group, batches, results, max_message_bytes).await;
            drop(slot);
        });
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(
            replies,
        )))
    }
}

/// A DoPut whose command is not bulk ingest.
pub(super) fn refuse_command(type_url: &str) -> Status {
    Status::permission_denied(format!(
        "the SQL interface is read-only; '{type_url}' is refused"
    ))
}

/// ADBC's bulk ingest into a table.
pub(super) fn refuse_statement_ingest(table: &str) -> Status {
    Status::permission_denied(format!(
        "ingest into '{table}' through Flight SQL is refused: the SQL interface is read-only; \
         bulk ingest is DoPut with a path descriptor naming the feature group \
         (almanac ingest, or the Python package's ingest)"
    ))
}
