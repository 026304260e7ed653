//! The `almanac.v1.FeatureStore` API as Arrow Flight actions, for clients
//! that speak Flight but not protobuf (the Python package needs nothing
//! but pyarrow). An action's type is the RPC's name (`GetRecord`), its
//! body the request as JSON (proto field names, enums as numbers, any
//! field may be left out), and its one result the response as JSON. Each
//! action runs the same handler as the gRPC call, so both answer alike,
//! errors included.

use std::future::Future;

use almanac_proto::feature_store_server::FeatureStore;
use arrow_flight::ActionType;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::{Request, Response, Status};

use crate::service::FeatureStoreService;

/// The actions, by name, with what each does.
pub(crate) const ACTIONS: [(&str, &str); 14] = [
    ("CreateFeatureGroup", "create a feature group"),
    ("DescribeFeatureGroup", "describe a feature group"),
    ("ListFeatureGroups", "list feature groups"),
    (
        "UpdateFeatureGroup",
        "add features, change the TTL or description",
    ),
    ("DeleteFeatureGroup", "delete a feature group"),
    (
        "UpdateFeatureMetadata",
        "change a feature's description or parameters",
    ),
    ("DescribeFeatureMetadata", "describe a feature"),
    ("Search", "search groups and features"),
    ("PutRecord", "write one record"),
    ("GetRecord", "read a record's latest version"),
    ("BatchGetRecord", "read many records"),
    ("BatchWriteRecord", "write many records"),
    ("DeleteRecord", "delete a record"),
    ("ListRecords", "list a group's record identifiers"),
];

/// The action types, for ListActions.
pub(crate) fn action_types() -> Vec<Result<ActionType, Status>> {
    ACTIONS
        .iter()
        .map(|(name, description)| {
            Ok(ActionType {
                r#type: (*name).to_owned(),
                description: format!("{description}; body and result are JSON"),
            })
        })
        .collect()
}

/// Runs action `name` with a JSON `body`; `None` when no action has that
/// name.
pub(crate) async fn run(
    service: &FeatureStoreService,
    name: &str,
    body: &[u8],
) -> Option<Result<Vec<u8>, Status>> {
    let s = service;
    Some(match name {
        "CreateFeatureGroup" => call(name, body, |r| s.create_feature_group(r)).await,
        "DescribeFeatureGroup" => call(name, body, |r| s.describe_feature_group(r)).await,
        "ListFeatureGroups" => call(name, body, |r| s.list_feature_groups(r)).await,
        "UpdateFeatureGroup" => call(name, body, |r| s.update_feature_group(r)).await,
        "DeleteFeatureGroup" => call(name, body, |r| s.delete_feature_group(r)).await,
        "UpdateFeatureMetadata" => call(name, body, |r| s.update_feature_metadata(r)).await,
        "DescribeFeatureMetadata" => call(name, body, |r| s.describe_feature_metadata(r)).await,
        "Search" => call(name, body, |r| s.search(r)).await,
        "PutRecord" => call(name, body, |r| s.put_record(r)).await,
        "GetRecord" => call(name, body, |r| s.get_record(r)).await,
        "BatchGetRecord" => call(name, body, |r| s.batch_get_record(r)).await,
        "BatchWriteRecord" => call(name, body, |r| s.batch_write_record(r)).await,
        "DeleteRecord" => call(name, body, |r| s.delete_record(r)).await,
        "ListRecords" => call(name, body, |r| s.list_records(r)).await,
        _ => return None,
    })
}

async fn call<Req, Resp, F, Fut>(name: &str, body: &[u8], handler: F) -> Result<Vec<u8>, Status>
where
    Req: DeserializeOwned,
    Resp: Serialize,
    F: FnOnce(Request<Req>) -> Fut,
    Fut: Future<Output = Result<Response<Resp>, Status>>,
{
    let request: Req = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice(b"{}")
    } else {
        serde_json::from_slice(body)
    }
    .map_err(|e| {
        Status::invalid_argument(format!(
            "the body of action {name} is not its request as JSON: {e}"
        ))
    })?;
    let response = handler(Request::new(request)).await?;
    serde_json::to_vec(response.get_ref())
        .map_err(|e| Status::internal(format!("encoding the result of action {name}: {e}")))
}
