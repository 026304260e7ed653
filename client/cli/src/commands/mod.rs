//! Running a parsed command line.

mod dataset;
mod groups;
mod ingest;
mod query;
mod records;
mod serve;

use almanac_client::Client;
use anyhow::Result;

use crate::cli::{Cli, ClientOptions, Command};

/// Runs one command.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
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
    }
}

async fn connect(options: &ClientOptions) -> Result<Client> {
    Ok(Client::connect(options.endpoint.clone()).await?)
}

/// Prints JSON on one line.
fn print_json(value: &serde_json::Value) {
    println!("{value}");
}
