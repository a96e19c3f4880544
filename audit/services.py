"""Writing the audit trail: `record()` appends one entry; `anchor_head()` timestamps the chain.

`record()` runs inside the caller's transaction, so an action and its entry commit together and a
rolled-back action leaves no entry. Appends are serialised by a row lock on the single
`AuditHead` row (SELECT … FOR UPDATE), held until the caller's transaction ends: two entries can
never claim the same predecessor, so the chain never forks and seq has no gaps. Call `record()`
after the action's own row locks, so that lock order is always "action rows, then audit head".
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from asgiref.sync import async_to_sync
from asn1crypto import cms
from django.db import transaction
from django.utils import timezone

from audit.context import client_of, current_request
from audit.models import (
    GENESIS,
    AuditAnchor,
    AuditEntry,
    AuditHead,
    canonical_json,
)

logger = logging.getLogger(__name__)

HEAD_ID = 1
MAX_ACTION = 64


def _user_id(user: Any) -> int | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return int(user.pk)


def _lock_head() -> AuditHead:
    head = AuditHead.objects.select_for_update().filter(pk=HEAD_ID).first()
    if head is None:
        # First entry ever (or after a test flush): start where the table ends, so a lost head
        # row can never restart the numbering.
        last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, digest = (last[0], bytes(last[1])) if last else (0, GENESIS)
        AuditHead.objects.bulk_create(
            [AuditHead(pk=HEAD_ID, seq=seq, hash=digest)], ignore_conflicts=True
        )
        head = AuditHead.objects.select_for_update().get(pk=HEAD_ID)
    return head


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
    text = canonical_json(data or {})
    with transaction.atomic():
        head = _lock_head()
        entry = AuditEntry(
            seq=head.seq + 1,
            at=timezone.now(),
            actor_id=_user_id(actor),
            on_behalf_of_id=_user_id(on_behalf_of),
            action=action,
            document_id=document_id,
            document_version=version,
            ip=ip,
            client=client,
            data=text,
            prev_hash=bytes(head.hash),
        )
        entry.hash = hashlib.sha256(entry.message()).digest()
        entry.save()
        AuditHead.objects.filter(pk=HEAD_ID).update(seq=entry.seq, hash=entry.hash)
    return entry


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
