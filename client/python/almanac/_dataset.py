"""Point-in-time datasets, built on the server over Arrow Flight DoExchange.

The request travels as JSON in the descriptor's command
(``{"build_dataset": {"features": [...], ...}}``), the entity table goes
in as Arrow, and the dataset comes back as Arrow: one row per entity row,
in the entity table's order, entity columns first.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import pyarrow as pa
import pyarrow.flight as flight

from ._actions import iso8601
from ._connection import Connection
from ._flight_sql import iter_chunks
from .errors import telling

Selection = Union[str, Mapping[str, Any]]


def parse_selection(spec: str) -> Dict[str, Any]:
    """``"group"``, ``"group:*"`` or ``"group:f1,f2"`` as a selection dict
    (an empty feature list means every feature but the record identifier)."""
    group, colon, rest = spec.partition(":")
    group = group.strip()
    if not group:
        raise ValueError(f"'{spec}' names no feature group; write GROUP:FEATURE,FEATURE")
    rest = rest.strip()
    if colon and not rest:
        raise ValueError(f"'{spec}' names no features after ':'; write GROUP:FEATURE,... or GROUP alone")
    features = [] if rest in ("", "*") else [f.strip() for f in rest.split(",")]
    if any(not f for f in features):
        raise ValueError(f"'{spec}' has an empty feature name in its list")
    return {"group": group, "features": features}


def _duration(value: Any) -> str:
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        micros = round(value * 1_000_000)
        return f"{micros}us"
    if isinstance(value, str):
        return value
    raise TypeError(f"a look-back is a duration string ('2h'), a timedelta or seconds, not {value!r}")


def dataset_request(
    features: Union[Selection, Sequence[Selection]],
    ttl: Optional[Mapping[str, Any]] = None,
    event_time_column: Optional[str] = None,
    written_before: Any = None,
    entity_columns: Optional[Mapping[str, str]] = None,
) -> Dict[str, Any]:
    """The JSON request of a dataset build (see :meth:`Client.create_dataset`)."""
    if isinstance(features, (str, Mapping)):
        features = [features]
    selections: List[Dict[str, Any]] = []
    for spec in features:
        selections.append(parse_selection(spec) if isinstance(spec, str) else dict(spec))
    if not selections:
        raise ValueError("select features of at least one feature group")
    groups = {s["group"] for s in selections}
    for option, per_group in (("ttl", ttl), ("entity_columns", entity_columns)):
        unknown = sorted(set(per_group or {}) - groups)
        if unknown:
            raise ValueError(f"{option} names groups with no selected features: {', '.join(unknown)}")
    for selection in selections:
        if ttl and selection["group"] in ttl:
            selection["ttl"] = _duration(ttl[selection["group"]])
        if entity_columns and selection["group"] in entity_columns:
            selection["entity_column"] = entity_columns[selection["group"]]
    request: Dict[str, Any] = {"features": selections}
    if event_time_column is not None:
        request["event_time_column"] = event_time_column
    if written_before is not None:
        request["written_before"] = (
            written_before if isinstance(written_before, str) else iso8601(written_before)
        )
    return request


def build_dataset(connection: Connection, entities: pa.Table, request: Mapping[str, Any]) -> pa.Table:
    """Sends ``entities`` with ``request`` and returns the dataset. The call
    must not go quiet (no message either way) for longer than the
    connection's timeout."""
    command = json.dumps({"build_dataset": request}).encode("utf-8")
    with connection.calling():
        writer, reader = connection.flight.do_exchange(flight.FlightDescriptor.for_command(command))
        with connection.watchdog(reader.cancel) as watchdog:
            try:
                writer.begin(entities.schema)
                for batch in entities.to_batches():
                    writer.write_batch(batch)
                    watchdog.progress()
                writer.done_writing()
                watchdog.progress()
                batches = []
                for chunk in iter_chunks(reader):
                    watchdog.progress()
                    batches.append(chunk.data)
                result = pa.Table.from_batches(batches, schema=reader.schema)
            except pa.ArrowException as error:
                if watchdog.fired:
                    with contextlib.suppress(pa.ArrowException):
                        writer.close()
                    raise connection.timed_out() from None
                # The server's status, when it refused the request, is what
                # closing the call reports; prefer it to a local write error.
                try:
                    writer.close()
                except pa.ArrowException as status:
                    raise telling(error, status) from None
                raise
        writer.close()
    return result
