"""Talks to a running Almanac server with the ADBC Flight SQL driver, the
way a data scientist's notebook would, and prints what it saw as JSON for
the Rust test `adbc_flight_sql_driver_works_unchanged` to check.

Usage: adbc_query.py grpc://127.0.0.1:PORT
"""

import json
import sys

import adbc_driver_flightsql.dbapi as flight_sql


def main(uri: str) -> None:
    seen = {}
    with flight_sql.connect(uri) as connection:
        info = connection.adbc_get_info()
        seen["vendor_name"] = info.get("vendor_name")
        seen["vendor_arrow_version"] = info.get("vendor_arrow_version")
        objects = connection.adbc_get_objects(depth="tables").read_all().to_pylist()
        seen["tables"] = sorted(
            f"{catalog['catalog_name']}.{schema['db_schema_name']}.{table['table_name']}"
            for catalog in objects
            for schema in catalog["catalog_db_schemas"] or []
            for table in schema["db_schema_tables"] or []
        )
        schema = connection.adbc_get_table_schema("reviews", catalog_filter="almanac", db_schema_filter="public")
        seen["reviews_columns"] = [field.name for field in schema]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT review_id, star_rating FROM reviews ORDER BY review_id, event_time"
            )
            seen["rows"] = cursor.fetch_arrow_table().to_pylist()
            cursor.execute(
                "SELECT review_id, star_rating FROM reviews "
                "FOR SYSTEM_TIME AS OF TIMESTAMP '2026-03-01T12:00:00Z'"
            )
            seen["as_of_rows"] = cursor.fetchall()
            try:
                cursor.execute("SELECT no_such_column FROM reviews")
                seen["bad_query"] = "no error"
            except Exception as error:  # the driver's own error type
                seen["bad_query"] = str(error)
            try:
                cursor.execute("DROP TABLE reviews")
                seen["write"] = "no error"
            except Exception as error:
                seen["write"] = str(error)
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1])
