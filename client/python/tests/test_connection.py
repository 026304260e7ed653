"""How the client reaches a server: addresses, TLS and timeouts. Servers
that accept connections but never answer are plain sockets in the test; a
client never waits on them for longer than its timeouts."""

import datetime
import socket
import threading
import time

import pytest
import pyarrow.flight as flight

import almanac
from almanac.client import flight_location

# Far above the 1 s timeouts, far below forever.
PATIENCE = 15


@pytest.mark.parametrize(
    "url, location",
    [
        ("http://127.0.0.1:50051", "grpc+tcp://127.0.0.1:50051"),
        ("https://features.example.com:443", "grpc+tls://features.example.com:443"),
        ("https://features.example.com", "grpc+tls://features.example.com:50051"),
        ("grpc+tls://h:1", "grpc+tls://h:1"),
        ("grpc://h:1", "grpc+tcp://h:1"),
        ("grpc+tcp://h:1", "grpc+tcp://h:1"),
        ("h:1", "grpc+tcp://h:1"),
    ],
)
def test_https_means_tls_and_http_plain_text(url, location):
    assert flight_location(url) == location


def test_other_schemes_are_refused():
    with pytest.raises(ValueError, match="not an Almanac address"):
        flight_location("ftp://h:1")


def never_accepting():
    """A listening socket whose connections the kernel accepts (into the
    backlog) but nobody takes: nothing is read, nothing answered."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    return listener


def mute():
    """A listening socket that accepts every connection and reads what it
    is sent, but never sends a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def drain(connection):
        with connection:
            while connection.recv(8192):
                pass

    def serve():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=drain, args=(connection,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener


@pytest.mark.parametrize("server", [never_accepting, mute])
def test_a_server_that_never_answers_fails_within_the_connect_timeout(server):
    listener = server()
    try:
        url = "http://127.0.0.1:%d" % listener.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(almanac.DeadlineExceeded) as caught:
            almanac.Client(url, connect_timeout=1, timeout=1)
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert 0.9 <= elapsed < PATIENCE
    assert caught.value.code == "DEADLINE_EXCEEDED"
    assert caught.value.message == f"cannot connect to {url} within 1s (connect_timeout)"
    assert isinstance(caught.value, TimeoutError)


def test_https_to_a_plain_text_server_fails_the_tls_handshake(url):
    address = url.split("://", 1)[-1]
    https = "https://" + address
    started = time.monotonic()
    with pytest.raises(almanac.Unavailable) as caught:
        almanac.Client(https, connect_timeout=5)
    assert time.monotonic() - started < PATIENCE
    message = caught.value.message
    assert message.startswith(f"cannot connect to {https} over TLS: "), message
    assert "handshake" in message.lower(), message


class StallingServer(flight.FlightServerBase):
    """A real Flight server that answers the client's first call (the
    connection check, ListActions) at once and then sits on every other
    call for far longer than the client's timeout."""

    def __init__(self):
        super().__init__("grpc+tcp://127.0.0.1:0")
        self.released = threading.Event()

    def list_actions(self, context):
        return []

    def do_action(self, context, action):
        self.released.wait(PATIENCE)
        return []

    def get_flight_info(self, context, descriptor):
        self.released.wait(PATIENCE)
        raise flight.FlightUnavailableError("released")


def test_each_call_gets_the_timeout():
    server = StallingServer()
    url = "http://127.0.0.1:%d" % server.port
    try:
        with almanac.Client(url, timeout=1) as client:
            for call in [client.list_feature_groups, lambda: client.query("SELECT 1")]:
                started = time.monotonic()
                with pytest.raises(almanac.DeadlineExceeded) as caught:
                    call()
                elapsed = time.monotonic() - started
                assert 0.9 <= elapsed < PATIENCE
                assert caught.value.message == f"no answer from {url} within 1s (timeout)"
    finally:
        server.released.set()
        server.shutdown()


def test_a_query_whose_rows_are_slower_than_the_timeout_fails(url):
    # The schema comes at once; the one row only after summing 10^11
    # numbers. The client gives up on the stream once it has been quiet
    # for the timeout.
    with almanac.Client(url, timeout=1) as client:
        started = time.monotonic()
        with pytest.raises(almanac.DeadlineExceeded) as caught:
            client.query("SELECT sum(value % 7) AS s FROM range(0, 100000000000)")
        elapsed = time.monotonic() - started
        assert 0.9 <= elapsed < PATIENCE
        assert caught.value.message == f"no answer from {url} within 1s (timeout)"
        # The connection is still good.
        assert client.query("SELECT 1 AS one", to_arrow=True).column("one").to_pylist() == [1]


def test_timeouts_take_seconds_a_timedelta_or_none(url):
    with almanac.Client(url, connect_timeout=datetime.timedelta(seconds=5), timeout=None) as client:
        assert isinstance(client.list_feature_groups(), list)
    for bad in [0, -1, "60s", True]:
        with pytest.raises(ValueError, match="timeout is a positive number of seconds"):
            almanac.Client(url, timeout=bad)
