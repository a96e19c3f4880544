"""Carrying out a decided disposal request: transfer (移管) and dispose of (廃棄) each record.

For every record of the request, in its own transaction with the record's row locked:

1. 移管 only: the record's evidence package (`retention.evidence.build_package`: records,
   originals, audit trail, verification report, certificates) is written to the object store
   first, so nothing is removed before the archives' copy exists;
2. a `Tombstone` with the record's identity, its period, the decision that disposed of it and
   one `TombstoneObject` per stored object (SHA-256, size), the record's status set to disposed
   or transferred, and an audit entry;
3. after that commit, each object is deleted from the store unless another record still holds
   the same bytes (content addressing) or the store still retains it; what could not be deleted
   stays marked on its `TombstoneObject` and `apply_retention` tries again.

Every step can run again: a record already disposed of is skipped, an object already gone is
noted as such. The database is changed before the store, so a crash in between leaves objects
to delete (retried), never a live record without its bytes.
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, cast

from django.db import transaction
from django.utils import timezone

from audit import services as audit
from documents.models import Document, Status
from org.models import User
from storage import (
    ObjectNotFound,
    RetentionError,
    StorageError,
    StorageUnavailable,
    get_store,
    key_for,
)
from workflow.models import ActionKind, HistoryEntry

from . import periods
from .models import (
    DisposalAction,
    DisposalItem,
    DisposalRequest,
    ItemStatus,
    ObjectStatus,
    Tombstone,
    TombstoneObject,
)
from .objects import GONE_STATUSES, RecordObject, record_objects, shared

logger = logging.getLogger(__name__)

SPOOL_BYTES = 32 * 1024 * 1024
RETRY_STATUSES = (ObjectStatus.PENDING, ObjectStatus.RETAINED)


@dataclass(frozen=True)
class Decision:
    """Who decided the request (and for whom, 代決), and when."""

    by: User
    on_behalf_of: User | None
    at: datetime


def decision_of(document: Document) -> Decision:
    """The approval that decided `document`: the last approval before its decision."""
    entry = (
        HistoryEntry.objects.filter(document=document, action=ActionKind.APPROVE)
        .select_related("actor", "on_behalf_of")
        .order_by("-at", "-id")
        .first()
    )
    if entry is None or document.decided_at is None:
        raise ValueError(f"document {document.pk} has no decision")
    return Decision(entry.actor, entry.on_behalf_of, document.decided_at)


# --- 移管: the evidence package ------------------------------------------------------------------


def _spool() -> BinaryIO:
    return cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b"))


def _write_package(record: Document, user: User, out: BinaryIO) -> None:
    from retention.evidence import build_package

    for chunk in build_package(record, user).zip():
        out.write(chunk)


PackageWriter = Callable[[Document, User, BinaryIO], None]
package_writer: PackageWriter = _write_package


def export_package(record: Document, user: User) -> tuple[str, int]:
    """Write the record's transfer package to the object store; its SHA-256 and size."""
    with _spool() as spool:
        package_writer(record, user, spool)
        size = spool.seek(0, io.SEEK_END)
        spool.seek(0)
        info = get_store().put(spool, length=size, content_type="application/zip")
    return info.sha256, info.size


# --- one record -----------------------------------------------------------------------------------


def _sizes(items: list[RecordObject]) -> dict[str, int | None]:
    store = get_store()
    sizes: dict[str, int | None] = {}
    for item in items:
        if item.size is not None:
            sizes[item.sha256] = item.size
            continue
        try:
            sizes[item.sha256] = store.stat(key_for(item.sha256)).size
        except ObjectNotFound:
            sizes[item.sha256] = None
    return sizes


def _skip(item: DisposalItem, note: str, decision: Decision) -> None:
    with transaction.atomic():
        DisposalItem.objects.filter(pk=item.pk).update(status=ItemStatus.SKIPPED, note=note[:300])
        audit.record(
            "retention.skipped",
            actor=decision.by,
            on_behalf_of=decision.on_behalf_of,
            document=item.record,
            data={"request": item.request.document_id, "note": note},
        )


