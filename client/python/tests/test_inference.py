"""Feature definitions inferred from DataFrames and Arrow schemas, and the
wire form of hand-written ones (no server needed)."""

import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import almanac
from almanac.inference import normalize_feature_definitions


def types(definitions):
    return {d["name"]: (d["type"], d["collection"], d["dimension"]) for d in definitions}


def test_data_frame_columns():
    df = pd.DataFrame(
        {
            "i8": np.array([1, 2], dtype=np.int8),
            "i64": [1, 2],
            "u32": np.array([1, 2], dtype=np.uint32),
            "f32": np.array([0.5, 1.5], dtype=np.float32),
            "f64": [0.5, np.nan],
            "text": ["a", "b"],
            "object_text": pd.Series(["a", None], dtype=object),
            "when": pd.to_datetime(["2026-01-01", "2026-01-02"]),
            "when_utc": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
            "day": [datetime.date(2026, 1, 1), datetime.date(2026, 1, 2)],
            "moment": [datetime.datetime(2026, 1, 1), None],
            "category": pd.Categorical(["x", "y"]),
            "ints": [[1, 2], []],
            "floats": [[0.5], None],
            "strings": [["a"], ["b", "c"]],
        }
    )
    assert types(almanac.infer_feature_definitions(df)) == {
        "i8": ("Integral", None, 0),
        "i64": ("Integral", None, 0),
        "u32": ("Integral", None, 0),
        "f32": ("Fractional", None, 0),
        "f64": ("Fractional", None, 0),
        "text": ("String", None, 0),
        "object_text": ("String", None, 0),
        "when": ("String", None, 0),
        "when_utc": ("String", None, 0),
        "day": ("String", None, 0),
        "moment": ("String", None, 0),
        "category": ("String", None, 0),
        "ints": ("Integral", "List", 0),
        "floats": ("Fractional", "List", 0),
        "strings": ("String", "List", 0),
    }


def test_arrow_vectors_and_schemas():
    table = pa.table(
        {
            "id": pa.array(["a"], pa.large_string()),
            "embedding": pa.array([[0.1, 0.2, 0.3]], pa.list_(pa.float32(), 3)),
            "event_time": pa.array([1.7e9]),
        }
    )
    expected = {
        "id": ("String", None, 0),
        "embedding": ("Fractional", "Vector", 3),
        "event_time": ("Fractional", None, 0),
    }
    assert types(almanac.infer_feature_definitions(table)) == expected
    assert types(almanac.infer_feature_definitions(table.schema)) == expected
    assert types(almanac.infer_feature_definitions(table.to_batches()[0])) == expected


def test_numeric_event_time_is_fractional():
    df = pd.DataFrame({"id": [1], "ts": [1_700_000_000]})
    definitions = types(almanac.infer_feature_definitions(df, event_time="ts"))
    assert definitions == {"id": ("Integral", None, 0), "ts": ("Fractional", None, 0)}


@pytest.mark.parametrize(
    "column",
    [
        [True, False],
        [b"raw", b"bytes"],
        [{"a": 1}, {"a": 2}],
        [None, None],
        [np.nan, np.nan],
        [1, "mixed"],
        [[True], [False]],
    ],
)
def test_unsupported_columns_name_the_column(column):
    df = pd.DataFrame({"id": ["a", "b"], "bad_column": pd.Series(column, dtype=object if column[0] is not np.nan else float)})
    with pytest.raises(almanac.InferenceError, match="bad_column"):
        almanac.infer_feature_definitions(df)


def test_inference_error_is_a_value_error():
    assert issubclass(almanac.InferenceError, ValueError)


def test_hand_written_definitions():
    wire = normalize_feature_definitions(
        [
            ("id", "String"),
            ("n", "integral"),
            {"name": "v", "type": "Fractional", "collection": "Vector", "dimension": 8},
            {"name": "tags", "type": "String", "collection": "Set"},
            ("xs", "Fractional", "List"),
        ]
    )
    assert wire == [
        {"name": "id", "type": 3, "collection": 0, "dimension": 0},
        {"name": "n", "type": 1, "collection": 0, "dimension": 0},
        {"name": "v", "type": 2, "collection": 3, "dimension": 8},
        {"name": "tags", "type": 3, "collection": 2, "dimension": 0},
        {"name": "xs", "type": 2, "collection": 1, "dimension": 0},
    ]
    with pytest.raises(ValueError, match="Boolean"):
        normalize_feature_definitions([("flag", "Boolean")])


def test_create_feature_group_needs_columns_or_definitions(url):
    # Refused by the client before any call is made.
    with almanac.Client(url) as client:
        with pytest.raises(ValueError):
            client.create_feature_group("g", record_identifier="id", event_time="t")


def _arrow_type(text):
    """A type in the notation of docs/inference.tsv, and the text left."""
    name = text
    for i, ch in enumerate(text):
        if ch in "(,)":
            name = text[:i]
            break
    rest = text[len(name):]
    simple = {
        "int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
        "uint8": pa.uint8(), "uint32": pa.uint32(), "uint64": pa.uint64(),
        "float16": pa.float16(), "float32": pa.float32(), "float64": pa.float64(),
        "utf8": pa.string(), "large_utf8": pa.large_string(), "date32": pa.date32(),
        "bool": pa.bool_(), "binary": pa.binary(), "null": pa.null(),
    }
    if name in simple:
        return simple[name], rest
    assert rest.startswith("("), text
    if name in ("decimal128", "timestamp"):
        inside, rest = rest[1:].split(")", 1)
        args = inside.split(",")
        if name == "decimal128":
            return pa.decimal128(int(args[0]), int(args[1])), rest
        return pa.timestamp(args[0], tz=args[1] if len(args) > 1 else None), rest
    inner, rest = _arrow_type(rest[1:])
    size = None
    if rest.startswith(","):
        size_text, rest = rest[1:].split(")", 1)
        size = int(size_text)
    else:
        assert rest.startswith(")"), text
        rest = rest[1:]
    if name == "dictionary":
        return pa.dictionary(pa.int32(), inner), rest
    if name == "list":
        return pa.list_(inner), rest
    if name == "large_list":
        return pa.large_list(inner), rest
    assert name == "fixed_size_list", text
    return pa.list_(inner, size), rest


def _written(definition):
    text = definition["type"]
    if definition["collection"] == "Vector":
        return f"{text} Vector {definition['dimension']}"
    if definition["collection"]:
        return f"{text} {definition['collection']}"
    return text


def test_every_row_of_the_shared_inference_table_holds():
    table = Path(__file__).resolve().parents[3] / "docs" / "inference.tsv"
    rows = 0
    for line in table.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        notation, expected = line.split("\t")
        arrow_type, rest = _arrow_type(notation)
        assert rest == "", notation
        schema = pa.schema([("column", arrow_type)])
        try:
            found = _written(almanac.infer_feature_definitions(schema)[0])
        except almanac.InferenceError as error:
            assert "column 'column'" in str(error), (notation, str(error))
            found = "error"
        assert found == expected, notation
        rows += 1
    assert rows > 30
