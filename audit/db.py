"""The database side of "append-only": PostgreSQL triggers, and the one way to empty the tables.

The triggers (migration 0002, function ``audit_append_only()``) refuse UPDATE, DELETE and
TRUNCATE of the audit tables for every role, the application's included. They are a guard rail,
not the proof: a database superuser can drop a trigger, which is why the entries form a hash
chain whose head the TSA timestamps.

Test runs empty every table between transactional tests with TRUNCATE. A database may allow
TRUNCATE (never UPDATE or DELETE) of the audit tables by setting ``ekessai.audit_truncate`` to
``allow``; `allow_truncate_in_test_database` does so for test databases only.
"""

from __future__ import annotations

from django.db import connection

TRUNCATE_SETTING = "ekessai.audit_truncate"


def allow_truncate_in_test_database() -> None:
    """Let the test runner's flush TRUNCATE the audit tables of the (test) database in use."""
    if connection.vendor != "postgresql":
        return
    name = str(connection.settings_dict["NAME"])
    if not name.startswith("test_"):
        raise RuntimeError(f"{name} is not a test database; its audit trail stays protected")
    with connection.cursor() as cursor:
        quoted = connection.ops.quote_name(name)
        cursor.execute(f"ALTER DATABASE {quoted} SET {TRUNCATE_SETTING} = 'allow'")
        cursor.execute(f"SET {TRUNCATE_SETTING} = 'allow'")
    # ALTER DATABASE reaches new connections only: with a connection pool (config.settings),
    # connections opened before it would keep refusing, so the pool starts afresh.
    close_pool = getattr(connection, "close_pool", None)
    if close_pool is not None and connection.settings_dict.get("OPTIONS", {}).get("pool"):
        connection.close()
        close_pool()
