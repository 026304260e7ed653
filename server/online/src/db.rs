//! Opening RocksDB with Almanac's column families and options.

use std::path::Path;

use rocksdb::{BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB, Env, Options};

use crate::error::Result;
use crate::keys::{ALL_CFS, CF_RECORDS};

/// How hard a write is pushed to disk before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync the write-ahead log before acknowledging (group-committed, so
    /// concurrent writers share one fsync). Survives a process kill and a
    /// power loss. The default.
    #[default]
    Fsync,
    /// Write the log to the operating system before acknowledging, without
    /// fsync. Survives a process kill (`kill -9`), but a power loss or
    /// kernel crash can lose the last acknowledged writes.
    OsBuffered,
}

/// Opens (or creates) the database under `path` with every column family.
pub(crate) fn open(path: &Path, block_cache_bytes: usize) -> Result<DB> {
    let mut options = Options::default();
    options.create_if_missing(true);
    options.create_missing_column_families(true);
    options.increase_parallelism(2);
    options.set_max_background_jobs(2);
    options.set_bytes_per_sync(1 << 20);
    // Compactions yield the CPU and the disk to reads and writes; flushes
    // (which free memtables, so writes never stall on them) yield the disk
    // only.
    let mut env = Env::new()?;
    env.lower_thread_pool_cpu_priority();
    env.lower_thread_pool_io_priority();
    env.lower_high_priority_thread_pool_io_priority();
    options.set_env(&env);

    let cache = Cache::new_lru_cache(block_cache_bytes);
    let descriptors = ALL_CFS.iter().map(|&name| {
        let mut cf_options = Options::default();
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&cache);
        if name == CF_RECORDS {
            // Point lookups dominate: a bloom filter skips files without
            // the key, and index and filter blocks stay in the cache.
            table.set_bloom_filter(10.0, false);
            table.set_data_block_index_type(rocksdb::DataBlockIndexType::BinaryAndHash);
            table.set_data_block_hash_ratio(0.75);
            cf_options.set_memtable_whole_key_filtering(true);
            cf_options.set_memtable_prefix_bloom_ratio(0.1);
            table.set_cache_index_and_filter_blocks(true);
            table.set_pin_l0_filter_and_index_blocks_in_cache(true);
            cf_options.set_write_buffer_size(64 << 20);
            // Fresh data (L0, L1) is rewritten soon by compaction, so
            // compressing it costs CPU on the write path for little; the
            // deeper levels, where most data ends up, are compressed.
            use rocksdb::DBCompressionType::{Lz4, None as Plain};
            cf_options.set_compression_per_level(&[Plain, Plain, Lz4, Lz4, Lz4, Lz4, Lz4]);
        }
        cf_options.set_block_based_table_factory(&table);
        ColumnFamilyDescriptor::new(name, cf_options)
    });
    Ok(DB::open_cf_descriptors(&options, path, descriptors)?)
}

/// The handle of a column family that [`open`] created.
pub(crate) fn cf<'a>(db: &'a DB, name: &str) -> &'a ColumnFamily {
    // Every family in ALL_CFS is opened or created by `open`, so a missing
    // one means the database was opened some other way: a programming error.
    db.cf_handle(name)
        .unwrap_or_else(|| panic!("column family '{name}' was not opened"))
}
