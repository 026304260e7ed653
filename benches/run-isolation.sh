#!/usr/bin/env bash
# Runs the isolation benchmark of benches/README.md (issue 11): GetRecord
# latency at a fixed open-loop rate over RECORDS records, in one run on one
# server, in four phases: idle; while 4 heavy SQL queries run in loops;
# while a DoPut bulk ingest runs; while both run. Prints one table with
# each phase's latency, its p99 against the idle p99, and the target
# (p99 <= 2 ms and <= 4x the idle p99), plus how much background work ran
# inside each measured window.
# Usage: bash benches/run-isolation.sh [RECORDS] [DURATION]
# With ISOLATION_LOGS=DIR, each phase's raw lines (load generator, window,
# drivers) are kept in DIR.
# The background drivers stand in for remote clients: by default they run
# in the idle scheduling class (chrt --idle), so that their own CPU (encoding
# the ingest's Arrow batches, reading query results) does not count as the
# server's load on this shared machine. DRIVERS=normal runs them at normal
# priority, competing with the server and the load generator.
set -euo pipefail
cd "$(dirname "$0")/.."
records="${1:-1000000}"
duration="${2:-20s}"
rate=2000            # GetRecord calls per second, open loop
warmup=3s            # background load running before each measured window
                     # (counted from when its drivers report being set up)
sql_loops=4          # concurrent query loops
ingest_rows=250000   # rows per DoPut pass, sent again and again with new ids
ingest_workers=2     # concurrent DoPut streams
target_p99_ms=2
target_ratio=4
drivers="${DRIVERS:-idle}"
case "$drivers" in
    idle) as_driver=(chrt --idle 0) ;;
    normal) as_driver=() ;;
    *) echo "DRIVERS is idle or normal, not '$drivers'" >&2; exit 2 ;;
esac

