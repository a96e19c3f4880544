"""The approval runtime end to end through the API, on the demo organisation's routes."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from documents.models import Document
from org.demo import DEMO_PASSWORD
from org.models import Absence, Post, User
from workflow.models import AfterSendBack, HistoryEntry, Route, RouteTemplate, Slot

pytestmark = pytest.mark.django_db

META = {
    "title": "庁舎清掃業務委託契約の締結について",
    "doc_type": "contract",
    "body": "本庁舎の清掃業務を委託する契約を締結してよろしいか伺います。",
    "amount": 3_200_000,
    "counterparty": "株式会社サンプル清掃",
    "transaction_date": "2026-11-20",
}


def client(username: str) -> APIClient:
    c = APIClient()
    assert c.login(username=username, password=DEMO_PASSWORD)
    return c


def draft(amount: int = 3_200_000, **extra: Any) -> int:
    meta = {**META, "amount": amount, **extra}
    response = client("tanaka").post(
        "/api/v1/documents", {"meta": json.dumps(meta)}, format="multipart"
    )
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def submit(document_id: int, **body: Any) -> dict[str, Any]:
    response = client("tanaka").post(f"/api/v1/documents/{document_id}/submit", body, format="json")
    assert response.status_code == 200, response.content
    return dict(response.json())


def tasks(username: str) -> list[dict[str, Any]]:
    return list(client(username).get("/api/v1/tasks").json()["results"])


def task_for(username: str, document_id: int, kind: str | None = None) -> int:
    found = [
        t
        for t in tasks(username)
        if t["document"]["id"] == document_id and (kind is None or t["kind"] == kind)
    ]
    assert len(found) == 1, (username, tasks(username))
    return int(found[0]["id"])


def act(username: str, document_id: int, action: str = "approve", **body: Any) -> Any:
    task = task_for(username, document_id)
    return client(username).post(f"/api/v1/tasks/{task}/{action}", body, format="json")


def approve_all(document_id: int, *usernames: str) -> None:
    for name in usernames:
        response = act(name, document_id)
        assert response.status_code == 200, (name, response.content)


def status_of(document_id: int) -> str:
    return Document.objects.get(pk=document_id).status


def people(preview: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (stage["role"], slot["assignee"]["username"])
        for stage in preview["stages"]
        for slot in stage["slots"]
    ]


@pytest.mark.parametrize(
    ("amount", "template", "expected"),
    [
        (500_000, "kacho-senketsu", [("approve", "suzuki"), ("decide", "sato")]),
        (
            3_200_000,
            "bucho-senketsu",
            [
                ("approve", "suzuki"),
                ("approve", "sato"),
                ("consult", "ito"),
                ("decide", "takahashi"),
            ],
        ),
        (
            20_000_000,
            "fukushicho-kessai",
            [
                ("approve", "suzuki"),
                ("approve", "sato"),
                ("consult", "ito"),
                ("approve", "takahashi"),
                ("decide", "kobayashi"),
            ],
        ),
    ],
)
def test_the_three_amount_bands_get_their_routes(demo_org, amount, template, expected):
    document_id = draft(amount)
    preview = client("tanaka").get(f"/api/v1/documents/{document_id}/route-preview").json()
    assert preview["template"] == template
    assert people(preview) == expected


def test_a_contract_of_3_2_million_yen_is_decided_and_numbered(demo_org):
    document_id = draft()
    route = submit(document_id)
    assert [s["name"] for s in route["stages"]] == [
        "係長",
        "課長",
        "財政課長（合議）",
        "部長（決裁）",
    ]
    assert tasks("sato") == []  # sequential: only the section chief has the document now
    approve_all(document_id, "suzuki", "sato")
    assert task_for("ito", document_id, "consult")
    approve_all(document_id, "ito")
    assert status_of(document_id) == "in_review"
    approve_all(document_id, "takahashi")
    document = Document.objects.get(pk=document_id)
    assert document.status == "decided"
    assert document.number == "総総第1号"
    assert document.decided_at is not None and document.fiscal_year == 2026
    actions = list(
        HistoryEntry.objects.filter(document=document).values_list("action", "actor__username")
    )
    assert actions == [
        ("submit", "tanaka"),
        ("approve", "suzuki"),
        ("approve", "sato"),
        ("consult", "ito"),
        ("approve", "takahashi"),
        ("decide", "takahashi"),
    ]
    finished = Route.objects.get(document=document)
    assert finished.status == "decided" and finished.finished_at is not None
    assert not Slot.objects.filter(stage__route=finished, status__in=["open", "waiting"]).exists()
    # The decided record is visible to everyone who was on the route, not to outsiders.
    assert client("ito").get(f"/api/v1/documents/{document_id}").status_code == 200
    assert client("kobayashi").get(f"/api/v1/documents/{document_id}").status_code == 404
    # The next decision in the department gets the next number.
    second = draft(500_000)
    submit(second)
    approve_all(second, "suzuki", "sato")
    assert Document.objects.get(pk=second).number == "総総第2号"


def test_send_back_to_the_drafter_then_resubmission_continues_where_it_was(demo_org):
    # A template may resume at the stage that sent it back (the default restarts: see
    # tests/workflow/test_route_integrity.py).
    RouteTemplate.objects.update(after_send_back=AfterSendBack.RESUME)
    document_id = draft()
    submit(document_id)
    approve_all(document_id, "suzuki")
    response = act("sato", document_id, "send-back", reason="金額の根拠を添付してください")
    assert response.status_code == 200, response.content
    assert status_of(document_id) == "sent_back"
    assert task_for("tanaka", document_id, "revise")
    edited = client("tanaka").patch(
        f"/api/v1/documents/{document_id}", {"body": "見積書を添付しました。"}, format="json"
    )
    assert edited.status_code == 200 and edited.json()["version"] == 2
    submit(document_id)
    assert status_of(document_id) == "in_review"
    assert tasks("suzuki") == []  # not asked again
    approve_all(document_id, "sato", "ito", "takahashi")
    assert status_of(document_id) == "decided"
    versions = list(
        HistoryEntry.objects.filter(document_id=document_id).values_list(
            "action", "document_version"
        )
    )
    assert ("send_back", 1) in versions and ("resubmit", 2) in versions


def test_send_back_to_an_earlier_stage(demo_org):
    document_id = draft()
    submit(document_id)
    approve_all(document_id, "suzuki", "sato")
    response = act("ito", document_id, "send-back", reason="係長の確認を再度", to="0")
    assert response.status_code == 200, response.content
    assert task_for("suzuki", document_id)
    approve_all(document_id, "suzuki", "sato", "ito", "takahashi")
    assert status_of(document_id) == "decided"


def test_rejection_ends_the_route(demo_org):
    document_id = draft()
    submit(document_id)
    approve_all(document_id, "suzuki")
    assert act("sato", document_id, "reject", reason="").status_code == 400
    assert act("sato", document_id, "reject", reason="予算がありません").status_code == 200
    assert status_of(document_id) == "rejected"
    assert tasks("ito") == [] and tasks("sato") == []


def test_withdrawal_before_the_current_approver_acts(demo_org):
    document_id = draft()
    submit(document_id)
    suzuki_task = task_for("suzuki", document_id)
    response = client("tanaka").post(
        f"/api/v1/documents/{document_id}/withdraw", {"reason": "添付漏れ"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert status_of(document_id) == "withdrawn"
    late = client("suzuki").post(f"/api/v1/tasks/{suzuki_task}/approve", {}, format="json")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "withdrawn"
    route = Route.objects.get(document_id=document_id)
    assert route.status == "withdrawn" and route.finished_at is not None
    assert set(Slot.objects.filter(stage__route=route).values_list("status", flat=True)) == {
        "cancelled"
    }
    # Revised and submitted again: a new route from the start.
    submit(document_id)
    assert task_for("suzuki", document_id)


def test_deputy_decides_while_the_chief_is_away_and_the_chief_post_reviews(demo_org):
    sato = User.objects.get(username="sato")
    now = timezone.now()
    Absence.objects.create(
        user=sato,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=2),
        reason="出張",
    )
    document_id = draft(500_000)
    submit(document_id)
    approve_all(document_id, "suzuki")
    assert tasks("sato") == []
    deputy_task = next(t for t in tasks("yamamoto") if t["document"]["id"] == document_id)
    assert deputy_task["on_behalf_of"]["username"] == "sato"
    approve_all(document_id, "yamamoto")
    assert status_of(document_id) == "decided"
    entry = HistoryEntry.objects.get(
        document_id=document_id, action="approve", actor__username="yamamoto"
    )
    assert entry.on_behalf_of == sato
    review = task_for("sato", document_id, "post_review")
    assert (
        client("sato")
        .post(f"/api/v1/tasks/{review}/approve", {"comment": "確認しました"}, format="json")
        .status_code
        == 200
    )
    assert HistoryEntry.objects.filter(document_id=document_id, action="post_review").exists()


def test_bulk_approval_gives_a_result_per_task(demo_org):
    first, second = draft(100_000), draft(200_000)
    submit(first)
    submit(second)
    ids = [task_for("suzuki", first), task_for("suzuki", second), 999_999]
    response = client("suzuki").post("/api/v1/tasks/bulk-approve", {"task_ids": ids}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["ok"] for r in results] == [True, True, False]
    assert results[2]["error"]["code"] == "not_found"
    assert task_for("sato", first) and task_for("sato", second)


def test_acting_on_someone_elses_or_a_closed_task_changes_nothing(demo_org):
    document_id = draft()
    submit(document_id)
    task = task_for("suzuki", document_id)
    intruder = client("sato").post(f"/api/v1/tasks/{task}/approve", {}, format="json")
    assert intruder.status_code == 403
    assert (
        client("suzuki").post(f"/api/v1/tasks/{task}/approve", {}, format="json").status_code == 200
    )
    again = client("suzuki").post(f"/api/v1/tasks/{task}/approve", {}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "task_closed"
    assert HistoryEntry.objects.filter(document_id=document_id, action="approve").count() == 1


def test_a_vacant_post_is_refused_at_submission_with_its_name(demo_org):
    Post.objects.filter(user__username="takahashi").delete()
    document_id = draft()
    response = client("tanaka").post(f"/api/v1/documents/{document_id}/submit", {}, format="json")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "vacant_post"
    assert "総務部 部長" in error["message"]
    assert status_of(document_id) == "draft"
    assert not Route.objects.exists() and not Slot.objects.exists()


def test_drafter_adds_an_approver_and_a_reader(demo_org):
    document_id = draft(500_000)
    route = submit(document_id, add_approvers=["yamamoto"], add_readers=["watanabe"])
    names = [(s["role"], [x["assignee"]["username"] for x in s["slots"]]) for s in route["stages"]]
    assert names == [
        ("approve", ["suzuki"]),
        ("approve", ["yamamoto"]),
        ("decide", ["sato"]),
        ("circulate", ["watanabe"]),
    ]
    approve_all(document_id, "suzuki", "yamamoto", "sato")
    assert status_of(document_id) == "decided"
    # 供覧 never blocked the decision; the reader still has the task to mark it read.
    assert task_for("watanabe", document_id, "circulate")


def test_only_the_drafter_submits_and_tasks_need_login(demo_org):
    document_id = draft()
    response = client("suzuki").post(f"/api/v1/documents/{document_id}/submit", {}, format="json")
    assert response.status_code == 404  # not even visible to suzuki as a draft
    assert APIClient().get("/api/v1/tasks").status_code == 401
    assert not Slot.objects.exists()


def test_an_administrator_skips_a_skippable_stage_with_a_reason(demo_org):
    from workflow.models import StageTemplate

    StageTemplate.objects.filter(template__code="bucho-senketsu", role="consult").update(
        skippable=True
    )
    document_id = draft()
    submit(document_id)
    approve_all(document_id, "suzuki", "sato")
    url = f"/api/v1/documents/{document_id}/skip-stage"
    # The drafter cannot see the skip as his to make; only an administrator can.
    assert (
        client("tanaka").post(url, {"stage": 2, "reason": "不要"}, format="json").status_code == 403
    )
    response = client("admin").post(
        url, {"stage": 2, "reason": "財政課長不在のため省略"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert tasks("ito") == []
    approve_all(document_id, "takahashi")
    assert status_of(document_id) == "decided"
    entry = HistoryEntry.objects.get(document_id=document_id, action="skip")
    assert entry.actor.username == "admin" and "省略" in entry.comment
    assert (
        client("admin").post(url, {"stage": 3, "reason": "x"}, format="json").status_code == 404
    )  # no running route any more


def test_the_record_cover_shows_the_route_and_a_stamp_box_per_approver(demo_org, tmp_path):
    import subprocess

    document_id = draft()
    tanaka = client("tanaka")
    url = f"/api/v1/documents/{document_id}/record.pdf"
    preview = b"".join(tanaka.get(url).streaming_content)  # type: ignore[attr-defined]
    submit(document_id)
    record = b"".join(tanaka.get(url).streaming_content)  # type: ignore[attr-defined]
    # The draft's cover already showed the planned route; built again at submission from the
    # route's rows (deterministic: same people, same day, same bytes), then sealed by the drafter
    # in an incremental revision that leaves those bytes as they were.
    assert record.startswith(preview) and len(record) > len(preview)
    path = tmp_path / "record.pdf"
    path.write_bytes(record)
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in ("鈴木 花子", "佐藤 誠", "伊藤 直子", "高橋 明"):
        assert name in text
    from documents.models import DocumentVersion

    layout = DocumentVersion.objects.get(document_id=document_id, number=1).record_layout
    assert len(layout["stamps"]) == 5  # the drafter and four approvers
