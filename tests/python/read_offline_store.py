"""Reads a feature group's offline folder with independent readers
(pyarrow and DuckDB) and prints what they see as JSON, for the Rust test
`offline_files_read_with_pyarrow_and_duckdb` to compare with what it wrote.

Usage: read_offline_store.py GROUP_DIR
"""

import json
import sys

import duckdb
import pyarrow.dataset as ds


def main(group_dir: str) -> None:
    dataset = ds.dataset(f"{group_dir}/data", format="parquet", partitioning="hive")
    table = dataset.to_table()
    columns = {field.name: str(field.type) for field in table.schema}
    rows = table.sort_by([("review_id", "ascending"), ("write_time", "ascending")]).to_pylist()

    connection = duckdb.connect()
    duck = connection.execute(
        "SELECT year, month, day, hour, count(*) FROM read_parquet(?, hive_partitioning = true) "
        "GROUP BY ALL ORDER BY ALL",
        [f"{group_dir}/data/**/*.parquet"],
    ).fetchall()
    codecs = connection.execute(
        "SELECT DISTINCT compression FROM parquet_metadata(?)",
        [f"{group_dir}/data/**/*.parquet"],
    ).fetchall()

    print(
        json.dumps(
            {
                "columns": columns,
                "row_count": table.num_rows,
                "review_ids": [row["review_id"] for row in rows],
                "event_times": [row["event_time"].isoformat() for row in rows],
                "tags": [row["tags"] for row in rows],
                "embedding": [row["embedding"] for row in rows],
                "is_deleted": [row["is_deleted"] for row in rows],
                "duckdb_partitions": [list(map(str, p)) for p in duck],
                "compression": sorted(c[0] for c in codecs),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
