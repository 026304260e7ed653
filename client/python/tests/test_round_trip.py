"""Values of every feature type through every path: bulk ingest, online
reads, SQL, PutRecord, batch reads, deletes, the control plane and
point-in-time datasets."""

import datetime

import numpy as np
import pyarrow as pa
import pytest

import almanac

UTC = datetime.timezone.utc

DEFINITIONS = [
    {"name": "id", "type": "Integral"},
    {"name": "event_time", "type": "String"},
    {"name": "i", "type": "Integral"},
    {"name": "f", "type": "Fractional"},
    {"name": "s", "type": "String"},
    {"name": "il", "type": "Integral", "collection": "List"},
    {"name": "fl", "type": "Fractional", "collection": "List"},
    {"name": "sl", "type": "String", "collection": "List"},
    {"name": "iset", "type": "Integral", "collection": "Set"},
    {"name": "fset", "type": "Fractional", "collection": "Set"},
    {"name": "sset", "type": "String", "collection": "Set"},
    {"name": "vec", "type": "Fractional", "collection": "Vector", "dimension": 4},
]

ARROW_TYPES = {
    "id": pa.int64(),
    "event_time": pa.string(),
    "i": pa.int64(),
    "f": pa.float64(),
    "s": pa.string(),
    "il": pa.list_(pa.int64()),
    "fl": pa.list_(pa.float64()),
    "sl": pa.list_(pa.string()),
    "iset": pa.list_(pa.int64()),
    "fset": pa.list_(pa.float64()),
    "sset": pa.list_(pa.string()),
    "vec": pa.list_(pa.float64(), 4),
}

# Sets are given in sorted order, so that any order the server keeps
# compares equal.
ROWS = [
    {
        "id": 1,
        "event_time": "2026-03-01T00:00:00Z",
        "i": 9007199254740993,  # 2**53 + 1: not a double
        "f": 0.1,
        "s": 'Très bon, "vraiment" génial — 5★',
        "il": [3, -1, 3],
        "fl": [0.5, -2.25, 1e-300],
        "sl": ["质量很好，推荐！", "emoji 😀", "tab\tand\nnewline"],
        "iset": [-7, 2, 40],
        "fset": [0.25, 1.5],
        "sset": ["a", "b,c", 'd"e'],
        "vec": [0.1, 0.2, 0.3, 0.4],
    },
    {
        "id": 2,
        "event_time": "2026-03-01T00:00:00.123456Z",
        "i": None,
        "f": None,
        "s": None,
        "il": None,
        "fl": None,
        "sl": None,
        "iset": None,
        "fset": None,
        "sset": None,
        "vec": None,
    },
    {
        "id": -3,
        "event_time": "2026-03-01T00:00:00Z",
        "i": -(2**63),
        "f": -1.5e300,
        "s": "",
        "il": [],
        "fl": [1.0],
        "sl": [""],
        "iset": [0],
        "fset": [-0.5],
        "sset": ["ü"],
        "vec": [-1.0, 0.0, 1.0, 2.5],
    },
]


def every_type_group(client, new_group):
    name = new_group("types")
    client.create_feature_group(
        name,
        record_identifier="id",
        event_time="event_time",
        feature_definitions=DEFINITIONS,
        description="every feature type",
        tags={"purpose": "round-trip"},
    )
    return name


def same_type(got, expected):
    """Type equality that ignores the names and nullability of list items."""
    if pa.types.is_fixed_size_list(expected):
        return (
            pa.types.is_fixed_size_list(got)
            and got.list_size == expected.list_size
            and got.value_type == expected.value_type
        )
    if pa.types.is_list(expected):
        return pa.types.is_list(got) and got.value_type == expected.value_type
    return got == expected


def without_nulls(row):
    return {k: v for k, v in row.items() if v is not None}