def _dispose_record(item: DisposalItem, decision: Decision) -> Tombstone | None:
    request = item.request
    record = item.record
    if record.status in GONE_STATUSES:
        _skip(item, "already disposed of or transferred", decision)
        return None
    if record.status != Status.DECIDED or record.decided_at is None:
        _skip(item, f"not decided ({record.status})", decision)
        return None
    decided_at = record.decided_at
    end = periods.retention_end(record)
    if end is None or not periods.is_expired(end):
        _skip(item, f"retention period not ended ({end or 'permanent'})", decision)
        return None
    transfer: tuple[str, int] | None = None
    if request.action == DisposalAction.TRANSFER:
        transfer = export_package(record, request.requested_by)
        audit.record(
            "retention.transfer_exported",
            actor=decision.by,
            on_behalf_of=decision.on_behalf_of,
            document=record,
            data={"request": request.document_id, "sha256": transfer[0], "size": transfer[1]},
        )
    items = record_objects(record)
    sizes = _sizes(items)
    with transaction.atomic():
        record = Document.objects.select_for_update(of=("self",)).get(pk=record.pk)
        if record.status != Status.DECIDED:  # disposed of meanwhile (another run)
            done = Tombstone.objects.filter(document=record, request=request).exists()
            DisposalItem.objects.filter(pk=item.pk).update(
                status=ItemStatus.DONE if done else ItemStatus.SKIPPED,
                note="" if done else f"status {record.status}",
            )
            return None
        tombstone = Tombstone.objects.create(
            document=record,
            action=request.action,
            number=record.number or "",
            title=record.title,
            department_code=record.department.code,
            department_name=record.department.full_name,
            decided_at=decided_at,
            retention_years=record.retention_years,
            retention_end=end,
            request=request,
            request_number=request.document.number or "",
            decided_by=decision.by,
            decided_by_name=str(decision.by),
            decided_on_behalf_of=decision.on_behalf_of,
            request_decided_at=decision.at,
            transfer_sha256=transfer[0] if transfer else "",
            transfer_size=transfer[1] if transfer else None,
        )
        TombstoneObject.objects.bulk_create(
            TombstoneObject(
                tombstone=tombstone,
                sha256=o.sha256,
                size=sizes.get(o.sha256),
                role=o.role,
                version=o.version,
                name=o.name[:255],
            )
            for o in items
        )
        record.status = (
            Status.TRANSFERRED if request.action == DisposalAction.TRANSFER else Status.DISPOSED
        )
        record.save(update_fields=["status", "updated_at"])
        DisposalItem.objects.filter(pk=item.pk).update(status=ItemStatus.DONE, note="")
        audit.record(
            f"retention.{request.action}",
            actor=decision.by,
            on_behalf_of=decision.on_behalf_of,
            document=record,
            data={
                "tombstone": tombstone.pk,
                "request": request.document_id,
                "request_number": tombstone.request_number,
                "retention_end": end.isoformat(),
                "objects": [
                    {"sha256": o.sha256, "size": sizes.get(o.sha256), "role": o.role} for o in items
                ],
                **({"transfer_sha256": transfer[0]} if transfer else {}),
            },
        )
    return tombstone


# --- deleting the objects -------------------------------------------------------------------------


def purge(tombstone: Tombstone) -> dict[str, int]:
    """Delete the tombstone's objects the store may delete now; counts by outcome.

    Stops at a store outage (the rest stays pending for apply_retention).
    """
    store = get_store()
    outcome: dict[str, int] = {}
    changed: list[dict[str, str]] = []
    for obj in tombstone.stored_objects.filter(status__in=RETRY_STATUSES).order_by("id"):
        note = ""
        if shared(obj.sha256, tombstone.document):
            status = ObjectStatus.SHARED
        else:
            try:
                store.delete(key_for(obj.sha256))
                status = ObjectStatus.DELETED
            except ObjectNotFound:
                status = ObjectStatus.GONE
            except RetentionError as exc:
                status, note = ObjectStatus.RETAINED, str(exc)
            except StorageUnavailable as exc:
                logger.warning("retention: store unavailable while purging %s: %s", obj, exc)
                break
        if status != obj.status or note != obj.note:
            obj.status, obj.note = status, note[:300]
            if status in (ObjectStatus.DELETED, ObjectStatus.GONE):
                obj.deleted_at = timezone.now()
            obj.save(update_fields=["status", "note", "deleted_at"])
            changed.append({"sha256": obj.sha256, "status": status})
        outcome[status] = outcome.get(status, 0) + 1
    if changed:
        audit.record(
            "retention.objects_deleted",
            document=tombstone.document_id,
            data={"tombstone": tombstone.pk, "objects": changed},
        )
    return outcome


# --- the request ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    disposed: int = 0
    skipped: int = 0
    failed: int = 0


def carry_out(request: DisposalRequest) -> Outcome:
    """Dispose of (or transfer) every pending record of a decided request, then purge."""
    outcome = Outcome()
    document = Document.objects.get(pk=request.document_id)
    if document.status != Status.DECIDED or request.executed_at is not None:
        return outcome
    decision = decision_of(document)
    items = request.items.filter(status=ItemStatus.PENDING).select_related(
        "record__department", "request__document", "request__requested_by"
    )
    for item in items:
        try:
            tombstone = _dispose_record(item, decision)
        except StorageError as exc:  # the transfer package could not be written: retried
            logger.warning("retention: record %s not disposed of yet: %s", item.record_id, exc)
            outcome.failed += 1
            continue
        if tombstone is None:
            outcome.skipped += 1
        else:
            outcome.disposed += 1
    with transaction.atomic():
        locked = DisposalRequest.objects.select_for_update().get(pk=request.pk)
        if (
            locked.executed_at is None
            and not locked.items.filter(status=ItemStatus.PENDING).exists()
        ):
            locked.executed_at = timezone.now()
            locked.save(update_fields=["executed_at"])
            audit.record(
                "retention.request_executed",
                actor=decision.by,
                on_behalf_of=decision.on_behalf_of,
                document=document,
                data={
                    "action": locked.action,
                    "records": list(
                        locked.items.values_list("record_id", "status").order_by("position")
                    ),
                },
            )
        request.executed_at = locked.executed_at
    for tombstone in Tombstone.objects.filter(request=request).select_related("document"):
        purge(tombstone)
    return outcome


def pending_tombstones() -> list[Tombstone]:
    return list(
        Tombstone.objects.filter(stored_objects__status__in=RETRY_STATUSES)
        .distinct()
        .select_related("document")
    )
