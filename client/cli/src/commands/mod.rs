//! Running a parsed command line.

mod dataset;
mod groups;
mod ingest;
mod query;
mod records;
mod serve;

use almanac_client::{Client, ClientError};
use anyhow::{Result, anyhow, bail};

use crate::cli::{Cli, ClientOptions, Command};

/// Runs one command.
pub async fn run(cli: Cli) -> Result<()> {
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::CreateFeatureGroup(args) => groups::create(args).await,
        Command::DescribeFeatureGroup(args) => groups::describe(args).await,
        Command::ListFeatureGroups(args) => groups::list(args).await,
        Command::UpdateFeatureGroup(args) => groups::update(args).await,
        Command::DeleteFeatureGroup(args) => groups::delete(args).await,
        Command::DescribeFeatureMetadata(args) => groups::describe_metadata(args).await,
        Command::UpdateFeatureMetadata(args) => groups::update_metadata(args).await,
        Command::Search(args) => groups::search(args).await,
        Command::PutRecord(args) => records::put(args).await,
        Command::GetRecord(args) => records::get(args).await,
        Command::DeleteRecord(args) => records::delete(args).await,
        Command::ListRecords(args) => records::list(args).await,
        Command::Query(args) => query::run(args).await,
        Command::Dataset(args) => dataset::run(args).await,
        Command::Ingest(args) => ingest::run(args).await,
    };
    result.map_err(naming_the_flag)
}

async fn connect(options: &ClientOptions) -> Result<Client> {
    let connect_timeout = *options.connect_timeout;
    let timeout = *options.timeout;
    if connect_timeout.is_zero() || timeout.is_zero() {
        bail!("--connect-timeout and --timeout must be longer than 0s");
    }
    let settings = almanac_client::ClientOptions::default()
        .with_connect_timeout(connect_timeout)
        .with_timeout(timeout);
    Ok(Client::connect_with(options.endpoint.clone(), settings).await?)
}

/// A timeout's error, with the flag that sets it.
fn naming_the_flag(error: anyhow::Error) -> anyhow::Error {
    let flag = error
        .chain()
        .find_map(|cause| match cause.downcast_ref::<ClientError>() {
            Some(ClientError::Timeout { .. }) => Some("--timeout / ALMANAC_TIMEOUT"),
            Some(ClientError::ConnectTimeout { .. }) => {
                Some("--connect-timeout / ALMANAC_CONNECT_TIMEOUT")
            }
            _ => None,
        });
    match flag {
        Some(flag) => anyhow!("{error:#} ({flag})"),
        None => error,
    }
}

/// Prints JSON on one line.
fn print_json(value: &serde_json::Value) {
    println!("{value}");
}
