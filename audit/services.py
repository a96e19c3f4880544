"""Writing the audit trail: `record()` appends one entry (`prepare()` and `append()` several at
once); `anchor_head()` timestamps the chain.

`record()` runs inside the caller's transaction, so an action and its entry commit together and a
rolled-back action leaves no entry. Appends are serialised by a row lock on the single
`AuditHead` row, held until the caller's transaction ends: two entries can never claim the same
predecessor, so the chain never forks and seq has no gaps. Call `record()` after the action's own
row locks, so that lock order is always "action rows, then audit head" (workflow.locks).

Every action of every user passes the head, so the time it is held bounds the whole cluster's
rate of actions. On PostgreSQL an append therefore takes the lock as late as it can: it reads the
head without a lock, chains the entries in Python, and then moves the head and inserts the
entries in one statement that does so only if the head is still where it was read (an UPDATE
with the old seq in its condition, in a data-modifying WITH). If someone appended in between,
nothing was written and no lock is kept, and it reads and chains again. The lock is then held
for that one statement and the COMMIT (bench/workflow.py prints how long). Elsewhere (SQLite,
which serialises writers anyway) the head is locked first (SELECT … FOR UPDATE where there is
one), then the entries and the head are written.
"""

from __future__ import annotations

import hashlib
import logging
from functools import cache
from typing import Any

from asgiref.sync import async_to_sync
from asn1crypto import cms
from django.db import connection, transaction
from django.utils import timezone

from audit.context import client_of, current_request
from audit.models import (
    GENESIS,
    AuditAnchor,
    AuditEntry,
    AuditHead,
    canonical_json,
)
from config.db import insert_rows

logger = logging.getLogger(__name__)

HEAD_ID = 1
MAX_ACTION = 64


def _user_id(user: Any) -> int | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return int(user.pk)


def _lock_head() -> tuple[int, bytes]:
    """The chain's end (seq, hash), locked until the caller's transaction ends."""
    select, _update = _head_statements()
    with connection.cursor() as cursor:
        cursor.execute(select, [HEAD_ID])
        row = cursor.fetchone()
    if row is not None:
        return int(row[0]), bytes(row[1])
    # First entry ever (or after a test flush): start where the table ends, so a lost head row
    # can never restart the numbering.
    last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, digest = (last[0], bytes(last[1])) if last else (0, GENESIS)
    AuditHead.objects.bulk_create(
        [AuditHead(pk=HEAD_ID, seq=seq, hash=digest)], ignore_conflicts=True
    )
    head = AuditHead.objects.select_for_update().get(pk=HEAD_ID)
    return head.seq, bytes(head.hash)


# Plain statements rather than the ORM for the head and the entries: every approval passes here,
# and building the ORM's queries cost more CPU than running them. Names come from the models.
@cache
def _head_statements() -> tuple[str, str]:
    """SELECT … FOR UPDATE of the head row, and its UPDATE."""
    table, (pk, seq, digest) = _names(AuditHead, "id", "seq", "hash")
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    # Only quoted names from the models go into the text; values are bound.
    return (
        f"SELECT {seq}, {digest} FROM {table} WHERE {pk} = %s{lock}",  # noqa: S608
        f"UPDATE {table} SET {seq} = %s, {digest} = %s WHERE {pk} = %s",  # noqa: S608
    )


def _names(model: Any, *fields: str) -> tuple[str, list[str]]:
    quote = connection.ops.quote_name
    meta = model._meta
    return quote(meta.db_table), [quote(meta.get_field(name).column) for name in fields]


