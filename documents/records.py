"""The decision record (決裁文書): one PDF per version, built from the cover sheet and attachments.

A draft's record is built on demand and rebuilt whenever what it is built from changes; a frozen
version's record is built once and then only grows by incremental signatures (signing/).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from django.db import transaction
from django.utils import timezone, translation

from documents.conversions import CachingConverter
from documents.models import Attachment, Document, DocumentVersion, Retention
from documents.record import CoverInfo, RecordInput, StampBox, build_record
from storage import get_store, key_for

# The workflow provides the route shown on the cover: (route lines, stamp boxes). Until a route
# exists (a draft), the cover shows the drafter's box only.
RouteProvider = Callable[[Document], tuple[list[str], list[StampBox]]]
_route_provider: RouteProvider | None = None


def set_route_provider(provider: RouteProvider) -> None:
    global _route_provider
    _route_provider = provider


def _route(document: Document) -> tuple[list[str], list[StampBox]]:
    if _route_provider is not None:
        return _route_provider(document)
    return [], [StampBox(label="起案者", name=str(document.drafter), key="drafter")]


def _cover(document: Document, version: DocumentVersion) -> CoverInfo:
    route, boxes = _route(document)
    drafted = document.submitted_at or document.created_at
    return CoverInfo(
        title=document.title,
        department=document.department.full_name,
        drafter=str(document.drafter),
        drafted_on=timezone.localdate(drafted) if drafted else None,
        doc_type=document.doc_type.name,
        amount=document.amount,
        counterparty=document.counterparty,
        transaction_date=document.transaction_date,
        retention=str(Retention(document.retention_years).label),
        classification=(
            f"{document.get_disclosure_display()}（秘密区分: {document.get_secrecy_display()}）"
        ),
        body=document.body,
        version=version.number,
        document_number=document.number,
        decided_on=timezone.localdate(document.decided_at) if document.decided_at else None,
        route=route,
        stamp_boxes=boxes,
        corrects=(
            f"{document.corrects.number or document.corrects.pk}「{document.corrects.title}」"
            if document.corrects
            else ""
        ),
    )


def _opener(sha256: str) -> Callable[[], BinaryIO]:
    def open_stream() -> BinaryIO:
        return get_store().open(key_for(sha256))  # type: ignore[return-value]

    return open_stream


def _input(attachment: Attachment) -> RecordInput:
    sha256, size = attachment.sha256, attachment.size
    if attachment.pdf_sha256:
        # An unlocked PDF: the record is built from its decrypted copy.
        sha256 = attachment.pdf_sha256
        size = get_store().stat(key_for(sha256)).size
    return RecordInput(
        attachment_id=attachment.pk,
        filename=attachment.filename,
        content_type=attachment.content_type,
        kind=attachment.kind,
        sha256=sha256,
        size=size,
        open=_opener(sha256),
    )


def _inputs(version: DocumentVersion) -> list[RecordInput]:
    return [_input(a) for a in version.attachments.order_by("position")]


def _fingerprint(cover: CoverInfo, inputs: list[RecordInput]) -> str:
    facts = {
        "cover": repr(cover),
        "inputs": [(i.attachment_id, i.filename, i.sha256, i.kind) for i in inputs],
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def ensure_record(version: DocumentVersion) -> DocumentVersion:
    """The version with a current record, building and storing it if needed."""
    document = version.document
    if version.frozen_at is not None and version.record_sha256:
        return version
    # An official record is in Japanese whatever language the requesting user reads.
    with translation.override("ja"):
        cover = _cover(document, version)
    inputs = _inputs(version)
    fingerprint = _fingerprint(cover, inputs)
    if version.record_sha256 and version.record_inputs == fingerprint:
        return version
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "record.pdf"
        with path.open("wb") as out:
            result = build_record(cover, inputs, out, office_converter=CachingConverter())
        with path.open("rb") as stream:
            info = get_store().put(
                stream, length=path.stat().st_size, content_type="application/pdf"
            )
    layout = {
        "cover_pages": result.cover_pages,
        "parts": [
            {
                "attachment_id": p.attachment_id,
                "first_page": p.first_page,
                "page_count": p.page_count,
                "treatment": p.treatment,
                "note": p.note,
            }
            for p in result.parts
        ],
        "stamps": [
            {
                "index": r.index,
                "page": r.page,
                "rect": [r.x, r.y, r.width, r.height],
                "key": cover.stamp_boxes[r.index].key if r.index < len(cover.stamp_boxes) else "",
            }
            for r in result.stamp_rects
        ],
        # where the decision sets the number and the date (workflow.sealing)
        "cells": {
            key: {"page": r.page, "rect": [r.x, r.y, r.width, r.height]}
            for key, r in result.cells.items()
        },
    }
    with transaction.atomic():
        # Compare-and-set: two readers building the same draft record at once write the same
        # bytes; only a record of older inputs is replaced.
        DocumentVersion.objects.filter(pk=version.pk).exclude(record_inputs=fingerprint).update(
            record_sha256=info.sha256,
            record_size=info.size,
            record_pages=result.page_count,
            record_inputs=fingerprint,
            record_layout=layout,
        )
    version.refresh_from_db()
    return version
