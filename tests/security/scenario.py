"""A small world to attack: three documents of tanaka's in different states, and an open task.

| name      | state                                   | who may read it (the oracle of the walk)  |
|-----------|-----------------------------------------|-------------------------------------------|
| draft     | tanaka's draft, normal                  | tanaka, admin                             |
| secret    | secret, in review: suzuki → sato        | tanaka, suzuki, sato (route), admin       |
| decided   | normal, decided by sato (課長専決)       | tanaka, the 総務課 (suzuki, yamamoto,     |
|           |                                         | sato), the auditor watanabe, admin        |

`task` is suzuki's open task on the secret document; `annotation` is suzuki's mark on it.

`meeting` is sato's (organiser and chair) with suzuki and tanaka (MEETING_PEOPLE), the decided
record frozen in it (`meeting_item`), suzuki's private note (`meeting_note`, PRIVATE_NOTE) and
sato's shared one. `briefing` is tanaka's briefing (説明モード) of the decided record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fpdf import FPDF
from rest_framework.test import APIClient

from org.demo import DEMO_PASSWORD

USERS = [
    "tanaka",
    "suzuki",
    "yamamoto",
    "sato",
    "takahashi",
    "ito",
    "kobayashi",
    "watanabe",
    "admin",
]

READERS = {
    "draft": {"tanaka", "admin"},
    "secret": {"tanaka", "suzuki", "sato", "admin"},
    "decided": {"tanaka", "suzuki", "yamamoto", "sato", "watanabe", "admin"},
}

MEETING_PEOPLE = {"sato", "suzuki", "tanaka"}
PRIVATE_NOTE = "PRIVATE suzuki's own note 個人メモ"

META = {
    "doc_type": "contract",
    "body": "庁舎の清掃業務を委託する契約を締結してよろしいか伺います。",
    "amount": 500_000,
    "counterparty": "株式会社サンプル清掃",
    "transaction_date": "2026-11-20",
}


@dataclass
class Scenario:
    documents: dict[str, int]
    attachments: dict[str, int]
    task: int
    annotation: int | None
    secret_title: str
    meeting: int = 0
    meeting_item: int = 0
    meeting_note: int = 0
    briefing: int = 0


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


def _draft(title: str, **meta: Any) -> tuple[int, int]:
    response = session("tanaka").post(
        "/api/v1/documents",
        {
            "meta": json.dumps({**META, "title": title, **meta}),
            "attachments": [_upload(f"{title}.pdf")],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    return int(body["id"]), int(body["attachments"][0]["id"])


def _upload(name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(
        name, pdf_bytes("e-Kessai test attachment"), content_type="application/pdf"
    )


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.content
    return dict(response.json())


def _task(username: str, document_id: int) -> int:
    tasks = _ok(session(username).get("/api/v1/tasks"))["results"]
    (task,) = [t for t in tasks if t["document"]["id"] == document_id]
    return int(task["id"])


def build() -> Scenario:
    draft, draft_file = _draft("下書きの起案")
    secret_title = "人事異動の内示について"
    secret, secret_file = _draft(secret_title, secrecy="secret", doc_type="notice")
    decided, decided_file = _draft("決裁済みの契約")
    tanaka = session("tanaka")
    _ok(tanaka.post(f"/api/v1/documents/{secret}/submit", {}, format="json"))
    _ok(tanaka.post(f"/api/v1/documents/{decided}/submit", {}, format="json"))
    for username in ("suzuki", "sato"):
        task = _task(username, decided)
        _ok(session(username).post(f"/api/v1/tasks/{task}/approve", {}, format="json"))
    task = _task("suzuki", secret)
    mark = session("suzuki").post(
        f"/api/v1/documents/{secret}/annotations",
        {"page": 1, "kind": "note", "rects": [[72, 72, 144, 96]], "text": "確認"},
        format="json",
    )
    annotation = int(mark.json()["id"]) if mark.status_code == 201 else None
    meeting = _ok(
        session("sato").post(
            "/api/v1/meetings",
            {
                "title": "walk meeting",
                "starts_at": "2026-12-10T10:00:00+09:00",
                "attendees": ["suzuki", "tanaka"],
                "documents": [decided],
            },
            format="json",
        )
    )
    notes = f"/api/v1/meetings/{meeting['id']}/notes"
    note = _ok(session("suzuki").post(notes, {"text": PRIVATE_NOTE}, format="json"))
    _ok(session("sato").post(notes, {"text": "shared", "layer": "shared"}, format="json"))
    briefing = _ok(tanaka.post("/api/v1/briefings", {"document": decided}, format="json"))
    return Scenario(
        documents={"draft": draft, "secret": secret, "decided": decided},
        attachments={"draft": draft_file, "secret": secret_file, "decided": decided_file},
        task=task,
        annotation=annotation,
        secret_title=secret_title,
        meeting=int(meeting["id"]),
        meeting_item=int(meeting["items"][0]["id"]),
        meeting_note=int(note["id"]),
        briefing=int(briefing["id"]),
    )


def submitted(title: str = "承認待ちの起案") -> tuple[int, int]:
    """A fresh document of tanaka's under review: (document id, suzuki's open task id)."""
    document, _ = _draft(title)
    _ok(session("tanaka").post(f"/api/v1/documents/{document}/submit", {}, format="json"))
    return document, _task("suzuki", document)
