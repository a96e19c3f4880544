"""Use cases for documents: drafting, attachments, editing, and freezing a version.

Every state change of a document's content is one function here; the API, the browser pages and
the workflow call these and nothing else. Files are checked completely before anything is stored,
stored before the database rows that name them, and removed again if those rows are not written,
so a refused or failed upload leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status

from api.errors import ApiError
from audit import services as audit
from documents import blobs, conversions, describe
from documents.access import can_edit, visible_documents
from documents.describe import EDITABLE_FIELDS
from documents.models import (
    Attachment,
    Document,
    DocumentVersion,
    Status,
)
from documents.search import index_fields
from documents.uploads import Upload, limits, too_large
from org.models import User


class DocumentError(ApiError):
    pass


def _not_editable(document: Document) -> DocumentError:
    return DocumentError(
        "not_editable",
        _("This document cannot be changed now (status: %(status)s).")
        % {"status": document.get_status_display()},
        status.HTTP_409_CONFLICT,
    )


def lock_document(document_id: int) -> Document:
    """The document row, locked until the end of the transaction; 404 if it is gone."""
    try:
        return Document.objects.select_for_update().get(pk=document_id)
    except Document.DoesNotExist:
        raise DocumentError(
            "not_found", _("No such document."), status.HTTP_404_NOT_FOUND
        ) from None


def _check_editable(user: User, document: Document) -> None:
    if document.drafter_id != user.pk:
        raise DocumentError(
            "permission_denied",
            _("Only the drafter can change this document."),
            status.HTTP_403_FORBIDDEN,
        )
    if not can_edit(user, document):
        raise _not_editable(document)


def _apply_fields(document: Document, fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        if name not in EDITABLE_FIELDS:
            raise ValueError(f"{name} is not an editable field")
        setattr(document, name, value)
    for name, value in index_fields(document.title, document.body, document.counterparty).items():
        setattr(document, name, value)


def _drafting_department(user: User) -> Any:
    post = user.primary_post
    if post is None:
        raise DocumentError(
            "no_post",
            _("You hold no post in the organisation, so you cannot draft; ask an administrator."),
            status.HTTP_403_FORBIDDEN,
        )
    return post.department


def _check_total(existing: int, uploads: Sequence[Upload]) -> None:
    total = existing + sum(upload.size for upload in uploads)
    if total > limits().max_document_bytes:
        raise too_large(
            _("The attachments together would exceed %(limit)s MB, the limit for a document.")
            % {"limit": limits().max_document_bytes // 1024**2}
        )


def _correction_target(user: User, document_id: int | None) -> Document | None:
    """The decided record a new draft corrects (訂正), which its drafter must be able to see."""
    if document_id is None:
        return None
    target = visible_documents(user).filter(pk=document_id).first()
    if target is None:
        raise DocumentError(
            "not_found", _("The document to correct does not exist."), status.HTTP_404_NOT_FOUND
        )
    if target.status != Status.DECIDED:
        raise DocumentError(
            "not_decided",
            _("Only a decided record is corrected by a new document; edit the draft itself."),
            status.HTTP_409_CONFLICT,
        )
    return target


def create_document(
    user: User,
    fields: Mapping[str, Any],
    uploads: Sequence[Upload] = (),
    passwords: Mapping[str, str] | None = None,
    *,
    corrects: int | None = None,
) -> Document:
    """A new draft (起案) in the drafter's department, with its attachments; with `corrects`, the
    correction of a decided record, linked to it."""
    department = _drafting_department(user)
    target = _correction_target(user, corrects)
    _check_total(0, uploads)
    prepared = blobs.prepare(uploads, passwords or {})
    stored = blobs.store(prepared)
    try:
        with transaction.atomic():
            document = Document(
                drafter=user, department=department, status=Status.DRAFT, corrects=target
            )
            _apply_fields(document, fields)
            document.save()
            version = DocumentVersion.objects.create(document=document, number=1, created_by=user)
            attachments = blobs.create_attachments(version, stored, user, start=1)
            conversions.convert_later(attachments)
            audit.record(
                "document.create",
                actor=user,
                document=document,
                data={
                    "fields": describe.document_fields(document),
                    "attachments": describe.attachments(attachments),
                },
            )
    except BaseException:
        blobs.discard_unreferenced(stored)
        raise
    return document


def _open_version(document: Document, user: User) -> DocumentVersion:
    """The version edits go into: the current one, or a new copy if the current one is frozen."""
    current = document.versions.get(number=document.version)
    if current.frozen_at is None:
        return current
    copy = DocumentVersion.objects.create(
        document=document, number=current.number + 1, created_by=user
    )
    Attachment.objects.bulk_create(
        Attachment(
            version=copy,
            position=a.position,
            filename=a.filename,
            size=a.size,
            sha256=a.sha256,
            content_type=a.content_type,
            kind=a.kind,
            page_count=a.page_count,
            pdf_sha256=a.pdf_sha256,
            note=a.note,
            uploaded_by=a.uploaded_by,
        )
        for a in current.attachments.all()
    )
    document.version = copy.number
    return copy


@transaction.atomic
def update_document(user: User, document_id: int, fields: Mapping[str, Any]) -> Document:
    document = lock_document(document_id)
    _check_editable(user, document)
    before = describe.document_fields(document)
    _open_version(document, user)
    _apply_fields(document, fields)
    document.save()
    audit.record(
        "document.update", actor=user, document=document, data=describe.changes(before, document)
    )
    return document


def add_attachments(
    user: User,
    document_id: int,
    uploads: Sequence[Upload],
    passwords: Mapping[str, str] | None = None,
) -> list[Attachment]:
    document = Document.objects.get(pk=document_id)
    _check_editable(user, document)
    prepared = blobs.prepare(uploads, passwords or {})
    stored = blobs.store(prepared)
    try:
        with transaction.atomic():
            document = lock_document(document_id)
            _check_editable(user, document)  # again, under the lock: it may have been submitted
            version = _open_version(document, user)
            existing = version.attachments.aggregate(total=Sum("size"))["total"] or 0
            _check_total(existing, uploads)
            last = version.attachments.order_by("-position").values_list("position", flat=True)
            attachments = blobs.create_attachments(
                version, stored, user, start=(last.first() or 0) + 1
            )
            conversions.convert_later(attachments)
            document.save()
            audit.record(
                "attachment.add",
                actor=user,
                document=document,
                data={"attachments": describe.attachments(attachments)},
            )
    except BaseException:
        blobs.discard_unreferenced(stored)
        raise
    return attachments


@transaction.atomic
def remove_attachment(user: User, document_id: int, attachment_id: int) -> None:
    document = lock_document(document_id)
    _check_editable(user, document)
    current = document.versions.get(number=document.version)
    try:
        position = current.attachments.get(pk=attachment_id).position
    except Attachment.DoesNotExist:
        raise DocumentError(
            "not_found", _("No such attachment in this document."), status.HTTP_404_NOT_FOUND
        ) from None
    version = _open_version(document, user)
    removed = version.attachments.get(position=position)
    removed.delete()
    # Keep positions consecutive; shift in two steps so the unique constraint never trips.
    later = version.attachments.filter(position__gt=position)
    later.update(position=F("position") + 100_000)
    later.update(position=F("position") - 100_001)
    document.save()
    audit.record(
        "attachment.remove",
        actor=user,
        document=document,
        data={"attachment": describe.attachment(removed)},
    )
    # The bytes stay: other versions and documents may share them (content addressing), and
    # signed versions must keep theirs.


def metadata_snapshot(document: Document) -> dict[str, Any]:
    return {
        "title": document.title,
        "doc_type": document.doc_type.code,
        "body": document.body,
        "amount": document.amount,
        "counterparty": document.counterparty,
        "transaction_date": (
            document.transaction_date.isoformat() if document.transaction_date else None
        ),
        "retention_years": document.retention_years,
        "disclosure": document.disclosure,
        "secrecy": document.secrecy,
        "department": document.department.code,
    }


def freeze_version(document: Document) -> DocumentVersion:
    """Fix the current version's content at submission. The caller holds the document's lock."""
    version = document.versions.select_for_update().get(number=document.version)
    if version.frozen_at is None:
        version.metadata = metadata_snapshot(document)
        version.frozen_at = timezone.now()
        # A draft's record showed the planned route and no submission date: the frozen version's
        # record is built afresh, once, and from then on only signatures extend it.
        version.record_sha256 = ""
        version.record_inputs = ""
        version.save(update_fields=["metadata", "frozen_at", "record_sha256", "record_inputs"])
    return version
