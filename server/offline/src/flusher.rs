//! [`OfflineFlusher`]: drains the durable offline log into Parquet files,
//! exactly once, and removes the files of groups deleted with
//! `--purge-offline`.
//!
//! Each round reads up to `max_rows` entries from the log, records the
//! range as the flush plan, writes one zstd Parquet file per group and
//! event-time hour under names derived from the range, makes them durable,
//! then commits (file list + log trim, atomically). A crash anywhere leaves
//! the plan in place; the next start redoes it with the same names.
//! When object storage fails, the status turns Blocked, writes go on into
//! the log, and rounds retry with backoff until storage is back.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use almanac_online::{Engine, FlushPlan, OfflineLogEntry};

use crate::compactor::CompactionConfig;
use crate::error::Result;
use crate::format::TableFormat;
use crate::hive::HiveParquet;
use crate::leases::QueryLeases;
use crate::log::OfflineLog;
use crate::status::FlushStatus;
use crate::store::OfflineStore;

/// How often and how much the flusher writes.
#[derive(Debug, Clone)]
pub struct FlusherConfig {
    /// Flush whatever the log holds at least this often.
    pub interval: Duration,
    /// Flush at once when the log holds this many entries; also the most
    /// entries one round takes.
    pub max_rows: usize,
    /// Longest wait between retries while storage is failing.
    pub max_backoff: Duration,
    /// When small files are merged.
    pub compaction: CompactionConfig,
    /// A pause between writing a flush's or a compaction's files and
    /// committing them. Zero in production; the crash tests set it so that
    /// a kill lands between the two, where exactly-once is at stake.
    pub pause_before_commit: Duration,
}

impl Default for FlusherConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            max_rows: 500_000,
            max_backoff: Duration::from_secs(10),
            pause_before_commit: Duration::ZERO,
            compaction: CompactionConfig::default(),
        }
    }
}

/// Moves the offline log into Parquet.
#[derive(Debug)]
pub struct OfflineFlusher {
    log: Arc<dyn OfflineLog>,
    format: Box<dyn TableFormat>,
    config: FlusherConfig,
    status: Arc<FlushStatus>,
    leases: Arc<QueryLeases>,
    /// Groups to purge, by id, with the lease epoch their purge waits for.
    purge_epochs: HashMap<u64, u64>,
}

/// How often the flusher checks whether the log has grown past `max_rows`.
const POLL: Duration = Duration::from_millis(100);

impl OfflineFlusher {
    /// The flusher of the engine's log into the native format
    /// ([`HiveParquet`]) on `store`, with its file list in the engine.
    pub fn new(engine: Arc<Engine>, store: OfflineStore, config: FlusherConfig) -> Self {
        let leases = Arc::new(QueryLeases::default());
        let format = HiveParquet::new(
            store,
            Arc::clone(&engine) as _,
            config.compaction.clone(),
            Arc::clone(&leases),
        )
        .with_pause_before_commit(config.pause_before_commit);
        Self::with_format(engine, Box::new(format), leases, config)
    }

    /// The flusher of `log` into any table format; `leases` are those the
    /// format and the SQL engine share.
    pub fn with_format(
        log: Arc<dyn OfflineLog>,
        format: Box<dyn TableFormat>,
        leases: Arc<QueryLeases>,
        config: FlusherConfig,
    ) -> Self {
        Self {
            log,
            format,
            config,
            status: Arc::new(FlushStatus::default()),
            leases,
            purge_epochs: HashMap::new(),
        }
    }

    /// The leases queries take so that compaction never deletes a file
    /// under them.
    pub fn leases(&self) -> Arc<QueryLeases> {
        Arc::clone(&self.leases)
    }

    /// The status the flusher keeps up to date.
    pub fn status(&self) -> Arc<FlushStatus> {
        Arc::clone(&self.status)
    }

