"""Bulk ingest over Arrow Flight DoPut.

A batch is written to a feature group as a DoPut call whose descriptor is
the path ``[group]``. After each batch the server answers with one
PutResult whose ``app_metadata`` is JSON::

    {"batch": k, "rows": n, "rows_written": m,
     "failed_rows": [{"index": i, "reason": "..."}]}

``k`` counts the call's batches from 0 and ``i`` is the row within that
batch. Failed rows are listed up to a size budget; ``failed_rows_unlisted``
(absent when 0) counts the rest. Each row has PutRecord semantics; a bad row fails alone, with its
reason. A call-wide problem (an unknown column, no identifier or
event-time column) fails the whole call.

The server takes many batches in one call; this client sends each batch
as a call of its own, so that the connection's timeout is that call's
deadline: one batch out, its answer back (pyarrow cannot cancel a DoPut
that has gone quiet, nor give its messages deadlines of their own).

Columns go as they are: the server converts values to the features'
types (integers widen, timestamps and dates become ISO-8601 text or epoch
seconds, text is parsed by the feature's type). The client only decodes
categorical columns and sends pandas object columns of mixed types as
text (see ``_tables.to_table``), so that each bad value fails its row.

The rows are spread over several concurrent workers. Rows are assigned to
workers by record identifier, so all the versions of one record go
through one worker, in the table's order: as in one PutRecord batch, of
two rows with the same identifier and event time the later one wins.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as flight

from ._connection import Connection
from ._tables import pandas_module, with_plain_types
from .errors import AlmanacError, telling

__all__ = ["IngestResult", "ingest_table"]

# Largest batch to send, well under the server's default message limit
# (64 MiB): wide rows get fewer rows per batch than batch_rows.
_MAX_BATCH_BYTES = 16 << 20


@dataclass
class IngestResult:
    """What an ingest did.

    Attributes:
        rows: rows sent.
        rows_written: rows the server accepted.
        failed_rows: the rejected rows: a pandas DataFrame with columns
            ``index`` (the input DataFrame's index label, or the row number
            for Arrow input) and ``reason``; a list of such dicts when
            pandas is not installed.
        seconds: wall-clock time the ingest took.
        failed_rows_unlisted: rejected rows missing from ``failed_rows``:
            the server lists a batch's failed rows up to a size budget and
            counts the rest (send smaller batches to see them all).
    """

    rows: int
    rows_written: int
    failed_rows: Any
    seconds: float
    failed_rows_unlisted: int = 0

    def __repr__(self) -> str:
        return (
            f"IngestResult(rows={self.rows}, rows_written={self.rows_written}, "
            f"failed_rows={len(self.failed_rows)}, "
            f"failed_rows_unlisted={self.failed_rows_unlisted}, seconds={self.seconds:.3f})"
        )


# ---------------------------------------------------------------- sending


@dataclass
class _Part:
    """The rows one stream sends: ``rows`` maps the part's row numbers to
    the table's (None: the part is the table itself)."""

    table: pa.Table
    rows: Optional[pa.Array]

    def table_row(self, row: int) -> int:
        return row if self.rows is None else self.rows[row].as_py()


def _partition(table: pa.Table, id_column: Optional[str], streams: int) -> List[_Part]:
    """Splits the rows over ``streams`` parts by record identifier, keeping
    the table's order within each part."""
    if streams <= 1 or id_column not in table.column_names:
        return [_Part(table, None)]
    ids = table.column(id_column).combine_chunks()
    if pa.types.is_null(ids.type):
        return [_Part(table, None)]
    codes = pc.fill_null(pc.dictionary_encode(ids).indices, 0).cast(pa.int64())
    assignment = pc.subtract(codes, pc.multiply(pc.divide(codes, streams), streams))
    parts = []
    for stream in range(streams):
        rows = pc.indices_nonzero(pc.equal(assignment, stream))
        if len(rows):
            parts.append(_Part(table.take(rows), rows))
    return parts


