"""Tabular input and output: pandas DataFrames, Arrow Tables and batches.

pandas is optional: it is only used when the caller passes a DataFrame
(then it is imported already) or asks for one back.
"""

from __future__ import annotations

import datetime
import json
import math
import sys
from typing import Any, Callable, Optional, Tuple

import pyarrow as pa


def pandas_module():
    """The pandas module, or None when it is not installed."""
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def is_data_frame(data: Any) -> bool:
    """Whether ``data`` is a pandas DataFrame (without importing pandas)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(data, pandas.DataFrame)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if type(value).__name__ in ("NaTType", "NAType"):
        return True
    return isinstance(value, float) and math.isnan(value)


def value_as_text(value: Any) -> Optional[str]:
    """One value of a mixed column as the text the server parses by the
    feature's declared type; missing values stay None."""
    if _missing(value):
        return None
    if type(value).__module__ == "numpy" and type(value).__name__ == "datetime64":
        # tolist() of a nanosecond datetime64 is an int; go through pandas'
        # or numpy's own ISO form instead (UTC, like naive datetimes).
        value = datetime.datetime.fromisoformat(
            str(value.astype("datetime64[us]"))
        ).replace(tzinfo=datetime.timezone.utc)
    elif hasattr(value, "tolist") and type(value).__module__ == "numpy":
        value = value.tolist()
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        value = datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc)
    if isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        from ._actions import iso8601

        return iso8601(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return json.dumps(list(value))
    return str(value)


def _column_as_text(series) -> pa.Array:
    return pa.array([value_as_text(v) for v in series], pa.string())


def to_table(
    data: Any, on_mixed: Optional[Callable[[str, Exception], None]] = None
) -> Tuple[pa.Table, Any]:
    """``data`` as an Arrow table, plus the DataFrame's index (None for
    Arrow input).

    A pandas column Arrow cannot convert as a whole (an object column of
    mixed types) is passed to ``on_mixed(name, error)`` when given (which
    may raise), then sent as text, each value parsed by the server.
    """
    if isinstance(data, pa.Table):
        return data, None
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data]), None
    if is_data_frame(data):
        names, arrays = [], []
        for position, name in enumerate(data.columns):
            series = data.iloc[:, position]
            try:
                array = pa.array(series, from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
                if on_mixed is not None:
                    on_mixed(str(name), error)
                array = _column_as_text(series)
            names.append(str(name))
            arrays.append(array)
        return pa.Table.from_arrays(arrays, names=names), data.index
    raise TypeError(
        f"expected a pandas DataFrame or a pyarrow Table or RecordBatch, not {type(data).__name__}"
    )


def _lists_as_python(frame, table: pa.Table):
    pandas = sys.modules["pandas"]
    for position, field in enumerate(table.schema):
        if pa.types.is_list(field.type) or pa.types.is_large_list(field.type) or pa.types.is_fixed_size_list(
            field.type
        ):
            values = pandas.Series(table.column(position).to_pylist(), index=frame.index, dtype=object)
            if hasattr(frame, "isetitem"):  # pandas >= 1.5; also right for repeated names
                frame.isetitem(position, values)
            else:
                frame[field.name] = values
    return frame


def table_to_output(table: pa.Table, to_arrow: bool):
    """The result of a query or dataset: the Arrow table itself when asked
    (or when pandas is missing), else a DataFrame whose list columns hold
    Python lists."""
    if to_arrow or pandas_module() is None:
        return table
    return _lists_as_python(table.to_pandas(), table)


def _plain_type(arrow_type: pa.DataType) -> pa.DataType:
    """The type the server reads for ``arrow_type``: dictionaries decoded,
    large and view strings and lists as their plain forms."""
    if pa.types.is_dictionary(arrow_type):
        return _plain_type(arrow_type.value_type)
    if pa.types.is_large_string(arrow_type):
        return pa.string()
    if hasattr(pa.types, "is_string_view") and pa.types.is_string_view(arrow_type):
        return pa.string()
    if pa.types.is_large_binary(arrow_type):
        return pa.binary()
    if pa.types.is_large_list(arrow_type) or pa.types.is_list(arrow_type):
        return pa.list_(_plain_type(arrow_type.value_type))
    if pa.types.is_fixed_size_list(arrow_type):
        return pa.list_(_plain_type(arrow_type.value_type), arrow_type.list_size)
    return arrow_type


def with_plain_types(table: pa.Table) -> pa.Table:
    """``table`` with every column cast to its :func:`_plain_type`."""
    for position, field in enumerate(table.schema):
        plain = _plain_type(field.type)
        if plain != field.type:
            table = table.set_column(position, field.name, table.column(position).cast(plain))
    return table
