"""Helpers of the retention tests: real records decided through the API, and a movable clock.

The clock moves what retention reads as "today" (`retention.periods.today`) and what the object
store reads as "now" when it judges a retention date (`storage.base.datetime`): records are
decided, signed and timestamped at the real time, and years later, as far as retention is
concerned, their period has ended and their Object Lock has run out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from fpdf import FPDF
from rest_framework.test import APIClient

import storage.base
from documents.models import Document, DocumentType, Status
from org.demo import DEMO_PASSWORD
from org.models import Department, User
from retention import periods


def session(username: str) -> APIClient:
    client = APIClient()
    assert client.login(username=username, password=DEMO_PASSWORD)
    return client


def pdf_bytes(text: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text=text)
    return bytes(pdf.output())


@dataclass
class Decided:
    id: int
    number: str
    originals: dict[str, bytes]  # file name → bytes

    @property
    def document(self) -> Document:
        return Document.objects.get(pk=self.id)

    def original_hashes(self) -> set[str]:
        return {hashlib.sha256(data).hexdigest() for data in self.originals.values()}


def tasks(username: str) -> list[dict[str, Any]]:
    return list(session(username).get("/api/v1/tasks").json()["results"])


def approve(username: str, document_id: int) -> Any:
    found = [t for t in tasks(username) if t["document"]["id"] == document_id]
    assert len(found) == 1, (username, found)
    return session(username).post(f"/api/v1/tasks/{found[0]['id']}/approve", {}, format="json")


def decide_through_route(
    title: str = "庁舎案内表示の更新について",
    *,
    doc_type: str = "notice",
    retention_years: int = 1,
    originals: dict[str, bytes] | None = None,
    on_decision: Callable[[], Any] | None = None,
) -> Decided:
    """tanaka drafts with PDF originals, suzuki approves, sato decides (課長専決).

    `on_decision` wraps the decider's action (e.g. capturing and running on-commit callbacks).
    """
    marker = hashlib.sha256(title.encode()).hexdigest()[:16]  # distinct bytes per record
    files = originals if originals is not None else {"案内図.pdf": pdf_bytes(f"map {marker}")}
    meta = {
        "title": title,
        "doc_type": doc_type,
        "body": "表示を更新してよろしいか伺います。",
        "amount": 500_000,
        "retention_years": retention_years,
    }
    response = session("tanaka").post(
        "/api/v1/documents",
        {
            "meta": json.dumps(meta),
            "attachments": [
                SimpleUploadedFile(name, data, content_type="application/pdf")
                for name, data in files.items()
            ],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    document_id = int(response.json()["id"])
    response = session("tanaka").post(f"/api/v1/documents/{document_id}/submit", {}, format="json")
    assert response.status_code == 200, response.content
    assert approve("suzuki", document_id).status_code == 200
    if on_decision is None:
        assert approve("sato", document_id).status_code == 200
    else:
        with on_decision():
            assert approve("sato", document_id).status_code == 200
    document = Document.objects.get(pk=document_id)
    assert document.status == Status.DECIDED
    assert document.number
    return Decided(document_id, document.number, files)


def plain_record(
    number: str,
    *,
    fiscal_year: int,
    retention_years: int = 1,
    title: str = "記録",
    status: str = Status.DECIDED,
    department: str = "somu-somu",
    secrecy: str = "normal",
) -> Document:
    """A decided record as rows only (no route, no objects): for lists and refusals."""
    decided = datetime(fiscal_year, 6, 1, 10, 0, tzinfo=timezone.get_default_timezone())
    return Document.objects.create(
        title=title,
        doc_type=DocumentType.objects.get(code="notice"),
        department=Department.objects.get(code=department),
        drafter=User.objects.get(username="tanaka"),
        retention_years=retention_years,
        status=status,
        secrecy=secrecy,
        number=number if status == Status.DECIDED else None,
        fiscal_year=fiscal_year if status == Status.DECIDED else None,
        decided_at=decided if status == Status.DECIDED else None,
    )


class Clock:
    """Moves retention's today and the object store's now together."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch

    def set(self, day: date) -> None:
        """Be at noon (Tokyo) on `day`."""
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=timezone.get_default_timezone())
        offset = noon.astimezone(UTC) - datetime.now(UTC)

        class Shifted(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Shifted:
                return cls.fromtimestamp((datetime.now(tz) + offset).timestamp(), tz)

        self._monkeypatch.setattr(storage.base, "datetime", Shifted)
        self._monkeypatch.setattr(periods, "today", lambda: day)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    yield Clock(monkeypatch)


def after(end: date, days: int = 1) -> date:
    return end + timedelta(days=days)
