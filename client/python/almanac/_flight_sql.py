"""SQL over Arrow Flight SQL, with pyarrow.flight alone.

A Flight SQL query is a FlightDescriptor whose command is a protobuf
``google.protobuf.Any`` wrapping ``CommandStatementQuery``. Both messages
are tiny, so they are encoded here by hand in protobuf's wire format
rather than pulling in the protobuf package.
"""

from __future__ import annotations

from typing import List

import pyarrow as pa
import pyarrow.flight as flight

from ._connection import Connection

_STATEMENT_QUERY_URL = "type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery"


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        low = number & 0x7F
        number >>= 7
        if number:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _length_delimited(field: int, payload: bytes) -> bytes:
    """One protobuf field of wire type 2 (string, bytes, message)."""
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def statement_query_command(sql: str) -> bytes:
    """``Any{type_url, value = CommandStatementQuery{query = sql}}``, encoded."""
    query = _length_delimited(1, sql.encode("utf-8"))
    return _length_delimited(1, _STATEMENT_QUERY_URL.encode("utf-8")) + _length_delimited(2, query)


def run_query(connection: Connection, sql: str) -> pa.Table:
    """Runs ``sql`` and returns the whole result as one table.

    The result's endpoints are all read from the connection's server
    (Almanac serves every endpoint itself), in order. Planning must end
    within the connection's timeout, and each message of the result come
    within it of the one before.
    """
    with connection.calling():
        descriptor = flight.FlightDescriptor.for_command(statement_query_command(sql))
        info = connection.flight.get_flight_info(descriptor, connection.options())
    tables: List[pa.Table] = [_read(connection, endpoint.ticket) for endpoint in info.endpoints]
    if not tables:
        return info.schema.empty_table()
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables)


def _read(connection: Connection, ticket: flight.Ticket) -> pa.Table:
    """One endpoint's rows, read under the connection's watchdog."""
    with connection.calling():
        reader = connection.open_stream(lambda: connection.flight.do_get(ticket), lambda r: r.cancel())
        batches: List[pa.RecordBatch] = []
        with connection.watchdog(reader.cancel) as watchdog:
            try:
                for chunk in iter_chunks(reader):
                    watchdog.progress()
                    batches.append(chunk.data)
            except pa.ArrowException:
                if watchdog.fired:
                    raise connection.timed_out() from None
                raise
        return pa.Table.from_batches(batches, schema=reader.schema)


def iter_chunks(reader: flight.FlightStreamReader):
    """The chunks of ``reader`` as they arrive."""
    while True:
        try:
            yield reader.read_chunk()
        except StopIteration:
            return
