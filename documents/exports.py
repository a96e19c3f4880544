"""Search results as CSV: the "download on request" the Electronic Books Maintenance Act accepts.

Streamed row by row (an auditor may export a whole fiscal year), UTF-8 with a byte-order mark so
that Excel in Japanese opens it correctly, one row per document the user may see.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from documents.models import Document
from storage import content_disposition

COLUMNS = (
    ("number", "文書番号"),
    ("title", "件名"),
    ("doc_type", "文書種別"),
    ("status", "状態"),
    ("amount", "金額（円）"),
    ("counterparty", "取引先"),
    ("transaction_date", "取引年月日"),
    ("department", "所属"),
    ("drafter", "起案者"),
    ("submitted", "起案日"),
    ("decided", "決裁日"),
    ("retention_years", "保存年数"),
    ("id", "文書ID"),
)


class _Echo:
    """csv.writer wants a file; this one hands each line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def _date(value: Any) -> str:
    return timezone.localdate(value).isoformat() if value else ""


def _row(document: Document) -> list[str]:
    values = {
        "number": document.number or "",
        "title": document.title,
        "doc_type": document.doc_type.name,
        "status": str(document.get_status_display()),
        "amount": "" if document.amount is None else str(document.amount),
        "counterparty": document.counterparty,
        "transaction_date": document.transaction_date.isoformat()
        if document.transaction_date
        else "",
        "department": document.department.full_name,
        "drafter": str(document.drafter),
        "submitted": _date(document.submitted_at),
        "decided": _date(document.decided_at),
        "retention_years": str(document.retention_years),
        "id": str(document.pk),
    }
    return [_safe(values[key]) for key, _ in COLUMNS]


def _safe(value: str) -> str:
    # A cell starting with = + - @ is a formula to spreadsheet programs (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _lines(documents: QuerySet[Document]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([label for _, label in COLUMNS])
    rows = documents.select_related("doc_type", "department", "drafter").order_by(
        "transaction_date", "id"
    )
    for document in rows.iterator(chunk_size=2000):
        yield writer.writerow(_row(document))


def csv_response(documents: QuerySet[Document]) -> StreamingHttpResponse:
    name = f"documents_{timezone.localdate().isoformat()}.csv"
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in _lines(documents)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = content_disposition(name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
