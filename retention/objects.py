"""The stored objects that make up a decided record, and who else refers to them.

A record's objects are, for every version: the decision record as it ended (the final, signed
file), every earlier state of it (each signature appended an incremental revision, stored as a
whole file), the originals and the unlocked copies of encrypted PDFs. The object store is
content-addressed, so the same bytes (an estimate attached to two proposals) may belong to other
documents as well: `shared` tells which must be kept when this record is disposed of.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from documents.models import Attachment, Document, DocumentVersion, RecordRevision, Status

from .models import ObjectRole

# Documents whose objects no longer count as references: they have been disposed of.
GONE_STATUSES = (Status.DISPOSED, Status.TRANSFERRED)


@dataclass(frozen=True)
class RecordObject:
    sha256: str
    role: str
    version: int
    size: int | None = None
    name: str = ""


def _versions(document: Document) -> list[DocumentVersion]:
    return list(document.versions.order_by("number"))


def record_objects(document: Document) -> list[RecordObject]:
    """Every object of the record, each SHA-256 once (the first role found wins)."""
    found: dict[str, RecordObject] = {}

    def add(item: RecordObject) -> None:
        if item.sha256 and item.sha256 not in found:
            found[item.sha256] = item

    for version in _versions(document):
        if version.record_sha256:
            add(
                RecordObject(
                    version.record_sha256, ObjectRole.RECORD, version.number, version.record_size
                )
            )
        for revision in RecordRevision.objects.filter(version=version).order_by("seq"):
            add(RecordObject(revision.previous_sha256, ObjectRole.REVISION, version.number))
            add(RecordObject(revision.sha256, ObjectRole.REVISION, version.number, revision.size))
        for attachment in Attachment.objects.filter(version=version).order_by("position"):
            add(
                RecordObject(
                    attachment.sha256,
                    ObjectRole.ORIGINAL,
                    version.number,
                    attachment.size,
                    attachment.filename,
                )
            )
            if attachment.pdf_sha256:
                add(
                    RecordObject(
                        attachment.pdf_sha256,
                        ObjectRole.READABLE_PDF,
                        version.number,
                        None,
                        attachment.filename,
                    )
                )
    return list(found.values())


def objects_to_lock(document: Document) -> list[RecordObject]:
    """What the store must keep unaltered: each version's final record and its originals.

    The earlier states of a record need no lock of their own: each is a prefix of the final
    file (signatures are incremental updates), which holds the same bytes.
    """
    return [o for o in record_objects(document) if o.role != ObjectRole.REVISION]


def shared(sha256: str, document: Document) -> bool:
    """Whether any other document that still exists in full refers to these bytes."""
    others = ~Q(document=document) & ~Q(document__status__in=GONE_STATUSES)
    versions = DocumentVersion.objects.filter(others)
    if versions.filter(record_sha256=sha256).exists():
        return True
    if Attachment.objects.filter(
        Q(sha256=sha256) | Q(pdf_sha256=sha256), version__in=versions
    ).exists():
        return True
    return RecordRevision.objects.filter(
        Q(sha256=sha256) | Q(previous_sha256=sha256), version__in=versions
    ).exists()


__all__ = ["GONE_STATUSES", "RecordObject", "objects_to_lock", "record_objects", "shared"]
