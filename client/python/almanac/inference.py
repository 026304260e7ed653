"""Feature definitions: inferred from a DataFrame or Arrow schema, or
written by hand.

Inference follows SageMaker's ``load_feature_definitions``, extended to
collections:

==============================================  ==========================
column type                                     feature definition
==============================================  ==========================
integers (any width, signed or not)             Integral
floats, decimals                                Fractional
strings (object columns of str included)        String
timestamps, dates (datetime64, datetime, date)  String (sent as ISO-8601)
list of any of these                            its items' type, List
fixed-size list of floats (size n)              Fractional Vector of n
fixed-size list of anything else above          its items' type, List
pandas categorical                              its categories' type
==============================================  ==========================

The full table, which the Rust client follows too, is
``docs/inference.tsv`` in the repository.

Any other column (booleans, binary, structs, maps, an all-null column, an
object column of mixed types) raises :class:`~almanac.InferenceError`
naming it. The event-time column may also be numeric: it is then declared
Fractional, epoch seconds, as the server requires.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import pyarrow as pa

from ._tables import to_table
from .errors import InferenceError

FEATURE_TYPE_NUMBERS = {"integral": 1, "fractional": 2, "string": 3}
COLLECTION_NUMBERS = {None: 0, "none": 0, "list": 1, "set": 2, "vector": 3}

__all__ = ["infer_feature_definitions", "normalize_feature_definitions"]


def _scalar_type(arrow_type: pa.DataType) -> Optional[str]:
    """The feature type of one value of ``arrow_type``, if any holds it."""
    if pa.types.is_dictionary(arrow_type):
        return _scalar_type(arrow_type.value_type)
    if pa.types.is_integer(arrow_type):
        return "Integral"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "Fractional"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "String"
    if hasattr(pa.types, "is_string_view") and pa.types.is_string_view(arrow_type):
        return "String"
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return "String"
    return None


def _definition(name: str, arrow_type: pa.DataType) -> Dict[str, Any]:
    """The definition of one column of the given Arrow type: the rules of
    ``docs/inference.tsv``, which the tests of both clients read."""
    scalar = _scalar_type(arrow_type)
    if scalar is not None:
        return {"name": name, "type": scalar, "collection": None, "dimension": 0}
    if pa.types.is_fixed_size_list(arrow_type) and pa.types.is_floating(arrow_type.value_type):
        return {
            "name": name,
            "type": "Fractional",
            "collection": "Vector",
            "dimension": arrow_type.list_size,
        }
    if (
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
    ):
        element = _scalar_type(arrow_type.value_type)
        if element is None:
            raise InferenceError(
                f"column '{name}' is {arrow_type}: lists must hold integers, floats, "
                "decimals, strings, timestamps or dates"
            )
        return {"name": name, "type": element, "collection": "List", "dimension": 0}
    if pa.types.is_null(arrow_type):
        raise InferenceError(f"column '{name}' has only nulls: its type cannot be inferred")
    raise InferenceError(
        f"column '{name}' is {arrow_type}, which has no feature type "
        "(Integral, Fractional, String, or lists of them); convert it or give "
        "feature_definitions"
    )


def infer_feature_definitions(
    data: Any, event_time: Optional[str] = None
) -> List[Dict[str, Any]]:
    """Feature definitions for the columns of ``data``: a pandas DataFrame,
    a pyarrow Table, RecordBatch or Schema.

    Returns one ``{"name", "type", "collection", "dimension"}`` dict per
    column, in column order. ``event_time`` names the event-time column, so
    that a numeric one is declared Fractional (epoch seconds).
    """

    def mixed(name: str, error: Exception) -> None:
        raise InferenceError(
            f"column '{name}' holds values of mixed types, so its type cannot be inferred ({error})"
        ) from error

    if isinstance(data, pa.Schema):
        columns = [(field.name, field.type, None) for field in data]
    else:
        table, _ = to_table(data, on_mixed=mixed)
        columns = [(field.name, field.type, table.column(i)) for i, field in enumerate(table.schema)]
    definitions = []
    for name, arrow_type, column in columns:
        definition = _definition(name, arrow_type)
        if column is not None and len(column) > 0 and column.null_count == len(column):
            raise InferenceError(f"column '{name}' has only nulls: its type cannot be inferred")
        if name == event_time and definition["type"] == "Integral" and definition["collection"] is None:
            definition["type"] = "Fractional"
        definitions.append(definition)
    return definitions


DefinitionLike = Union[Mapping[str, Any], Sequence[Any]]


def _name_of(value: Any, names: Mapping[Any, int], what: str) -> int:
    if isinstance(value, int) and value in names.values():
        return value
    key = value.lower() if isinstance(value, str) else value
    if key not in names:
        choices = ", ".join(sorted(str(k).title() for k in names if isinstance(k, str) and k != "none"))
        raise ValueError(f"unknown {what} {value!r}; expected one of {choices}")
    return names[key]


def normalize_feature_definitions(definitions: Iterable[DefinitionLike]) -> List[Dict[str, Any]]:
    """Feature definitions in the wire form (enums as numbers).

    Each definition is a dict ``{"name", "type", "collection"?,
    "dimension"?}`` (``type`` Integral, Fractional or String, in any case;
    ``collection`` List, Set, Vector or None) or a ``(name, type)`` /
    ``(name, type, collection[, dimension])`` tuple.
    """
    wire = []
    for definition in definitions:
        if isinstance(definition, Mapping):
            name = definition.get("name")
            feature_type = definition.get("type")
            collection = definition.get("collection")
            dimension = definition.get("dimension") or 0
        else:
            parts = list(definition)
            if not 2 <= len(parts) <= 4:
                raise ValueError(
                    f"a feature definition tuple is (name, type[, collection[, dimension]]), not {definition!r}"
                )
            name, feature_type = parts[0], parts[1]
            collection = parts[2] if len(parts) > 2 else None
            dimension = parts[3] if len(parts) > 3 else 0
        if not isinstance(name, str) or not name:
            raise ValueError(f"a feature definition needs a name: {definition!r}")
        wire.append(
            {
                "name": name,
                "type": _name_of(feature_type, FEATURE_TYPE_NUMBERS, "feature type"),
                "collection": _name_of(collection, COLLECTION_NUMBERS, "collection type"),
                "dimension": int(dimension),
            }
        )
    return wire
