"""The connection to a server: the Flight client, the address it was made
with, and the two timeouts every call honours.

``connect_timeout`` bounds the first call, made when the client is
created, which tells whether a server answers at all. ``timeout`` bounds
the wait for the server afterwards:

- a unary call (an action, a query's FlightInfo, each batch of an
  ingest, sent as its own DoPut) gets it as its gRPC deadline;
- a stream read from (a query's rows, a dataset) must not go quiet for
  longer: pyarrow has no per-message deadline, so a :class:`Watchdog`
  cancels the call once no message has gone either way for ``timeout``
  seconds. A stream's first message counts too (pyarrow's ``do_get``
  waits for it before returning; see :meth:`Connection.open_stream`).

``None`` for either timeout waits without limit.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime
import re
import threading
import time
from typing import Any, Callable, Iterator, Optional, TypeVar

import pyarrow.flight as flight

from .errors import DeadlineExceeded, Unavailable, translated

__all__ = ["Connection", "flight_location", "DEFAULT_CONNECT_TIMEOUT", "DEFAULT_TIMEOUT"]

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_TIMEOUT = 60.0

_ADDRESS = re.compile(r"^(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?(?P<host>\[[^\]]+\]|[^:/]+)(?::(?P<port>\d+))?/?$")
# Almanac addresses and the Flight scheme each stands for.
_SCHEMES = {
    None: "grpc+tcp",
    "http": "grpc+tcp",
    "grpc": "grpc+tcp",
    "grpc+tcp": "grpc+tcp",
    "https": "grpc+tls",
    "grpc+tls": "grpc+tls",
}

T = TypeVar("T")


def flight_location(url: str) -> str:
    """The Flight location of an Almanac address: ``http://host:port``,
    ``grpc://host:port``, ``grpc+tcp://host:port`` or ``host:port`` in
    plain text (``grpc+tcp://``); ``https://host:port`` or
    ``grpc+tls://host:port`` over TLS (``grpc+tls://``). The port defaults
    to 50051."""
    match = _ADDRESS.match(url.strip())
    if not match or match.group("scheme") not in _SCHEMES:
        raise ValueError(
            f"'{url}' is not an Almanac address such as http://127.0.0.1:50051, "
            "https://host:port (TLS), grpc://host:port or host:port"
        )
    scheme = _SCHEMES[match.group("scheme")]
    return f"{scheme}://{match.group('host')}:{match.group('port') or 50051}"


def seconds(value: Any, name: str) -> Optional[float]:
    """A timeout given as seconds or a timedelta, as seconds (None: none)."""
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} is a positive number of seconds, a timedelta or None, not {value!r}")
    return float(value)


def _text(timeout: float) -> str:
    """``1s``, ``60s``, ``0.5s``."""
    return f"{timeout:g}s"


class Connection:
    """A Flight client of the server at ``url``, checked to answer within
    ``connect_timeout`` seconds, whose calls wait at most ``timeout``."""

    def __init__(self, url: str, connect_timeout: Any, timeout: Any):
        self.url = url
        location = flight_location(url)
        self.tls = location.startswith("grpc+tls://")
        self.connect_timeout = seconds(connect_timeout, "connect_timeout")
        self.timeout = seconds(timeout, "timeout")
        self.flight = flight.FlightClient(location)
        try:
            self._check()
        except BaseException:
            self.flight.close()
            raise

    def _check(self) -> None:
        """Makes a first call, ListActions, to see that a server answers."""
        try:
            with translated():
                self.flight.list_actions(options=flight.FlightCallOptions(timeout=self.connect_timeout))
        except DeadlineExceeded as error:
            raise DeadlineExceeded(
                "DEADLINE_EXCEEDED",
                f"cannot connect to {self.url} within {_text(self.connect_timeout)} (connect_timeout)",
            ) from error
        except Unavailable as error:
            over = " over TLS" if self.tls else ""
            raise Unavailable("UNAVAILABLE", f"cannot connect to {self.url}{over}: {error.message}") from error

    def close(self) -> None:
        self.flight.close()

    def options(self) -> flight.FlightCallOptions:
        """Call options with ``timeout`` as the deadline, for unary calls."""
        return flight.FlightCallOptions(timeout=self.timeout)

    def timed_out(self) -> DeadlineExceeded:
        """The error of a call that waited longer than ``timeout``."""
        return DeadlineExceeded(
            "DEADLINE_EXCEEDED", f"no answer from {self.url} within {_text(self.timeout)} (timeout)"
        )

    @contextlib.contextmanager
    def calling(self) -> Iterator[None]:
        """Raises the Arrow errors of the calls inside as Almanac errors, a
        deadline of ``timeout`` passing as :meth:`timed_out`."""
        try:
            with translated():
                yield
        except DeadlineExceeded as error:
            # gRPC's own words for a deadline the client set; the server
            # never sends this status itself.
            if error.message.startswith("Deadline Exceeded"):
                raise self.timed_out() from error
            raise

    def watchdog(self, cancel: Callable[[], None]) -> "Watchdog":
        """A :class:`Watchdog` that calls ``cancel`` once a stream has been
        quiet for ``timeout`` seconds."""
        return Watchdog(self.timeout, cancel)

    def open_stream(self, open_call: Callable[[], T], cancel: Callable[[T], None]) -> T:
        """``open_call()``, a call that returns once the server's first
        message is in (pyarrow's ``do_get`` reads the schema eagerly), made
        on a helper thread and waited for at most ``timeout`` seconds. pyarrow
        cannot cancel it before it returns: a call still opening then is
        given up, and cancelled with ``cancel`` once it opens."""
        if self.timeout is None:
            return open_call()
        opened: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            try:
                opened.set_result(open_call())
            except BaseException as error:
                opened.set_exception(error)

        # A daemon thread: a call the server never answers must not keep
        # the interpreter from exiting.
        threading.Thread(target=run, name="almanac-open", daemon=True).start()
        try:
            return opened.result(self.timeout)
        except concurrent.futures.TimeoutError:
            opened.add_done_callback(lambda f: f.exception() is None and cancel(f.result()))
            raise self.timed_out() from None


class Watchdog:
    """Cancels a streaming call that makes no progress (no message sent or
    received, as :meth:`progress` reports) for ``timeout`` seconds. Used as
    a context manager around the call's reads and writes; ``fired`` tells
    whether it cancelled the call."""

    def __init__(self, timeout: Optional[float], cancel: Callable[[], None]):
        self._timeout = timeout
        self._cancel = cancel
        self._last = time.monotonic()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.fired = False

    def __enter__(self) -> "Watchdog":
        if self._timeout is not None:
            self._thread = threading.Thread(target=self._watch, name="almanac-watchdog", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def progress(self) -> None:
        """Reports a message sent or received."""
        self._last = time.monotonic()

    def _watch(self) -> None:
        assert self._timeout is not None
        while True:
            remaining = self._last + self._timeout - time.monotonic()
            if remaining <= 0:
                self.fired = True
                self._cancel()
                return
            if self._stop.wait(remaining):
                return

