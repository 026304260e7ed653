//! `almanac-sqlbench loop`: queries run back to back in concurrent loops
//! until the process is told to stop, the SQL load of
//! `benches/run-isolation.sh`.
//!
//! Each query prints one line as it ends:
//! `sql query=NAME worker=W status=ok|error|stopped start=S end=E ms=M rows=R`,
//! with wall-clock times in Unix seconds (`stopped`: still running when the
//! stop came, abandoned then).

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use almanac_client::Client;
use anyhow::{Context, Result};

use crate::background::{mark_ready, span, stop_signal, stopped, unix_now};

/// A query and the name its lines carry.
#[derive(Debug, Clone)]
pub struct NamedQuery {
    pub name: String,
    pub sql: String,
}

impl FromStr for NamedQuery {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (name, sql) = text
            .split_once('=')
            .ok_or_else(|| format!("'{text}' is not NAME=SQL"))?;
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) || sql.trim().is_empty() {
            return Err(format!(
                "'{text}' is not NAME=SQL (a name without spaces, then the query)"
            ));
        }
        Ok(NamedQuery {
            name: name.to_owned(),
            sql: sql.to_owned(),
        })
    }
}

/// Runs `queries` in `concurrency` loops, each on its own connection, until
/// SIGTERM or SIGINT (or `limit`). Loop W starts at query W (modulo their
/// number) and takes them in turn, each as soon as the one before ends.
/// Creates `ready_file` once every loop has started.
pub async fn run(
    endpoint: &str,
    queries: Vec<NamedQuery>,
    concurrency: usize,
    limit: Duration,
    ready_file: Option<&Path>,
) -> Result<()> {
    anyhow::ensure!(!queries.is_empty(), "no query to run");
    let queries = Arc::new(queries);
    let stop = stop_signal(limit)?;
    let mut loops = Vec::new();
    for worker in 0..concurrency.max(1) {
        let client = Client::connect(endpoint.to_owned())
            .await
            .with_context(|| format!("connect to {endpoint}"))?;
        let queries = Arc::clone(&queries);
        let mut stop = stop.clone();
        loops.push(tokio::spawn(async move {
            for turn in 0.. {
                let query = &queries[(worker + turn) % queries.len()];
                let start = unix_now();
                let line = |status: &str| {
                    let name = &query.name;
                    format!(
                        "sql query={name} worker={worker} status={status} {}",
                        span(start)
                    )
                };
                tokio::select! {
                    biased;
                    () = stopped(&mut stop) => {
                        println!("{}", line("stopped"));
                        break;
                    }
                    result = super::run_once(&client, &query.sql) => match result {
                        Ok((elapsed, rows)) => println!(
                            "{} ms={:.1} rows={rows}",
                            line("ok"),
                            elapsed.as_secs_f64() * 1e3
                        ),
                        Err(error) => {
                            println!("{}", line("error"));
                            eprintln!("query {} failed: {error:#}", query.name);
                            // A failing query must not turn into a busy loop.
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    },
                }
            }
        }));
    }
    mark_ready(ready_file).context("write the ready file")?;
    for handle in loops {
        handle.await.context("query loop")?;
    }
    Ok(())
}
