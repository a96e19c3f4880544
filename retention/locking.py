"""Object Lock for decided records: keep their objects unaltered until their period has ended.

`protect(document)` runs after the decision has committed (a `workflow.hooks` listener) and again
from `apply_retention` for any record whose lock is missing or too short. Each object is stat'ed
first: one that already carries a long enough retention date is left alone, so running it twice
changes nothing. Otherwise it is written again with `retain_until` (content-addressed: the same
bytes under the same key; the store keeps its copy and only extends the retention date, S3
Object Lock in COMPLIANCE mode on MinIO, a read-only file and a sidecar on the file system).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from audit import services as audit
from documents.models import Document, DocumentVersion, Status
from storage import (
    DEFAULT_CONTENT_TYPE,
    ObjectNotFound,
    ObjectStore,
    StorageError,
    get_store,
    key_for,
)

from . import periods
from .models import RetentionState
from .objects import objects_to_lock

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LockResult:
    state: RetentionState
    until: datetime | None  # the retention date asked for; None: nothing to lock
    written: int = 0  # objects whose retention date was set or extended
    error: str = ""


def ensure_state(document: Document) -> RetentionState:
    """The record's RetentionState, created from its decision if missing."""
    end = periods.retention_end(document)
    state, _ = RetentionState.objects.get_or_create(
        document=document, defaults={"retention_end": end}
    )
    return state


def lock_object(store: ObjectStore, sha256: str, until: datetime) -> bool:
    """Give one object a retention date of at least `until`; True if the store was changed."""
    key = key_for(sha256)
    info = store.stat(key)
    if info.retain_until is not None and info.retain_until >= until:
        return False
    with store.open(key) as reader:
        store.put(
            reader,
            length=info.size,
            sha256=sha256,
            content_type=info.content_type or DEFAULT_CONTENT_TYPE,
            retain_until=until,
        )
    return True


def current_record(document: Document) -> str:
    """The SHA-256 of the current version's decision record ("" if it has none)."""
    return (
        DocumentVersion.objects.filter(document=document, number=document.version)
        .values_list("record_sha256", flat=True)
        .first()
        or ""
    )


def needs_lock(
    state: RetentionState, on: date | None = None, record: str | None = None
) -> datetime | None:
    """The retention date the record's objects should carry and do not yet; None if none.

    `record`: the current decision record's SHA-256, when known; a record other than the one
    locked last time (renewed since) is locked to the same date as the rest.
    """
    until = periods.lock_until(state.retention_end, on)
    if until is None:
        return None
    if state.locked_until is None or state.locked_until < until:
        return until
    if record is not None and record != state.locked_record_sha256:
        return state.locked_until
    return None


def protect(document: Document, *, on: date | None = None) -> LockResult:
    """Lock the objects of a decided record until the end of its period (idempotent).

    Store failures do not raise: they are kept on the state (`lock_error`) for apply_retention
    to retry, and returned.
    """
    if document.status != Status.DECIDED:
        raise periods.NotDecided(f"document {document.pk} is {document.status}, not decided")
    state = ensure_state(document)
    record = current_record(document)
    until = needs_lock(state, on, record)
    if until is None:
        return LockResult(state, None)
    store = get_store()
    written = 0
    error = ""
    objects = objects_to_lock(document)
    try:
        if not store.supports_retention():
            error = f"the {store.backend} store cannot enforce retention (no Object Lock)"
        else:
            for item in objects:
                try:
                    written += lock_object(store, item.sha256, until)
                except ObjectNotFound:
                    # A decided record without its bytes: the lock cannot help; say so loudly.
                    error = f"object {item.sha256} ({item.role}, v{item.version}) is missing"
                    logger.error("retention: record %s: %s", document.pk, error)
    except StorageError as exc:
        error = str(exc)[:500]
        logger.warning("retention: could not lock record %s: %s", document.pk, exc)
    with transaction.atomic():
        state = RetentionState.objects.select_for_update().get(pk=state.pk)
        repeated = bool(error) and state.lock_error == error[:500]
        if error:
            state.lock_error = error[:500]
            state.save(update_fields=["lock_error"])
        else:
            if state.locked_until is None or state.locked_until < until:
                state.locked_until = until
            state.locked_record_sha256 = record
            state.locked_at = timezone.now()
            state.lock_error = ""
            state.save(
                update_fields=["locked_until", "locked_record_sha256", "locked_at", "lock_error"]
            )
        if repeated:  # the same failure as last time: the trail already says so
            return LockResult(state, until, written, error)
        audit.record(
            "retention.lock_failed" if error else "retention.lock",
            document=document,
            data={
                "retain_until": until.isoformat(),
                "retention_end": state.retention_end.isoformat() if state.retention_end else None,
                "objects": [o.sha256 for o in objects],
                "written": written,
                **({"error": error} if error else {}),
            },
        )
    return LockResult(state, until, written, error)
