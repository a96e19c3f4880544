"""Bounded, pooled database connections, and what a request gets when none can be had.

On PostgreSQL every process has one psycopg pool (Django's OPTIONS["pool"]); a request that cannot
get a connection within DATABASE_POOL_TIMEOUT, because the pool is exhausted or PostgreSQL is
down, is answered 503 `database_unavailable` with Retry-After (API), a plain page (browser), and
/healthz says so. These tests rebuild the pool with a small bound or a dead port for their
duration; the server-under-load test is in test_database_pool_server.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from typing import Any

import pytest
from django.conf import settings
from django.db import connection as default_connection
from django.db import utils
from django.test import Client

from config import db_availability
from org.models import User
from tests.conftest import postgres_only
from tests.test_health import closed_port

# The PostgreSQL wrapper's pool and close_pool are not in Django's stubs.
connection: Any = default_connection


def test_only_errors_of_reaching_the_database_count_as_unavailable():
    import psycopg
    import psycopg_pool

    def wrapped(cause: BaseException) -> utils.OperationalError:
        # As Django raises them: its own class, `from` the driver's.
        try:
            try:
                raise cause
            except Exception as exc:
                raise utils.OperationalError(str(exc)) from exc
        except utils.OperationalError as exc:
            return exc

    assert db_availability.is_unavailable(wrapped(psycopg_pool.PoolTimeout("timed out")))
    assert db_availability.is_unavailable(wrapped(psycopg.OperationalError("connection refused")))
    assert db_availability.is_unavailable(wrapped(sqlite3.OperationalError("database is locked")))
    assert not db_availability.is_unavailable(wrapped(sqlite3.OperationalError("no such table")))
    deadlock = psycopg.errors.DeadlockDetected("deadlock detected")
    assert not db_availability.is_unavailable(wrapped(deadlock))
    assert not db_availability.is_unavailable(ValueError("nothing to do with a database"))


@postgres_only()
def test_postgresql_connections_come_from_a_bounded_pool():
    database = settings.DATABASES["default"]
    assert database["CONN_MAX_AGE"] == 0  # Django refuses persistent connections with a pool
    pool = database["OPTIONS"]["pool"]
    assert pool["max_size"] > 0 and pool["min_size"] <= pool["max_size"]
    assert connection.pool is not None


@contextmanager
def rebuilt_pool(**changes: Any) -> Iterator[Any]:
    """The pool of the default database rebuilt with `changes` (pool options, or `PORT`), and
    rebuilt as it was afterwards. The calling thread's connection goes back to the pool first, so
    the next request must ask the rebuilt pool for one."""
    saved = deepcopy(
        {"OPTIONS": connection.settings_dict["OPTIONS"], "PORT": connection.settings_dict["PORT"]}
    )
    connection.close()
    connection.close_pool()
    if "PORT" in changes:
        connection.settings_dict["PORT"] = changes.pop("PORT")
    connection.settings_dict["OPTIONS"]["pool"] = {
        **connection.settings_dict["OPTIONS"]["pool"],
        **changes,
    }
    try:
        yield connection.pool
    finally:
        connection.close()
        connection.close_pool()
        connection.settings_dict.update(saved)


def signed_in(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def assert_unavailable(api, page, health) -> None:
    assert api.status_code == 503, api.content
    assert api.json()["error"]["code"] == "database_unavailable"
    assert int(api["Retry-After"]) > 0
    assert page.status_code == 503, page.content[:300]
    text = page.content.decode()
    assert text.index("一時的に利用できません") < text.index("Temporarily unavailable")
    assert int(page["Retry-After"]) > 0
    assert health.status_code == 503
    assert health.json()["checks"]["database"] == {
        "status": "error",
        "error": "unavailable",
        "ms": health.json()["checks"]["database"]["ms"],
    }


@postgres_only()
@pytest.mark.django_db(transaction=True)
def test_an_exhausted_pool_answers_503_after_its_timeout(bearer):
    api = bearer("tanaka")
    page = signed_in("suzuki")
    with rebuilt_pool(min_size=0, max_size=2, timeout=1) as pool:
        pool.open()
        held = [pool.getconn() for _ in range(2)]  # every connection the pool may open
        try:
            answers = (api.get("/api/v1/me"), page.get("/"), Client().get("/healthz"))
            connection.close()  # hand back what this thread may have got before giving them back
        finally:
            for held_connection in held:
                pool.putconn(held_connection)
        assert_unavailable(*answers)
        # Free again: the same clients are served.
        assert api.get("/api/v1/me").status_code == 200
        assert page.get("/").status_code == 200
        connection.close()


@postgres_only()
@pytest.mark.django_db(transaction=True)
def test_postgresql_down_answers_503_and_healthz_says_so(bearer):
    api = bearer("tanaka")
    page = signed_in("suzuki")
    with rebuilt_pool(PORT=closed_port(), min_size=0, timeout=1):
        answers = (api.get("/api/v1/me"), page.get("/"), Client().get("/healthz"))
    assert_unavailable(*answers)
    assert api.get("/api/v1/me").status_code == 200


@postgres_only()
@pytest.mark.django_db(transaction=True)
def test_healthz_shows_the_pool(bearer):
    body = Client().get("/healthz").json()
    pool = body["checks"]["database"]["pool"]
    assert pool["max"] == settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
    assert 0 < pool["size"] <= pool["max"]
