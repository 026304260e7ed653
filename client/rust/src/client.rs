//! [`Client`]: one method per RPC.

use std::sync::Arc;

use almanac_proto as pb;
use pb::feature_store_client::FeatureStoreClient;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::error::ClientError;
use crate::options::ClientOptions;
use crate::timeout::Limit;

type Result<T> = std::result::Result<T, ClientError>;

/// A connection to an Almanac server; cheap to clone, safe to share.
#[derive(Debug, Clone)]
pub struct Client {
    inner: FeatureStoreClient<Channel>,
    channel: Channel,
    limit: Limit,
}

impl Client {
    /// Connects to `endpoint`, e.g. `http://127.0.0.1:50051`, with the
    /// default [`ClientOptions`].
    pub async fn connect(endpoint: impl Into<String>) -> Result<Self> {
        Self::connect_with(endpoint, ClientOptions::default()).await
    }

    /// Connects to `endpoint`: `http://host:port`, or `https://host:port`
    /// for TLS (the server's certificate checked against the system's
    /// roots). The connection must be made within
    /// `options.connect_timeout`; every call then waits at most
    /// `options.timeout`.
    pub async fn connect_with(endpoint: impl Into<String>, options: ClientOptions) -> Result<Self> {
        let endpoint = endpoint.into();
        let target = transport_endpoint(&endpoint, &options)?;
        let channel = match tokio::time::timeout(options.connect_timeout, target.connect()).await {
            Ok(Ok(channel)) => channel,
            Ok(Err(source)) => return Err(ClientError::Connect { endpoint, source }),
            Err(_) => {
                return Err(ClientError::ConnectTimeout {
                    endpoint,
                    timeout: options.connect_timeout,
                });
            }
        };
        Ok(Self::new(channel, endpoint.into(), options))
    }

    /// A client over an existing channel, with the default
    /// [`ClientOptions`] (its connect timeout unused).
    pub fn from_channel(channel: Channel) -> Self {
        Self::new(channel, "the server".into(), ClientOptions::default())
    }

    fn new(channel: Channel, endpoint: Arc<str>, options: ClientOptions) -> Self {
        let inner = FeatureStoreClient::new(channel.clone())
            .max_decoding_message_size(256 << 20)
            .max_encoding_message_size(256 << 20);
        let limit = Limit {
            endpoint,
            timeout: options.timeout,
        };
        Self {
            inner,
            channel,
            limit,
        }
    }

    /// The channel, for other services on the same server (Flight SQL).
    /// Calls made on it directly have no timeout.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The generated client, for anything this type does not wrap. Calls
    /// made on it directly have no timeout.
    pub fn raw(&self) -> FeatureStoreClient<Channel> {
        self.inner.clone()
    }

    /// The timeout every call honours, and the server it names.
    pub(crate) fn limit(&self) -> &Limit {
        &self.limit
    }

    /// A unary call's answer, within the timeout.
    async fn unary<T>(
        &self,
        call: impl Future<Output = std::result::Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T> {
        Ok(self.limit.within(call).await??.into_inner())
    }

    /// CreateFeatureGroup.
    pub async fn create_feature_group(
        &self,
        request: pb::CreateFeatureGroupRequest,
    ) -> Result<pb::FeatureGroupDescription> {
        let response = self.unary(self.raw().create_feature_group(request)).await?;
        Ok(response.feature_group.unwrap_or_default())
    }

    /// DescribeFeatureGroup.
    pub async fn describe_feature_group(&self, name: &str) -> Result<pb::FeatureGroupDescription> {
        let request = pb::DescribeFeatureGroupRequest {
            feature_group_name: name.to_owned(),
        };
        self.unary(self.raw().describe_feature_group(request)).await
    }

    /// ListFeatureGroups, one page.
    pub async fn list_feature_groups(
        &self,
        request: pb::ListFeatureGroupsRequest,
    ) -> Result<pb::ListFeatureGroupsResponse> {
        self.unary(self.raw().list_feature_groups(request)).await
    }

    /// UpdateFeatureGroup.
    pub async fn update_feature_group(
        &self,
        request: pb::UpdateFeatureGroupRequest,
    ) -> Result<pb::FeatureGroupDescription> {
        self.unary(self.raw().update_feature_group(request)).await
    }

    /// DeleteFeatureGroup.
    pub async fn delete_feature_group(&self, name: &str, purge_offline: bool) -> Result<()> {
        let request = pb::DeleteFeatureGroupRequest {
            feature_group_name: name.to_owned(),
            purge_offline,
        };
        self.unary(self.raw().delete_feature_group(request)).await?;
        Ok(())
    }

    /// UpdateFeatureMetadata.
    pub async fn update_feature_metadata(
        &self,
        request: pb::UpdateFeatureMetadataRequest,
    ) -> Result<pb::FeatureMetadata> {
        self.unary(self.raw().update_feature_metadata(request))
            .await
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
        self.unary(self.raw().describe_feature_metadata(request))
            .await
    }

    /// Search.
    pub async fn search(&self, request: pb::SearchRequest) -> Result<pb::SearchResponse> {
        self.unary(self.raw().search(request)).await
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
        self.unary(self.raw().put_record(request)).await?;
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
        self.unary(self.raw().get_record(request)).await
    }

    /// BatchGetRecord.
    pub async fn batch_get_record(
        &self,
        request: pb::BatchGetRecordRequest,
    ) -> Result<pb::BatchGetRecordResponse> {
        self.unary(self.raw().batch_get_record(request)).await
    }

    /// BatchWriteRecord.
    pub async fn batch_write_record(
        &self,
        request: pb::BatchWriteRecordRequest,
    ) -> Result<pb::BatchWriteRecordResponse> {
        self.unary(self.raw().batch_write_record(request)).await
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
        self.unary(self.raw().delete_record(request)).await?;
        Ok(())
    }

    /// ListRecords, one page.
    pub async fn list_records(
        &self,
        request: pb::ListRecordsRequest,
    ) -> Result<pb::ListRecordsResponse> {
        self.unary(self.raw().list_records(request)).await
    }
}

/// The transport endpoint for `endpoint`: TLS for `https://`, plain text
/// for `http://`; any other scheme is refused rather than guessed.
fn transport_endpoint(endpoint: &str, options: &ClientOptions) -> Result<Endpoint> {
    let invalid = |reason: String| ClientError::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        reason,
    };
    let target = Endpoint::from_shared(endpoint.to_owned()).map_err(|e| invalid(e.to_string()))?;
    let target = match target.uri().scheme_str() {
        Some("http") => target,
        Some("https") => {
            let tls = ClientTlsConfig::new()
                .with_native_roots()
                .timeout(options.connect_timeout);
            target
                .tls_config(tls)
                .map_err(|e| invalid(format!("cannot set up TLS: {e}")))?
        }
        Some(other) => {
            return Err(invalid(format!(
                "the scheme is '{other}'; use http:// or https://"
            )));
        }
        None => return Err(invalid("it needs a scheme: http:// or https://".into())),
    };
    Ok(target
        .connect_timeout(options.connect_timeout)
        .tcp_nodelay(true)
        // Lets HTTP/2 windows grow for bulk Arrow transfers.
        .http2_adaptive_window(true))
}