def prepare(
    action: str,
    *,
    actor: Any = None,
    on_behalf_of: Any = None,
    document: Any = None,
    version: int | None = None,
    request: Any = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """An entry not yet in the chain (no seq, time or hashes): see `record` for the arguments.
    `append` writes it."""
    if not action or len(action) > MAX_ACTION or "\x00" in action:
        raise ValueError(f"not an audit action code: {action!r}")
    if request is None:
        request = current_request()
    ip, client = client_of(request)
    document_id: int | None = None
    if document is not None:
        document_id = int(document) if isinstance(document, int) else int(document.pk)
        if version is None and not isinstance(document, int):
            version = getattr(document, "version", None)
    return AuditEntry(
        actor_id=_user_id(actor),
        on_behalf_of_id=_user_id(on_behalf_of),
        action=action,
        document_id=document_id,
        document_version=version,
        ip=ip,
        client=client,
        data=canonical_json(data or {}),
    )


def append(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Chain `entries` (from `prepare`), in order, in the caller's transaction: the head is
    locked once, the entries are written in one INSERT, the head is moved once.

    Inside a transaction no savepoint is taken: nothing here is meant to fail and be carried on
    from, and an error must roll the caller's whole action back anyway (an action may not commit
    without its entry)."""
    if not entries:
        return entries
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            while True:
                head = _read_head()
                if head is None:
                    break  # no head row yet: the locked way creates it
                if _append_if_head_at(head, entries):
                    return entries
        seq, digest = _lock_head()
        _chain(entries, seq, digest)
        insert_rows(AuditEntry, entries)
        with connection.cursor() as cursor:
            last = entries[-1]
            cursor.execute(_head_statements()[1], [last.seq, bytes(last.hash), HEAD_ID])
    return entries


def _chain(entries: list[AuditEntry], seq: int, digest: bytes) -> None:
    """Give the entries their place after (seq, digest): seq, time, previous hash, hash."""
    for entry in entries:
        seq += 1
        entry.seq, entry.at, entry.prev_hash = seq, timezone.now(), digest
        entry.hash = digest = hashlib.sha256(entry.message()).digest()


def _read_head() -> tuple[int, bytes] | None:
    """The chain's end (seq, hash) as committed now, without a lock."""
    with connection.cursor() as cursor:
        cursor.execute(_read_statement(), [HEAD_ID])
        row = cursor.fetchone()
    return (int(row[0]), bytes(row[1])) if row is not None else None


def _append_if_head_at(head: tuple[int, bytes], entries: list[AuditEntry]) -> bool:
    """Chain `entries` after `head` and write them, and move the head, in one statement that
    does both only while the head is still at `head`; False (nothing written) if it moved."""
    _chain(entries, *head)
    fields = _entry_fields()
    params: list[Any] = [entries[-1].seq, bytes(entries[-1].hash), HEAD_ID, head[0]]
    params += [f.get_db_prep_save(f.pre_save(e, True), connection) for e in entries for f in fields]
    ids = _move_head_and_insert(_append_statement(len(entries)), params)
    if not ids:
        return False
    for entry, pk in zip(entries, ids, strict=True):
        entry.pk = pk
        entry._state.adding = False  # stored, as Model.from_db leaves an instance
        entry._state.db = connection.alias
    return True


def _move_head_and_insert(statement: str, params: list[Any]) -> list[int]:
    """Run the append statement: the new entries' ids, none if the head had moved. The head's
    row lock, when it is taken, is taken here and held until the COMMIT.

    On psycopg's own cursor, as a prepared statement (server-side binding): Django's cursor binds
    on the client, so PostgreSQL would plan the statement again each time, and planning it took
    about 0.4 ms of the time the head is held. It runs in Django's transaction all the same (the
    same connection); Django's query log does not see it (tests/workflow/test_query_budget.py
    counts it)."""
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        cursor.execute(statement, params, prepare=True)
        return sorted(pk for (pk,) in cursor.fetchall())


@cache
def _read_statement() -> str:
    table, (pk, seq, digest) = _names(AuditHead, "id", "seq", "hash")
    return f"SELECT {seq}, {digest} FROM {table} WHERE {pk} = %s"  # noqa: S608


def _entry_fields() -> list[Any]:
    return [f for f in AuditEntry._meta.concrete_fields if not f.primary_key]


@cache
def _append_statement(rows: int) -> str:
    """Move the head from an expected seq and insert `rows` entries, or do neither (PostgreSQL:
    a data-modifying WITH; the INSERT's rows are typed, as VALUES under a SELECT needs)."""
    head, (pk, seq, digest) = _names(AuditHead, "id", "seq", "hash")
    quote = connection.ops.quote_name
    fields = _entry_fields()
    columns = ", ".join(quote(f.column) for f in fields)
    row = "(" + ", ".join(f"CAST(%s AS {f.db_type(connection)})" for f in fields) + ")"
    entry_table = quote(AuditEntry._meta.db_table)
    entry_pk = quote(AuditEntry._meta.pk.column)
    # Only quoted names and types from the models go into the text; values are bound.
    return (
        f"WITH moved AS (UPDATE {head} SET {seq} = %s, {digest} = %s"  # noqa: S608
        f" WHERE {pk} = %s AND {seq} = %s RETURNING 1)"
        f" INSERT INTO {entry_table} ({columns})"
        f" SELECT * FROM (VALUES {', '.join([row] * rows)}) AS entry"
        f" WHERE EXISTS (SELECT 1 FROM moved) RETURNING {entry_pk}"
    )


def record(
    action: str,
    *,
    actor: Any = None,
    on_behalf_of: Any = None,
    document: Any = None,
    version: int | None = None,
    request: Any = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. `document` is a Document or its id; `version` defaults to the
    document's current version; `request` (Django or DRF) defaults to the request being served;
    `data` is any JSON-able mapping (stored as canonical JSON)."""
    entry = prepare(
        action,
        actor=actor,
        on_behalf_of=on_behalf_of,
        document=document,
        version=version,
        request=request,
        data=data,
    )
    return append([entry])[0]


def token_info(token: cms.ContentInfo) -> Any:
    """The TSTInfo inside a timestamp token."""
    return token["content"]["encap_content_info"]["content"].parsed


def _tsa_name(tst_info: Any) -> str:
    tsa = tst_info["tsa"]
    if tsa.native is None:
        return ""
    if tsa.name == "directory_name":
        cn = tsa.chosen.native.get("common_name")
        return str(cn if isinstance(cn, str) else tsa.chosen.human_friendly)[:255]
    return str(tsa.native)[:255]


def anchor_head(timestamper: Any = None) -> AuditAnchor | None:
    """Timestamp the hash of the last entry with the TSA (RFC 3161) and keep the token.

    Returns None for an empty trail, and the existing anchor if nothing was written since.
    Raises `signing.tsa.TimestampUnavailable` when the TSA cannot be reached.
    """
    from signing.tsa import TimestampUnavailable, get_timestamper

    last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    if last is None:
        return None
    seq, digest = last[0], bytes(last[1])
    existing = AuditAnchor.objects.filter(seq=seq).order_by("-id").first()
    if existing is not None and bytes(existing.hash) == digest:
        return existing
    stamper = timestamper or get_timestamper()
    token = async_to_sync(stamper.async_timestamp)(digest, "sha256")
    info = token_info(token)
    imprint = info["message_imprint"]
    if (
        imprint["hash_algorithm"]["algorithm"].native != "sha256"
        or imprint["hashed_message"].native != digest
    ):
        raise TimestampUnavailable("the TSA timestamped something other than the chain head")
    anchor = AuditAnchor(
        seq=seq,
        hash=digest,
        token=token.dump(),
        gen_time=info["gen_time"].native,
        tsa=_tsa_name(info),
    )
    anchor.save()
    logger.info("audit chain anchored at seq %s (%s)", seq, digest.hex())
    return anchor
