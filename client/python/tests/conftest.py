"""Fixtures shared by the tests: a client of the server at ALMANAC_URL and
unique feature-group names (all tests share one server). The tests import
the installed package (`pip install ./client/python`)."""

import os
import pathlib
import uuid

import pytest

import almanac

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[1]

MAKE_REVIEWS = PACKAGE_ROOT / "examples" / "make_reviews.py"


@pytest.fixture(scope="session")
def url():
    """The server's address, e.g. http://127.0.0.1:50051."""
    value = os.environ.get("ALMANAC_URL")
    if not value:
        pytest.fail("set ALMANAC_URL to the address of a running Almanac server, e.g. http://127.0.0.1:50051")
    return value


@pytest.fixture
def client(url):
    with almanac.Client(url) as connection:
        yield connection


@pytest.fixture
def new_group(client):
    """Makes unique group names (``prefix_<hex>``) and deletes those groups,
    with their offline files, when the test ends."""
    names = []

    def make(prefix):
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        names.append(name)
        return name

    yield make
    for name in names:
        try:
            client.delete_feature_group(name, purge_offline=True)
        except almanac.NotFound:
            pass
