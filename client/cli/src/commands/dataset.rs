//! `almanac dataset`: a point-in-time-correct training set. Reads the
//! entity table (Parquet, CSV or TSV), sends it with the feature
//! selections, and writes the dataset (Parquet or CSV, by the output's
//! extension), with a progress line on a terminal and a summary at the end.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use almanac_client::dataset::{DatasetRequest, FeatureSelection};
use anyhow::{Context, Result, anyhow, bail};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::StreamExt;

use super::connect;
use super::query::BatchWriter;
use crate::cli::{DatasetArgs, QueryFormat};
use crate::files::{self, FileFormat};

pub async fn run(args: DatasetArgs) -> Result<()> {
    let (request, join_targets) = request(&args)?;
    let format = match extension(&args.output).as_deref() {
        Some("parquet") => QueryFormat::Parquet,
        Some("csv") => QueryFormat::Csv,
        _ => bail!(
            "--output {}: name a .parquet or .csv file",
            args.output.display()
        ),
    };
    let (schema, entities) = read_entities(&args.entities)?;
    let total: usize = entities.iter().map(RecordBatch::num_rows).sum();
    let client = connect(&args.client).await?;
    check_join_targets(&client, &join_targets).await?;
    let started = Instant::now();
    let mut progress = Progress::new(total, started);
    let mut result = client.build_dataset(&request, schema, entities).await?;
    let sink: Box<dyn Write + Send> = Box::new(std::io::BufWriter::new(
        File::create(&args.output)
            .with_context(|| format!("cannot create {}", args.output.display()))?,
    ));
    let mut writer = BatchWriter::new(format, sink, &result.schema)?;
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    let mut written = 0usize;
    loop {
        tokio::select! {
            batch = result.batches.next() => match batch {
                Some(batch) => {
                    let batch = batch?;
                    written += batch.num_rows();
                    writer.write(&batch)?;
                }
                None => break,
            },
            _ = ticks.tick() => progress.show(written),
        }
    }
    writer.finish()?;
    progress.clear();
    eprintln!(
        "wrote {written} rows x {} columns to {} in {:.1} s",
        result.schema.fields().len(),
        args.output.display(),
        started.elapsed().as_secs_f64()
    );
    if written != total {
        bail!("the dataset has {written} rows but the entity table {total}");
    }
    Ok(())
}

/// A `--join-on` target: the group and the feature named as its record
/// identifier, checked against the group once connected.
struct JoinTarget {
    group: String,
    feature: String,
}

/// The request the flags describe.
fn request(args: &DatasetArgs) -> Result<(DatasetRequest, Vec<JoinTarget>)> {
    let mut features = args
        .features
        .iter()
        .map(|spec| FeatureSelection::parse(spec).map_err(|e| anyhow!("--feature {e}")))
        .collect::<Result<Vec<_>>>()?;
    for ttl in &args.ttls {
        let (group, duration) = ttl
            .split_once('=')
            .ok_or_else(|| anyhow!("--ttl {ttl}: write GROUP=DURATION, e.g. driver_stats=2h"))?;
        selection(&mut features, group.trim(), "--ttl")?.ttl = Some(duration.trim().to_owned());
    }
    let mut targets = Vec::new();
    for join in &args.join_on {
        let malformed = || anyhow!("--join-on {join}: write ENTITY_COLUMN=GROUP.RECORD_IDENTIFIER");
        let (column, target) = join.split_once('=').ok_or_else(malformed)?;
        let (group, feature) = target.split_once('.').ok_or_else(malformed)?;
        selection(&mut features, group.trim(), "--join-on")?.entity_column =
            Some(column.trim().to_owned());
        targets.push(JoinTarget {
            group: group.trim().to_owned(),
            feature: feature.trim().to_owned(),
        });
    }
    let request = DatasetRequest {
        features,
        event_time_column: args.event_time.clone(),
        written_before: args.written_before.clone(),
    };
    for selection in &request.features {
        selection.ttl_micros()?;
    }
    request.written_before_micros()?;
    Ok((request, targets))
}

fn selection<'a>(
    features: &'a mut [FeatureSelection],
    group: &str,
    flag: &str,
) -> Result<&'a mut FeatureSelection> {
    features
        .iter_mut()
        .find(|s| s.group == group)
        .ok_or_else(|| anyhow!("{flag} names group '{group}', which no --feature selects"))
}

/// A group's rows are matched on its record identifier: `--join-on` must
/// name it.
async fn check_join_targets(client: &almanac_client::Client, targets: &[JoinTarget]) -> Result<()> {
    for target in targets {
        let group = client.describe_feature_group(&target.group).await?;
        if !group
            .record_identifier_feature_name
            .eq_ignore_ascii_case(&target.feature)
        {
            bail!(
                "--join-on: '{}' is not the record identifier of group '{}' (it is '{}'); \
                 entity rows are matched on record ids",
                target.feature,
                target.group,
                group.record_identifier_feature_name
            );
        }
    }
    Ok(())
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

/// Reads a Parquet, CSV or TSV entity table (CSV and TSV with a header;
/// column types inferred, ISO-8601 times read as timestamps).
fn read_entities(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    match FileFormat::of(path, None) {
        Ok(format @ (FileFormat::Parquet | FileFormat::Csv | FileFormat::Tsv)) => {
            files::read_typed(path, format)
        }
        _ => bail!(
            "--entities {}: name a .parquet, .csv or .tsv file",
            path.display()
        ),
    }
}

/// The progress line on standard error, when it is a terminal.
struct Progress {
    total: usize,
    started: Instant,
    shown: bool,
    terminal: bool,
}

impl Progress {
    fn new(total: usize, started: Instant) -> Self {
        Self {
            total,
            started,
            shown: false,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn show(&mut self, written: usize) {
        let elapsed = self.started.elapsed().as_secs();
        if !self.terminal || elapsed == 0 {
            return;
        }
        let stage = if written == 0 { "joining" } else { "writing" };
        eprint!(
            "\r{stage}: {written} of {} rows, {elapsed} s   ",
            self.total
        );
        self.shown = true;
    }

    fn clear(&self) {
        if self.shown {
            eprint!("\r\x1b[2K");
        }
    }
}
