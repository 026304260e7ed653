//! [`Client`]: one method per RPC.

use almanac_proto as pb;
use pb::feature_store_client::FeatureStoreClient;
use tonic::transport::{Channel, Endpoint};

use crate::error::ClientError;

type Result<T> = std::result::Result<T, ClientError>;

/// A connection to an Almanac server; cheap to clone, safe to share.
#[derive(Debug, Clone)]
pub struct Client {
    inner: FeatureStoreClient<Channel>,
    channel: Channel,
}

impl Client {
    /// Connects to `endpoint`, e.g. `http://127.0.0.1:50051`.
    pub async fn connect(endpoint: impl Into<String>) -> Result<Self> {
        let endpoint = endpoint.into();
        let target =
            Endpoint::from_shared(endpoint.clone()).map_err(|e| ClientError::InvalidEndpoint {
                endpoint: endpoint.clone(),
                reason: e.to_string(),
            })?;
        let channel = target
            .tcp_nodelay(true)
            // Lets HTTP/2 windows grow for bulk Arrow transfers.
            .http2_adaptive_window(true)
            .connect()
            .await
            .map_err(|source| ClientError::Connect { endpoint, source })?;
        Ok(Self::from_channel(channel))
    }

    /// A client over an existing channel.
    pub fn from_channel(channel: Channel) -> Self {
        let inner = FeatureStoreClient::new(channel.clone())
            .max_decoding_message_size(256 << 20)
            .max_encoding_message_size(256 << 20);
        Self { inner, channel }
    }

    /// The channel, for other services on the same server (Flight SQL).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The generated client, for anything this type does not wrap.
    pub fn raw(&self) -> FeatureStoreClient<Channel> {
        self.inner.clone()
    }

    /// CreateFeatureGroup.
    pub async fn create_feature_group(
        &self,
        request: pb::CreateFeatureGroupRequest,
    ) -> Result<pb::FeatureGroupDescription> {
        let response = self.raw().create_feature_group(request).await?.into_inner();
        Ok(response.feature_group.unwrap_or_default())
    }

    /// DescribeFeatureGroup.
    pub async fn describe_feature_group(&self, name: &str) -> Result<pb::FeatureGroupDescription> {
        let request = pb::DescribeFeatureGroupRequest {
            feature_group_name: name.to_owned(),
        };
        Ok(self
            .raw()
            .describe_feature_group(request)
            .await?
            .into_inner())
    }

    /// ListFeatureGroups, one page.
    pub async fn list_feature_groups(
        &self,
        request: pb::ListFeatureGroupsRequest,
    ) -> Result<pb::ListFeatureGroupsResponse> {
        Ok(self.raw().list_feature_groups(request).await?.into_inner())
    }

    /// UpdateFeatureGroup.
    pub async fn update_feature_group(
        &self,
        request: pb::UpdateFeatureGroupRequest,
    ) -> Result<pb::FeatureGroupDescription> {
        Ok(self.raw().update_feature_group(request).await?.into_inner())
    }

    /// DeleteFeatureGroup.
    pub async fn delete_feature_group(&self, name: &str, purge_offline: bool) -> Result<()> {
        let request = pb::DeleteFeatureGroupRequest {
            feature_group_name: name.to_owned(),
            purge_offline,
        };
        self.raw().delete_feature_group(request).await?;
        Ok(())
    }

    /// UpdateFeatureMetadata.
    pub async fn update_feature_metadata(
        &self,
        request: pb::UpdateFeatureMetadataRequest,
    ) -> Result<pb::FeatureMetadata> {
        Ok(self
            .raw()
            .update_feature_metadata(request)
            .await?
            .into_inner())
    }

    /// DescribeFeatureMetadata.
    pub async fn describe_feature_metadata(
        &self,
        group: &str,
        feature: &str,
    ) -> Result<pb::FeatureMetadata> {
        let request = pb::DescribeFeatureMetadataRequest {
            feature_group_name: group.to_owned(),
            feature_name: feature.to_owned(),
        };
        Ok(self
            .raw()
            .describe_feature_metadata(request)
            .await?
            .into_inner())
    }

    /// Search.
    pub async fn search(&self, request: pb::SearchRequest) -> Result<pb::SearchResponse> {
        Ok(self.raw().search(request).await?.into_inner())
    }

    /// PutRecord to every store of the group.
    pub async fn put_record(&self, group: &str, record: Vec<pb::FeatureValue>) -> Result<()> {
        self.put_record_with(pb::PutRecordRequest {
            feature_group_name: group.to_owned(),
            record,
            ..Default::default()
        })
        .await
    }

    /// PutRecord with every option.
    pub async fn put_record_with(&self, request: pb::PutRecordRequest) -> Result<()> {
        self.raw().put_record(request).await?;
        Ok(())
    }

    /// GetRecord: the record's features, or `None` when there is no live
    /// record. `features` projects; empty means all.
    pub async fn get_record(
        &self,
        group: &str,
        record_id: &str,
        features: &[&str],
    ) -> Result<Option<Vec<pb::FeatureValue>>> {
        let response = self
            .get_record_with(pb::GetRecordRequest {
                feature_group_name: group.to_owned(),
                record_identifier_value_as_string: record_id.to_owned(),
                feature_names: features.iter().map(|f| f.to_string()).collect(),
                return_expiration: false,
            })
            .await?;
        Ok(Some(response.record).filter(|r| !r.is_empty()))
    }

    /// GetRecord with every option.
    pub async fn get_record_with(
        &self,
        request: pb::GetRecordRequest,
    ) -> Result<pb::GetRecordResponse> {
        Ok(self.raw().get_record(request).await?.into_inner())
    }

    /// BatchGetRecord.
    pub async fn batch_get_record(
        &self,
        request: pb::BatchGetRecordRequest,
    ) -> Result<pb::BatchGetRecordResponse> {
        Ok(self.raw().batch_get_record(request).await?.into_inner())
    }

    /// BatchWriteRecord.
    pub async fn batch_write_record(
        &self,
        request: pb::BatchWriteRecordRequest,
    ) -> Result<pb::BatchWriteRecordResponse> {
        Ok(self.raw().batch_write_record(request).await?.into_inner())
    }

    /// DeleteRecord; `event_time` in the group's event-time format.
    pub async fn delete_record(
        &self,
        group: &str,
        record_id: &str,
        event_time: &str,
        hard: bool,
    ) -> Result<()> {
        let mode = if hard {
            pb::DeletionMode::HardDelete
        } else {
            pb::DeletionMode::SoftDelete
        };
        self.delete_record_with(pb::DeleteRecordRequest {
            feature_group_name: group.to_owned(),
            record_identifier_value_as_string: record_id.to_owned(),
            event_time: event_time.to_owned(),
            deletion_mode: mode as i32,
            target_stores: vec![],
        })
        .await
    }

    /// DeleteRecord with every option.
    pub async fn delete_record_with(&self, request: pb::DeleteRecordRequest) -> Result<()> {
        self.raw().delete_record(request).await?;
        Ok(())
    }

    /// ListRecords, one page.
    pub async fn list_records(
        &self,
        request: pb::ListRecordsRequest,
    ) -> Result<pb::ListRecordsResponse> {
        Ok(self.raw().list_records(request).await?.into_inner())
    }
}
