"""The retention API: who sees the expired list, and every kind of bad disposal request."""

from __future__ import annotations

from datetime import date

import pytest

from audit.models import AuditEntry
from documents.models import Document, Status
from retention import locking
from retention.models import DisposalRequest
from tests.retention.conftest import plain_record, session

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 22)


@pytest.fixture
def records(demo_org, clock):
    """Decided records as rows: two expired (FY2019 and FY2020, 1 year), one running."""
    clock.set(TODAY)
    made = {
        "old": plain_record("総総第1号", fiscal_year=2019, title="古い記録"),
        "older_dept": plain_record("財財第2号", fiscal_year=2020, department="zaimu-zaisei"),
        "running": plain_record("総総第3号", fiscal_year=2026, retention_years=10),
        "permanent": plain_record("総総第4号", fiscal_year=2001, retention_years=0),
        "secret": plain_record("総総第5号", fiscal_year=2018, secrecy="secret"),
    }
    for document in made.values():
        locking.ensure_state(document)
    return made


def expired_ids(username: str, **params) -> list[int]:
    response = session(username).get("/api/v1/retention/expired", params)
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def post(username: str, body) -> tuple[int, dict]:
    response = session(username).post("/api/v1/retention/disposals", body, format="json")
    return response.status_code, response.json()


def test_administrators_see_every_expired_record_oldest_period_first(records):
    assert expired_ids("admin") == [
        records["secret"].pk,
        records["old"].pk,
        records["older_dept"].pk,
    ]
    row = session("admin").get("/api/v1/retention/expired").json()["results"][1]
    assert row["number"] == "総総第1号"
    assert row["title"] == "古い記録"
    assert row["department"]["code"] == "somu-somu"
    assert row["retention_end"] == "2021-03-31"
    assert row["decided_at"].startswith("2019-06-01")
    assert row["pending_request"] is None


def test_auditors_see_the_expired_records_they_may_read(records):
    # Secret records need an explicit grant, as everywhere else (documents.access).
    assert expired_ids("watanabe") == [records["old"].pk, records["older_dept"].pk]


def test_the_list_is_paginated(records):
    first = session("admin").get("/api/v1/retention/expired", {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    rest = session("admin").get(first["next"]).json()
    assert [r["id"] for r in rest["results"]] == [records["older_dept"].pk]


@pytest.mark.parametrize("username", ["tanaka", "sato", "takahashi"])
def test_others_may_not_see_retention(records, username):
    for path in ("expired", "disposals", "tombstones"):
        response = session(username).get(f"/api/v1/retention/{path}")
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "permission_denied"


def test_anonymous_callers_are_refused(records, api_client):
    assert api_client.get("/api/v1/retention/expired").status_code == 401


@pytest.mark.parametrize("username", ["watanabe", "takahashi", "tanaka"])
def test_only_administrators_request_disposals(records, username):
    status, body = post(
        username, {"action": "dispose", "documents": [records["old"].pk], "reason": "満了"}
    )
    assert status == 403
    assert body["error"]["code"] == "permission_denied"
    assert not DisposalRequest.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"action": "burn", "documents": [1], "reason": "x"},
        {"action": "dispose", "documents": [], "reason": "x"},
        {"action": "dispose", "documents": ["abc"], "reason": "x"},
        {"action": "dispose", "documents": [1]},
        {"action": "dispose", "documents": 5, "reason": "x"},
    ],
)
def test_malformed_requests_get_400(records, body):
    status, answer = post("admin", body)
    assert status == 400
    assert answer["error"]["code"] == "invalid"


def test_unknown_ids_are_named(records):
    status, body = post(
        "admin", {"action": "dispose", "documents": [records["old"].pk, 987654], "reason": "満了"}
    )
    assert status == 400
    assert body["error"] == {"code": "unknown_documents", "message": "存在しない文書です: 987654"}


