"""Exceptions raised by the Almanac client.

Every error the server reports becomes an :class:`AlmanacError` (or one of
its subclasses, chosen by the gRPC status code), carrying the status code's
name in ``code`` and the server's own message in ``message``. pyarrow wraps
a server error in text of its own ("Flight returned invalid argument error,
with message: ...", then gRPC debug context); :func:`from_arrow_error`
strips that wrapping again.
"""

from __future__ import annotations

import contextlib
import re
from typing import Dict, Optional, Type

import pyarrow as pa
import pyarrow.flight as flight

__all__ = [
    "AlmanacError",
    "InvalidArgument",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Unavailable",
    "DeadlineExceeded",
    "InferenceError",
    "from_arrow_error",
    "from_code",
    "translated",
    "telling",
]


class AlmanacError(Exception):
    """An error reported by the Almanac server (or its transport).

    Attributes:
        code: the gRPC status code's name, e.g. ``"INVALID_ARGUMENT"``.
        message: the server's message, without pyarrow's wrapping.
    """

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class InvalidArgument(AlmanacError, ValueError):
    """Malformed or invalid input: an unknown feature, a bad value, bad SQL."""


class NotFound(AlmanacError, LookupError):
    """The feature group (or another named resource) does not exist."""


class AlreadyExists(AlmanacError):
    """The name is taken, e.g. by an existing feature group."""


class PermissionDenied(AlmanacError):
    """Refused: a write or DDL statement sent through SQL, or missing rights."""


class ResourceExhausted(AlmanacError):
    """A message, batch or query went over one of the server's limits."""


class FailedPrecondition(AlmanacError):
    """The call does not apply in the current state, e.g. a stale hard delete."""


class Unavailable(AlmanacError):
    """The server or its storage is unreachable; the call may be retried."""


class DeadlineExceeded(AlmanacError, TimeoutError):
    """No answer in time: the client's ``connect_timeout`` or ``timeout``
    passed (the message names which)."""


class InferenceError(ValueError):
    """A column's type cannot be turned into a feature definition."""


# Status code numbers (google.rpc.Code) to names.
_CODE_NAMES = {
    0: "OK",
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}

_CLASSES: Dict[str, Type[AlmanacError]] = {
    "INVALID_ARGUMENT": InvalidArgument,
    "NOT_FOUND": NotFound,
    "ALREADY_EXISTS": AlreadyExists,
    "PERMISSION_DENIED": PermissionDenied,
    "RESOURCE_EXHAUSTED": ResourceExhausted,
    "FAILED_PRECONDITION": FailedPrecondition,
    "UNAVAILABLE": Unavailable,
    "DEADLINE_EXCEEDED": DeadlineExceeded,
}

# How Arrow Flight (C++) describes each status code in its error text:
# "Flight returned <description> error, with message: ..." or, for the
# codes Flight has no status of its own for, "gRPC returned <description>
# error, with message: ...".
_DESCRIPTIONS = {
    "invalid argument": "INVALID_ARGUMENT",
    "not found": "NOT_FOUND",
    "already exists": "ALREADY_EXISTS",
    "unauthorized": "PERMISSION_DENIED",
    "permission denied": "PERMISSION_DENIED",
    "unauthenticated": "UNAUTHENTICATED",
    "resource exhausted": "RESOURCE_EXHAUSTED",
    "precondition failed": "FAILED_PRECONDITION",
    "failed precondition": "FAILED_PRECONDITION",
    "unavailable": "UNAVAILABLE",
    "timeout": "DEADLINE_EXCEEDED",
    "timed out": "DEADLINE_EXCEEDED",
    "deadline exceeded": "DEADLINE_EXCEEDED",
    "unimplemented": "UNIMPLEMENTED",
    "internal": "INTERNAL",
    "aborted": "ABORTED",
    "out-of-range": "OUT_OF_RANGE",
    "out of range": "OUT_OF_RANGE",
    "data loss": "DATA_LOSS",
    "cancelled": "CANCELLED",
    "unknown": "UNKNOWN",
}

