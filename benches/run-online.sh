#!/usr/bin/env bash
# Runs the online-tier benchmark of benches/README.md: a server and the load
# generator side by side on this machine, 1M records of 10 features.
# Usage: bash benches/run-online.sh [RECORDS] [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
records="${1:-1000000}"
duration="${2:-20s}"
source benches/server.sh
build almanac-loadgen
start_server 50151
lg() { "$bin/almanac-loadgen" --records "$records" "$@"; }
run() { lg run --server-pid "$server" "$@"; }

throughput() { sed -E 's/.*throughput=([0-9]+).*/\1/'; }

lg populate --concurrency 4
run --call baseline --concurrency 32 --duration "$duration"
get=$(run --call get --concurrency 32 --duration "$duration"); echo "$get"
# The same reads projected to one feature: how much of GetRecord's cost is
# the ten named features in each response.
run --call get --concurrency 32 --duration "$duration" --feature clicks
batch=$(run --call batch-get --concurrency 4 --duration "$duration"); echo "$batch"
run --call put --concurrency 64 --duration "$duration"

# Latency at half the maximum throughput measured above (open loop: each
# request's latency counts from its scheduled start).
run --call get --concurrency 32 --duration "$duration" --rate $(( $(echo "$get" | throughput) / 2 ))
run --call batch-get --concurrency 8 --duration "$duration" --rate $(( $(echo "$batch" | throughput) / 2 ))
run --call batch-get --concurrency 1 --duration "$duration"
