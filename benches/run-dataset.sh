#!/usr/bin/env bash
# Runs the dataset benchmark of benches/README.md: Almanac's point-in-time
# join (through Flight DoExchange) against DuckDB's ASOF JOIN over the same
# Parquet files, in the same run: driver statistics for 10k and 100k
# drivers x 100 hourly versions (1% corrected), entity tables of 100k and
# 1M rows, with and without a 2 h look-back.
# Usage: bash benches/run-dataset.sh [SMALL_DRIVERS] [LARGE_DRIVERS]
set -euo pipefail
cd "$(dirname "$0")/.."
small="${1:-10000}"
large="${2:-100000}"
source benches/server.sh
build almanac-sqlbench
# Compaction off: DuckDB globs the very files Almanac reads, so the file set
# must not change under the comparison.
start_server 50162 --flush-interval 2s --compact-min-files 0
sb() { "$bin/almanac-sqlbench" "$@"; }

sb load-drivers --group drivers_small --drivers "$small"
sb load-drivers --group drivers_large --drivers "$large"
sb wait-flushed --group drivers_small --group drivers_large
for g in drivers_small drivers_large; do
    dir=$(ls -d "$data"/offline/$g-*)
    echo "files: $g $(find "$dir" -name '*.parquet' | wc -l), $(du -sh "$dir" | cut -f1)"
done

# Wait until the server is idle (RocksDB's compactions after the load, the
# flusher), so that it competes with nothing in the timed runs.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
for _ in $(seq 120); do
    before=$(cpu_ticks); sleep 2; after=$(cpu_ticks)
    [ $((after - before)) -le 10 ] && break
done
echo "server idle: $((after - before)) CPU ticks in the last 2 s"

for drivers in "$small" "$large"; do
    for rows in 100000 1000000; do
        "$python" benches/dataset_duckdb.py entities --drivers "$drivers" --rows "$rows" \
            --output "$data/entities-$drivers-$rows.parquet"
    done
done

features="conv_rate,acc_rate,avg_daily_trips,city"
for size in small large; do
    group="drivers_$size"
    drivers=$([ "$size" = small ] && echo "$small" || echo "$large")
    dir=$(ls -d "$data"/offline/$group-*)
    for rows in 100000 1000000; do
        entities="$data/entities-$drivers-$rows.parquet"
        for ttl in none 2; do
            echo "== $drivers drivers x 100 versions, $rows entity rows, look-back: $ttl"
            if [ "$ttl" = none ]; then
                sb dataset --entities "$entities" --feature "$group:$features" --server-pid "$server"
                "$python" benches/dataset_duckdb.py time --features "$dir" --entities "$entities"
            else
                sb dataset --entities "$entities" --feature "$group:$features" --ttl "${ttl}h" --server-pid "$server"
                "$python" benches/dataset_duckdb.py time --features "$dir" --entities "$entities" --ttl-hours "$ttl"
            fi
        done
    done
done
