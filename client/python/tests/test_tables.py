"""Values of mixed object columns, sent as text for the server to parse
(no server needed)."""

import datetime

import numpy as np

from almanac._tables import value_as_text


def test_times_in_mixed_columns_go_as_iso_8601_utc():
    nanos = np.datetime64("2026-03-01T01:02:03.123456789", "ns")
    assert value_as_text(nanos) == "2026-03-01T01:02:03.123456Z"
    assert value_as_text(datetime.date(2026, 3, 1)) == "2026-03-01T00:00:00Z"
    aware = datetime.datetime(2026, 3, 1, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert value_as_text(aware) == "2026-03-01T01:00:00Z"


def test_other_values_go_as_their_text():
    assert value_as_text(np.int64(5)) == "5"
    assert value_as_text(1.5) == "1.5"
    assert value_as_text([1, 2]) == "[1, 2]"
    assert value_as_text(float("nan")) is None
    assert value_as_text(None) is None
