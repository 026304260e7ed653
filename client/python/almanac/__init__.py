"""Almanac: the Python client of the Almanac feature store.

Almanac keeps the features machine-learning models are trained on and
served with: feature groups of versioned records, an online store for
reads at prediction time and an offline store (Parquet) queried with SQL,
with time travel and point-in-time training sets. This package is the
SageMaker Feature Store workflow in a few calls::

    import almanac
    import pandas as pd

    df = pd.read_csv("reviews.tsv", sep="\\t")
    df["event_time"] = "2026-03-01T00:00:00Z"

    with almanac.Client("http://127.0.0.1:50051") as client:
        client.create_feature_group(
            "reviews", df, record_identifier="review_id", event_time="event_time"
        )
        result = client.ingest("reviews", df)          # rows_written, failed_rows
        client.get_record("reviews", "R1ABC")          # {"star_rating": 5, ...}
        client.query(
            "SELECT product_id, count(*) AS reviews, avg(star_rating) AS rating "
            "FROM reviews GROUP BY product_id HAVING count(*) >= 1000 "
            "ORDER BY rating DESC"
        )
        client.create_dataset(entities, ["reviews:star_rating,helpful_votes"])

It talks to the server through ``pyarrow.flight`` alone (pandas is
optional):

- control-plane and record calls are Flight actions named after the gRPC
  methods, with JSON bodies (``_actions``);
- ``ingest`` streams Arrow batches with Flight DoPut, over several
  concurrent streams (``ingest``);
- ``query`` is Arrow Flight SQL (``_flight_sql``);
- ``create_dataset`` is a Flight DoExchange (``_dataset``).

Feature definitions are inferred from a DataFrame's or Arrow table's column
types (``inference``). Server errors raise :class:`AlmanacError`
subclasses named after their gRPC status codes (``errors``). The client
waits at most ``connect_timeout`` (10 s) for a server to answer its first
call and ``timeout`` (60 s) for each answer after that (``_connection``).
"""

from .client import Client
from .errors import (
    AlmanacError,
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    InferenceError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
)
from .inference import infer_feature_definitions
from .ingest import IngestResult

__version__ = "0.1.0"

__all__ = [
    "Client",
    "IngestResult",
    "infer_feature_definitions",
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
]
