//! Building datasets through the real Flight `DoExchange` endpoint, with
//! the result as rows of text.

use almanac_client::dataset::DatasetRequest;
use almanac_client::{Client, ClientError};
use arrow::array::RecordBatch;
use futures::TryStreamExt;

use crate::sql::rows;

/// Builds a dataset for the entity rows in `entities`.
pub async fn try_dataset(
    client: &Client,
    request: &DatasetRequest,
    entities: RecordBatch,
) -> Result<(Vec<String>, Vec<RecordBatch>), ClientError> {
    let result = client
        .build_dataset(request, entities.schema(), vec![entities])
        .await?;
    let columns = result
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let batches = result.batches.try_collect().await?;
    Ok((columns, batches))
}

/// The dataset's column names and its rows as text.
pub async fn dataset(
    client: &Client,
    request: &DatasetRequest,
    entities: RecordBatch,
) -> (Vec<String>, Vec<Vec<String>>) {
    match try_dataset(client, request, entities).await {
        Ok((columns, batches)) => (columns, rows(&batches)),
        Err(error) => panic!("dataset failed: {request:?}\n{error}"),
    }
}

/// Builds a dataset that must fail, and returns the error.
pub async fn dataset_error(
    client: &Client,
    request: &DatasetRequest,
    entities: RecordBatch,
) -> ClientError {
    match try_dataset(client, request, entities).await {
        Ok((_, batches)) => panic!("expected the dataset to fail, got {:?}", rows(&batches)),
        Err(error) => error,
    }
}
