"""Feature definitions inferred from DataFrames and Arrow schemas, and the
wire form of hand-written ones (no server needed)."""

import datetime

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
