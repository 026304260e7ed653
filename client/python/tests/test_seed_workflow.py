"""The SageMaker Feature Store workflow of the seed chapter, end to end:
reviews TSV -> DataFrame -> feature group inferred from it -> ingest ->
the seed SQL -> new versions -> time travel -> online read."""

import subprocess
import sys

import pandas as pd
import pytest

from conftest import MAKE_REVIEWS

ROWS = 20_000
FIRST = "2026-03-01T00:00:00Z"
SECOND = "2026-03-02T00:00:00Z"


def seed_query(source):
    return (
        "SELECT product_id, count(*) AS reviews, avg(star_rating) AS rating "
        f"FROM {source} GROUP BY product_id HAVING count(*) >= 1000 ORDER BY rating DESC"
    )


def popular_by_rating(df):
    """pandas' own answer to the seed query."""
    stats = df.groupby("product_id")["star_rating"].agg(reviews="count", rating="mean")
    return stats[stats["reviews"] >= 1000].sort_values("rating", ascending=False)


def assert_same_answer(got, expected):
    assert got["product_id"].tolist() == expected.index.tolist()
    assert got["reviews"].tolist() == expected["reviews"].tolist()
    assert got["rating"].tolist() == pytest.approx(expected["rating"].tolist(), rel=1e-12)


def test_reviews_workflow(client, new_group, tmp_path):
    path = tmp_path / "reviews.tsv"
    subprocess.run(
        [sys.executable, str(MAKE_REVIEWS), str(path), "--rows", str(ROWS), "--seed", "7"],
        check=True,
        capture_output=True,
    )
    df = pd.read_csv(path, sep="\t")
    assert len(df) == ROWS
    df["event_time"] = FIRST

    # Create the group from the DataFrame: types inferred from the columns.
    name = new_group("reviews")
    created = client.create_feature_group(
        name,
        df,
        record_identifier="review_id",
        event_time="event_time",
        description="Amazon customer reviews",
        tags={"source": "make_reviews"},
    )
    types = {d["name"]: d["type"] for d in created["feature_definitions"]}
    assert types == {
        "marketplace": "String",
        "customer_id": "Integral",
        "review_id": "String",
        "product_id": "String",
        "product_parent": "Integral",
        "product_title": "String",
        "product_category": "String",
        "star_rating": "Integral",
        "helpful_votes": "Integral",
        "total_votes": "Integral",
        "vine": "String",
        "verified_purchase": "String",
        "review_headline": "String",
        "review_body": "String",
        "review_date": "String",
        "event_time": "String",
    }
    assert all(d["collection"] is None for d in created["feature_definitions"])
    described = client.describe_feature_group(name)
    assert described["feature_definitions"] == created["feature_definitions"]
    assert described["record_identifier_feature_name"] == "review_id"
    assert described["event_time_feature_name"] == "event_time"
    assert described["status"] == "Created"
    assert described["tags"] == {"source": "make_reviews"}
    assert name in client.list_feature_groups(name_contains=name)

    # Ingest every row.
    result = client.ingest(name, df)
    assert result.rows == ROWS
    assert result.rows_written == ROWS
    assert len(result.failed_rows) == 0

    # The seed query gives pandas' answer: same products, counts, averages.
    expected = popular_by_rating(df)
    assert len(expected) >= 3, "make_reviews.py should make several popular products"
    assert expected["rating"].is_unique
    assert_same_answer(client.query(seed_query(name)), expected)

    # New versions of every review of the best-rated product: one star, a
    # day later.
    best = expected.index[0]
    changed = df[df["product_id"] == best].copy()
    changed["star_rating"] = 1
    changed["event_time"] = SECOND
    update = client.ingest(name, changed)
    assert update.rows_written == len(changed)
    assert len(update.failed_rows) == 0

    newer = df.copy()
    newer.loc[changed.index, "star_rating"] = 1
    expected_now = popular_by_rating(newer)
    assert expected_now.index[-1] == best

    # SQL sees every version; as_of the latest sees the new ratings...
    versions = client.query(f"SELECT count(*) AS n FROM {name}")
    assert versions["n"][0] == ROWS + len(changed)
    latest = client.query(seed_query(f"as_of('{name}', TIMESTAMP '2026-03-03T00:00:00Z')"))
    assert_same_answer(latest, expected_now)
    latest_ratings = client.query(
        f"SELECT review_id, star_rating FROM {name} "
        f"FOR SYSTEM_TIME AS OF TIMESTAMP '2026-03-03T00:00:00Z' WHERE product_id = '{best}'"
    )
    assert len(latest_ratings) == len(changed)
    assert set(latest_ratings["star_rating"]) == {1}

    # ... and as of the earlier time, the old ones.
    before = client.query(
        f"SELECT review_id, star_rating FROM {name} "
        f"FOR SYSTEM_TIME AS OF TIMESTAMP '2026-03-01T12:00:00Z' WHERE product_id = '{best}'"
    )
    old = dict(zip(changed["review_id"], df.loc[changed.index, "star_rating"]))
    assert dict(zip(before["review_id"], before["star_rating"])) == old
    assert_same_answer(
        client.query(seed_query(f"as_of('{name}', TIMESTAMP '2026-03-01T12:00:00Z')")), expected
    )

    # Online, a review reads as its new version, its text intact.
    def tricky(text):
        return "," in text and '"' in text and any(ord(c) > 127 for c in text)

    picked = changed[changed["review_body"].map(tricky)]
    assert len(picked), "make_reviews.py should write bodies with commas, quotes and non-ASCII text"
    row = picked.iloc[0]
    record = client.get_record(name, row["review_id"])
    assert record["star_rating"] == 1
    assert record["event_time"] == SECOND
    assert record["review_body"] == row["review_body"]
    assert record["review_headline"] == row["review_headline"]
    assert record["product_title"] == row["product_title"]
    assert record["customer_id"] == int(row["customer_id"])

    untouched = df[df["product_id"] != best].iloc[0]
    record = client.get_record(name, untouched["review_id"], features=["star_rating", "event_time"])
    assert record == {"star_rating": int(untouched["star_rating"]), "event_time": FIRST}
