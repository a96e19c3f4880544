"""The audit trail (監査証跡): append-only entries in one SHA-256 hash chain.

Every entry holds the hash of the entry before it, so changing, deleting, inserting or reordering
any entry breaks the chain from that entry on (`audit.verification`). The head of the chain is
timestamped by the TSA now and then (`AuditAnchor`, `audit.services.anchor_head`), so even a
database administrator who recomputes the whole chain after a change is found out: the anchored
hashes no longer match.

How an entry's hash is computed (format 1)
------------------------------------------
An auditor can recompute every hash from the table's columns alone. The hashed message is the
concatenation of these eleven fields, in this order::

     1  prev_hash         bytes  the previous entry's hash (32 zero bytes for seq 1)
     2  seq               int    1, 2, 3, … without gaps
     3  at                time   when the entry was written
     4  actor_id          int    the user who acted (org.User id), or NULL for the system
     5  on_behalf_of_id   int    the user acted for (代決: the absent decider), or NULL
     6  action            text   e.g. "workflow.approve"
     7  document_id       int    the document concerned (documents.Document id), or NULL
     8  document_version  int    its version number, or NULL
     9  ip                text   the client's address ("" if none)
    10  client            text   the client's User-Agent, at most 255 characters ("" if none)
    11  data              text   details, as canonical JSON (see below)

Each field is written as a 4-byte big-endian signed length followed by that many bytes; NULL is
the length -1 with no bytes after it. The bytes of a value are:

- int: 8 bytes, big-endian two's complement;
- time: the number of microseconds since 2000-01-01T00:00:00Z (UTC), as an int;
- text: its UTF-8 encoding;
- bytes: themselves.

hash = SHA-256(message), stored as 32 raw bytes (shown as 64 lowercase hex digits).

This is exactly PostgreSQL's binary COPY encoding of the row, without the leading 2-byte field
count, so on PostgreSQL the message of every entry can be had directly::

    COPY (SELECT prev_hash, seq, at, actor_id::int8, on_behalf_of_id::int8, action,
                 document_id::int8, document_version::int8, ip, client, data, hash
          FROM audit_auditentry ORDER BY seq) TO STDOUT (FORMAT binary)

(each row after the 19-byte file header: skip 2 bytes, the message is all but the last 36 bytes,
the stored hash is the last 32). PostgreSQL also keeps these bytes in a generated column,
``message`` (migration 0003), which `verify_audit` reads when it can trust it. In Python, for a
row exported any other way::

    def field(b): return b"\\xff\\xff\\xff\\xff" if b is None else len(b).to_bytes(4, "big") + b
    def integer(n): return None if n is None else n.to_bytes(8, "big", signed=True)
    microseconds = (at - datetime(2000, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    message = b"".join(field(x) for x in (prev_hash, integer(seq), integer(microseconds),
        integer(actor_id), integer(on_behalf_of_id), action.encode(), integer(document_id),
        integer(document_version), ip.encode(), client.encode(), data.encode()))

Canonical JSON (the data column): ``json.dumps(value, ensure_ascii=False, sort_keys=True,
separators=(",", ":"), allow_nan=False)``; numbers are integers (amounts and other decimals are
written as strings), dates and times ISO 8601 strings. The column holds the exact text that was
hashed, so it is hashed as stored and never re-serialised.

No update or delete path exists: `AuditEntry.save` refuses to change a stored entry, deleting
raises, the query set refuses update() and delete(), the admin is read-only, and on PostgreSQL a
trigger refuses UPDATE, DELETE and TRUNCATE of the table (migration 0002).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS = bytes(32)
HASH_SIZE = 32
POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MAX_CLIENT = 255
MAX_IP = 45  # the longest textual IPv6 address (with an embedded IPv4 one)

_NULL = b"\xff\xff\xff\xff"
_LEN8 = (8).to_bytes(4, "big")


class AppendOnlyError(Exception):
    """Someone tried to change or remove an audit entry."""


def _field(value: bytes | None) -> bytes:
    if value is None:
        return _NULL
    return len(value).to_bytes(4, "big") + value


def _integer(value: int | None) -> bytes:
    if value is None:
        return _NULL
    return _LEN8 + value.to_bytes(8, "big", signed=True)


def microseconds(at: datetime) -> int:
    """Microseconds since 2000-01-01T00:00:00Z, exactly (no floating point)."""
    return (at - POSTGRES_EPOCH) // timedelta(microseconds=1)


def message(
    prev_hash: bytes,
    seq: int,
    at: datetime,
    actor_id: int | None,
    on_behalf_of_id: int | None,
    action: str,
    document_id: int | None,
    document_version: int | None,
    ip: str,
    client: str,
    data: str,
) -> bytes:
    """The hashed bytes of an entry (format 1, see the module docstring)."""
    return b"".join(
        (
            _field(bytes(prev_hash)),
            _integer(seq),
            _integer(microseconds(at)),
            _integer(actor_id),
            _integer(on_behalf_of_id),
            _field(action.encode()),
            _integer(document_id),
            _integer(document_version),
            _field(ip.encode()),
            _field(client.encode()),
            _field(data.encode()),
        )
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):  # date, time
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)  # Decimal, UUID, lazy translation strings, model enums …


def canonical_json(value: Any) -> str:
    """The one text form of `value` that is hashed (floats are written as strings)."""
    return json.dumps(
        _no_floats(value),
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
        default=_json_default,
    )


def _no_floats(value: Any) -> Any:
    # A float's text form differs between languages (1e-07 vs 1e-7): an auditor's tool might
    # not reproduce it. Decimals never reach here as floats; stray floats become their repr.
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _no_floats(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_floats(v) for v in value]
    return value


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit rows cannot be changed")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit rows cannot be deleted")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit rows cannot be changed")

    def bulk_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit rows are written one at a time by audit.services")


class AuditHead(models.Model):
    """The end of the chain: one row (id 1), locked by every append so the chain never forks."""

    id = models.PositiveSmallIntegerField(primary_key=True)
    seq = models.BigIntegerField(default=0)
    hash = models.BinaryField(max_length=HASH_SIZE, default=GENESIS)

    class Meta:
        verbose_name = _("audit chain head")

    def __str__(self) -> str:
        return f"{self.seq} {bytes(self.hash).hex()}"


class AuditEntry(models.Model):
    """One thing that happened: who, on behalf of whom, what, when, from where, on what."""

    seq = models.BigIntegerField(_("sequence number"), unique=True)
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("on behalf of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=64)
    document = models.ForeignKey(
        "documents.Document",
        verbose_name=_("document"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_entries",
    )
    document_version = models.PositiveIntegerField(_("document version"), null=True, blank=True)
    ip = models.CharField(_("address"), max_length=MAX_IP, blank=True)
    client = models.CharField(_("client"), max_length=MAX_CLIENT, blank=True)
    data = models.TextField(_("details"), default="{}")
    prev_hash = models.BinaryField(_("previous hash"), max_length=HASH_SIZE)
    hash = models.BinaryField(_("hash"), max_length=HASH_SIZE)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["document", "seq"], name="audit_document_seq"),
            models.Index(fields=["actor", "seq"], name="audit_actor_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit entries cannot be changed")
        if not self.hash:
            raise AppendOnlyError("audit entries are written by audit.services.record")
        kwargs["force_insert"] = True
        kwargs.pop("force_update", None)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit entries cannot be deleted")

    def message(self) -> bytes:
        return message(
            bytes(self.prev_hash),
            self.seq,
            self.at,
            self.actor_id,
            self.on_behalf_of_id,
            self.action,
            self.document_id,
            self.document_version,
            self.ip,
            self.client,
            self.data,
        )

    @property
    def details(self) -> Any:
        return json.loads(self.data)

    @property
    def hash_hex(self) -> str:
        return bytes(self.hash).hex()

    @property
    def prev_hash_hex(self) -> str:
        return bytes(self.prev_hash).hex()


class AuditAnchor(models.Model):
    """An RFC 3161 timestamp of the chain's hash at `seq`: proof the chain was so at `gen_time`."""

    seq = models.BigIntegerField(_("sequence number"))
    hash = models.BinaryField(_("anchored hash"), max_length=HASH_SIZE)
    token = models.BinaryField(_("timestamp token (DER)"))
    gen_time = models.DateTimeField(_("timestamp time"))
    tsa = models.CharField(_("timestamp authority"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit anchor")
        verbose_name_plural = _("audit anchors")
        ordering = ["seq", "id"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.gen_time:%Y-%m-%d %H:%M:%S}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit anchors cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit anchors cannot be deleted")
