//! Handlers of the runtime API: writes, reads, deletes and listing records.

use almanac_online::{BatchGetRequest, DeleteRequest, PutEntry, StoreError};
use almanac_proto as pb;
use tonic::Status;

use super::FeatureStoreService;
use crate::convert::{from_proto, to_proto};
use crate::status::{error_code, internal, to_status};

impl FeatureStoreService {
    pub(super) async fn put(
        &self,
        request: pb::PutRecordRequest,
    ) -> Result<pb::PutRecordResponse, Status> {
        let entry = PutEntry {
            group: request.feature_group_name,
            values: from_proto::record(request.record),
            target_stores: from_proto::target_stores(&request.target_stores).map_err(to_status)?,
            ttl_seconds: request.ttl_seconds,
        };
        self.engine.put_record(entry).await.map_err(to_status)?;
        Ok(pb::PutRecordResponse {})
    }

    pub(super) async fn batch_write(
        &self,
        request: pb::BatchWriteRecordRequest,
    ) -> Result<pb::BatchWriteRecordResponse, Status> {
        let mut errors = Vec::new();
        let mut entries = Vec::with_capacity(request.entries.len());
        let mut positions = Vec::with_capacity(request.entries.len());
        for (index, entry) in request.entries.into_iter().enumerate() {
            match from_proto::target_stores(&entry.target_stores) {
                Ok(target_stores) => {
                    entries.push(PutEntry {
                        group: entry.feature_group_name,
                        values: from_proto::record(entry.record),
                        target_stores,
                        ttl_seconds: entry.ttl_seconds,
                    });
                    positions.push(index as u32);
                }
                Err(error) => errors.push(batch_error(index as u32, error)),
            }
        }
        let results = self.engine.put_records(entries).await.map_err(to_status)?;
        let mut written = 0;
        for (index, result) in positions.into_iter().zip(results) {
            match result {
                Ok(()) => written += 1,
                Err(error) => errors.push(batch_error(index, error)),
            }
        }
        errors.sort_by_key(|e| e.index);
        Ok(pb::BatchWriteRecordResponse { written, errors })
    }

    pub(super) fn get(
        &self,
        request: pb::GetRecordRequest,
    ) -> Result<pb::GetRecordResponse, Status> {
        let found = self
            .engine
            .get_record(
                &request.feature_group_name,
                &request.record_identifier_value_as_string,
                &request.feature_names,
            )
            .map_err(to_status)?;
        Ok(match found {
            Some(view) => pb::GetRecordResponse {
                expires_at_micros: view.expires_at_micros.filter(|_| request.return_expiration),
                record: to_proto::record(view),
            },
            None => pb::GetRecordResponse::default(),
        })
    }