def test_records_not_decided_are_refused(records, demo_org):
    draft = plain_record("", fiscal_year=2019, status=Status.DRAFT)
    status, body = post("admin", {"action": "dispose", "documents": [draft.pk], "reason": "満了"})
    assert status == 409
    assert body["error"]["code"] == "not_decided"
    assert f"#{draft.pk}" in body["error"]["message"]


def test_records_whose_period_runs_are_refused_by_name(records):
    status, body = post(
        "admin",
        {
            "action": "transfer",
            "documents": [records["old"].pk, records["running"].pk, records["permanent"].pk],
            "reason": "満了",
        },
    )
    assert status == 409
    assert body["error"] == {
        "code": "retention_not_expired",
        "message": (
            "保存期間が満了していません: 総総第3号（2037年3月31日まで）、総総第4号（永年保存）"
        ),
    }
    assert Document.objects.filter(doc_type__code="disposal").count() == 0
    assert AuditEntry.objects.filter(action="retention.request_refused").count() == 1


def test_already_disposed_records_are_refused(records):
    Document.objects.filter(pk=records["old"].pk).update(status=Status.DISPOSED)
    status, body = post(
        "admin", {"action": "dispose", "documents": [records["old"].pk], "reason": "満了"}
    )
    assert status == 409
    assert body["error"] == {
        "code": "already_disposed",
        "message": "すでに廃棄または移管されています: 総総第1号",
    }


def test_a_record_in_another_pending_request_is_refused(records):
    first = {"action": "dispose", "documents": [records["old"].pk], "reason": "満了"}
    status, created = post("admin", first)
    assert status == 201, created
    status, body = post(
        "admin",
        {
            "action": "transfer",
            "documents": [records["older_dept"].pk, records["old"].pk],
            "reason": "満了",
        },
    )
    assert status == 409
    assert body["error"]["code"] == "already_requested"
    assert body["error"]["message"] == (
        "処理中の別の廃棄・移管の伺いに含まれています: "
        f"総総第1号（廃棄等の伺い #{created['document']['id']}）"
    )
    # Once the first request is withdrawn, the record may be asked for again.
    withdraw = session("admin").post(
        f"/api/v1/documents/{created['document']['id']}/withdraw", {"reason": "誤り"}
    )
    assert withdraw.status_code == 200, withdraw.content
    status, again = post("admin", first)
    assert status == 201, again


def test_the_request_lists_its_records_and_goes_to_the_director(records):
    status, created = post(
        "admin",
        {
            "action": "dispose",
            "documents": [records["older_dept"].pk, records["old"].pk],
            "reason": "保存期間満了のため",
        },
    )
    assert status == 201, created
    assert [r["number"] for r in created["records"]] == ["財財第2号", "総総第1号"]
    request_doc = Document.objects.get(pk=created["document"]["id"])
    assert request_doc.drafter.username == "admin"
    assert request_doc.title == "保存期間満了文書の廃棄について（2件）"
    assert "理由: 保存期間満了のため" in request_doc.body
    assert "1. 財財第2号" in request_doc.body and "2. 総総第1号 古い記録" in request_doc.body
    [route] = session("admin").get(f"/api/v1/documents/{request_doc.pk}/route").json()["routes"]
    assert route["template"] == "haiki-ikan"
    deciders = [s["assignee"]["username"] for stage in route["stages"] for s in stage["slots"]]
    assert deciders == ["takahashi"]
    listed = session("watanabe").get("/api/v1/retention/disposals").json()["results"]
    assert [r["document"]["id"] for r in listed] == [request_doc.pk]
    # The request naming a secret record is as secret as it: the auditor does not see it.
    status, secret = post(
        "admin", {"action": "dispose", "documents": [records["secret"].pk], "reason": "満了"}
    )
    assert status == 201, secret
    assert Document.objects.get(pk=secret["document"]["id"]).secrecy == "secret"
    listed = session("watanabe").get("/api/v1/retention/disposals").json()["results"]
    assert [r["document"]["id"] for r in listed] == [request_doc.pk]
