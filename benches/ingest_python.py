"""Times the Python package's ingest(df) for benches/run-ingest.sh: the
Parquet file is read into a pandas DataFrame first (not timed), then
ingested with max_workers streams.

Usage: ingest_python.py --group G --parquet FILE [--workers N]
"""

import argparse
import os
import time

import pyarrow.parquet as pq

import almanac


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--group", required=True)
    parser.add_argument("--parquet", required=True)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    df = pq.read_table(args.parquet).to_pandas()
    client = almanac.Client(os.environ["ALMANAC_ENDPOINT"])
    started = time.perf_counter()
    result = client.ingest(args.group, df, max_workers=args.workers)
    seconds = time.perf_counter() - started
    assert result.rows_written == len(df), (result.rows_written, len(df))
    print(
        f"python-ingest rows={len(df)} workers={args.workers} "
        f"seconds={seconds:.3f} rows_per_s={len(df) / seconds:.0f}"
    )


if __name__ == "__main__":
    main()
