"""The Almanac client: one connection to a server, every call as a method."""

from __future__ import annotations

import datetime
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import pyarrow as pa

from . import _actions
from ._connection import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, Connection, flight_location
from ._dataset import build_dataset, dataset_request
from ._flight_sql import run_query
from ._tables import table_to_output, to_table, with_plain_types
from .errors import from_code
from .inference import infer_feature_definitions, normalize_feature_definitions
from .ingest import IngestResult, ingest_table

__all__ = ["Client", "flight_location"]

# What an argument that was not given is: None means something there.
_UNCHANGED: Any = object()

def _ttl_seconds(ttl: Any) -> Optional[int]:
    if ttl is None:
        return None
    if isinstance(ttl, datetime.timedelta):
        ttl = ttl.total_seconds()
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl < 0 or ttl != int(ttl):
        raise ValueError(f"a ttl is a whole number of seconds (or a timedelta), not {ttl!r}")
    return int(ttl)


class Client:
    """A connection to an Almanac server.

    ``Client("http://127.0.0.1:50051")`` connects over Arrow Flight (gRPC);
    ``https://host:port`` connects over TLS (and fails rather than fall
    back to plain text). Use it as a context manager, or call
    :meth:`close`. Server errors are raised as
    :class:`~almanac.AlmanacError` subclasses. The client may be shared
    between threads.

    ``connect_timeout`` (seconds or a timedelta; default 10) bounds the
    first call, made here, which checks that a server answers.
    ``timeout`` (default 60) bounds each wait for the server after that: a
    call's answer, or for a query's or dataset's rows the next message; an
    ingest's batches each get it. ``None`` waits without limit. Either
    passing raises :class:`~almanac.DeadlineExceeded`, whose message names
    it.
    """

    def __init__(
        self,
        url: str = "http://127.0.0.1:50051",
        *,
        connect_timeout: Any = DEFAULT_CONNECT_TIMEOUT,
        timeout: Any = DEFAULT_TIMEOUT,
    ):
        self.url = url
        self._connection = Connection(url, connect_timeout, timeout)

    def close(self) -> None:
        """Closes the connection."""
        self._connection.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    def _call(self, method: str, request: Mapping[str, Any]) -> Dict[str, Any]:
        return _actions.call(self._connection, method, request)

    # ------------------------------------------------------------ control plane

    def create_feature_group(
        self,
        name: str,
        data_frame: Any = None,
        *,
        record_identifier: str,
        event_time: str,
        feature_definitions: Optional[Iterable[Any]] = None,
        description: Optional[str] = None,
        tags: Optional[Mapping[str, Any]] = None,
        online: bool = True,
        offline: bool = True,
        ttl: Any = None,
    ) -> Dict[str, Any]:
        """Creates a feature group and returns its description.

        The features are ``feature_definitions`` when given (dicts
        ``{"name", "type", "collection", "dimension"}`` or ``(name, type)``
        tuples), else inferred from ``data_frame``'s columns (a pandas
        DataFrame or pyarrow Table/RecordBatch; see
        :func:`~almanac.infer_feature_definitions`). ``record_identifier``
        and ``event_time`` name two of them. ``ttl`` is the online store's
        default time to live in seconds (or a timedelta); ``tags`` a dict.
        """
        if feature_definitions is None:
            if data_frame is None:
                raise ValueError("give a data_frame to infer the features from, or feature_definitions")
            feature_definitions = infer_feature_definitions(data_frame, event_time=event_time)
        online_store: Dict[str, Any] = {"enabled": bool(online)}
        ttl_seconds = _ttl_seconds(ttl)
        if ttl_seconds is not None:
            online_store["default_ttl_seconds"] = ttl_seconds
        request = {
            "feature_group_name": name,
            "record_identifier_feature_name": record_identifier,
            "event_time_feature_name": event_time,
            "feature_definitions": normalize_feature_definitions(feature_definitions),
            "online_store": online_store,
            "offline_store": {"enabled": bool(offline)},
            "description": description or "",
            "tags": [{"key": str(k), "value": str(v)} for k, v in (tags or {}).items()],
        }
        response = self._call("CreateFeatureGroup", request)
        return _actions.description_from_wire(response.get("feature_group") or {})

    def describe_feature_group(self, name: str) -> Dict[str, Any]:
        """The group's description: the server's response with enums as
        names (``"Integral"``, ``"Created"``, ``"Active"``; a scalar
        feature's collection is None) and tags as a dict."""
        response = self._call("DescribeFeatureGroup", {"feature_group_name": name})
        return _actions.description_from_wire(response)

    def list_feature_groups(self, name_contains: Optional[str] = None) -> List[str]:
        """The names of the feature groups (whose name contains
        ``name_contains``, ignoring case), by name; every page."""
        names: List[str] = []
        token = ""
        while True:
            request: Dict[str, Any] = {"max_results": 100, "next_token": token}
            if name_contains:
                request["name_contains"] = name_contains
            response = self._call("ListFeatureGroups", request)
            names.extend(s["feature_group_name"] for s in response.get("feature_group_summaries") or [])
            token = response.get("next_token") or ""
            if not token:
                return names

    def delete_feature_group(self, name: str, purge_offline: bool = False) -> None:
        """Deletes a group: its online records at once; its offline files
        too when ``purge_offline``."""
        self._call("DeleteFeatureGroup", {"feature_group_name": name, "purge_offline": bool(purge_offline)})

    def update_feature_group(
        self,
        name: str,
        *,
        add_features: Optional[Iterable[Any]] = None,
        ttl: Any = _UNCHANGED,
        description: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Adds features (definitions as :meth:`create_feature_group` takes
        them; existing records read them as null), sets the online store's
        default ``ttl`` (seconds or a timedelta; 0 or None removes it), or
        replaces the ``description``. What is not given stays as it is.
        Returns the group's new description."""
        request: Dict[str, Any] = {
            "feature_group_name": name,
            "feature_additions": normalize_feature_definitions(add_features or []),
        }
        if ttl is not _UNCHANGED:
            request["default_ttl_seconds"] = _ttl_seconds(ttl) or 0
        if description is not None:
            request["description"] = description
        return _actions.description_from_wire(self._call("UpdateFeatureGroup", request))

    def describe_feature_metadata(self, name: str, feature: str) -> Dict[str, Any]:
        """A feature's metadata: ``feature`` (its definition),
        ``description``, ``parameters`` (a dict) and the creation and last
        modification times in epoch microseconds."""
        response = self._call(
            "DescribeFeatureMetadata", {"feature_group_name": name, "feature_name": feature}
        )
        return _actions.metadata_from_wire(response)

    def update_feature_metadata(
        self,
        name: str,
        feature: str,
        *,
        description: Optional[str] = None,
        parameters: Optional[Mapping[str, Any]] = None,
        remove_parameters: Optional[Iterable[str]] = None,
    ) -> Dict[str, Any]:
        """Replaces a feature's ``description``, adds or replaces
        ``parameters`` (a dict) and removes the keys in
        ``remove_parameters``; returns the feature's metadata as
        :meth:`describe_feature_metadata` does."""
        request: Dict[str, Any] = {
            "feature_group_name": name,
            "feature_name": feature,
            "parameter_additions": [
                {"key": str(k), "value": str(v)} for k, v in (parameters or {}).items()
            ],
            "parameter_removals": [str(k) for k in remove_parameters or []],
        }
        if description is not None:
            request["description"] = description
        return _actions.metadata_from_wire(self._call("UpdateFeatureMetadata", request))

    def search(self, query: str, resource: str = "all") -> List[Dict[str, Any]]:
        """Feature groups and features whose name, description, tags or
        parameters contain every word of ``query`` (ignoring case), every
        page. ``resource`` narrows it to ``"feature_group"`` or
        ``"feature"``. Each hit is a dict: ``resource`` (``"FeatureGroup"``
        or ``"Feature"``), ``feature_group_name``, ``feature_name`` (for a
        feature) and ``description``."""
        try:
            kind = _actions.SEARCH_RESOURCES[resource.lower()]
        except (KeyError, AttributeError):
            raise ValueError(
                f"resource is 'all', 'feature_group' or 'feature', not {resource!r}"
            ) from None
        hits: List[Dict[str, Any]] = []
        token = ""
        while True:
            response = self._call(
                "Search",
                {"query": query, "resource": kind, "max_results": 100, "next_token": token},
            )
            hits.extend(_actions.search_hit_from_wire(h) for h in response.get("hits") or [])
            token = response.get("next_token") or ""
            if not token:
                return hits

    # ------------------------------------------------------------ records

    def put_record(
        self,
        name: str,
        record: Mapping[str, Any],
        target_stores: Optional[Sequence[Any]] = None,
        ttl_seconds: Any = None,
    ) -> None:
        """Writes one record version: a ``{feature: value}`` dict with ints,
        floats, strings, lists of them, datetimes (sent as ISO-8601 UTC) or
        None. ``target_stores`` is ``["online"]``, ``["offline"]`` or both
        (default: every store the group has)."""
        request: Dict[str, Any] = {
            "feature_group_name": name,
            "record": _actions.encode_record(record),
            "target_stores": _actions.target_stores(target_stores),
        }
        ttl = _ttl_seconds(ttl_seconds)
        if ttl is not None:
            request["ttl_seconds"] = ttl
        self._call("PutRecord", request)

    def get_record(
        self, name: str, record_id: Any, features: Optional[Sequence[str]] = None
    ) -> Optional[Dict[str, Any]]:
        """The record's latest live version as ``{feature: value}`` (null
        features left out, as the server sends them), or None when there is
        none. Collections come back as lists."""
        response = self._call(
            "GetRecord",
            {
                "feature_group_name": name,
                "record_identifier_value_as_string": _actions.record_id_text(record_id),
                "feature_names": list(features or []),
            },
        )
        record = response.get("record") or []
        return _actions.decode_record(record) if record else None

    def batch_get_record(
        self, name: str, record_ids: Iterable[Any], features: Optional[Sequence[str]] = None
    ) -> List[Dict[str, Any]]:
        """The live records among ``record_ids``, as dicts like
        :meth:`get_record`'s (each with the record identifier), in the
        server's order; ids without a live record are left out. Identifiers
        over the server's per-call cap are asked for again. A per-id error
        (a malformed id, say) is raised."""
        pending = [
            {
                "feature_group_name": name,
                "record_identifiers_value_as_string": [_actions.record_id_text(i) for i in record_ids],
                "feature_names": list(features or []),
            }
        ]
        records: List[Dict[str, Any]] = []
        while pending and any(p["record_identifiers_value_as_string"] for p in pending):
            response = self._call("BatchGetRecord", {"identifiers": pending})
            errors = response.get("errors") or []
            if errors:
                first = errors[0]
                raise from_code(int(first.get("error_code", 2)), first.get("error_message", ""))
            records.extend(_actions.decode_record(r.get("record") or []) for r in response.get("records") or [])
            pending = response.get("unprocessed_identifiers") or []
        return records

    def delete_record(self, name: str, record_id: Any, event_time: Any, hard: bool = False) -> None:
        """Deletes a record as of ``event_time`` (a datetime, ISO-8601 UTC
        text or epoch seconds): a soft delete hides it, a hard one removes
        it from the online store; the offline store gets a delete marker."""
        self._call(
            "DeleteRecord",
            {
                "feature_group_name": name,
                "record_identifier_value_as_string": _actions.record_id_text(record_id),
                "event_time": _actions.event_time_text(event_time),
                "deletion_mode": 1 if hard else 0,
            },
        )

    def list_records(
        self, name: str, include_soft_deleted: bool = False, limit: Optional[int] = None
    ) -> List[Dict[str, Any]]:
        """The record identifiers in the online store, in key order, each
        as ``{"record_id", "event_time" (a UTC datetime), "soft_deleted"}``:
        every page, or the first ``limit``. Expired records are left out,
        soft-deleted ones unless ``include_soft_deleted``."""
        if limit is not None and limit < 0:
            raise ValueError("limit must not be negative")
        records: List[Dict[str, Any]] = []
        token = ""
        while limit is None or len(records) < limit:
            page_size = 1000 if limit is None else min(1000, limit - len(records))
            response = self._call(
                "ListRecords",
                {
                    "feature_group_name": name,
                    "page_size": page_size,
                    "page_token": token,
                    "include_soft_deleted": bool(include_soft_deleted),
                },
            )
            records.extend(_actions.listed_record_from_wire(r) for r in response.get("records") or [])
            # A page may be short, even empty, and still have a token.
            token = response.get("next_page_token") or ""
            if not token:
                break
        return records if limit is None else records[:limit]

    def ingest(
        self, name: str, data_frame: Any, max_workers: int = 4, batch_rows: int = 65_536
    ) -> IngestResult:
        """Writes every row of ``data_frame`` (a pandas DataFrame or pyarrow
        Table/RecordBatch) to the group, in Arrow batches of ``batch_rows``
        sent by up to ``max_workers`` concurrent workers, each batch as a
        call the server must answer within the client's ``timeout``.

        Bad rows do not raise: they are in the result's ``failed_rows`` with
        the server's reason. A problem with the whole table (an unknown
        column, a missing identifier or event-time column, an unknown group)
        raises. The DataFrame's index is not sent.
        """
        description = self.describe_feature_group(name)
        table, index = to_table(data_frame)
        return ingest_table(self._connection, description, table, index, max_workers, batch_rows)

    # ------------------------------------------------------------ SQL and datasets

    def query(self, sql: str, to_arrow: bool = False) -> Any:
        """Runs SQL over the offline store (each group is a table of its
        whole history; ``as_of('g', TIMESTAMP '...')`` and ``FOR SYSTEM_TIME
        AS OF`` travel in time). Returns a pandas DataFrame (list columns as
        Python lists), or a pyarrow Table with ``to_arrow=True`` or when
        pandas is missing."""
        return table_to_output(run_query(self._connection, sql), to_arrow)

    def create_dataset(
        self,
        entity_df: Any,
        features: Union[str, Sequence[Any]],
        ttl: Optional[Mapping[str, Any]] = None,
        event_time_column: Optional[str] = None,
        written_before: Any = None,
        entity_columns: Optional[Mapping[str, str]] = None,
        to_arrow: bool = False,
    ) -> Any:
        """A point-in-time-correct training set: for each row of
        ``entity_df`` (ids and an event time) and each selected group, the
        features of the group's version at or before the row's time.

        ``features`` holds ``"group:f1,f2"`` strings (``"group"`` alone: all
        features). ``ttl`` maps a group to its look-back (``"2h"``, a
        timedelta or seconds); ``entity_columns`` a group to the entity
        column with its ids (default: the column named like its record
        identifier). ``event_time_column`` defaults to the column named like
        a group's event time, ``event_time`` or ``event_timestamp``, or the
        only timestamp column. ``written_before`` (ISO-8601 UTC or a
        datetime) rebuilds the set as the store was at that instant.

        Returns one row per entity row, in order: the entity columns, then
        the features; a DataFrame, or a pyarrow Table with ``to_arrow``.
        """
        request = dataset_request(features, ttl, event_time_column, written_before, entity_columns)
        entities = with_plain_types(to_table(entity_df)[0])
        for position, field in enumerate(entities.schema):
            if pa.types.is_timestamp(field.type) and field.type.unit == "ns":
                # Almanac keeps time to the microsecond.
                micros = entities.column(position).cast(pa.timestamp("us", tz=field.type.tz), safe=False)
                entities = entities.set_column(position, field.name, micros)
        result = build_dataset(self._connection, entities, request)
        return table_to_output(result, to_arrow)
