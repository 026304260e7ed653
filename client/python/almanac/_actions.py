"""The JSON actions: Almanac's gRPC methods called as Arrow Flight actions.

An action's type is the method's name (``"GetRecord"``) and its body the
request message as JSON, with the protobuf field names and enums as
numbers; the one result's body is the response in the same form. This
module makes those calls and converts between Python values and the
wire's ``Value`` and ``FeatureDefinition`` messages.
"""

from __future__ import annotations

import datetime
import json
import math
import numbers
from typing import Any, Dict, Iterable, List, Mapping, Optional

import pyarrow.flight as flight

from ._connection import Connection
from .errors import AlmanacError

# Enum numbers and the names the client shows for them.
FEATURE_TYPES = {1: "Integral", 2: "Fractional", 3: "String"}
COLLECTION_TYPES = {0: None, 1: "List", 2: "Set", 3: "Vector"}
GROUP_STATUSES = {0: "Unspecified", 1: "Created"}
OFFLINE_STATUSES = {0: "Unspecified", 1: "Active", 2: "Blocked", 3: "Disabled"}
TARGET_STORES = {"online": 1, "offline": 2}
SEARCH_RESOURCES = {"all": 0, "feature_group": 1, "feature": 2}
SEARCH_HIT_RESOURCES = {0: "All", 1: "FeatureGroup", 2: "Feature"}


def call(connection: Connection, method: str, request: Mapping[str, Any]) -> Dict[str, Any]:
    """Calls ``method`` with ``request`` and returns the decoded response;
    the server must answer within the connection's timeout."""
    body = json.dumps(request, allow_nan=False).encode("utf-8")
    with connection.calling():
        results = list(connection.flight.do_action(flight.Action(method, body), connection.options()))
    if len(results) != 1:
        raise AlmanacError(
            "INTERNAL", f"{method} returned {len(results)} results; expected exactly one"
        )
    payload = results[0].body.to_pybytes()
    return json.loads(payload.decode("utf-8")) if payload else {}


# ---------------------------------------------------------------- values


