"""GET /api/v1/audit: auditors see everything; others one document they may read; nobody else."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def draft(client: APIClient, title: str) -> int:
    meta = {"title": title, "doc_type": "notice", "amount": 1000, "retention_years": 1}
    response = client.post("/api/v1/documents", {"meta": json.dumps(meta)}, format="multipart")
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


@pytest.fixture
def documents(bearer):
    tanaka, suzuki = bearer("tanaka"), bearer("suzuki")
    mine = draft(tanaka, "田中の起案")
    assert tanaka.get(f"/api/v1/documents/{mine}").status_code == 200
    theirs = draft(suzuki, "鈴木の起案")  # a draft: only suzuki may read it
    return mine, theirs


def test_the_auditor_sees_every_entry(bearer, documents):
    mine, theirs = documents
    body = bearer("watanabe").get("/api/v1/audit?page_size=500").json()
    actions = {(e["action"], e["document"]) for e in body["results"]}
    assert {("document.create", mine), ("document.view", mine), ("document.create", theirs)} <= (
        actions
    )
    assert ("token.create", None) in actions  # entries about no document, too
    assert len(body["results"]) == AuditEntry.objects.count()
    entry = body["results"][0]
    assert entry["seq"] == 1 and len(entry["hash"]) == 64 and "ip" in entry
    seqs = [e["seq"] for e in body["results"]]
    assert seqs == sorted(seqs)
    only_theirs = bearer("watanabe").get(f"/api/v1/audit?document={theirs}").json()["results"]
    assert [e["action"] for e in only_theirs] == ["document.create"]
    assert only_theirs[0]["actor"]["username"] == "suzuki"


def test_an_administrator_sees_every_entry(bearer, documents):
    body = bearer("admin").get("/api/v1/audit").json()
    assert any(e["action"] == "token.create" for e in body["results"])


def test_a_drafter_sees_only_the_entries_of_his_document(bearer, documents):
    mine, theirs = documents
    tanaka = bearer("tanaka")
    response = tanaka.get(f"/api/v1/audit?document={mine}")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [e["action"] for e in results] == ["document.create", "document.view"]
    assert all(e["document"] == mine for e in results)
    assert results[0]["ip"] is None and results[0]["client"] is None  # addresses: auditors only
    hidden = tanaka.get(f"/api/v1/audit?document={theirs}")
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    everything = tanaka.get("/api/v1/audit")
    assert everything.status_code == 403
    assert everything.json()["error"]["code"] == "document_required"


def test_anonymous_callers_get_401(api_client, documents):
    mine, _ = documents
    response = api_client.get(f"/api/v1/audit?document={mine}")
    assert response.status_code == 401
    assert "error" in response.json()


def test_pages_follow_seq(bearer, documents):
    watanabe = bearer("watanabe")
    page = watanabe.get("/api/v1/audit?page_size=2").json()
    seen = [e["seq"] for e in page["results"]]
    while page["next"]:
        page = watanabe.get(page["next"]).json()
        seen += [e["seq"] for e in page["results"]]
    assert seen == list(range(1, AuditEntry.objects.count() + 1))


def test_bad_filters_are_400(bearer, documents):
    response = bearer("watanabe").get("/api/v1/audit?document=abc")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


def test_a_secret_documents_entries_need_a_grant_even_for_auditors(bearer, documents):
    from documents.models import Document, DocumentAccess, Secrecy
    from org.models import User

    _, theirs = documents
    Document.objects.filter(pk=theirs).update(secrecy=Secrecy.SECRET)
    watanabe = bearer("watanabe")
    assert watanabe.get(f"/api/v1/audit?document={theirs}").status_code == 404
    everything = watanabe.get("/api/v1/audit?page_size=500").json()["results"]
    assert theirs not in {e["document"] for e in everything}
    DocumentAccess.objects.create(
        document_id=theirs, user=User.objects.get(username="watanabe"), reason="grant"
    )
    granted = watanabe.get(f"/api/v1/audit?document={theirs}").json()["results"]
    assert [e["action"] for e in granted] == ["document.create"]
