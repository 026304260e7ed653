"""Times one query in DuckDB over Almanac's offline Parquet files, the way
`almanac-sqlbench query` times it in Almanac: best and median of RUNS.

Usage: duckdb_time.py --view NAME=GROUP_DIR [--view ...] [--runs N] SQL
"""

import argparse
import statistics
import time

import duckdb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--view", action="append", default=[])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("sql")
    args = parser.parse_args()

    connection = duckdb.connect()
    connection.execute(f"SET threads = {args.threads}")
    for view in args.view:
        name, directory = view.split("=", 1)
        connection.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{directory}/data/**/*.parquet')"
        )
    times = []
    rows = 0
    for _ in range(max(args.runs, 1)):
        start = time.perf_counter()
        rows = connection.sql(args.sql).to_arrow_table().num_rows
        times.append(time.perf_counter() - start)
    times.sort()
    print(
        f"engine=duckdb best_ms={times[0] * 1e3:.1f} "
        f"median_ms={statistics.median(times) * 1e3:.1f} rows={rows}"
    )


if __name__ == "__main__":
    main()
