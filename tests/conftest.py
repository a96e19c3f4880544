"""Fixtures shared by the whole suite.

The suite runs on the embedded defaults (SQLite, file-system objects, in-memory channel layer) and,
when DATABASE_URL / REDIS_URL are set as in CI, against the real PostgreSQL and Redis.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

import storage
from api.tokens import create_token
from org.models import User


def pytest_configure(config: pytest.Config) -> None:
    # The production hasher costs ~0.3 s a password; seeding nine demo users per test adds up.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # One internal CA for the whole run, outside the project's var/ (approvals sign with it).
    # Tests of the PKI itself use the `pki` fixture of tests/signing for a fresh one.
    settings.SIGNING_PKI_DIR = Path(tempfile.mkdtemp(prefix="ekessai-test-pki-"))
    settings.SIGNING_KEY_PASSPHRASE = "test passphrase, not a secret"
    # Background jobs run in the process that sends them, as in the embedded default, even when
    # REDIS_URL is set; tests/jobs starts a real worker for the queue itself.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    # The concurrency tests run twenty threads at once, each on a connection of its own, on a
    # machine that may be busy: a larger pool and a longer wait than a server process gets.
    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    if pool:
        pool.update(max_size=max(pool["max_size"], 25), timeout=max(pool["timeout"], 30))


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(getattr(settings, "SIGNING_PKI_DIR", ""), ignore_errors=True)


@pytest.fixture(autouse=True)
def _object_store(tmp_path: Path, settings) -> Iterator[None]:
    """Every test gets its own empty file-system object store unless it asks for another."""
    settings.OBJECT_STORE = {"BACKEND": "filesystem", "ROOT": tmp_path / "objects"}
    storage.reset_store()
    yield
    storage.reset_store()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Transactional tests end with a TRUNCATE of every table, which the audit trail's trigger
    refuses on PostgreSQL unless the database allows it: test databases do (audit.db)."""
    from audit.db import allow_truncate_in_test_database

    with django_db_blocker.unblock():
        allow_truncate_in_test_database()
        # The database's setting reaches new sessions only: the pool's connections opened before
        # it (DATABASE_POOL_MIN) are closed, so every connection a test gets has it.
        from django.db import connection

        if getattr(connection, "pool", None) is not None:
            connection.close()
            connection.close_pool()  # type: ignore[attr-defined]


@pytest.fixture
def demo_org(db: None) -> None:
    call_command("seed_demo", verbosity=0, stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def bearer(demo_org: None):
    """A function returning an API client authenticated as the named demo user."""

    def make(username: str, **token_options) -> APIClient:
        _, key = create_token(User.objects.get(username=username), **token_options)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return make


def postgres_only() -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL (set DATABASE_URL)",
    )
