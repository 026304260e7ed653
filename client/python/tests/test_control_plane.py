"""The control-plane calls beyond create/describe/list/delete: updating a
group, feature metadata, search, and listing the online store's records."""

import datetime

import pytest

import almanac

UTC = datetime.timezone.utc

DEFINITIONS = [("review_id", "String"), ("event_time", "String"), ("stars", "Integral")]


def create(client, name):
    return client.create_feature_group(
        name,
        feature_definitions=DEFINITIONS,
        record_identifier="review_id",
        event_time="event_time",
        description="product reviews",
    )


def test_update_feature_group_adds_features_and_sets_ttl_and_description(client, new_group):
    name = new_group("upd")
    create(client, name)
    client.put_record(name, {"review_id": "r1", "event_time": "2026-03-01T00:00:00Z", "stars": 4})

    updated = client.update_feature_group(
        name, add_features=[("language", "String")], ttl=3600, description="reviews, v2"
    )
    assert [d["name"] for d in updated["feature_definitions"]][-1] == "language"
    assert updated["online_store"]["default_ttl_seconds"] == 3600
    assert updated["description"] == "reviews, v2"
    # A record written before the feature existed reads it as missing.
    assert "language" not in client.get_record(name, "r1")

    # Only what is given changes; a ttl of None removes the default.
    cleared = client.update_feature_group(name, ttl=None)
    assert not cleared["online_store"].get("default_ttl_seconds")
    assert cleared["description"] == "reviews, v2"

    with pytest.raises(almanac.InvalidArgument, match="stars"):
        client.update_feature_group(name, add_features=[("stars", "String")])
    with pytest.raises(almanac.NotFound):
        client.update_feature_group(name + "_missing", description="x")


def test_feature_metadata_round_trip(client, new_group):
    name = new_group("meta")
    create(client, name)
    metadata = client.update_feature_metadata(
        name,
        "stars",
        description="1 to 5",
        parameters={"unit": "stars", "owner": "ml"},
    )
    assert metadata["feature"] == {"name": "stars", "type": "Integral", "collection": None, "dimension": 0}
    assert metadata["description"] == "1 to 5"
    assert metadata["parameters"] == {"unit": "stars", "owner": "ml"}

    metadata = client.update_feature_metadata(name, "stars", remove_parameters=["owner"])
    assert metadata["parameters"] == {"unit": "stars"}
    assert client.describe_feature_metadata(name, "stars")["description"] == "1 to 5"

    with pytest.raises(almanac.InvalidArgument, match="nope"):
        client.describe_feature_metadata(name, "nope")


def test_search_finds_groups_and_features(client, new_group):
    name = new_group("srch")
    create(client, name)
    # Features match on their own name, description and parameters.
    client.update_feature_metadata(name, "stars", description=f"rating out of five ({name})")

    hits = client.search(name)
    assert {"resource": "FeatureGroup", "feature_group_name": name, "description": "product reviews"} in hits

    features = client.search(f"{name} five", resource="feature")
    assert [(h["resource"], h["feature_name"]) for h in features] == [("Feature", "stars")]

    with pytest.raises(ValueError, match="resource"):
        client.search("x", resource="tables")


def test_list_records_pages_through_the_online_store(client, new_group):
    name = new_group("lst")
    create(client, name)
    for i in range(5):
        client.put_record(name, {"review_id": f"r{i}", "event_time": "2026-03-01T00:00:00Z", "stars": i})
    client.delete_record(name, "r2", "2026-03-02T00:00:00Z")

    records = client.list_records(name)
    assert [r["record_id"] for r in records] == ["r0", "r1", "r3", "r4"]
    assert records[0]["event_time"] == datetime.datetime(2026, 3, 1, tzinfo=UTC)
    assert not any(r["soft_deleted"] for r in records)

    with_deleted = client.list_records(name, include_soft_deleted=True)
    assert [(r["record_id"], r["soft_deleted"]) for r in with_deleted][2] == ("r2", True)
    assert [r["record_id"] for r in client.list_records(name, limit=2)] == ["r0", "r1"]


def test_the_package_has_one_version_and_ships_its_type_hints():
    import importlib.metadata
    import pathlib

    assert importlib.metadata.version("almanac") == almanac.__version__
    assert (pathlib.Path(almanac.__file__).parent / "py.typed").is_file()
