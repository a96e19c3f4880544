"""Freezing a document for a meeting: the record as it is now, by its SHA-256.

The object store is content-addressed, so the bytes named here never change: a later version of
the document, a draft's record rebuilt after an edit, or a signature appended to the record all
write new objects under new keys and leave these. What the item keeps: the version, the record's
key, size and page count, what a draft's record was built from, and the parts of the record (the
cover, then each attachment shown as pages) with each attachment's own key.
"""

from __future__ import annotations

from typing import Any

from documents.access import require_kept
from documents.models import Document, DocumentVersion
from documents.records import ensure_record


def current_version(document: Document) -> DocumentVersion:
    return document.versions.get(number=document.version)


def frozen_copy(document: Document) -> dict[str, Any]:
    """The fields of a MeetingItem that freeze `document` as it is now."""
    require_kept(document)
    version = ensure_record(current_version(document))
    return {
        "version": version,
        "version_number": version.number,
        "title": document.title[:200],
        "document_number": document.number or "",
        "record_sha256": version.record_sha256,
        "record_size": version.record_size or 0,
        "record_pages": version.record_pages or 0,
        "record_inputs": version.record_inputs if version.frozen_at is None else "",
        "parts": parts_of(version),
    }


def parts_of(version: DocumentVersion) -> list[dict[str, Any]]:
    """The record's parts as the workspace names them ("cover", "a<attachment id>")."""
    attachments = {a.pk: a for a in version.attachments.all()}
    layout = version.record_layout or {}
    pages = version.record_pages or 0
    cover = int(layout.get("cover_pages") or 0) or (pages if not layout.get("parts") else 1)
    parts: list[dict[str, Any]] = [
        {
            "key": "cover",
            "label": "",  # named in the reader's language when shown
            "first": 1,
            "count": cover,
            "attachment": None,
            "sha256": "",
        }
    ]
    for index, part in enumerate(layout.get("parts") or []):
        count = int(part.get("page_count") or 0)
        if part.get("first_page") is None or count <= 0:
            continue  # embedded as a file: listed on the cover, no pages of its own
        attachment = attachments.get(part.get("attachment_id"))
        parts.append(
            {
                "key": f"a{part.get('attachment_id')}",
                "label": attachment.filename if attachment else f"{index + 1}",
                "first": int(part["first_page"]),
                "count": count,
                "attachment": attachment.pk if attachment else None,
                "sha256": attachment.sha256 if attachment else "",
            }
        )
    return parts


def newer_version(item: Any, document: Document | None = None) -> bool:
    """Has the document moved on since it was frozen: a later version, or (a draft) its record
    now built from other inputs?"""
    document = document or item.document
    if document.version > item.version_number:
        return True
    if item.record_inputs:
        current = (
            DocumentVersion.objects.filter(document_id=document.pk, number=item.version_number)
            .values_list("record_inputs", flat=True)
            .first()
        )
        return bool(current) and current != item.record_inputs
    return False
