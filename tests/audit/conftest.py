"""Helpers for the audit tests: direct edits of the audit table, as a database administrator
would make them (on PostgreSQL with the append-only triggers disabled for the edit)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import translation

from audit.models import AuditEntry
from audit.services import record
from audit.verification import Report, verify


@contextmanager
def tampering() -> Iterator[Any]:
    """A raw cursor on the audit table, past the model's refusals and the triggers."""
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            # Pending deferred foreign-key checks of this transaction would block ALTER TABLE.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        try:
            yield cursor
        finally:
            if postgres:
                cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def change_data(seq: int, data: str) -> None:
    with tampering() as cursor:
        cursor.execute("UPDATE audit_auditentry SET data = %s WHERE seq = %s", [data, seq])


def delete_entry(seq: int) -> None:
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq = %s", [seq])


def swap_entries(a: int, b: int) -> None:
    """Exchange the places of two entries in the chain (their seq numbers)."""
    with tampering() as cursor:
        cursor.execute("UPDATE audit_auditentry SET seq = -seq WHERE seq IN (%s, %s)", [a, b])
        cursor.execute("UPDATE audit_auditentry SET seq = %s WHERE seq = %s", [b, -a])
        cursor.execute("UPDATE audit_auditentry SET seq = %s WHERE seq = %s", [a, -b])


def some_entries(n: int, **kwargs: Any) -> list[AuditEntry]:
    return [record("test.event", data={"i": i}, **kwargs) for i in range(n)]


def check(**kwargs: Any) -> Report:
    return verify(**kwargs)


def run_verify_audit(*args: str) -> tuple[int, str]:
    """verify_audit's exit status and output, as from the command line."""
    from io import StringIO

    out = StringIO()
    try:
        call_command("verify_audit", *args, stdout=out)
    except CommandError as e:
        return e.returncode, out.getvalue() + str(e)
    return 0, out.getvalue()


@pytest.fixture(autouse=True)
def _messages_in_english() -> Iterator[None]:
    """The checks below read the verifier's messages, which are in Japanese by default."""
    with translation.override("en"):
        yield
