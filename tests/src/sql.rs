//! Running SQL through the real Flight SQL endpoint and reading the result
//! as rows of text, which keeps assertions short.

use almanac_client::{Client, ClientError};
use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// The rows of `batches`, each cell formatted as text (`NULL` for null).
pub fn rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters: Vec<ArrayFormatter> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formatter"))
            .collect();
        for row in 0..batch.num_rows() {
            rows.push(
                formatters
                    .iter()
                    .map(|f| f.value(row).to_string())
                    .collect(),
            );
        }
    }
    rows
}

/// Runs `sql` and returns its rows as text.
pub async fn query(client: &Client, sql: &str) -> Vec<Vec<String>> {
    match client.query(sql).await {
        Ok(batches) => rows(&batches),
        Err(error) => panic!("query failed: {sql}\n{error}"),
    }
}

/// Runs `sql`, which must fail, and returns the error.
pub async fn query_error(client: &Client, sql: &str) -> ClientError {
    match client.query(sql).await {
        Ok(batches) => panic!("expected {sql} to fail, got {:?}", rows(&batches)),
        Err(error) => error,
    }
}

/// Runs a query that returns one number.
pub async fn count(client: &Client, sql: &str) -> i64 {
    let rows = query(client, sql).await;
    rows[0][0]
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {rows:?}"))
}

/// Asserts that the `reviews` table holds `rows` rows, each a different
/// review: nothing lost, nothing doubled.
pub async fn assert_each_review_once(client: &Client, rows: i64) {
    assert_eq!(count(client, "SELECT count(*) FROM reviews").await, rows);
    assert_eq!(
        count(client, "SELECT count(DISTINCT review_id) FROM reviews").await,
        rows
    );
}
