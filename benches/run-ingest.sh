#!/usr/bin/env bash
# Runs the bulk-ingest benchmark of benches/README.md: ROWS rows of 10
# features written into both tiers, each way into a fresh server and group,
# in one run: Flight DoPut from the Rust client (three times), `almanac
# ingest` from Parquet and from CSV, the Python package's ingest(df), and
# one PutRecord per row (PUT_ROWS rows, WORKERS calls in flight) as
# SageMaker's SDK ingests. Every way uses WORKERS concurrent streams or calls.
# Usage: bash benches/run-ingest.sh [ROWS] [PUT_ROWS] [WORKERS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
put_rows="${2:-100000}"
workers="${3:-2}"
source benches/server.sh
build almanac-ingestbench
ib() { "$bin/almanac-ingestbench" "$@"; }
almanac() { "$bin/almanac" "$@"; }

files="$(mktemp -d /var/tmp/almanac-ingest-data.XXXXXX)"
ib make-data --rows "$rows" --parquet "$files/rows.parquet" --csv "$files/rows.csv"
echo "data: $(du -h "$files/rows.parquet" | cut -f1) Parquet, $(du -h "$files/rows.csv" | cut -f1) CSV"

# Each way starts on an empty server, so that none pays for the RocksDB
# compactions and Parquet flushes of the one before.
fresh_group() {
    if [ -n "${server:-}" ]; then
        kill "$server"; wait "$server" 2>/dev/null || true; rm -rf "$data" "$data.log"
    fi
    start_server 50163
    trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$data" "$data.log" "$files"' EXIT
    almanac create-feature-group "$1" --from-file "$files/rows.parquet" \
        --record-identifier id --event-time event_time >/dev/null
}
now() { date +%s.%N; }
report() { # NAME ROWS START END
    awk -v n="$1" -v r="$2" -v s="$3" -v e="$4" \
        'BEGIN { printf "%s rows=%d seconds=%.3f rows_per_s=%.0f\n", n, r, e - s, r / (e - s) }'
}

for run in 1 2 3; do
    fresh_group doput
    ib doput --group doput --parquet "$files/rows.parquet" --workers "$workers" --batch-rows 65536
done

fresh_group cli_parquet
start=$(now)
almanac ingest cli_parquet "$files/rows.parquet" --workers "$workers" --batch-rows 65536 >/dev/null
end=$(now)
report "almanac-ingest-parquet" "$rows" "$start" "$end"

fresh_group cli_csv
start=$(now)
almanac ingest cli_csv "$files/rows.csv" --workers "$workers" --batch-rows 65536 >/dev/null
end=$(now)
report "almanac-ingest-csv" "$rows" "$start" "$end"

fresh_group python
"$python" benches/ingest_python.py --group python --parquet "$files/rows.parquet" --workers "$workers"

fresh_group put_loop
ib put-loop --group put_loop --parquet "$files/rows.parquet" --rows "$put_rows" --concurrency "$workers"
almanac query "SELECT count(*) AS rows FROM put_loop" --format csv
