"""A demo approval run through the API leaves the whole story in the chain, and verify_audit
checks it: intact first, then broken at the right entry after a direct database edit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEntry
from org.demo import DEMO_PASSWORD
from tests.audit.conftest import change_data, check, delete_entry, run_verify_audit, swap_entries

pytestmark = pytest.mark.django_db

META = {
    "title": "庁舎清掃業務委託契約の締結について",
    "doc_type": "contract",
    "body": "本庁舎の清掃業務を委託する契約を締結してよろしいか伺います。",
    "amount": 500_000,
    "counterparty": "株式会社サンプル清掃",
    "transaction_date": "2026-11-20",
}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json() if response.get("Content-Type", "").startswith("application/") else None


def task_of(client: APIClient, document_id: int) -> int:
    tasks = ok(client.get("/api/v1/tasks"))["results"]
    return next(int(t["id"]) for t in tasks if t["document"]["id"] == document_id)


def decided_document(bearer) -> int:
    """課長専決: tanaka drafts and submits, suzuki approves, sato decides."""
    tanaka = bearer("tanaka")
    document = ok(
        tanaka.post("/api/v1/documents", {"meta": json.dumps(META)}, format="multipart"), 201
    )
    document_id = int(document["id"])
    ok(tanaka.patch(f"/api/v1/documents/{document_id}", {"amount": 480_000}, format="json"))
    ok(tanaka.post(f"/api/v1/documents/{document_id}/submit", {}, format="json"))
    for name in ("suzuki", "sato"):
        client = bearer(name)
        task = task_of(client, document_id)
        ok(client.post(f"/api/v1/tasks/{task}/approve", {"comment": "確認しました"}, format="json"))
    return document_id


def entries(document_id: int) -> list[tuple[str, str | None]]:
    return list(
        AuditEntry.objects.filter(document_id=document_id)
        .order_by("seq")
        .values_list("action", "actor__username")
    )


def test_an_approval_run_is_in_the_chain_and_verifies(bearer):
    document_id = decided_document(bearer)
    watanabe = bearer("watanabe")
    ok(watanabe.get(f"/api/v1/documents/{document_id}"))
    response = watanabe.get(f"/api/v1/documents/{document_id}/record.pdf")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    story = entries(document_id)
    assert story[:8] == [
        ("document.create", "tanaka"),
        ("document.update", "tanaka"),
        ("workflow.submit", "tanaka"),
        ("signing.sign", "tanaka"),  # each action's signature follows the action
        ("workflow.approve", "suzuki"),
        ("signing.sign", "suzuki"),
        ("workflow.approve", "sato"),
        ("workflow.decide", "sato"),
    ]
    assert story[8:10] == [("signing.sign", "sato"), ("signing.timestamp", "sato")]
    assert ("workflow.decide", "sato") in story
    assert story[-2:] == [("document.view", "watanabe"), ("record.download", "watanabe")]
    update = AuditEntry.objects.get(document_id=document_id, action="document.update")
    assert update.details == {"changes": {"amount": [500_000, 480_000]}}
    approval = AuditEntry.objects.filter(action="workflow.approve", document_id=document_id)[0]
    assert approval.details["comment"] == "確認しました" and approval.document_version == 1
    assert approval.ip == "127.0.0.1"  # the request reached history() through the middleware
    tokens = AuditEntry.objects.filter(action="token.create").values_list("actor__username")
    assert {"tanaka", "suzuki", "sato", "watanabe"} <= {t[0] for t in tokens}

    report = check()
    assert report.valid, report.as_dict()
    status, out = run_verify_audit()
    assert status == 0, out

    # A database administrator "corrects" the approver's comment: named at once.
    seq = approval.seq
    change_data(seq, approval.data.replace("確認しました", "問題なし"))
    status, out = run_verify_audit()
    assert status == 1 and f"{seq}" in out
    assert (check().problem.seq, check().problem.kind) == (seq, "changed")


def test_a_deleted_approval_is_named(bearer):
    document_id = decided_document(bearer)
    seq = AuditEntry.objects.get(document_id=document_id, action="workflow.submit").seq
    delete_entry(seq)
    report = check()
    assert (report.problem.seq, report.problem.kind) == (seq, "missing")


def test_two_swapped_actions_are_named(bearer):
    document_id = decided_document(bearer)
    approvals = list(
        AuditEntry.objects.filter(document_id=document_id, action="workflow.approve")
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    first, second = approvals
    swap_entries(first, second)
    report = check()
    assert (report.problem.seq, report.problem.kind) == (first, "reordered")


def test_login_logout_and_failed_login(demo_org):
    client = Client(REMOTE_ADDR="198.51.100.20", HTTP_USER_AGENT="Firefox/140")
    assert not client.login(username="tanaka", password="wrong")
    assert client.login(username="tanaka", password=DEMO_PASSWORD)
    client.logout()
    rows = list(
        AuditEntry.objects.filter(action__startswith="auth.")
        .order_by("seq")
        .values_list("action", "actor__username", "data")
    )
    assert rows[0] == ("auth.login_failed", None, '{"username":"tanaka"}')
    assert [r[:2] for r in rows[1:]] == [("auth.login", "tanaka"), ("auth.logout", "tanaka")]
    assert "wrong" not in "".join(r[2] for r in rows)
    assert check().valid