def _send(
    connection: Connection,
    group: str,
    part: _Part,
    batch_rows: int,
    stop: threading.Event,
) -> Tuple[int, List[Tuple[int, str]], int]:
    """Writes one part, a batch per DoPut call, in order; returns the rows
    written, the failed rows as (table row, reason) and how many more
    failed rows the server counted without listing them."""
    descriptor = flight.FlightDescriptor.for_path(group)
    written = 0
    unlisted = 0
    failed: List[Tuple[int, str]] = []
    start = 0
    for batch in part.table.to_batches(max_chunksize=batch_rows):
        if stop.is_set():
            break
        if not batch.num_rows:
            continue
        result = _put(connection, descriptor, batch)
        written += int(result.get("rows_written", 0))
        unlisted += int(result.get("failed_rows_unlisted", 0))
        for row in result.get("failed_rows") or []:
            failed.append((part.table_row(start + int(row["index"])), str(row.get("reason", ""))))
        start += batch.num_rows
    return written, failed, unlisted


def _put(connection: Connection, descriptor: flight.FlightDescriptor, batch: pa.RecordBatch) -> Dict[str, Any]:
    """Sends ``batch`` as one DoPut call, which the server must answer
    within the connection's timeout; returns its result."""
    with connection.calling():
        writer, reader = connection.flight.do_put(descriptor, batch.schema, connection.options())
        try:
            writer.write_batch(batch)
            writer.done_writing()
            buffer = reader.read()
        except BaseException as error:
            # Closing the call reports the server's status: why it ended
            # the call, if it did.
            try:
                writer.close()
            except BaseException as status:
                raise telling(error, status) from None
            raise
        writer.close()  # raises the server's error, if it sent one
    if buffer is None:
        raise AlmanacError("INTERNAL", "the server ended an ingest call without its result")
    return json.loads(buffer.to_pybytes().decode("utf-8"))


def _failed_rows_output(failed: List[Tuple[int, str]], index: Any):
    failed.sort(key=lambda f: f[0])
    records = []
    for row, reason in failed:
        label = row
        if index is not None:
            label = index[row]
            if hasattr(label, "item") and type(label).__module__ == "numpy":
                label = label.item()
        records.append({"index": label, "reason": reason})
    pandas = pandas_module()
    if pandas is None:
        return records
    return pandas.DataFrame(records, columns=["index", "reason"])


def ingest_table(
    connection: Connection,
    description: Mapping[str, Any],
    table: pa.Table,
    index: Any = None,
    max_workers: int = 4,
    batch_rows: int = 65_536,
) -> IngestResult:
    """Ingests ``table`` into the group ``description`` describes (as
    :meth:`Client.describe_feature_group` returns it). ``index`` labels the
    rows in ``failed_rows`` (a pandas Index, or None for row numbers)."""
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    started = time.monotonic()
    group = description["feature_group_name"]
    table = with_plain_types(table)  # categoricals as their values
    rows = table.num_rows
    if rows == 0:
        return IngestResult(0, 0, _failed_rows_output([], index), time.monotonic() - started)
    row_bytes = max(1, table.nbytes // rows)
    batch_rows = max(1, min(batch_rows, _MAX_BATCH_BYTES // row_bytes))
    streams = max(1, min(int(max_workers), -(-rows // batch_rows)))
    parts = _partition(table, description.get("record_identifier_feature_name"), streams)
    stop = threading.Event()
    written = 0
    unlisted = 0
    failed: List[Tuple[int, str]] = []
    first_error: Optional[BaseException] = None
    with ThreadPoolExecutor(max_workers=len(parts), thread_name_prefix="almanac-ingest") as pool:
        futures = [pool.submit(_send, connection, group, part, batch_rows, stop) for part in parts]
        # One worker failing (say, on an unknown column) stops the others.
        wait(futures, return_when=FIRST_EXCEPTION)
        stop.set()
        for future in futures:
            try:
                part_written, part_failed, part_unlisted = future.result()
            except BaseException as error:
                first_error = first_error or error
                continue
            written += part_written
            failed.extend(part_failed)
            unlisted += part_unlisted
    if first_error is not None:
        raise first_error
    seconds = time.monotonic() - started
    return IngestResult(rows, written, _failed_rows_output(failed, index), seconds, unlisted)
