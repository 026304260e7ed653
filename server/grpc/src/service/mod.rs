//! The `almanac.v1.FeatureStore` service. The trait implementation only
//! routes; each area's handlers live in their own file.

mod control;
mod listing;
mod runtime;

use std::sync::Arc;

use almanac_offline::{FlushStatus, OfflineStore};
use almanac_online::Engine;
use almanac_proto as pb;
use almanac_proto::feature_store_server::FeatureStore;
use tonic::{Request, Response, Status};

use crate::status::internal;

/// The service's state: the engine, the offline store and its flusher's
/// status.
#[derive(Debug, Clone)]
pub(crate) struct FeatureStoreService {
    engine: Arc<Engine>,
    offline: OfflineStore,
    flush_status: Arc<FlushStatus>,
    /// Largest response; BatchGetRecord returns what fits and leaves the
    /// rest unprocessed.
    max_message_bytes: usize,
}

impl FeatureStoreService {
    /// A service over `engine` and `offline`.
    pub(crate) fn new(
        engine: Arc<Engine>,
        offline: OfflineStore,
        flush_status: Arc<FlushStatus>,
    ) -> Self {
        Self {
            engine,
            offline,
            flush_status,
            max_message_bytes: usize::MAX,
        }
    }

    /// Keeps responses under `bytes` (see [`FeatureStoreService`]).
    pub(crate) fn with_max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl FeatureStore for FeatureStoreService {
    async fn create_feature_group(
        &self,
        request: Request<pb::CreateFeatureGroupRequest>,
    ) -> Reply<pb::CreateFeatureGroupResponse> {
        self.create_group(request.into_inner())
            .await
            .map(Response::new)
    }

    async fn describe_feature_group(
        &self,
        request: Request<pb::DescribeFeatureGroupRequest>,
    ) -> Reply<pb::FeatureGroupDescription> {
        self.describe_group(request.into_inner()).map(Response::new)
    }

    async fn list_feature_groups(
        &self,
        request: Request<pb::ListFeatureGroupsRequest>,
    ) -> Reply<pb::ListFeatureGroupsResponse> {
        self.list_groups(request.into_inner()).map(Response::new)
    }

    async fn update_feature_group(
        &self,
        request: Request<pb::UpdateFeatureGroupRequest>,
    ) -> Reply<pb::FeatureGroupDescription> {
        self.update_group(request.into_inner())
            .await
            .map(Response::new)
    }

    async fn delete_feature_group(
        &self,
        request: Request<pb::DeleteFeatureGroupRequest>,
    ) -> Reply<pb::DeleteFeatureGroupResponse> {
        self.delete_group(request.into_inner())
            .await
            .map(Response::new)
    }

    async fn update_feature_metadata(
        &self,
        request: Request<pb::UpdateFeatureMetadataRequest>,
    ) -> Reply<pb::FeatureMetadata> {
        self.update_metadata(request.into_inner())
            .await
            .map(Response::new)
    }

    async fn describe_feature_metadata(
        &self,
        request: Request<pb::DescribeFeatureMetadataRequest>,
    ) -> Reply<pb::FeatureMetadata> {
        self.describe_metadata(request.into_inner())
            .map(Response::new)
    }

    async fn search(&self, request: Request<pb::SearchRequest>) -> Reply<pb::SearchResponse> {
        // Bounded, but proportional to the catalog: off the async threads.
        let service = self.clone();
        tokio::task::spawn_blocking(move || service.search_catalog(request.into_inner()))
            .await
            .map_err(internal("running a search"))?
            .map(Response::new)
    }

    async fn put_record(
        &self,
        request: Request<pb::PutRecordRequest>,
    ) -> Reply<pb::PutRecordResponse> {
        self.put(request.into_inner()).await.map(Response::new)
    }

    async fn get_record(
        &self,
        request: Request<pb::GetRecordRequest>,
    ) -> Reply<pb::GetRecordResponse> {
        self.get(request.into_inner()).map(Response::new)
    }

    async fn batch_get_record(
        &self,
        request: Request<pb::BatchGetRecordRequest>,
    ) -> Reply<pb::BatchGetRecordResponse> {
        self.batch_get(request.into_inner())
            .await
            .map(Response::new)
    }

    async fn batch_write_record(
        &self,
        request: Request<pb::BatchWriteRecordRequest>,
    ) -> Reply<pb::BatchWriteRecordResponse> {
        self.batch_write(request.into_inner())
            .await
            .map(Response::new)
    }

    async fn delete_record(
        &self,
        request: Request<pb::DeleteRecordRequest>,
    ) -> Reply<pb::DeleteRecordResponse> {
        self.delete(request.into_inner()).await.map(Response::new)
    }

    async fn list_records(
        &self,
        request: Request<pb::ListRecordsRequest>,
    ) -> Reply<pb::ListRecordsResponse> {
        self.list(request.into_inner()).map(Response::new)
    }
}