source benches/server.sh
build almanac-loadgen almanac-sqlbench almanac-ingestbench
start_server 50171
work="$(mktemp -d /var/tmp/almanac-isolation.XXXXXX)"
background=()
cleanup() {
    if [ -n "${ISOLATION_LOGS:-}" ]; then
        mkdir -p "$ISOLATION_LOGS"
        cp "$work"/*.get "$work"/*.window "$work"/*.sql* "$work"/*.ingest* "$ISOLATION_LOGS"/ 2>/dev/null || true
    fi
    for pid in "${background[@]}"; do kill "$pid" 2>/dev/null || true; done
    kill "$server" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$data" "$data.log" "$work"
}
trap cleanup EXIT

lg() { "$bin/almanac-loadgen" --records "$records" "$@"; }
sb() { "$bin/almanac-sqlbench" "$@"; }
ib() { "$bin/almanac-ingestbench" "$@"; }

# Analytical SQL over the `loadgen` group's offline table (RECORDS rows, all
# in Parquet by then), each query reading every row: a 5,000-group
# aggregation with a distinct count; a window function (top 10 per segment,
# a sort of every row); a self-join on the record id (a hash join of the
# table with itself); the latest version per record (`as_of`: a sort by
# record id) with a median per segment. Loop N starts at query N.
queries=(
    --query "by_city=SELECT city, count(*) AS records, sum(clicks) AS clicks, avg(conv_rate) AS conv_rate, max(avg_daily_trips) AS max_trips, count(DISTINCT segment) AS segments FROM loadgen GROUP BY city ORDER BY records DESC, city"
    --query "top_per_segment=SELECT segment, record_id, clicks, rank FROM (SELECT segment, record_id, clicks, row_number() OVER (PARTITION BY segment ORDER BY clicks DESC, avg_daily_trips DESC, record_id) AS rank FROM loadgen) WHERE rank <= 10 ORDER BY segment, rank"
    --query "self_join=SELECT a.segment, count(*) AS pairs, avg(b.conv_rate - a.acc_rate) AS gap FROM loadgen a JOIN loadgen b ON a.record_id = b.record_id AND a.write_time <= b.write_time GROUP BY a.segment ORDER BY a.segment"
    --query "latest_by_segment=SELECT segment, count(*) AS live, median(avg_daily_trips) AS median_trips, avg(tenure_days) AS tenure, sum(orders) AS orders FROM as_of('loadgen', TIMESTAMP '2026-12-31T00:00:00Z') GROUP BY segment ORDER BY segment"
)

# Wait until the server is idle (RocksDB compactions, the flusher, queries
# cut off by a stop), so that a phase inherits nothing from the one before.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
wait_idle() {
    local before after waited=0
    for _ in $(seq 150); do
        before=$(cpu_ticks); sleep 2; after=$(cpu_ticks); waited=$((waited + 2))
        [ $((after - before)) -le 10 ] && break
    done
    echo "server idle after ${waited} s: $((after - before)) CPU ticks in the last 2 s"
}

# The data: the records GetRecord reads, and the rows the bulk ingest sends.
lg populate --concurrency 4
sb wait-flushed --group loadgen
ib make-data --rows "$ingest_rows" --parquet "$work/bulk.parquet" --csv "$work/bulk.csv" 2>/dev/null
"$bin/almanac" create-feature-group bulk --from-file "$work/bulk.parquet" \
    --record-identifier id --event-time event_time >/dev/null
wait_idle

# One phase: start its background load, wait until its drivers are set up
# (connected, file read) and running, measure GetRecord for DURATION after
# the warm-up, stop the load, wait for the server to settle.
phase() { # NAME WITH_SQL(0|1) WITH_INGEST(0|1) ID_OFFSET
    local name="$1" with_sql="$2" with_ingest="$3" id_offset="$4" pids=() ready=() pid file
    # The binaries themselves in the background (not through a shell
    # function, whose subshell would take the SIGTERM meant for them).
    if [ "$with_sql" = 1 ]; then
        "${as_driver[@]}" "$bin/almanac-sqlbench" loop --concurrency "$sql_loops" "${queries[@]}" \
            --ready-file "$work/$name.sql.ready" >"$work/$name.sql" 2>"$work/$name.sql.err" &
        pids+=("$!"); ready+=("$work/$name.sql.ready")
    fi
    if [ "$with_ingest" = 1 ]; then
        "${as_driver[@]}" "$bin/almanac-ingestbench" doput-loop --group bulk --parquet "$work/bulk.parquet" --workers "$ingest_workers" \
            --id-offset "$id_offset" --ready-file "$work/$name.ingest.ready" \
            >"$work/$name.ingest" 2>"$work/$name.ingest.err" &
        pids+=("$!"); ready+=("$work/$name.ingest.ready")
    fi
    background+=("${pids[@]}")
    for file in "${ready[@]}"; do
        for _ in $(seq 1200); do [ -e "$file" ] && break; sleep 0.1; done
        if [ ! -e "$file" ]; then
            echo "phase $name: $(basename "$file" .ready) not running after 120 s:" >&2
            cat "$work/$name".*.err >&2
            exit 1
        fi
    done
    lg run --call get --rate "$rate" --concurrency 32 --warmup "$warmup" \
        --duration "$duration" --window-file "$work/$name.window" | tee "$work/$name.get"
    for pid in "${pids[@]}"; do
        # A driver that died before the stop fails the run: its phase was
        # not measured under the load it names.
        if ! kill -0 "$pid" 2>/dev/null || ! kill -TERM "$pid" || ! wait "$pid"; then
            echo "phase $name: a background driver ended before the stop:" >&2
            cat "$work/$name".*.err >&2
            exit 1
        fi
    done
    for err in "$work/$name".*.err; do
        if [ -s "$err" ]; then echo "phase $name, $(basename "$err"):"; head -5 "$err"; fi
    done
    if [ "$with_ingest" = 1 ]; then sb wait-flushed --group bulk; fi
    wait_idle
}

echo "== idle";              phase idle 0 0 0
echo "== 4 SQL queries";     phase sql 1 0 0
echo "== DoPut ingest";      phase ingest 0 1 0
echo "== SQL and ingest";    phase both 1 1 1000000000000

# key=value fields of a loadgen line, numbers only.
field() { sed -nE "s/.* $1=([0-9.]+).*/\1/p" "$work/$2.get"; }

# Background work inside a phase's window, from its drivers' lines: the
# share of the window its loops (or streams) were busy, what ended inside
# it, and (ingest) rows per second, passes prorated by their overlap.
background_summary() { # NAME KIND(sql|ingest) SLOTS
    local log="$work/$1.$2"
    [ -f "$log" ] || { echo "-"; return; }
    awk -v kind="$2" -v slots="$3" -v window="$(cat "$work/$1.window")" '
        BEGIN { split(window, w, " "); ws = w[1]; we = w[2] }
        {
            delete f
            for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
            s = f["start"]; e = f["end"]
            lo = s > ws ? s : ws; hi = e < we ? e : we
            if (hi > lo) { busy += hi - lo; if (e > s) rows += f["rows"] * (hi - lo) / (e - s) }
            if (e >= ws && e <= we) {
                if (f["status"] == "ok") done++
                if (f["status"] == "error") errors++
            }
        }
        END {
            pct = 100 * busy / (slots * (we - ws))
            if (kind == "sql") printf "%d ended, %d errors, %.0f%% busy", done, errors, pct
            else printf "%.0f rows/s, %.0f%% busy", rows / (we - ws), pct
        }' "$log"
}

# Per query: how many ended inside the window and their mean time.
query_times() { # NAME
    awk -v window="$(cat "$work/$1.window")" '
        BEGIN { split(window, w, " "); ws = w[1]; we = w[2] }
        {
            delete f
            for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
            if (f["status"] == "ok" && f["end"] >= ws && f["end"] <= we) {
                n[f["query"]]++; ms[f["query"]] += f["ms"]
            }
        }
        END { for (q in n) printf "  %s: %d ended, mean %.0f ms\n", q, n[q], ms[q] / n[q] }' \
        "$work/$1.sql" | sort
}

idle_p99=$(field p99 idle)
echo
echo "GetRecord at $rate/s (open loop) over $records records, $duration per phase, after ${warmup} of load; drivers at $drivers priority:"
echo
echo "| phase | throughput | p50 | p99 | p99.9 | max | p99 / idle p99 | target | SQL ($sql_loops loops) in window | DoPut ($ingest_workers streams) in window |"
echo "|---|---|---|---|---|---|---|---|---|---|"
verdict="met"
for phase in idle sql ingest both; do
    case $phase in
        idle) label="idle" ;;
        sql) label="$sql_loops SQL queries" ;;
        ingest) label="DoPut ingest" ;;
        both) label="SQL + ingest" ;;
    esac
    p99=$(field p99 "$phase")
    ratio=$(awk -v a="$p99" -v b="$idle_p99" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    if [ "$phase" = idle ]; then
        target="(reference)"
    elif awk -v p="$p99" -v r="$ratio" -v tp="$target_p99_ms" -v tr="$target_ratio" \
        'BEGIN { exit !(p <= tp && r <= tr) }'; then
        target="met"
    else
        target="**missed**"; verdict="missed"
    fi
    errors=$(field errors "$phase")
    throughput="$(field throughput "$phase")/s"
    if [ "${errors:-0}" != 0 ]; then throughput="$throughput ($errors errors)"; fi
    echo "| $label | $throughput | $(field p50 "$phase") ms | $p99 ms | $(field p99.9 "$phase") ms | $(field max "$phase") ms | $ratio | $target | $(background_summary "$phase" sql "$sql_loops") | $(background_summary "$phase" ingest "$ingest_workers") |"
done
echo
echo "Target (p99 <= $target_p99_ms ms and <= ${target_ratio}x the idle p99 in every loaded phase): $verdict"
for phase in sql both; do
    echo "Queries that ended inside the $phase window:"
    query_times "$phase"
done