    pub(super) async fn batch_get(
        &self,
        request: pb::BatchGetRecordRequest,
    ) -> Result<pb::BatchGetRecordResponse, Status> {
        let requests = request
            .identifiers
            .iter()
            .cloned()
            .map(|i| BatchGetRequest {
                group: i.feature_group_name,
                record_ids: i.record_identifiers_value_as_string,
                features: i.feature_names,
            })
            .collect();
        let engine = std::sync::Arc::clone(&self.engine);
        // A large multi-get blocks for a while: keep it off the reactor.
        let outcome = tokio::task::spawn_blocking(move || engine.batch_get_records(requests))
            .await
            .map_err(internal("running a batch get"))?;
        // Records beyond what one response can carry come back as
        // unprocessed identifiers, to be asked for again, as the cap on ids
        // does.
        let budget = self.max_message_bytes / 2;
        let mut size = 0usize;
        let mut records = Vec::with_capacity(outcome.records.len());
        let mut over: Vec<pb::BatchGetRecordIdentifier> = Vec::new();
        for (group, id, view) in outcome.records {
            let result = pb::BatchGetRecordResult {
                feature_group_name: group,
                record_identifier_value_as_string: id,
                expires_at_micros: view.expires_at_micros.filter(|_| request.return_expiration),
                record: to_proto::record(view),
            };
            size += prost::Message::encoded_len(&result) + 8;
            if size <= budget || records.is_empty() {
                records.push(result);
                continue;
            }
            let features = requested_features(&request.identifiers, &result.feature_group_name);
            match over.last_mut() {
                Some(last) if last.feature_group_name == result.feature_group_name => last
                    .record_identifiers_value_as_string
                    .push(result.record_identifier_value_as_string),
                _ => over.push(pb::BatchGetRecordIdentifier {
                    feature_group_name: result.feature_group_name,
                    record_identifiers_value_as_string: vec![
                        result.record_identifier_value_as_string,
                    ],
                    feature_names: features,
                }),
            }
        }
        Ok(pb::BatchGetRecordResponse {
            records,
            errors: outcome
                .errors
                .into_iter()
                .map(|(group, id, error)| {
                    let (error_code, error_message) = error_code(error);
                    pb::BatchGetRecordError {
                        feature_group_name: group,
                        record_identifier_value_as_string: id,
                        error_code,
                        error_message,
                    }
                })
                .collect(),
            unprocessed_identifiers: over
                .into_iter()
                .chain(
                    outcome
                        .unprocessed
                        .into_iter()
                        .map(|r| pb::BatchGetRecordIdentifier {
                            feature_group_name: r.group,
                            record_identifiers_value_as_string: r.record_ids,
                            feature_names: r.features,
                        }),
                )
                .collect(),
        })
    }

    pub(super) async fn delete(
        &self,
        request: pb::DeleteRecordRequest,
    ) -> Result<pb::DeleteRecordResponse, Status> {
        let hard = match pb::DeletionMode::try_from(request.deletion_mode) {
            Ok(pb::DeletionMode::SoftDelete) => false,
            Ok(pb::DeletionMode::HardDelete) => true,
            Err(_) => {
                return Err(to_status(StoreError::Invalid(format!(
                    "deletion_mode: {} is not SOFT_DELETE (0) or HARD_DELETE (1)",
                    request.deletion_mode
                ))));
            }
        };
        let delete = DeleteRequest {
            group: request.feature_group_name,
            record_id: request.record_identifier_value_as_string,
            event_time: request.event_time,
            hard,
            target_stores: from_proto::target_stores(&request.target_stores).map_err(to_status)?,
        };
        self.engine.delete_record(delete).await.map_err(to_status)?;
        Ok(pb::DeleteRecordResponse {})
    }

    pub(super) fn list(
        &self,
        request: pb::ListRecordsRequest,
    ) -> Result<pb::ListRecordsResponse, Status> {
        let page_size = match request.page_size {
            0 => 100,
            n => n as usize,
        };
        if page_size > almanac_online::MAX_LIST_PAGE {
            return Err(to_status(StoreError::Invalid(format!(
                "page_size {page_size} is over the limit of {}",
                almanac_online::MAX_LIST_PAGE
            ))));
        }
        let token = Some(request.page_token.as_str()).filter(|t| !t.is_empty());
        let (records, next) = self
            .engine
            .list_records(
                &request.feature_group_name,
                page_size,
                token,
                request.include_soft_deleted,
            )
            .map_err(to_status)?;
        Ok(pb::ListRecordsResponse {
            records: records
                .into_iter()
                .map(|r| pb::ListedRecord {
                    record_identifier_value_as_string: r.record_id,
                    event_time_micros: r.event_time_micros,
                    soft_deleted: r.soft_deleted,
                })
                .collect(),
            next_page_token: next.unwrap_or_default(),
        })
    }
}

fn batch_error(index: u32, error: StoreError) -> pb::BatchWriteError {
    let (error_code, message) = error_code(error);
    pb::BatchWriteError {
        index,
        error_code,
        error_message: format!("entry {index}: {message}"),
    }
}

/// The features a BatchGetRecord asked of `group`.
fn requested_features(identifiers: &[pb::BatchGetRecordIdentifier], group: &str) -> Vec<String> {
    identifiers
        .iter()
        .find(|i| i.feature_group_name == group)
        .map(|i| i.feature_names.clone())
        .unwrap_or_default()
}
