"""Database helpers shared by the apps.

`insert_rows` writes new model instances as `bulk_create` would, without building the statement
through the ORM, which on the approval's hot path (the history and audit entries) cost more CPU
than the statement itself. A notice to many people has a faster insert of
its own (notifications.services._insert: its rows as arrays, with their JSON as text).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models.constants import OnConflict


def insert_rows(model: Any, rows: Sequence[Any], *, ignore_conflicts: bool = False) -> None:
    """INSERT `rows` (new instances of `model`), each value through its field (pre_save, so
    auto_now_add is set on the instance, then get_db_prep_save), in as few statements as the
    database's limit on parameters allows. The ids come back into the rows, unless conflicts are
    ignored (a skipped row has none)."""
    if not rows:
        return
    fields = [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and not getattr(f, "generated", False)
    ]
    size = connection.ops.bulk_batch_size(fields, rows) or len(rows)
    for start in range(0, len(rows), size):
        _insert(model, fields, rows[start : start + size], ignore_conflicts)


def _insert(model: Any, fields: list[Any], rows: Sequence[Any], ignore_conflicts: bool) -> None:
    ops = connection.ops
    quote = ops.quote_name
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [f.get_db_prep_save(f.pre_save(r, True), connection) for r in rows for f in fields]
    sql = " ".join(
        part
        for part in (
            ops.insert_statement(on_conflict=on_conflict),
            quote(model._meta.db_table),
            f"({', '.join(quote(f.column) for f in fields)}) VALUES",
            ", ".join([row] * len(rows)),
            ops.on_conflict_suffix_sql(fields, on_conflict, None, None),
        )
        if part
    )
    if not ignore_conflicts:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if ignore_conflicts:
            return
        ids = sorted(pk for (pk,) in cursor.fetchall())
    # Ids are drawn in the order the rows are produced (RETURNING's order is not promised, hence
    # sorted); the rows are stored ones now, as bulk_create (and Model.from_db) leaves them.
    for instance, pk in zip(rows, ids, strict=True):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = connection.alias
