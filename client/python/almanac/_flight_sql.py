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

from .errors import translated

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


def run_query(client: flight.FlightClient, sql: str) -> pa.Table:
    """Runs ``sql`` and returns the whole result as one table.

    The result's endpoints are all read from ``client``'s server (Almanac
    serves every endpoint itself), in order.
    """
    with translated():
        info = client.get_flight_info(flight.FlightDescriptor.for_command(statement_query_command(sql)))
        tables: List[pa.Table] = [client.do_get(endpoint.ticket).read_all() for endpoint in info.endpoints]
    if not tables:
        return info.schema.empty_table()
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables)
