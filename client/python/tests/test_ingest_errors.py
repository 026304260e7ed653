"""Bulk ingest with bad input: bad rows fail alone and are reported by
their DataFrame index label; a bad table or group fails the call."""

import pandas as pd
import pytest

import almanac

DEFINITIONS = [
    ("review_id", "String"),
    ("event_time", "String"),
    ("star_rating", "Integral"),
    ("helpful_votes", "Integral"),
    ("review_body", "String"),
]
GOOD_TIME = "2026-03-01T00:00:00Z"


def make_group(client, new_group):
    name = new_group("ingest")
    client.create_feature_group(
        name, record_identifier="review_id", event_time="event_time", feature_definitions=DEFINITIONS
    )
    return name


def count(client, name):
    return int(client.query(f"SELECT count(*) AS n FROM {name}")["n"][0])


def test_bad_rows_are_reported_by_index_label(client, new_group):
    name = make_group(client, new_group)
    labels = list(range(100, 112))
    review_ids = [f"R{label}" for label in labels]
    event_times = [GOOD_TIME] * len(labels)
    # Integral features given as text (parsed by the server), and a column
    # of mixed ints and strings (sent as text by the client).
    star_ratings = [str(1 + label % 5) for label in labels]
    helpful_votes = [label % 7 for label in labels]
    bodies = [f"review {label}, \"quoted\" — très bien ✓" for label in labels]

    star_ratings[labels.index(101)] = "five"  # not an integer
    review_ids[labels.index(103)] = None  # no identifier
    event_times[labels.index(104)] = "yesterday"  # not an ISO-8601 time
    helpful_votes[labels.index(106)] = "many"  # not an integer
    bad = {101: "star_rating", 103: "review_id", 104: "event_time", 106: "helpful_votes"}

    df = pd.DataFrame(
        {
            "review_id": review_ids,
            "event_time": event_times,
            "star_rating": star_ratings,
            "helpful_votes": helpful_votes,  # ints and a str: an object column
            "review_body": bodies,
        },
        index=labels,
    )
    assert df["helpful_votes"].dtype == object
    # Small batches over two streams: row numbers within batches must map
    # back to the right labels.
    result = client.ingest(name, df, max_workers=2, batch_rows=3)

    assert result.rows == len(labels)
    assert result.rows_written == len(labels) - len(bad)
    assert result.failed_rows_unlisted == 0
    failed = result.failed_rows
    assert list(failed.columns) == ["index", "reason"]
    assert failed["index"].tolist() == sorted(bad)
    for label, reason in zip(failed["index"], failed["reason"]):
        assert bad[label] in reason, f"the reason for row {label} should name {bad[label]}: {reason}"

    good = [label for label in labels if label not in bad]
    for label in good:
        record = client.get_record(name, f"R{label}")
        assert record is not None, f"row {label} should have been written"
        assert record["star_rating"] == 1 + label % 5
        assert record["helpful_votes"] == label % 7
        assert record["review_body"] == bodies[labels.index(label)]
    for label in (101, 104, 106):
        assert client.get_record(name, f"R{label}") is None

    # Nothing else reached the offline store either.
    assert count(client, name) == len(good)
    written = client.query(f"SELECT review_id FROM {name} ORDER BY review_id")
    assert written["review_id"].tolist() == sorted(f"R{label}" for label in good)


def test_arrow_input_reports_row_numbers(client, new_group):
    name = make_group(client, new_group)
    import pyarrow as pa

    table = pa.table(
        {
            "review_id": ["A", "B", "C"],
            "event_time": [GOOD_TIME, GOOD_TIME, "not a time"],
            "star_rating": pa.array([5, 4, 3], pa.int32()),
        }
    )
    result = client.ingest(name, table)
    assert result.rows_written == 2
    assert result.failed_rows["index"].tolist() == [2]
    assert "event_time" in result.failed_rows["reason"][0]


def test_unknown_column_fails_the_call(client, new_group):
    name = make_group(client, new_group)
    df = pd.DataFrame(
        {"review_id": ["R1"], "event_time": [GOOD_TIME], "star_rating": [5], "sentiment": ["positive"]}
    )
    with pytest.raises(almanac.InvalidArgument) as raised:
        client.ingest(name, df)
    assert raised.value.code == "INVALID_ARGUMENT"
    assert "sentiment" in raised.value.message
    assert count(client, name) == 0


def test_missing_event_time_column_fails_the_call(client, new_group):
    name = make_group(client, new_group)
    df = pd.DataFrame({"review_id": ["R1"], "star_rating": [5]})
    with pytest.raises(almanac.InvalidArgument) as raised:
        client.ingest(name, df)
    assert "event_time" in raised.value.message
    assert count(client, name) == 0


def test_unknown_group_is_not_found(client, new_group):
    name = new_group("missing")  # never created
    df = pd.DataFrame({"review_id": ["R1"], "event_time": [GOOD_TIME]})
    with pytest.raises(almanac.NotFound) as raised:
        client.ingest(name, df)
    assert raised.value.code == "NOT_FOUND"
    assert name in raised.value.message
