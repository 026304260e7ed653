#!/usr/bin/env bash
# Runs the bulk-ingest benchmark of benches/README.md: ROWS rows of 10
# features written into both tiers, each way into a fresh feature group, in
# one run: Flight DoPut from the Rust client, `almanac ingest` from Parquet
# and from CSV, the Python package's ingest(df), and one PutRecord per row
# (PUT_ROWS rows, CONCURRENCY calls in flight) as SageMaker's SDK ingests.
# Usage: bash benches/run-ingest.sh [ROWS] [PUT_ROWS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
put_rows="${2:-100000}"
concurrency="${3:-4}"
source benches/server.sh
build almanac-ingestbench
start_server 50163
ib() { "$bin/almanac-ingestbench" "$@"; }
almanac() { "$bin/almanac" "$@"; }

ib make-data --rows "$rows" --parquet "$data/rows.parquet" --csv "$data/rows.csv"
echo "data: $(du -h "$data/rows.parquet" | cut -f1) Parquet, $(du -h "$data/rows.csv" | cut -f1) CSV"
group() {
    almanac create-feature-group "$1" --from-file "$data/rows.parquet" \
        --record-identifier id --event-time event_time >/dev/null
}
now() { date +%s.%N; }
report() { # NAME ROWS START END
    awk -v n="$1" -v r="$2" -v s="$3" -v e="$4" \
        'BEGIN { printf "%s rows=%d seconds=%.3f rows_per_s=%.0f\n", n, r, e - s, r / (e - s) }'
}

for run in 1 2 3; do
    group "doput_$run"
    ib doput --group "doput_$run" --parquet "$data/rows.parquet" --workers 2 --batch-rows 65536
done

group cli_parquet
start=$(now); almanac ingest cli_parquet "$data/rows.parquet" --workers 4 --batch-rows 65536 >/dev/null; end=$(now)
report "almanac-ingest-parquet" "$rows" "$start" "$end"

group cli_csv
start=$(now); almanac ingest cli_csv "$data/rows.csv" --workers 4 --batch-rows 65536 >/dev/null; end=$(now)
report "almanac-ingest-csv" "$rows" "$start" "$end"

group python
"$python" benches/ingest_python.py --group python --parquet "$data/rows.parquet" --workers 4

group put_loop
ib put-loop --group put_loop --parquet "$data/rows.parquet" --rows "$put_rows" --concurrency "$concurrency"

almanac query "SELECT count(*) AS rows FROM doput_1" --format csv
