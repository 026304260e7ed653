"""Builds a dataset with plain pyarrow.flight (no Almanac code): the
request as JSON in a DoExchange descriptor, the entity table written as
Arrow, the dataset read back. Prints the rows as JSON, then the error (NOT_FOUND) a
request for an unknown group gets.

Usage: flight_dataset.py grpc://HOST:PORT
"""

import datetime
import json
import sys

import pyarrow as pa
import pyarrow.flight as flight


def exchange(client, request, table):
    command = json.dumps({"build_dataset": request}).encode()
    writer, reader = client.do_exchange(flight.FlightDescriptor.for_command(command))
    writer.begin(table.schema)
    writer.write_table(table)
    writer.done_writing()
    result = reader.read_all()
    writer.close()
    return result


def main() -> None:
    client = flight.FlightClient(sys.argv[1])
    utc = datetime.timezone.utc
    entities = pa.table(
        {
            "driver_id": pa.array([1001, 1001, 1002, 4242], pa.int64()),
            "event_time": pa.array(
                [
                    datetime.datetime(2026, 3, 1, 1, tzinfo=utc),
                    datetime.datetime(2026, 3, 1, 2, tzinfo=utc),
                    datetime.datetime(2026, 3, 1, 2, tzinfo=utc),
                    datetime.datetime(2026, 3, 1, 2, tzinfo=utc),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    request = {"features": [{"group": "driver_stats", "features": ["trips"], "ttl": "90m"}]}
    result = exchange(client, request, entities)
    print(json.dumps({"columns": result.column_names, "trips": result.column("trips").to_pylist()}))
    try:
        exchange(client, {"features": [{"group": "nope"}]}, entities)
        print(json.dumps({"error": None}))
    except pa.ArrowException as error:
        print(json.dumps({"error": str(error).splitlines()[0]}))


if __name__ == "__main__":
    main()