_PREFIX = re.compile(
    r"(?:Flight|gRPC) returned (?P<description>[a-z -]+?) error, with message: "
    r"|Flight cancelled call, with message: "
    r"|Flight RPC failed with message: "
)
# What pyarrow appends after the server's message.
_SUFFIXES = (
    ". gRPC client debug context:",
    ". Detail:",
    ". Client context:",
    "\ngRPC client debug context:",
    "\nDetail:",
    "\nClient context:",
)
_GRPC_STATUS = re.compile(r"grpc_status:(\d+)")


def from_code(code, message: str) -> AlmanacError:
    """The exception for a status code (its name or its number)."""
    if isinstance(code, int):
        code = _CODE_NAMES.get(code, "UNKNOWN")
    return _CLASSES.get(code, AlmanacError)(code, message)


def _code_from_type(error: BaseException) -> str:
    # Checked from the most specific type down: pyarrow raises ArrowInvalid
    # for several codes, so the type is only a fallback for the text.
    pairs = [
        (flight.FlightUnauthorizedError, "PERMISSION_DENIED"),
        (flight.FlightUnauthenticatedError, "UNAUTHENTICATED"),
        (flight.FlightUnavailableError, "UNAVAILABLE"),
        (flight.FlightTimedOutError, "DEADLINE_EXCEEDED"),
        (flight.FlightCancelledError, "CANCELLED"),
        (flight.FlightInternalError, "INTERNAL"),
        (pa.ArrowInvalid, "INVALID_ARGUMENT"),
        (pa.ArrowKeyError, "NOT_FOUND"),
        (pa.ArrowNotImplementedError, "UNIMPLEMENTED"),
        (pa.ArrowCapacityError, "RESOURCE_EXHAUSTED"),
    ]
    for kind, code in pairs:
        if isinstance(error, kind):
            return code
    return "UNKNOWN"


def _strip_suffix(message: str) -> str:
    cut = len(message)
    for suffix in _SUFFIXES:
        at = message.find(suffix)
        if at != -1:
            cut = min(cut, at)
    return message[:cut].strip()


def from_arrow_error(error: BaseException) -> Optional[AlmanacError]:
    """The Almanac error for an exception pyarrow raised on a Flight call.

    The code comes from pyarrow's text when it names one (its description
    of the status, or the ``grpc_status`` number in the debug context),
    else from the exception's type. Returns ``None`` when ``error`` is not
    an Arrow error, so that the caller re-raises it unchanged.
    """
    if isinstance(error, AlmanacError):
        return error
    if not isinstance(error, pa.ArrowException):
        return None
    text = str(error)
    code = None
    message = text
    match = _PREFIX.search(text)
    if match:
        message = text[match.end():]
        description = match.group("description")
        if description is not None:
            code = _DESCRIPTIONS.get(description.strip().lower())
        elif match.group(0).startswith("Flight cancelled"):
            code = "CANCELLED"
    if code is None:
        status = _GRPC_STATUS.search(text)
        if status:
            code = _CODE_NAMES.get(int(status.group(1)))
    if code is None:
        code = _code_from_type(error)
    return from_code(code, _strip_suffix(message))


@contextlib.contextmanager
def translated():
    """Re-raises the Arrow errors of the calls inside as Almanac errors."""
    try:
        yield
    except pa.ArrowException as error:
        raise from_arrow_error(error) from error


def telling(first: BaseException, second: BaseException) -> BaseException:
    """Of two errors one failed call raised (say a local write error, then
    the server's status on closing the call), the one that says more: the
    first, unless only the second carries a status code from the server."""
    vague = ("UNKNOWN", "INTERNAL")

    def code(error: BaseException) -> str:
        mapped = from_arrow_error(error)
        return mapped.code if mapped is not None else "UNKNOWN"

    if code(first) in vague and code(second) not in vague:
        return second
    return first
