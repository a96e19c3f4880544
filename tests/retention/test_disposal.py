"""The whole life after the decision: locked until the period ends, then disposed of through a
route of its own (admin requests, takahashi decides), leaving a tombstone with the hashes."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, date, datetime

import pytest
from django.test import Client

from audit.models import AuditEntry
from documents.models import Document, Status
from org.models import User
from retention.models import (
    DisposalItem,
    DisposalRequest,
    ObjectStatus,
    RetentionState,
    Tombstone,
)
from storage import RetentionError, get_store, key_for
from tests.retention.conftest import approve, decide_through_route, pdf_bytes, session, tasks

pytestmark = pytest.mark.django_db

# Decided now (FY2026, the fiscal year of this run's clock) with 1 year: kept until 2028-03-31.
REASON = "保存期間が満了したため"


def record_keys(document: Document) -> set[str]:
    keys = set()
    for version in document.versions.all():
        if version.record_sha256:
            keys.add(version.record_sha256)
        for revision in version.record_revisions.all():
            keys |= {revision.sha256, revision.previous_sha256}
        for attachment in version.attachments.all():
            keys.add(attachment.sha256)
    return keys


def actions_about(document_id: int) -> list[str]:
    return list(
        AuditEntry.objects.filter(document_id=document_id)
        .order_by("seq")
        .values_list("action", flat=True)
    )


def request_disposal(client_name: str = "admin", **body):
    payload = {"action": "dispose", "reason": REASON, **body}
    return session(client_name).post("/api/v1/retention/disposals", payload, format="json")


@pytest.fixture
def decided(demo_org, django_capture_on_commit_callbacks):
    """A record decided through its route, with the after-commit listeners run."""
    return decide_through_route(
        on_decision=lambda: django_capture_on_commit_callbacks(execute=True)
    )


def test_the_decided_record_is_locked_until_the_end_of_its_period(decided):
    document = decided.document
    end = date(document.fiscal_year + 2, 3, 31)
    state = RetentionState.objects.get(document=document)
    assert state.retention_end == end
    until = datetime(end.year, 3, 31, 15, 0, tzinfo=UTC)  # April 1, 00:00 in Tokyo
    assert state.locked_until == until
    store = get_store()
    version = document.versions.get(number=document.version)
    locked = {version.record_sha256, *decided.original_hashes()}
    for sha in locked:
        assert store.stat(key_for(sha)).retain_until == until, sha
        with pytest.raises(RetentionError):
            store.delete(key_for(sha))
    assert "retention.lock" in actions_about(document.pk)


def test_a_disposal_before_the_end_of_the_period_is_refused(decided):
    document = decided.document
    response = request_disposal(documents=[document.pk])
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "retention_not_expired"
    assert error["message"] == (
        f"保存期間が満了していません: {decided.number}（{document.fiscal_year + 2}年3月31日まで）"
    )
    assert not DisposalRequest.objects.exists()
    assert Document.objects.filter(doc_type__code="disposal").count() == 0
    refused = AuditEntry.objects.get(action="retention.request_refused")
    assert refused.actor is not None and refused.actor.username == "admin"
    assert refused.details["code"] == "retention_not_expired"
    assert Document.objects.get(pk=document.pk).status == Status.DECIDED


def test_the_full_disposal_through_the_route(decided, clock, django_capture_on_commit_callbacks):
    document = decided.document
    end = date(document.fiscal_year + 2, 3, 31)
    keys = record_keys(document)
    sizes = {sha: get_store().stat(key_for(sha)).size for sha in keys}
    assert decided.original_hashes() <= keys

    clock.set(date(end.year, 4, 2))  # the period is over, and so is the lock

    expired = session("admin").get("/api/v1/retention/expired").json()["results"]
    assert [row["id"] for row in expired] == [document.pk]
    assert expired[0]["retention_end"] == end.isoformat()
    assert expired[0]["number"] == decided.number

    response = request_disposal(documents=[document.pk])
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["action"] == "dispose"
    assert created["records"][0]["status"] == "pending"
    request_doc = Document.objects.get(pk=created["document"]["id"])
    assert request_doc.doc_type.code == "disposal"
    assert request_doc.status == Status.IN_REVIEW
    assert decided.number in request_doc.body
    assert request_doc.title == "保存期間満了文書の廃棄について（1件）"

    # The expired list says it is already asked for; a second request for it is refused.
    again = session("admin").get("/api/v1/retention/expired").json()["results"]
    assert again[0]["pending_request"] == request_doc.pk
    second = request_disposal(documents=[document.pk])
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "already_requested"

    # 総務部長 decides the request (廃棄・移管決裁) through the API like any other proposal.
    [task] = [t for t in tasks("takahashi") if t["document"]["id"] == request_doc.pk]
    assert task["kind"] == "approve"
    with django_capture_on_commit_callbacks(execute=True):
        assert approve("takahashi", request_doc.pk).status_code == 200
    request_doc.refresh_from_db()
    assert request_doc.status == Status.DECIDED and request_doc.number

    # The record is disposed of: status, objects gone, tombstone with every hash and size.
    disposed = Document.objects.get(pk=document.pk)
    assert disposed.status == Status.DISPOSED
    store = get_store()
    for sha in keys:
        assert not store.exists(key_for(sha)), sha
    tombstone = Tombstone.objects.get(document=document)
    assert tombstone.action == "dispose"
    assert tombstone.number == decided.number
    assert tombstone.title == document.title
    assert tombstone.department_name.endswith("総務課")
    assert tombstone.decided_at == document.decided_at
    assert tombstone.retention_end == end
    assert tombstone.request_number == request_doc.number
    assert tombstone.decided_by.username == "takahashi"
    assert tombstone.request_decided_at == request_doc.decided_at
    objects = {o.sha256: o for o in tombstone.stored_objects.all()}
    assert set(objects) == keys
    for sha, obj in objects.items():
        assert obj.size == sizes[sha]
        assert obj.status == ObjectStatus.DELETED
    for name, data in decided.originals.items():
        original = objects[hashlib.sha256(data).hexdigest()]
        assert (original.role, original.name, original.size) == ("original", name, len(data))
    assert DisposalItem.objects.get(record=document).status == "done"
    # Kept forever, unchanged.
    tombstone.title = "書き換え"
    for attempt in (
        tombstone.save,
        tombstone.delete,
        lambda: Tombstone.objects.filter(pk=tombstone.pk).update(title="x"),
        lambda: Tombstone.objects.filter(pk=tombstone.pk).delete(),
    ):
        with pytest.raises(PermissionError):
            attempt()
    assert DisposalRequest.objects.get(document=request_doc).executed_at is not None

    # Every step is in the audit trail, on the record and on the request.
    record_trail = actions_about(document.pk)
    for action in (
        "retention.lock",
        "retention.requested",
        "retention.dispose",
        "retention.objects_deleted",
    ):
        assert action in record_trail, (action, record_trail)
    dispose = AuditEntry.objects.get(action="retention.dispose", document_id=document.pk)
    assert dispose.actor is not None and dispose.actor.username == "takahashi"
    assert {o["sha256"] for o in dispose.details["objects"]} == keys
    request_trail = actions_about(request_doc.pk)
    assert "retention.request" in request_trail
    assert "retention.request_executed" in request_trail
    # The request is itself a decided record, kept (and locked) for its own period.
    assert RetentionState.objects.get(document=request_doc).locked_until is not None

    # The tombstone is listed for auditors; the disposed document's row still answers.
    tombstones = session("watanabe").get("/api/v1/retention/tombstones").json()["results"]
    assert [t["number"] for t in tombstones] == [decided.number]
    assert {o["sha256"] for o in tombstones[0]["objects"]} == keys
    assert session("tanaka").get(f"/api/v1/documents/{document.pk}").status_code == 200
    # Disposed means gone (issue 15): its content answers 410 with the tombstone, wherever asked.
    detail = session("tanaka").get(f"/api/v1/documents/{document.pk}").json()
    attachment = detail["attachments"][0]["id"]
    base = f"/api/v1/documents/{document.pk}"
    for path in (
        "/record.pdf",
        f"/attachments/{attachment}",
        "/attachments.zip",
        "/record/pages/1",
        f"/attachments/{attachment}/pages/1",
        "/verification",
        "/evidence.zip",
    ):
        gone = session("tanaka").get(base + path)
        assert gone.status_code == 410, (path, gone.status_code)
        error = gone.json()["error"]
        assert error["code"] == "gone" and decided.number in error["message"], path
        assert error["tombstone"]["number"] == decided.number
        assert error["tombstone"]["decided_by"]["username"] == "takahashi"
        assert error["tombstone"]["request"]["number"] == request_doc.number
    browser = Client()
    browser.force_login(User.objects.get(username="tanaka"))
    page = browser.get(f"/documents/{document.pk}/")
    assert page.status_code == 410 and request_doc.number in page.content.decode()
    # Search lists the tombstone, not the document (no drafter, amount or counterparty).
    found = session("tanaka").get("/api/v1/documents", {"status": "disposed"}).json()["results"]
    assert [d["id"] for d in found] == [document.pk]
    assert found[0]["gone"] and found[0]["tombstone"]["number"] == decided.number
    assert "counterparty" not in found[0] and "amount" not in found[0]
    home = browser.get("/", {"q": document.title[:4]}).content.decode()
    assert request_doc.number in home and decided.number in home
    assert session("admin").get("/api/v1/retention/expired").json()["results"] == []


def test_a_transfer_exports_the_evidence_package_before_disposing(
    decided, clock, django_capture_on_commit_callbacks
):
    document = decided.document
    keys = record_keys(document)
    clock.set(date(document.fiscal_year + 2, 4, 1))
    response = request_disposal(action="transfer", documents=[document.pk])
    assert response.status_code == 201, response.content
    request_doc = Document.objects.get(pk=response.json()["document"]["id"])
    assert request_doc.title == "保存期間満了文書の移管について（1件）"
    with django_capture_on_commit_callbacks(execute=True):
        assert approve("takahashi", request_doc.pk).status_code == 200

    assert Document.objects.get(pk=document.pk).status == Status.TRANSFERRED
    tombstone = Tombstone.objects.get(document=document)
    assert tombstone.action == "transfer"
    # The package stays in the store; it holds the record and the originals.
    store = get_store()
    with store.open(key_for(tombstone.transfer_sha256), verify=True) as reader:
        package = reader.read()
    assert len(package) == tombstone.transfer_size
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        names = archive.namelist()
        assert "record.pdf" in names
        for name, data in decided.originals.items():
            assert any(n.endswith(name) and archive.read(n) == data for n in names), name
    for sha in keys:
        assert not store.exists(key_for(sha))
    trail = actions_about(document.pk)
    assert trail.index("retention.transfer_exported") < trail.index("retention.transfer")


def test_bytes_another_record_still_holds_are_kept(
    demo_org, clock, django_capture_on_commit_callbacks
):
    common = pdf_bytes("common specification")
    first = decide_through_route("第一の記録", originals={"共通仕様書.pdf": common})
    second = decide_through_route(
        "第二の記録", originals={"共通仕様書.pdf": common}, retention_years=5
    )
    assert first.document.fiscal_year is not None
    clock.set(date(first.document.fiscal_year + 2, 4, 1))
    response = request_disposal(documents=[first.id])
    assert response.status_code == 201, response.content
    request_id = response.json()["document"]["id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert approve("takahashi", request_id).status_code == 200

    common_sha = hashlib.sha256(common).hexdigest()
    kept = Tombstone.objects.get(document_id=first.id).stored_objects.get(sha256=common_sha)
    assert kept.status == ObjectStatus.SHARED
    assert get_store().exists(key_for(common_sha))
    attachment = second.document.versions.get().attachments.get()
    download = session("tanaka").get(f"/api/v1/documents/{second.id}/attachments/{attachment.pk}")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == common  # type: ignore[attr-defined]