def iso8601(moment: Any) -> str:
    """``moment`` (a datetime, date or pandas Timestamp) as ISO-8601 UTC
    text, ``yyyy-MM-ddTHH:mm:ss[.ffffff]Z``. Naive datetimes are taken as
    UTC."""
    if isinstance(moment, datetime.datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
        if moment.microsecond:
            text += f".{moment.microsecond:06d}"
        return text + "Z"
    if isinstance(moment, datetime.date):
        return moment.strftime("%Y-%m-%dT00:00:00Z")
    raise TypeError(f"{moment!r} is not a datetime or date")


def _is_datetime(value: Any) -> bool:
    # pandas Timestamps are datetime subclasses; numpy datetime64 values
    # become datetimes in `_plain`.
    return isinstance(value, (datetime.datetime, datetime.date))


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python values; pandas' NaT and NA as None."""
    if type(value).__name__ in ("NaTType", "NAType"):
        return None  # pandas' missing values
    kind = type(value).__module__
    if kind == "numpy":
        if type(value).__name__ == "datetime64":
            value = value.astype("datetime64[us]").item()
        elif hasattr(value, "tolist"):
            return value.tolist()
    return value


def _float(value: float) -> Optional[float]:
    if math.isnan(value):
        return None  # pandas' missing value
    if math.isinf(value):
        raise ValueError(f"{value} cannot be stored: fractional features must be finite")
    return value


def encode_value(value: Any) -> Dict[str, Any]:
    """A Python value as a wire ``Value``.

    int -> integral, float -> fractional, str -> string, datetime/date ->
    ISO-8601 UTC string, a list/tuple/set of ints, floats or strs -> the
    list kinds (an empty one as the text ``"[]"``, which the server reads
    by the feature's declared type), None or NaN -> null.
    """
    value = _plain(value)
    if value is None:
        return {"kind": None}
    if isinstance(value, bool):
        raise TypeError("booleans are not a feature type; send 0/1 or a string")
    if isinstance(value, numbers.Integral):
        return {"kind": {"integral": int(value)}}
    if isinstance(value, numbers.Real):
        number = _float(float(value))
        return {"kind": None} if number is None else {"kind": {"fractional": number}}
    if isinstance(value, str):
        return {"kind": {"string": value}}
    if _is_datetime(value):
        return {"kind": {"string": iso8601(value)}}
    if isinstance(value, (list, tuple, set, frozenset)):
        return _encode_list(value)
    raise TypeError(f"{type(value).__name__} values cannot be stored: {value!r}")


def _encode_list(values: Iterable[Any]) -> Dict[str, Any]:
    items = [_plain(v) for v in values]
    if isinstance(values, (set, frozenset)):
        try:
            items.sort()
        except TypeError:
            pass
    if not items:
        return {"kind": {"text": "[]"}}
    if any(isinstance(v, bool) or v is None for v in items):
        raise TypeError("collection values must be ints, floats or strings, without None")
    if all(isinstance(v, numbers.Integral) for v in items):
        return {"kind": {"integral_list": {"values": [int(v) for v in items]}}}
    if all(isinstance(v, numbers.Real) for v in items):
        floats = [float(v) for v in items]
        if not all(math.isfinite(v) for v in floats):
            raise ValueError("fractional collections must hold finite numbers")
        return {"kind": {"fractional_list": {"values": floats}}}
    if all(isinstance(v, str) for v in items):
        return {"kind": {"string_list": {"values": items}}}
    raise TypeError(f"a collection must hold only ints, only floats or only strings: {items!r}")


def decode_value(value: Optional[Mapping[str, Any]]) -> Any:
    """A wire ``Value`` as a Python value (lists for every collection)."""
    if not value:
        return None
    kind = value.get("kind") if "kind" in value else value
    if not kind:
        return None
    ((name, inner),) = kind.items()
    if name == "integral":
        return int(inner)
    if name == "fractional":
        return None if inner is None else float(inner)
    if name in ("string", "text"):
        return inner
    if name in ("integral_list", "fractional_list", "string_list"):
        items = list((inner or {}).get("values", []))
        if name == "integral_list":
            return [int(v) for v in items]
        if name == "fractional_list":
            return [float(v) for v in items]
        return items
    raise AlmanacError("INTERNAL", f"unknown value kind '{name}' in a response")


def encode_record(record: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """A ``{feature: value}`` dict as a wire record."""
    return [{"feature_name": str(name), "value": encode_value(value)} for name, value in record.items()]


def decode_record(record: Iterable[Mapping[str, Any]]) -> Dict[str, Any]:
    """A wire record as a ``{feature: value}`` dict."""
    return {entry["feature_name"]: decode_value(entry.get("value")) for entry in record}


def record_id_text(record_id: Any) -> str:
    """A record identifier in the text form GetRecord and DeleteRecord take."""
    record_id = _plain(record_id)
    if isinstance(record_id, bool):
        raise TypeError("a record identifier is an int or a string")
    if isinstance(record_id, numbers.Integral):
        return str(int(record_id))
    if isinstance(record_id, str):
        return record_id
    raise TypeError(f"a record identifier is an int or a string, not {record_id!r}")


def event_time_text(event_time: Any) -> str:
    """An event time in the text form DeleteRecord takes: datetimes as
    ISO-8601 UTC, numbers as epoch seconds, strings as given."""
    event_time = _plain(event_time)
    if isinstance(event_time, str):
        return event_time
    if _is_datetime(event_time):
        return iso8601(event_time)
    if isinstance(event_time, numbers.Real) and not isinstance(event_time, bool):
        return repr(float(event_time))
    raise TypeError(f"an event time is a datetime, an ISO-8601 string or epoch seconds, not {event_time!r}")


# ---------------------------------------------------------------- enums


def _enum_name(names: Mapping[int, Any], value: Any) -> Any:
    if isinstance(value, int):
        return names.get(value, value)
    if isinstance(value, str):
        # A server that writes enum names (FEATURE_TYPE_INTEGRAL) instead of
        # numbers: keep the last word, capitalised.
        for name in names.values():
            if name is not None and value.upper().endswith("_" + name.upper()):
                return name
        if value.upper().endswith("_NONE"):
            return None
    return value


def definition_from_wire(definition: Mapping[str, Any]) -> Dict[str, Any]:
    """A wire FeatureDefinition with its enums as names."""
    return {
        "name": definition.get("name", ""),
        "type": _enum_name(FEATURE_TYPES, definition.get("type", 0)),
        "collection": _enum_name(COLLECTION_TYPES, definition.get("collection", 0)),
        "dimension": definition.get("dimension", 0) or 0,
    }


def description_from_wire(description: Mapping[str, Any]) -> Dict[str, Any]:
    """A FeatureGroupDescription with its enums as names and its tags as a
    dict; every other field as the server sent it."""
    result = dict(description)
    result["feature_definitions"] = [
        definition_from_wire(d) for d in description.get("feature_definitions") or []
    ]
    if "status" in result:
        result["status"] = _enum_name(GROUP_STATUSES, result["status"])
    state = result.get("offline_store_state")
    if isinstance(state, dict) and "status" in state:
        result["offline_store_state"] = dict(state, status=_enum_name(OFFLINE_STATUSES, state["status"]))
    result["tags"] = {t.get("key", ""): t.get("value", "") for t in description.get("tags") or []}
    return result


def metadata_from_wire(metadata: Mapping[str, Any]) -> Dict[str, Any]:
    """A FeatureMetadata with its definition's enums as names and its
    parameters as a dict."""
    result = dict(metadata)
    result["feature"] = definition_from_wire(metadata.get("feature") or {})
    result["parameters"] = {p.get("key", ""): p.get("value", "") for p in metadata.get("parameters") or []}
    result.setdefault("description", "")
    return result


def search_hit_from_wire(hit: Mapping[str, Any]) -> Dict[str, Any]:
    """A SearchHit with its resource as a name."""
    result = {
        "resource": _enum_name(SEARCH_HIT_RESOURCES, hit.get("resource", 0)),
        "feature_group_name": hit.get("feature_group_name", ""),
        "description": hit.get("description", ""),
    }
    if hit.get("feature_name"):
        result["feature_name"] = hit["feature_name"]
    return result


def listed_record_from_wire(record: Mapping[str, Any]) -> Dict[str, Any]:
    """A ListedRecord: its id, its event time as a UTC datetime and whether
    it is soft-deleted."""
    micros = int(record.get("event_time_micros", 0))
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return {
        "record_id": record.get("record_identifier_value_as_string", ""),
        "event_time": epoch + datetime.timedelta(microseconds=micros),
        "soft_deleted": bool(record.get("soft_deleted", False)),
    }


def target_stores(stores: Optional[Iterable[Any]]) -> List[int]:
    """``["online", "offline"]`` (or the enum numbers) as TargetStore numbers."""
    numbers_ = []
    for store in stores or []:
        if isinstance(store, int) and store in TARGET_STORES.values():
            numbers_.append(store)
        elif isinstance(store, str) and store.lower() in TARGET_STORES:
            numbers_.append(TARGET_STORES[store.lower()])
        else:
            raise ValueError(f"unknown target store {store!r}: use 'online' or 'offline'")
    return numbers_