def test_ingest_get_record_and_sql_round_trip(client, new_group):
    name = every_type_group(client, new_group)
    schema = pa.schema([(d["name"], ARROW_TYPES[d["name"]]) for d in DEFINITIONS])
    table = pa.Table.from_pylist(ROWS, schema=schema)
    result = client.ingest(name, table)
    assert result.rows_written == len(ROWS)
    assert len(result.failed_rows) == 0

    # Online: exactly the values written (null features are left out).
    for row in ROWS:
        assert client.get_record(name, row["id"]) == without_nulls(row)

    # SQL: the same values in their Arrow types; lists as lists.
    got = client.query(f"SELECT * FROM {name} ORDER BY id DESC", to_arrow=True)
    for field in DEFINITIONS:
        if field["name"] != "event_time":
            assert same_type(got.schema.field(field["name"]).type, ARROW_TYPES[field["name"]]), field["name"]
    assert pa.types.is_timestamp(got.schema.field("event_time").type)
    columns = [d["name"] for d in DEFINITIONS if d["name"] != "event_time"]
    by_id = sorted(ROWS, key=lambda row: row["id"], reverse=True)
    assert got.select(columns).to_pylist() == [{c: row[c] for c in columns} for row in by_id]
    assert got["event_time"].to_pylist() == [
        datetime.datetime(2026, 3, 1, 0, 0, 0, 123456, tzinfo=UTC),  # id 2
        datetime.datetime(2026, 3, 1, tzinfo=UTC),  # id 1
        datetime.datetime(2026, 3, 1, tzinfo=UTC),  # id -3
    ]
    assert got["is_deleted"].to_pylist() == [False] * 3

    frame = client.query(f"SELECT id, il, sset, vec FROM {name} WHERE id = 1")
    assert frame["il"][0] == [3, -1, 3]
    assert frame["sset"][0] == ["a", "b,c", 'd"e']
    assert frame["vec"][0] == [0.1, 0.2, 0.3, 0.4]


def test_put_get_batch_get_and_delete(client, new_group):
    name = every_type_group(client, new_group)
    client.put_record(
        name,
        {
            "id": 10,
            "event_time": datetime.datetime(2026, 1, 1, tzinfo=UTC),
            "i": np.int64(7),
            "f": 3,  # an int into a Fractional feature
            "s": "x, \"y\" — z",
            "il": (1, 2),
            "fl": np.array([0.5, 1.5]),
            "sl": ["a"],
            "iset": {3, 1},
            "fset": [],
            "sset": None,
            "vec": [1.0, 2.0, 3.0, 4.0],
        },
    )
    client.put_record(name, {"id": 11, "event_time": "2026-02-01T00:00:00Z", "s": "eleven"})

    expected = {
        "id": 10,
        "event_time": "2026-01-01T00:00:00Z",
        "i": 7,
        "f": 3.0,
        "s": "x, \"y\" — z",
        "il": [1, 2],
        "fl": [0.5, 1.5],
        "sl": ["a"],
        "iset": [1, 3],
        "fset": [],
        "vec": [1.0, 2.0, 3.0, 4.0],
    }
    assert client.get_record(name, 10) == expected
    assert client.get_record(name, "10") == expected
    assert client.get_record(name, 10, features=["i", "s"]) == {"i": 7, "s": "x, \"y\" — z"}
    assert client.get_record(name, 999) is None

    found = client.batch_get_record(name, [10, 999, 11])
    assert sorted(found, key=lambda r: r["id"]) == [
        expected,
        {"id": 11, "event_time": "2026-02-01T00:00:00Z", "s": "eleven"},
    ]
    assert client.batch_get_record(name, [11], features=["id", "s"]) == [{"id": 11, "s": "eleven"}]
    with pytest.raises(almanac.InvalidArgument) as raised:
        client.batch_get_record(name, ["not-a-number"])
    assert "not-a-number" in raised.value.message

    # An older version changes nothing online; a newer one replaces it.
    client.put_record(name, {"id": 11, "event_time": "2026-01-15T00:00:00Z", "s": "older"})
    assert client.get_record(name, 11, features=["s"]) == {"s": "eleven"}

    # Soft delete: gone online, a delete marker offline.
    client.delete_record(name, 10, "2026-01-02T00:00:00Z")
    assert client.get_record(name, 10) is None
    last = client.query(
        f"SELECT id, is_deleted FROM {name} WHERE id = 10 ORDER BY write_time DESC LIMIT 1"
    )
    assert bool(last["is_deleted"][0]) is True
    # Hard delete with a datetime.
    client.delete_record(name, 11, datetime.datetime(2026, 3, 1, tzinfo=UTC), hard=True)
    assert client.get_record(name, 11) is None
    assert client.batch_get_record(name, [10, 11]) == []


