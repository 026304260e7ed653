"""The dataset benchmark's Python side.

  dataset_duckdb.py entities --drivers N --rows M --output FILE
      writes an entity table (driver_id, event_timestamp) as Parquet: ids
      drawn uniformly from the N drivers, times uniformly over the 100
      hours the versions span plus two hours either side.
  dataset_duckdb.py time --features GROUP_DIR --entities FILE [--ttl-hours H]
      times DuckDB's ASOF LEFT JOIN of the entity table with the group's
      offline Parquet files: best and median of RUNS, the process's peak
      memory, and the same checksum almanac-sqlbench prints.
"""

import argparse
import random
import resource
import statistics
import time

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

START_MICROS = 1_772_323_200_000_000  # 2026-03-01T00:00:00Z
HOUR_MICROS = 3_600_000_000


def entities(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    low = START_MICROS - 2 * HOUR_MICROS
    high = START_MICROS + 102 * HOUR_MICROS
    ids = [rng.randrange(args.drivers) for _ in range(args.rows)]
    times = [rng.randrange(low, high) for _ in range(args.rows)]
    table = pa.table(
        {
            "driver_id": pa.array(ids, pa.int64()),
            "event_timestamp": pa.array(times, pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(table, args.output)


def time_join(args: argparse.Namespace) -> None:
    connection = duckdb.connect()
    connection.execute(f"SET threads = {args.threads}")
    connection.execute(
        "CREATE VIEW features AS SELECT * FROM "
        f"read_parquet('{args.features}/data/**/*.parquet')"
    )
    connection.execute(
        f"CREATE VIEW entities AS SELECT * FROM read_parquet('{args.entities}')"
    )
    columns = ["conv_rate", "acc_rate", "avg_daily_trips", "city"]
    if args.ttl_hours is None:
        selected = ", ".join(f"f.{c}" for c in columns)
    else:
        fresh = f"f.event_time >= e.event_timestamp - INTERVAL {args.ttl_hours} HOUR"
        selected = ", ".join(f"CASE WHEN {fresh} THEN f.{c} END AS {c}" for c in columns)
    sql = (
        f"SELECT e.driver_id, e.event_timestamp, {selected} FROM entities e "
        "ASOF LEFT JOIN features f "
        "ON e.driver_id = f.driver_id AND e.event_timestamp >= f.event_time"
    )
    times = []
    result = None
    for _ in range(max(args.runs, 1)):
        start = time.perf_counter()
        result = connection.sql(sql).to_arrow_table()
        times.append(time.perf_counter() - start)
    times.sort()
    conv = result.column("conv_rate")
    present = len(conv) - conv.null_count
    total = sum(v for v in conv.to_pylist() if v is not None)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"engine=duckdb best_ms={times[0] * 1e3:.1f} "
        f"median_ms={statistics.median(times) * 1e3:.1f} peak_rss_mib={peak_mib:.0f} "
        f"rows={result.num_rows} conv_rate_present={present} conv_rate_sum={total:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("entities")
    make.add_argument("--drivers", type=int, required=True)
    make.add_argument("--rows", type=int, required=True)
    make.add_argument("--output", required=True)
    make.add_argument("--seed", type=int, default=7)
    join = commands.add_parser("time")
    join.add_argument("--features", required=True)
    join.add_argument("--entities", required=True)
    join.add_argument("--ttl-hours", type=int)
    join.add_argument("--runs", type=int, default=3)
    join.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.command == "entities":
        entities(args)
    else:
        time_join(args)


if __name__ == "__main__":
    main()
