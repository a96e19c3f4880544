"""Checking the audit trail: every hash, every link, every seq, every anchor.

`verify()` walks the whole chain in seq order inside one snapshot (REPEATABLE READ on PostgreSQL),
recomputes each entry's hash from its columns (format 1, `audit.models`), checks that each entry
names its predecessor's hash and that seq runs 1, 2, 3 … to the chain head, then checks every
anchor: its RFC 3161 token must be signed by a trusted TSA, its message imprint must be the
anchored hash, and that hash must still be the hash of the entry at its seq.

Speed: on PostgreSQL the rows come as one binary COPY stream, whose row bytes *are* the hashed
messages (see `audit.models`), so each entry costs one SHA-256 and two byte comparisons in
Python. Anything unexpected on that fast path (a broken link, a wrong hash, an odd row) sends the
check to the exact walk (`values_list(...).iterator()`, also used on other databases), which
rebuilds each message field by field and says what is wrong with the first broken entry:
changed, missing (deleted) or reordered.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from asn1crypto import cms
from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext as _

from audit.models import GENESIS, HASH_SIZE, AuditAnchor, AuditEntry, AuditHead, message

CHUNK = 10_000
_L32 = HASH_SIZE.to_bytes(4, "big")
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_COPY_HEADER = 19
_FIELDS = (
    "prev_hash",
    "seq",
    "at",
    "actor_id",
    "on_behalf_of_id",
    "action",
    "document_id",
    "document_version",
    "ip",
    "client",
    "data",
    "hash",
)


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str  # changed, missing, reordered, head
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "message": self.message}


@dataclass
class AnchorCheck:
    seq: int
    hash: str
    gen_time: str | None
    tsa: str
    valid: bool
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "hash": self.hash,
            "gen_time": self.gen_time,
            "tsa": self.tsa,
            "valid": self.valid,
            "problem": self.problem,
        }


@dataclass
class Report:
    entries: int = 0
    last_seq: int = 0
    head_hash: str = GENESIS.hex()
    problem: Problem | None = None
    anchors: list[AnchorCheck] = field(default_factory=list)
    method: str = "rows"
    seconds: float = 0.0

    @property
    def valid(self) -> bool:
        return self.problem is None and all(a.valid for a in self.anchors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "entries": self.entries,
            "last_seq": self.last_seq,
            "head_hash": self.head_hash,
            "problem": self.problem.as_dict() if self.problem else None,
            "anchors": [a.as_dict() for a in self.anchors],
            "method": self.method,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Walk:
    entries: int
    last_seq: int
    last_hash: bytes
    problem: Problem | None = None


# --- The fast path: PostgreSQL binary COPY ------------------------------------------------------


# The table's rows as hashed messages, oldest first (format 1, see audit.models).
COPY_SQL = (
    "COPY (SELECT prev_hash, seq, at, actor_id::int8, on_behalf_of_id::int8, action, "
    "document_id::int8, document_version::int8, ip, client, data, hash "
    "FROM audit_auditentry ORDER BY seq) TO STDOUT (FORMAT binary)"
)


def _walk_copy() -> _Walk | None:
    """The whole chain from one COPY stream; None if anything needs a closer look.

    The stream is read with libpq's own call (psycopg.pq), one row per call: psycopg's Copy
    object costs ~1.5 µs a row in Python, more than hashing the row.
    """
    from psycopg import pq

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # the transaction (and its snapshot) has begun
    raw = connection.connection
    pg = raw.pgconn
    sha256 = hashlib.sha256
    expect = _L32 + GENESIS  # length and value of the next prev_hash field
    count = 0
    last_row: Any = b""
    ok = True
    with raw.lock:
        pg.send_query(COPY_SQL.encode())
        result = pg.get_result()
        if result is None or result.status != pq.ExecStatus.COPY_OUT:
            message = result.error_message.decode(errors="replace") if result else ""
            while pg.get_result() is not None:
                pass
            raise DatabaseError(f"COPY of the audit trail failed: {message}")
        get = pg.get_copy_data
        size, first = get(0)
        ok = size > 0 and bytes(first[: len(_COPY_SIGNATURE)]) == _COPY_SIGNATURE
        row: Any = first[_COPY_HEADER:] if ok else b""
        # Each row is one message of the stream: 2 bytes of field count, the eleven hashed
        # fields, then the stored hash as the twelfth (4 bytes of length, 32 bytes).
        while len(row) > 2:
            digest = sha256(row[2:-36]).digest()
            stored = _L32 + digest
            if row[-36:] != stored or row[2:38] != expect:
                ok = False
                break
            expect = stored
            count += 1
            last_row = row
            size, row = get(0)
            if size < 0:
                break
        while size >= 0:  # read to the end, so the connection can be used again
            size, _rest = get(0)
        failed = size == -2
        while (result := pg.get_result()) is not None:
            failed = failed or result.status != pq.ExecStatus.COMMAND_OK
    if failed:
        raise DatabaseError("COPY of the audit trail failed while reading")
    if not ok:
        return None
    if count == 0:
        return _Walk(0, 0, GENESIS)
    # seq is the second field: 4 bytes of length after the 2 + 4 + 32 bytes before it.
    last_seq = int.from_bytes(bytes(last_row[42:50]), "big", signed=True)
    if last_seq != count:
        return None
    return _Walk(count, last_seq, expect[4:])


# --- The exact walk, and what is wrong ------------------------------------------------------------


def _rows() -> Iterator[tuple[Any, ...]]:
    return AuditEntry.objects.order_by("seq").values_list(*_FIELDS).iterator(chunk_size=CHUNK)


def _seq_with_hash(digest: bytes) -> int | None:
    # Entry hashes are unique (SHA-256); a linear scan is fine on this failure path.
    for seq, stored in (
        AuditEntry.objects.order_by("seq").values_list("seq", "hash").iterator(chunk_size=CHUNK)
    ):
        if bytes(stored) == digest:
            return int(seq)
    return None


def _diagnose(seq: int, intact: bool, prev_hash: bytes) -> Problem:
    """Entry `seq` is where the chain breaks (its seq is the expected one)."""
    linked_after = _seq_with_hash(prev_hash) if prev_hash != GENESIS else 0
    if linked_after is not None and linked_after != seq - 1:
        return Problem(
            seq,
            "reordered",
            _(
                "Entry %(seq)s is out of order: it was written after entry %(after)s, "
                "but now follows entry %(before)s."
            )
            % {"seq": seq, "after": linked_after, "before": seq - 1},
        )
    if not intact:
        return Problem(
            seq,
            "changed",
            _("Entry %(seq)s was changed: its content no longer matches its hash.") % {"seq": seq},
        )
    return Problem(
        seq,
        "missing",
        _(
            "An entry before entry %(seq)s is missing: entry %(seq)s was chained to an entry "
            "that is no longer there."
        )
        % {"seq": seq},
    )


def _walk_rows() -> _Walk:
    sha256 = hashlib.sha256
    expected = 1
    last = GENESIS
    broken: tuple[int, bool, bytes] | None = None
    gap: tuple[int, int] | None = None
    for row in _rows():
        seq = row[1]
        if seq != expected:
            gap = (expected, seq)
            break
        prev_hash = bytes(row[0])
        stored = bytes(row[11])
        intact = sha256(message(prev_hash, *row[1:11])).digest() == stored
        if not intact or prev_hash != last:
            broken = (seq, intact, prev_hash)
            break
        last = stored
        expected += 1
    count = expected - 1
    if gap is not None:
        wanted, found = gap
        if found > wanted:
            problem = Problem(
                wanted,
                "missing",
                _("Entry %(seq)s is missing: it was deleted (the next entry present is %(next)s).")
                % {"seq": wanted, "next": found},
            )
        else:
            problem = Problem(
                found,
                "reordered",
                _("Entry %(seq)s appears twice or out of order.") % {"seq": found},
            )
        return _Walk(count, count, last, problem)
    if broken is not None:
        return _Walk(count, count, last, _diagnose(*broken))
    return _Walk(count, count, last)


def _check_head(walk: _Walk) -> Problem | None:
    head = AuditHead.objects.filter(pk=1).values_list("seq", "hash").first()
    if head is None:
        if walk.entries == 0:
            return None
        return Problem(
            walk.last_seq,
            "head",
            _("The chain head record is missing; entries after %(seq)s may have been removed.")
            % {"seq": walk.last_seq},
        )
    seq, digest = int(head[0]), bytes(head[1])
    if seq > walk.last_seq:
        return Problem(
            walk.last_seq + 1,
            "missing",
            _(
                "Entries %(first)s to %(last)s are missing: the chain head says %(last)s entries "
                "were written."
            )
            % {"first": walk.last_seq + 1, "last": seq},
        )
    if seq != walk.last_seq or digest != walk.last_hash:
        return Problem(
            walk.last_seq,
            "head",
            _("The chain head record does not match entry %(seq)s.") % {"seq": walk.last_seq},
        )
    return None


# --- Anchors -------------------------------------------------------------------------------------


class _Trust:
    """Validation contexts for timestamp tokens: our own chain, and configured foreign roots."""

    def __init__(self) -> None:
        from signing.keystore import get_keystore
        from signing.signer import validation_context
        from signing.verify import _load_extra_roots

        store = get_keystore()
        store.tsa()  # our TSA certificate exists (and so is among the known certificates)
        self.ours_subject = store.root_asn1().subject
        self.ours = validation_context(store)
        self.foreign = validation_context(
            store, extra_roots=_load_extra_roots(), revocation_mode="soft-fail"
        )

    def for_token(self, signed_data: cms.SignedData) -> Any:
        try:
            issuer = signed_data["signer_infos"][0]["sid"].chosen["issuer"]
        except Exception:
            return self.foreign
        return self.ours if issuer == self.ours_subject else self.foreign


def check_anchor(
    seq: int, digest: bytes, token: bytes, chain_hash: bytes | None, trust: Any
) -> AnchorCheck:
    """One anchor: a trusted token whose imprint is `digest`, which is the chain's hash at seq."""
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko.sign.validation.status import TimestampSignatureStatus

    check = AnchorCheck(seq, digest.hex(), None, "", False)
    try:
        content = cms.ContentInfo.load(token)
        signed_data = content["content"]
        info = signed_data["encap_content_info"]["content"].parsed
        check.gen_time = info["gen_time"].native.isoformat()
        imprint = info["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        hashed = imprint["hashed_message"].native
    except Exception as e:
        check.problem = _("The timestamp token cannot be read: %(error)s") % {"error": e}
        return check
    if algorithm != "sha256" or hashed != digest:
        check.problem = _("The timestamp covers another hash than the one anchored.")
        return check
    if chain_hash is None:
        check.problem = _("The anchored entry %(seq)s is not in the chain any more.") % {"seq": seq}
        return check
    if chain_hash != digest:
        check.problem = _(
            "The chain was rewritten: entry %(seq)s no longer has the hash that was timestamped "
            "at %(time)s."
        ) % {"seq": seq, "time": check.gen_time}
        return check
    try:
        kwargs = async_to_sync(validate_tst_signed_data)(
            signed_data, trust.for_token(signed_data), lambda _algorithm: digest
        )
        status = TimestampSignatureStatus(**kwargs)
        signer = status.signing_cert.subject.native.get("common_name", "")
        check.tsa = str(signer)
        good = bool(status.intact and status.valid and status.trusted)
    except Exception as e:
        check.problem = _("The timestamp's signature cannot be checked: %(error)s") % {"error": e}
        return check
    if not good:
        check.problem = _(
            "The timestamp's signature does not verify against a trusted TSA certificate."
        )
        return check
    check.valid = True
    return check


def _check_anchors(walk: _Walk) -> list[AnchorCheck]:
    anchors = list(AuditAnchor.objects.order_by("seq", "id").values_list("seq", "hash", "token"))
    if not anchors:
        return []
    seqs = {int(seq) for seq, _hash, _token in anchors}
    chain = {
        int(seq): bytes(digest)
        for seq, digest in AuditEntry.objects.filter(seq__in=seqs).values_list("seq", "hash")
    }
    # An anchor past a break in the chain cannot vouch for entries that failed the walk, but
    # its own check still says whether the timestamped hash is where it was.
    trust = _Trust()
    return [
        check_anchor(int(seq), bytes(digest), bytes(token), chain.get(int(seq)), trust)
        for seq, digest, token in anchors
    ]


# --- Putting it together -------------------------------------------------------------------------


def verify(*, fast: bool = True) -> Report:
    started = time.perf_counter()
    report = Report()
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            # One snapshot for the walk, the head and the anchors, while others keep appending.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        walk = None
        if fast and connection.vendor == "postgresql":
            walk = _walk_copy()
            report.method = "copy"
        if walk is None:
            walk = _walk_rows()
            report.method = "rows"
        report.entries = walk.entries
        report.last_seq = walk.last_seq
        report.head_hash = walk.last_hash.hex()
        report.problem = walk.problem or _check_head(walk)
        report.anchors = _check_anchors(walk)
    report.seconds = time.perf_counter() - started
    return report
