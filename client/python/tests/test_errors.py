"""Server errors reach the caller as Almanac exceptions with the right code
and the server's own message."""

import pyarrow as pa
import pyarrow.flight as flight
import pytest

import almanac
from almanac.errors import from_arrow_error

WRAPPERS = ("Flight returned", "gRPC returned", "debug context", "Detail:", "Client context")


def assert_clean(message):
    """The message is the server's, without pyarrow's wrapping."""
    assert message
    for wrapper in WRAPPERS:
        assert wrapper not in message, message


@pytest.fixture
def group(client, new_group):
    name = new_group("errors")
    client.create_feature_group(
        name,
        record_identifier="id",
        event_time="event_time",
        feature_definitions=[("id", "String"), ("event_time", "String"), ("star_rating", "Integral")],
    )
    return name


def test_bad_sql_is_invalid_argument(client, group):
    with pytest.raises(almanac.InvalidArgument) as raised:
        client.query(f"SELEC * FROM {group}")
    error = raised.value
    assert error.code == "INVALID_ARGUMENT"
    assert "SELEC" in error.message
    assert_clean(error.message)
    assert isinstance(error, ValueError)


def test_writes_through_sql_are_permission_denied(client, group):
    for sql in (f"DROP TABLE {group}", f"INSERT INTO {group} (id) VALUES ('x')"):
        with pytest.raises(almanac.PermissionDenied) as raised:
            client.query(sql)
        assert raised.value.code == "PERMISSION_DENIED"
        assert "read-only" in raised.value.message
        assert_clean(raised.value.message)


def test_unknown_group_is_not_found(client, new_group):
    name = new_group("nothing")
    with pytest.raises(almanac.NotFound) as raised:
        client.describe_feature_group(name)
    assert raised.value.code == "NOT_FOUND"
    assert name in raised.value.message
    assert_clean(raised.value.message)
    with pytest.raises(almanac.NotFound):
        client.get_record(name, "x")


def test_creating_a_group_twice_is_already_exists(client, group):
    with pytest.raises(almanac.AlreadyExists) as raised:
        client.create_feature_group(
            group,
            record_identifier="id",
            event_time="event_time",
            feature_definitions=[("id", "String"), ("event_time", "String")],
        )
    assert raised.value.code == "ALREADY_EXISTS"
    assert group in raised.value.message
    assert_clean(raised.value.message)


def test_bad_values_name_the_feature(client, group):
    with pytest.raises(almanac.InvalidArgument) as raised:
        client.put_record(group, {"id": "a", "event_time": "2026-01-01T00:00:00Z", "star_rating": "five"})
    assert "star_rating" in raised.value.message
    assert_clean(raised.value.message)
    with pytest.raises(almanac.InvalidArgument) as raised:
        client.get_record(group, "a", features=["no_such_feature"])
    assert "no_such_feature" in raised.value.message


def test_stale_hard_delete_is_failed_precondition(client, group):
    client.put_record(group, {"id": "a", "event_time": "2026-02-01T00:00:00Z", "star_rating": 3})
    with pytest.raises(almanac.FailedPrecondition) as raised:
        client.delete_record(group, "a", "2026-01-01T00:00:00Z", hard=True)
    assert raised.value.code == "FAILED_PRECONDITION"
    assert_clean(raised.value.message)
    assert client.get_record(group, "a", features=["star_rating"]) == {"star_rating": 3}


# Mapping pyarrow's exceptions, without a server: the texts are the ones
# pyarrow 14-26 produce.


@pytest.mark.parametrize(
    "error, kind, code, message",
    [
        (
            pa.ArrowInvalid(
                "Flight returned invalid argument error, with message: feature 'x' is Integral. "
                "gRPC client debug context: UNKNOWN:Error received from peer "
                "{grpc_message:\"feature 'x' is Integral\", grpc_status:3}. Client context: OK"
            ),
            almanac.InvalidArgument,
            "INVALID_ARGUMENT",
            "feature 'x' is Integral",
        ),
        (
            pa.ArrowInvalid("gRPC returned resource exhausted error, with message: too big. Detail: x"),
            almanac.ResourceExhausted,
            "RESOURCE_EXHAUSTED",
            "too big",
        ),
        (
            pa.ArrowInvalid("gRPC returned precondition failed error, with message: stale delete"),
            almanac.FailedPrecondition,
            "FAILED_PRECONDITION",
            "stale delete",
        ),
        (
            flight.FlightUnauthorizedError("Flight returned unauthorized error, with message: read-only"),
            almanac.PermissionDenied,
            "PERMISSION_DENIED",
            "read-only",
        ),
        (
            pa.ArrowKeyError("Flight returned not found error, with message: no group 'g'"),
            almanac.NotFound,
            "NOT_FOUND",
            "no group 'g'",
        ),
        (
            pa.ArrowException("Flight returned already exists error, with message: 'g' exists"),
            almanac.AlreadyExists,
            "ALREADY_EXISTS",
            "'g' exists",
        ),
        (
            flight.FlightUnavailableError("failed to connect to all addresses"),
            almanac.Unavailable,
            "UNAVAILABLE",
            "failed to connect to all addresses",
        ),
        (pa.ArrowKeyError("something else"), almanac.NotFound, "NOT_FOUND", "something else"),
    ],
)
def test_arrow_errors_map_to_almanac_errors(error, kind, code, message):
    mapped = from_arrow_error(error)
    assert type(mapped) is kind
    assert mapped.code == code
    assert mapped.message == message


def test_other_errors_are_not_mapped():
    assert from_arrow_error(KeyError("x")) is None