def test_describe_list_and_delete_group(client, new_group):
    name = every_type_group(client, new_group)
    described = client.describe_feature_group(name)
    assert described["feature_group_name"] == name
    assert described["record_identifier_feature_name"] == "id"
    assert described["event_time_feature_name"] == "event_time"
    assert described["feature_definitions"] == [
        {
            "name": d["name"],
            "type": d["type"],
            "collection": d.get("collection"),
            "dimension": d.get("dimension", 0),
        }
        for d in DEFINITIONS
    ]
    assert described["status"] == "Created"
    assert described["offline_store_state"]["status"] == "Active"
    assert described["online_store"]["enabled"] is True
    assert described["offline_store"]["enabled"] is True
    assert described["description"] == "every feature type"
    assert described["tags"] == {"purpose": "round-trip"}

    suffix = name.split("_", 1)[1]
    assert client.list_feature_groups(name_contains=suffix.upper()) == [name]
    assert name in client.list_feature_groups()

    client.delete_feature_group(name)
    assert name not in client.list_feature_groups()
    with pytest.raises(almanac.NotFound):
        client.describe_feature_group(name)


def test_create_dataset_is_point_in_time(client, new_group):
    name = new_group("drivers")
    client.create_feature_group(
        name,
        record_identifier="driver_id",
        event_time="event_time",
        feature_definitions=[
            ("driver_id", "Integral"),
            ("event_time", "String"),
            ("trips", "Integral"),
            ("rate", "Fractional"),
        ],
        ttl=None,
    )
    client.put_record(name, {"driver_id": 1, "event_time": "2026-03-01T00:00:00Z", "trips": 10, "rate": 0.5})
    client.put_record(name, {"driver_id": 1, "event_time": "2026-03-01T02:00:00Z", "trips": 20, "rate": 0.75})
    client.put_record(name, {"driver_id": 2, "event_time": "2026-03-01T00:30:00Z", "trips": 5})

    pd = pytest.importorskip("pandas")
    entities = pd.DataFrame(
        {
            "driver_id": [1, 1, 1, 2, 3],
            "event_time": pd.to_datetime(
                [
                    "2026-03-01T01:00:00Z",  # between the versions: the first
                    "2026-03-01T03:00:00Z",  # after both: the second
                    "2026-02-28T00:00:00Z",  # before both: nothing
                    "2026-03-01T03:00:00Z",
                    "2026-03-01T03:00:00Z",  # no such driver
                ],
                utc=True,
            ),
        }
    )
    dataset = client.create_dataset(entities, [f"{name}:trips,rate"], to_arrow=True)
    assert dataset.column_names == ["driver_id", "event_time", "trips", "rate"]
    assert dataset["driver_id"].to_pylist() == [1, 1, 1, 2, 3]
    assert dataset["trips"].to_pylist() == [10, 20, None, 5, None]
    assert dataset["rate"].to_pylist() == [0.5, 0.75, None, None, None]

    # A 90-minute look-back drops driver 2's version (2.5 hours old).
    frame = client.create_dataset(entities, [f"{name}:trips"], ttl={name: "90m"})
    assert list(frame.columns) == ["driver_id", "event_time", "trips"]
    assert [None if pd.isna(v) else int(v) for v in frame["trips"]] == [10, 20, None, None, None]

    # The store as it was before the second version was written.
    first_written = client.query(f"SELECT write_time FROM {name} WHERE trips = 10", to_arrow=True)
    written_before = first_written["write_time"][0].as_py()
    earlier = client.create_dataset(
        entities, [f"{name}:trips"], written_before=written_before, to_arrow=True
    )
    assert earlier["trips"].to_pylist() == [10, 10, None, None, None]

    # Entity ids from another column.
    renamed = entities.rename(columns={"driver_id": "driver"})
    joined = client.create_dataset(
        renamed, [f"{name}:trips"], entity_columns={name: "driver"}, to_arrow=True
    )
    assert joined["trips"].to_pylist() == [10, 20, None, 5, None]
