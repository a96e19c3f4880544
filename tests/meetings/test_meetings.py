"""Meetings (issue 21): the frozen set, who may be in a meeting with which documents, notes,
attendance and the pages presented in the audit trail, the minutes."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from api.errors import ApiError
from audit.models import AuditEntry
from meetings import access, services
from meetings.models import Meeting, MeetingItem
from org.models import User
from tests.meetings.conftest import ok
from tests.security import scenario

pytestmark = pytest.mark.django_db

WHEN = "2026-12-10T10:00:00+09:00"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def _meeting(client: Any, **fields: Any) -> dict[str, Any]:
    body = {"title": "総務課 打合せ", "starts_at": WHEN, "kind": "consultation", **fields}
    return ok(client.post("/api/v1/meetings", body, format="json"), 201)


def _submitted(title: str) -> int:
    document, _task = scenario.submitted(title)
    return document


def test_a_frozen_item_stays_as_it_was_when_the_document_gets_a_new_version(clients: Any) -> None:
    document, task = scenario.submitted("庁舎清掃の委託")
    sato = clients("sato")
    meeting = _meeting(sato, attendees=["suzuki", "tanaka"], documents=[document])
    (item,) = meeting["items"]
    assert item["version"] == 1 and item["newer_version"] is False
    before = b"".join(sato.get(item["file"]).streaming_content)
    assert before.startswith(b"%PDF") and len(before) == MeetingItem.objects.get().record_size

    # A real new version: suzuki sends it back, tanaka edits it (documents.services opens v2).
    ok(
        clients("suzuki").post(
            f"/api/v1/tasks/{task}/send-back", {"reason": "金額を確認"}, format="json"
        )
    )
    ok(
        clients("tanaka").patch(
            f"/api/v1/documents/{document}", {"title": "庁舎清掃の委託（修正）"}, format="json"
        )
    )
    detail = ok(clients("tanaka").get(f"/api/v1/documents/{document}"))
    assert detail["version"] == 2

    again = ok(sato.get(f"/api/v1/meetings/{meeting['id']}"))
    (frozen,) = again["items"]
    assert frozen["version"] == 1 and frozen["current_version"] == 2
    assert frozen["newer_version"] is True
    assert frozen["title"] == "庁舎清掃の委託" and frozen["sha256"] == item["sha256"]
    after = b"".join(sato.get(item["file"]).streaming_content)
    assert after == before
    # The page says so.
    page = clients("tanaka").get(f"/meetings/{meeting['id']}/")
    assert "新しい版があります" in page.content.decode()


def test_a_document_goes_in_only_if_every_attendee_may_read_it(clients: Any) -> None:
    secret, _task = scenario.submitted("一般の起案")
    s = scenario.build()
    sato = clients("sato")
    # ito (財政課) may not read 総務課's documents: refused, naming him.
    meeting = _meeting(sato, attendees=["suzuki", "ito"])
    refused = sato.post(
        f"/api/v1/meetings/{meeting['id']}/documents", {"document": secret}, format="json"
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "cannot_read" and "伊藤" in error["message"]
    assert error["people"] == ["ito"]
    # A document the caller may not read is not found (tanaka's draft: sato may not read it).
    hidden = sato.post(
        f"/api/v1/meetings/{meeting['id']}/documents",
        {"document": s.documents["draft"]},
        format="json",
    )
    assert hidden.status_code == 404
    # Without ito, it goes in; then ito cannot be added back.
    ok(sato.delete(f"/api/v1/meetings/{meeting['id']}/attendees/ito"), 204)
    ok(
        sato.post(
            f"/api/v1/meetings/{meeting['id']}/documents", {"document": secret}, format="json"
        ),
        201,
    )
    again = sato.post(
        f"/api/v1/meetings/{meeting['id']}/attendees", {"username": "ito"}, format="json"
    )
    assert again.status_code == 422
    assert "一般の起案" in again.json()["error"]["message"]
    # Creating a meeting with both at once is refused whole.
    whole = sato.post(
        "/api/v1/meetings",
        {"title": "x", "starts_at": WHEN, "attendees": ["ito"], "documents": [secret]},
        format="json",
    )
    assert whole.status_code == 422 and Meeting.objects.filter(title="x").count() == 0


def test_only_the_people_of_a_meeting_see_it(clients: Any) -> None:
    meeting = _meeting(clients("sato"), attendees=["suzuki"])
    url = f"/api/v1/meetings/{meeting['id']}"
    for outsider in ("ito", "tanaka", "admin"):
        client = clients(outsider)
        assert client.get(url).status_code == 404, outsider
        assert client.get(f"{url}/notes").status_code == 404
        assert client.get(f"{url}/minutes.pdf").status_code == 404
        assert client.get(f"/meetings/{meeting['id']}/").status_code == 404
        assert ok(client.get("/api/v1/meetings"))["results"] == []
    assert ok(clients("suzuki").get("/api/v1/meetings"))["results"][0]["id"] == meeting["id"]
    # Only the organiser changes it; an attendee is refused.
    assert clients("suzuki").patch(url, {"title": "y"}, format="json").status_code == 403
    assert (
        ok(clients("sato").patch(url, {"title": "課内打合せ"}, format="json"))["title"]
        == "課内打合せ"
    )
    user = User.objects.get(username="suzuki")
    m = Meeting.objects.get(pk=meeting["id"])
    assert access.may_attend(user, m) and not access.is_chair(user, m)
    assert access.is_chair(User.objects.get(username="sato"), m)


def test_reorder_and_remove(clients: Any) -> None:
    a, b, c = (_submitted(t) for t in ("一", "二", "三"))
    sato = clients("sato")
    meeting = _meeting(sato, attendees=["suzuki"], documents=[a, b, c])
    ids = [i["id"] for i in meeting["items"]]
    url = f"/api/v1/meetings/{meeting['id']}/documents"
    items = ok(sato.put(url, {"order": [ids[2], ids[0], ids[1]]}, format="json"))
    assert [i["title"] for i in items] == ["三", "一", "二"]
    assert sato.put(url, {"order": [ids[0]]}, format="json").status_code == 400
    ok(sato.delete(f"{url}/{ids[0]}"), 204)
    detail = ok(sato.get(f"/api/v1/meetings/{meeting['id']}"))
    assert [(i["position"], i["title"]) for i in detail["items"]] == [(1, "三"), (2, "二")]
    assert clients("suzuki").delete(f"{url}/{ids[1]}").status_code == 403


def test_attendance_and_pages_presented_go_to_the_audit_trail(clients: Any) -> None:
    document = _submitted("説明する起案")
    sato = clients("sato")
    meeting = _meeting(sato, attendees=["suzuki"], documents=[document])
    url = f"/api/v1/meetings/{meeting['id']}"
    ok(sato.post(f"{url}/start"))
    ok(clients("suzuki").post(f"{url}/attendance", {"present": True}, format="json"))
    ok(clients("suzuki").post(f"{url}/attendance", {"present": True}, format="json"))  # 2nd tab
    m = Meeting.objects.get(pk=meeting["id"])
    item = m.items.get()
    services.record_presented(m, User.objects.get(username="sato"), item, "cover", 1)
    ok(clients("suzuki").post(f"{url}/attendance", {"present": False}, format="json"))
    ok(sato.post(f"{url}/close"))
    joins = AuditEntry.objects.filter(action="meeting.join")
    assert joins.count() == 1 and joins.get().actor.username == "suzuki"
    assert AuditEntry.objects.filter(action="meeting.leave").count() == 1
    presented = AuditEntry.objects.get(action="meeting.present")
    assert presented.document_id == document and presented.document_version == 1
    data = json.loads(presented.data)
    assert data["page"] == 1 and data["record_sha256"] == item.record_sha256
    detail = ok(sato.get(url))
    suzuki = next(a for a in detail["attendees"] if a["username"] == "suzuki")
    assert suzuki["joined_at"] and suzuki["left_at"] and not suzuki["present"]
    # A page outside the frozen record is refused.
    with pytest.raises(ApiError, match="ページは1〜"):
        services.record_presented(m, User.objects.get(username="sato"), item, "cover", 999)


def test_notes_layers_and_the_minutes(clients: Any) -> None:
    document = _submitted("議題の起案")
    sato, suzuki = clients("sato"), clients("suzuki")
    meeting = _meeting(sato, attendees=["suzuki", "yamamoto"], documents=[document])
    url = f"/api/v1/meetings/{meeting['id']}"
    item = meeting["items"][0]["id"]
    private = ok(
        suzuki.post(
            f"{url}/notes",
            {"text": "PRIVATE-鈴木の個人メモ", "item": item, "part": "cover", "page": 1},
            format="json",
        ),
        201,
    )
    assert private["layer"] == "private"
    ok(
        suzuki.post(
            f"{url}/notes", {"text": "予算は来年度に計上する", "layer": "shared"}, format="json"
        ),
        201,
    )
    # Ink is the chair's.
    stroke = {"layer": "ink", "item": item, "page": 1, "strokes": [[[72, 700], [200, 650]]]}
    assert suzuki.post(f"{url}/notes", stroke, format="json").status_code == 403
    ok(sato.post(f"{url}/notes", stroke, format="json"), 201)
    # An anchor outside the item is refused.
    bad = suzuki.post(f"{url}/notes", {"text": "x", "item": item, "page": 99}, format="json")
    assert bad.status_code == 400
    seen = {n["text"] for n in ok(sato.get(f"{url}/notes"))["results"]}
    assert "予算は来年度に計上する" in seen and "PRIVATE-鈴木の個人メモ" not in seen
    assert (
        sato.patch(f"{url}/notes/{private['id']}", {"text": "x"}, format="json").status_code == 404
    )
    assert sato.delete(f"{url}/notes/{private['id']}").status_code == 404
    assert ok(suzuki.get(f"{url}/notes"))["results"][0]["text"] == "PRIVATE-鈴木の個人メモ"

    for reader in (sato, suzuki):  # not even the author's own minutes carry a private note
        response = reader.get(f"{url}/minutes.pdf")
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        ARTIFACTS.mkdir(exist_ok=True)  # to look at (ignored by git, kept by CI)
        (ARTIFACTS / "meetings-minutes.pdf").write_bytes(response.content)
        reader_pdf = PdfReader(io.BytesIO(response.content))
        assert reader_pdf.metadata.title == "議事メモ 総務課 打合せ"
        # pypdf reads the Noto subset's code points with a NUL before each; pdftotext agrees.
        text = "".join(p.extract_text() for p in reader_pdf.pages).replace("\x00", "")
        compact = "".join(text.split())
        poppler = subprocess.run(
            ["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True
        ).stdout.decode()
        assert "予算は来年度に計上する" in "".join(poppler.split())
        assert "PRIVATE" not in poppler
        assert "議事メモ" in compact and "総務課打合せ" in compact
        assert "予算は来年度に計上する" in compact and "議題の起案" in compact
        assert "PRIVATE" not in text and "個人メモ」" not in compact
    assert not AuditEntry.objects.filter(data__icontains="PRIVATE").exists()

    # Private → shared by its author; then everyone sees it.
    ok(suzuki.patch(f"{url}/notes/{private['id']}", {"layer": "shared"}, format="json"))
    assert "PRIVATE-鈴木の個人メモ" in {n["text"] for n in ok(sato.get(f"{url}/notes"))["results"]}


def test_a_presented_meeting_is_kept(clients: Any) -> None:
    """A briefing of the meeting (briefings/) refers to it: deleting it is refused, not a 500."""
    sato = clients("sato")
    meeting = _meeting(sato, attendees=["suzuki"], documents=[_submitted("説明済みの起案")])
    briefing = sato.post("/api/v1/briefings", {"meeting": meeting["id"]}, format="json")
    assert briefing.status_code == 201, briefing.content
    refused = sato.delete(f"/api/v1/meetings/{meeting['id']}")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "meeting_presented"
    assert Meeting.objects.filter(pk=meeting["id"]).exists()


def test_a_note_on_an_item_goes_where_its_page_goes(clients: Any) -> None:
    """A shared note on a page says what is on it: when an attendee may no longer read the
    document (made secret after the meeting was planned), its notes leave their view and their
    minutes with the page."""
    from documents.models import Document, Secrecy

    document = _submitted("人事案件の起案")
    sato, yamamoto = clients("sato"), clients("yamamoto")
    meeting = _meeting(sato, attendees=["yamamoto"], documents=[document])
    url = f"/api/v1/meetings/{meeting['id']}"
    item = meeting["items"][0]["id"]
    on_page = {"text": "SECRET-頁の内容", "layer": "shared", "item": item, "page": 1}
    ok(sato.post(f"{url}/notes", on_page, format="json"), 201)
    ok(sato.post(f"{url}/notes", {"text": "全体の連絡", "layer": "shared"}, format="json"), 201)

    def seen(client: Any) -> set[str]:
        return {n["text"] for n in ok(client.get(f"{url}/notes"))["results"]}

    assert seen(yamamoto) == {"SECRET-頁の内容", "全体の連絡"}
    Document.objects.filter(pk=document).update(secrecy=Secrecy.SECRET)
    assert seen(yamamoto) == {"全体の連絡"}
    assert "SECRET-頁の内容" in seen(sato)  # the drafter's superior on its route still reads it
    minutes = yamamoto.get(f"{url}/minutes.pdf")
    assert minutes.status_code == 200
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=minutes.content, capture_output=True, check=True
    ).stdout.decode()
    assert "全体の連絡" in "".join(text.split()) and "SECRET" not in text
