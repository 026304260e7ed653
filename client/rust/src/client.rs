//! [`Client`]: one method per RPC.
//!
//! The shape of every method: the arguments that name what it acts on
//! (group, record identifier) and typed values ([`Record`],
//! [`DeletionMode`]) where a call has few parts; the protobuf request where
//! it has many optional ones (create, update, search, batch calls). The
//! calls with both forms have a `*_with` variant taking the request. List
//! calls return one page; their `*_all` / `*_stream` forms follow the
//! pagination tokens.

use std::sync::Arc;

use almanac_proto as pb;
use futures::Stream;
use pb::feature_store_client::FeatureStoreClient;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::error::ClientError;
use crate::options::{ClientBuilder, ClientOptions};
use crate::record::{DeletionMode, Record};
use crate::timeout::Limit;

type Result<T> = std::result::Result<T, ClientError>;

/// A connection to an Almanac server; cheap to clone, safe to share.
#[derive(Debug, Clone)]
pub struct Client {
    inner: FeatureStoreClient<Channel>,
    channel: Channel,
    limit: Limit,
    max_message_bytes: usize,
}

impl Client {
    /// A builder for a connection to `endpoint`: `http://host:port`, or
    /// `https://host:port` for TLS.
    pub fn builder(endpoint: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(endpoint.into())
    }

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
            .max_decoding_message_size(options.max_message_bytes)
            .max_encoding_message_size(options.max_message_bytes);
        let limit = Limit {
            endpoint,
            timeout: options.timeout,
        };
        Self {
            inner,
            channel,
            limit,
            max_message_bytes: options.max_message_bytes,
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

    /// `request`, if it fits in the message limit; a larger one would be
    /// cut off mid-stream by the transport with an obscure error.
    fn sized<M: prost::Message>(&self, request: M) -> Result<M> {
        let bytes = request.encoded_len();
        if bytes > self.max_message_bytes {
            return Err(ClientError::MessageTooLarge {
                bytes,
                limit: self.max_message_bytes,
            });
        }
        Ok(request)
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
        let response = self
            .unary(self.raw().create_feature_group(self.sized(request)?))
            .await?;
        Ok(response.feature_group.unwrap_or_default())
    }

    /// DescribeFeatureGroup.
    pub async fn describe_feature_group(&self, name: &str) -> Result<pb::FeatureGroupDescription> {
        let request = pb::DescribeFeatureGroupRequest {
            feature_group_name: name.to_owned(),
        };
        self.unary(self.raw().describe_feature_group(self.sized(request)?))
            .await
    }

    /// ListFeatureGroups, one page.
    pub async fn list_feature_groups(
        &self,
        request: pb::ListFeatureGroupsRequest,
    ) -> Result<pb::ListFeatureGroupsResponse> {
        self.unary(self.raw().list_feature_groups(self.sized(request)?))
            .await
    }

    /// ListFeatureGroups, every page: the groups matching `request`'s
    /// filters, in its sort order.
    pub async fn list_feature_groups_all(
        &self,
        mut request: pb::ListFeatureGroupsRequest,
    ) -> Result<Vec<pb::FeatureGroupSummary>> {
        let mut groups = Vec::new();
        loop {
            let page = self.list_feature_groups(request.clone()).await?;
            groups.extend(page.feature_group_summaries);
            match next_token(&request.next_token, page.next_token)? {
                Some(token) => request.next_token = token,
                None => return Ok(groups),
            }
        }
    }

    /// UpdateFeatureGroup.
    pub async fn update_feature_group(
        &self,
        request: pb::UpdateFeatureGroupRequest,
    ) -> Result<pb::FeatureGroupDescription> {
        self.unary(self.raw().update_feature_group(self.sized(request)?))
            .await
    }

    /// DeleteFeatureGroup.
    pub async fn delete_feature_group(&self, name: &str, purge_offline: bool) -> Result<()> {
        let request = pb::DeleteFeatureGroupRequest {
            feature_group_name: name.to_owned(),
            purge_offline,
        };
        self.unary(self.raw().delete_feature_group(self.sized(request)?))
            .await?;
        Ok(())
    }

    /// UpdateFeatureMetadata.
    pub async fn update_feature_metadata(
        &self,
        request: pb::UpdateFeatureMetadataRequest,
    ) -> Result<pb::FeatureMetadata> {
        self.unary(self.raw().update_feature_metadata(self.sized(request)?))
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
        self.unary(self.raw().describe_feature_metadata(self.sized(request)?))
            .await
    }

    /// Search, one page.
    pub async fn search(&self, request: pb::SearchRequest) -> Result<pb::SearchResponse> {
        self.unary(self.raw().search(self.sized(request)?)).await
    }

    /// Search, every page.
    pub async fn search_all(&self, mut request: pb::SearchRequest) -> Result<Vec<pb::SearchHit>> {
        let mut hits = Vec::new();
        loop {
            let page = self.search(request.clone()).await?;
            hits.extend(page.hits);
            match next_token(&request.next_token, page.next_token)? {
                Some(token) => request.next_token = token,
                None => return Ok(hits),
            }
        }
    }

    /// PutRecord to every store of the group.
    pub async fn put_record(&self, group: &str, record: impl Into<Record>) -> Result<()> {
        self.put_record_with(pb::PutRecordRequest {
            feature_group_name: group.to_owned(),
            record: record.into().into_values(),
            ..Default::default()
        })
        .await
    }

    /// PutRecord with every option.
    pub async fn put_record_with(&self, request: pb::PutRecordRequest) -> Result<()> {
        self.unary(self.raw().put_record(self.sized(request)?))
            .await?;
        Ok(())
    }

    /// GetRecord: the record's features, or `None` when there is no live
    /// record. `features` projects; empty means all.
    pub async fn get_record(
        &self,
        group: &str,
        record_id: &str,
        features: &[&str],
    ) -> Result<Option<Record>> {
        let response = self
            .get_record_with(pb::GetRecordRequest {
                feature_group_name: group.to_owned(),
                record_identifier_value_as_string: record_id.to_owned(),
                feature_names: features.iter().map(|f| f.to_string()).collect(),
                return_expiration: false,
            })
            .await?;
        Ok(Some(response.record)
            .filter(|r| !r.is_empty())
            .map(Record::from))
    }

    /// GetRecord with every option.
    pub async fn get_record_with(
        &self,
        request: pb::GetRecordRequest,
    ) -> Result<pb::GetRecordResponse> {
        self.unary(self.raw().get_record(self.sized(request)?))
            .await
    }

    /// BatchGetRecord.
    pub async fn batch_get_record(
        &self,
        request: pb::BatchGetRecordRequest,
    ) -> Result<pb::BatchGetRecordResponse> {
        self.unary(self.raw().batch_get_record(self.sized(request)?))
            .await
    }

    /// BatchWriteRecord.
    pub async fn batch_write_record(
        &self,
        request: pb::BatchWriteRecordRequest,
    ) -> Result<pb::BatchWriteRecordResponse> {
        self.unary(self.raw().batch_write_record(self.sized(request)?))
            .await
    }

    /// DeleteRecord from every store of the group; `event_time` in the
    /// group's event-time format.
    pub async fn delete_record(
        &self,
        group: &str,
        record_id: &str,
        event_time: &str,
        mode: DeletionMode,
    ) -> Result<()> {
        let mode = pb::DeletionMode::from(mode);
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
        self.unary(self.raw().delete_record(self.sized(request)?))
            .await?;
        Ok(())
    }

    /// ListRecords, one page.
    pub async fn list_records(
        &self,
        request: pb::ListRecordsRequest,
    ) -> Result<pb::ListRecordsResponse> {
        self.unary(self.raw().list_records(self.sized(request)?))
            .await
    }

    /// ListRecords, every page, as a stream: the next page is asked for
    /// once the records of the one before are taken.
    pub fn list_records_stream(
        &self,
        request: pb::ListRecordsRequest,
    ) -> impl Stream<Item = Result<pb::ListedRecord>> + Send + 'static {
        let client = self.clone();
        let pages = futures::stream::try_unfold(Some(request), move |request| {
            let client = client.clone();
            async move {
                let Some(mut request) = request else {
                    return Ok::<_, ClientError>(None);
                };
                let page = client.list_records(request.clone()).await?;
                let next = match next_token(&request.page_token, page.next_page_token)? {
                    Some(token) => {
                        request.page_token = token;
                        Some(request)
                    }
                    None => None,
                };
                let records = page.records.into_iter().map(Ok);
                Ok(Some((futures::stream::iter(records), next)))
            }
        });
        futures::TryStreamExt::try_flatten(pages)
    }
}

/// The token of the next page, if there is one. A server that hands back
/// the token it was given would page forever, so that is an error.
fn next_token(asked: &str, answered: String) -> Result<Option<String>> {
    if answered.is_empty() {
        return Ok(None);
    }
    if answered == asked {
        return Err(ClientError::Protocol(format!(
            "the server returned the page token it was given ({answered}); paging would not end"
        )));
    }
    Ok(Some(answered))
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