    /// Runs until `shutdown` resolves, then flushes what is left (giving up
    /// after `drain_timeout` if storage is failing; the log keeps it).
    pub async fn run(mut self, shutdown: impl Future<Output = ()>, drain_timeout: Duration) {
        tokio::pin!(shutdown);
        let mut last_round = Instant::now();
        let mut backoff = Duration::ZERO;
        loop {
            let wait = if backoff.is_zero() { POLL } else { backoff };
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(wait) => {}
            }
            let due = last_round.elapsed() >= self.config.interval
                || self.log.backlog() >= self.config.max_rows as u64;
            if !due && backoff.is_zero() {
                continue;
            }
            last_round = Instant::now();
            match self.round().await {
                Ok(()) => {
                    backoff = Duration::ZERO;
                    self.status.set_active();
                }
                Err(error) => {
                    backoff =
                        (backoff * 2).clamp(Duration::from_millis(250), self.config.max_backoff);
                    tracing::warn!(%error, retry_in = ?backoff, "offline flush failed");
                    self.status
                        .set_blocked(error.to_string(), self.log.now_micros());
                }
            }
        }
        if drain_timeout.is_zero() {
            return;
        }
        let drain = async {
            // Also finish a compaction whose replaced files wait for
            // queries, which have all ended by now.
            while self.log.backlog() > 0
                || self.log.unfinished_flush().ok().flatten().is_some()
                || self.format.maintenance_pending().unwrap_or(false)
            {
                let backlog = self.log.backlog();
                if let Err(error) = self.round().await {
                    tracing::warn!(%error, "offline flush at shutdown failed; the log keeps the rest");
                    return;
                }
                if self.log.backlog() >= backlog {
                    // Nothing moved (a compaction waits for a query to
                    // drop its result): wait instead of spinning.
                    tokio::time::sleep(POLL).await;
                }
            }
        };
        if tokio::time::timeout(drain_timeout, drain).await.is_err() {
            tracing::warn!("offline flush at shutdown timed out; the log keeps the rest");
        }
    }

    /// One round: finish an interrupted flush, flush what the log holds
    /// (up to `max_rows`), purge the files of deleted groups, then merge
    /// small files.
    pub async fn round(&mut self) -> Result<()> {
        if let Some(plan) = self.log.unfinished_flush()? {
            self.flush(plan).await?;
        }
        let first = self.log.flushed_through()?;
        let entries = self.log.read(first, self.config.max_rows)?;
        if let Some((last, _)) = entries.last() {
            let plan = FlushPlan { first, last: *last };
            self.log.begin_flush(plan)?;
            self.write_and_commit(plan, entries).await?;
        }
        self.purge_deleted_groups().await?;
        self.format.maintain().await
    }

    /// Redoes a recorded plan from the entries still in the log.
    async fn flush(&mut self, plan: FlushPlan) -> Result<()> {
        let mut entries = Vec::new();
        let mut from = plan.first;
        loop {
            let chunk = self.log.read(from, 65_536)?;
            let done = chunk.is_empty() || chunk.iter().any(|(seq, _)| *seq >= plan.last);
            for (sequence, entry) in chunk {
                if sequence <= plan.last {
                    from = sequence + 1;
                    entries.push((sequence, entry));
                }
            }
            if done {
                break;
            }
        }
        self.write_and_commit(plan, entries).await
    }

    async fn write_and_commit(
        &mut self,
        plan: FlushPlan,
        entries: Vec<(u64, OfflineLogEntry)>,
    ) -> Result<()> {
        let last_write = entries
            .iter()
            .map(|(_, e)| e.write_micros)
            .max()
            .unwrap_or(0);
        // Entries per group, in log order.
        let mut groups: BTreeMap<u64, Vec<OfflineLogEntry>> = BTreeMap::new();
        for (_, entry) in entries {
            groups.entry(entry.group_id).or_default().push(entry);
        }
        let mut files = Vec::new();
        for (group_id, rows) in groups {
            let Some(stored) = self.log.stored_group(group_id) else {
                tracing::warn!(group_id, "offline log entries of an unknown group skipped");
                continue;
            };
            if stored.purge_offline {
                continue;
            }
            let group = Arc::new(stored.group.clone());
            files.extend(self.format.write(plan, &group, rows).await?);
        }
        if !self.config.pause_before_commit.is_zero() {
            tokio::time::sleep(self.config.pause_before_commit).await;
        }
        self.format.publish(plan, &files).await?;
        self.log.commit_flush(plan, &files, last_write)?;
        Ok(())
    }

    /// Deletes every object of groups deleted with `purge_offline`, once
    /// the queries that may still read them have ended: those that started
    /// before the purge was first seen (later ones cannot see the group).
    async fn purge_deleted_groups(&mut self) -> Result<()> {
        for stored in self.log.groups_to_purge() {
            let epoch = *self
                .purge_epochs
                .entry(stored.group.id)
                .or_insert_with(|| self.leases.advance());
            if !self.leases.released_before(epoch) {
                continue;
            }
            self.format.purge(&stored.group).await?;
            self.log.finish_purge(stored.group.id).await?;
            self.purge_epochs.remove(&stored.group.id);
            tracing::info!(group = %stored.group.name, "offline files purged");
        }
        Ok(())
    }
}
