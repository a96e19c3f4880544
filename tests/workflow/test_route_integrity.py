"""Issue 15: authority that cannot be bypassed, and routes that survive April's personnel changes.

The cases the issue found, tried again through the API on the demo organisation: each ends as the
issue says it should.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from pypdf import PdfReader

from audit.models import AuditEntry
from documents.models import RecordRevision
from org.models import Absence, Post, User
from tests.workflow.test_approval_flow import (
    approve_all,
    client,
    draft,
    status_of,
    submit,
    task_for,
    tasks,
)
from workflow.models import (
    AfterSendBack,
    HistoryEntry,
    Route,
    RouteException,
    RouteSelectionRule,
    RouteTemplate,
    Slot,
)
from workflow.personnel import apply_personnel_changes

pytestmark = pytest.mark.django_db


def user(name: str) -> User:
    return User.objects.get(username=name)


def post(name: str) -> Post:
    return Post.objects.get(user__username=name, is_primary=True)


def submit_as(document_id: int, **body: Any) -> Any:
    return client("tanaka").post(f"/api/v1/documents/{document_id}/submit", body, format="json")


def cover_text(document_id: int) -> str:
    record = client("tanaka").get(f"/api/v1/documents/{document_id}/record.pdf")
    assert record.status_code == 200
    pdf = PdfReader(io.BytesIO(b"".join(record.streaming_content)))  # type: ignore[attr-defined]
    text = "".join(page.extract_text() or "" for page in pdf.pages[:2])
    return text.replace("\x00", "").replace(" ", "")  # the CID font spaces every glyph


def history(document_id: int, action: str) -> list[HistoryEntry]:
    return list(HistoryEntry.objects.filter(document_id=document_id, action=action))


# --- The rules decide who decides -----------------------------------------------------------


def test_a_lower_route_than_the_rules_ask_is_refused_naming_both(demo_org):
    document_id = draft(50_000_000)
    response = submit_as(document_id, route="kacho-senketsu")
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "route_below_authority"
    assert "副市長" in error["message"] and "課長専決" in error["message"]
    assert status_of(document_id) == "draft"
    # The preview says the same before anyone submits.
    preview = client("tanaka").get(
        f"/api/v1/documents/{document_id}/route-preview", {"route": "kacho-senketsu"}
    )
    assert preview.status_code == 422


def test_a_higher_route_is_allowed_and_said_everywhere(demo_org):
    document_id = draft(500_000)  # the rules: 課長専決
    route = submit(document_id, route="bucho-senketsu")
    assert route["rules"]["deviation"] == "higher"
    assert route["rules"]["template"] == "kacho-senketsu"
    (entry,) = history(document_id, "submit")
    assert entry.details["deviation"] == "higher"
    assert "課長専決" in entry.details["route_note"]
    approve_all(document_id, "suzuki", "sato", "ito", "takahashi")
    assert status_of(document_id) == "decided"
    text = cover_text(document_id)
    assert "規程" in text and "起案者が上位の決裁を選択" in text, text[:500]
    audit = AuditEntry.objects.get(action="workflow.submit", document_id=document_id)
    assert json.loads(audit.data)["deviation"] == "higher"


def test_a_route_that_drops_a_stage_the_rules_require_is_refused(demo_org):
    # Same decider (部長) but without the consultation of 財政課: not a choice the drafter has.
    source = RouteTemplate.objects.get(code="bucho-senketsu")
    short = RouteTemplate.objects.create(code="bucho-short", name="部長決裁（合議なし）")
    for stage in source.stages.all():
        if stage.role == "consult":
            continue
        rules = list(stage.rules.all())
        stage.pk = None
        stage.template = short
        stage.save()
        for rule in rules:
            rule.pk = None
            rule.stage = stage
            rule.save()
    document_id = draft(3_200_000)
    response = submit_as(document_id, route="bucho-short")
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "route_drops_stage"


def test_an_administrators_exception_allows_a_lower_route_with_its_reason(demo_org):
    rule = RouteSelectionRule.objects.get(template__code="fukushicho-kessai")
    RouteException.objects.create(
        rule=rule,
        template=RouteTemplate.objects.get(code="bucho-senketsu"),
        reason="災害時の緊急調達（要綱第5条）",
    )
    document_id = draft(50_000_000)
    route = submit(document_id, route="bucho-senketsu")
    assert route["rules"]["deviation"] == "exception"
    assert route["rules"]["reason"] == "災害時の緊急調達（要綱第5条）"


# --- Separation of duties -------------------------------------------------------------------


def test_the_drafter_cannot_add_themself(demo_org):
    document_id = draft()
    response = submit_as(document_id, add_approvers=["tanaka"])
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "own_draft"


def test_a_drafter_who_holds_a_stages_post_is_left_out_of_it(demo_org):
    # suzuki (係長) drafts: the 係長 stage is his own and is left out; sato decides.
    from documents.models import DocumentType
    from documents.services import create_document

    document = create_document(
        user("suzuki"),
        {
            "title": "係長の起案",
            "doc_type": DocumentType.objects.get(code="notice"),
            "amount": 500_000,
            "retention_years": 1,
        },
    )
    response = client("suzuki").post(f"/api/v1/documents/{document.pk}/submit", {}, format="json")
    assert response.status_code == 200, response.content
    people = [
        slot["assignee"]["username"]
        for stage in response.json()["stages"]
        for slot in stage["slots"]
    ]
    assert "suzuki" not in people and people[-1] == "sato"
    (entry,) = history(document.pk, "submit")
    assert any("係長" in note for note in entry.details["passed_over"])


def test_a_deputy_who_already_approved_is_passed_over(demo_org):
    # sato is absent and his post's deputy is yamamoto; yamamoto is added as an approver before
    # the deciding stage, so he cannot also decide for sato: the next deputy (the superior) does.
    sato = post("sato")
    sato.deputy = user("yamamoto")
    sato.save()
    Absence.objects.create(
        user=user("sato"),
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(days=1),
    )
    document_id = draft(500_000)
    submit(document_id, add_approvers=["yamamoto"])
    approve_all(document_id, "suzuki", "yamamoto")
    assert task_for("takahashi", document_id)  # 部長 decides for sato
    slot = Slot.objects.get(pk=task_for("takahashi", document_id))
    assert slot.on_behalf_of == user("sato")
    (entry,) = history(document_id, "pass_over")
    assert "山本" in entry.comment


# --- Slots follow posts ---------------------------------------------------------------------


def change_holder(old: str, new: str, handover_days: int | None = None) -> None:
    """sato's 課長 post ends yesterday; `new` holds it from today (an admin's change)."""
    today = timezone.localdate()
    held = post(old)
    held.ends_on = today - timedelta(days=1)
    if handover_days is not None:
        held.handover_until = today + timedelta(days=handover_days)
    held.save()
    Post.objects.filter(user__username=new).update(is_primary=False)
    Post.objects.create(
        user=user(new),
        department=held.department,
        position=held.position,
        is_primary=True,
        starts_on=today,
    )


def test_a_post_that_changes_holder_moves_its_open_task_and_signs_with_the_posts_key(
    demo_org, tmp_path
):
    document_id = draft(500_000)
    submit(document_id)
    approve_all(document_id, "suzuki")
    sato_task = task_for("sato", document_id)
    change_holder("sato", "yamamoto")
    run = apply_personnel_changes()
    assert run.moved_to_holder == 1
    # sato is told it moved; acting now is a conflict that names the new holder.
    response = client("sato").post(f"/api/v1/tasks/{sato_task}/approve", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "task_reassigned"
    assert tasks("sato") == []
    approve_all(document_id, "yamamoto")
    assert status_of(document_id) == "decided"
    decision = RecordRevision.objects.filter(version__document_id=document_id, kind="signature")
    last = decision.order_by("-seq").first()
    assert last is not None and last.actor == user("yamamoto")
    assert last.key_id == f"post-{post('yamamoto').department_id}-{post('yamamoto').position_id}"
    assert not decision.filter(key_id__startswith="person-").exists()
    # poppler checks every signature of the record, the new holder's included.
    if shutil.which("pdfsig"):
        record = client("tanaka").get(f"/api/v1/documents/{document_id}/record.pdf")
        path = tmp_path / "record.pdf"
        path.write_bytes(b"".join(record.streaming_content))  # type: ignore[attr-defined]
        out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
        assert out.count("Signature is Valid") == decision.count(), out
        assert "総務課長" in out and "佐藤" not in out.split("Signer Certificate Common Name")[-1]
    (moved,) = history(document_id, "reassign")
    assert moved.details["reason"] == "post_holder_changed"


def test_during_a_handover_the_old_holder_may_still_act_with_the_posts_key(demo_org):
    document_id = draft(500_000)
    submit(document_id)
    approve_all(document_id, "suzuki")
    task = task_for("sato", document_id)
    change_holder("sato", "yamamoto", handover_days=7)
    apply_personnel_changes()
    response = client("sato").post(f"/api/v1/tasks/{task}/approve", {}, format="json")
    assert response.status_code == 200, response.content
    last = (
        RecordRevision.objects.filter(version__document_id=document_id, kind="signature")
        .order_by("-seq")
        .first()
    )
    assert last is not None and last.actor == user("sato")
    assert last.key_id.startswith("post-")


def test_a_stage_not_yet_reached_goes_to_whoever_holds_the_post_when_it_opens(demo_org):
    document_id = draft(500_000)
    submit(document_id)
    change_holder("sato", "yamamoto")  # before the 課長 stage opens; nobody ran the mover
    approve_all(document_id, "suzuki")
    assert task_for("yamamoto", document_id)
    assert tasks("sato") == []


def test_the_command_moves_tasks_for_changes_dated_in_advance(demo_org):
    document_id = draft(500_000)
    submit(document_id)
    approve_all(document_id, "suzuki")
    change_holder("sato", "yamamoto")
    out = io.StringIO()
    call_command("apply_personnel_changes", stdout=out)
    assert "new holder: 1" in out.getvalue()
    assert task_for("yamamoto", document_id)


# --- Reassignment and absence ---------------------------------------------------------------


def test_marking_someone_absent_moves_their_open_tasks_to_the_deputy_at_once(demo_org):
    document_id = draft(500_000)
    submit(document_id)
    suzuki_task = task_for("suzuki", document_id)
    suzuki = post("suzuki")
    suzuki.deputy = user("yamamoto")
    suzuki.save()
    Absence.objects.create(
        user=user("suzuki"),
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(days=2),
    )
    assert apply_personnel_changes().moved_to_deputy == 1
    slot = Slot.objects.get(pk=suzuki_task)
    assert slot.assignee == user("yamamoto") and slot.on_behalf_of == user("suzuki")
    # Back is not automatic.
    Absence.objects.all().delete()
    apply_personnel_changes()
    slot.refresh_from_db()
    assert slot.assignee == user("yamamoto")


def test_a_superior_reassigns_to_someone_entitled_and_not_to_anyone_else(
    demo_org, django_capture_on_commit_callbacks
):
    document_id = draft(500_000)
    submit(document_id)
    task = task_for("suzuki", document_id)
    url = f"/api/v1/tasks/{task}/reassign"
    # suzuki's superior is sato; tanaka (the drafter) and ito (another department, not above)
    # are not entitled; a stranger may not reassign at all.
    refused = client("sato").post(url, {"to": "tanaka", "reason": "不在"}, format="json")
    assert refused.status_code == 422 and "tanaka" not in refused.json()["error"]["message"]
    assert (
        client("sato").post(url, {"to": "ito", "reason": "不在"}, format="json").status_code == 422
    )
    assert (
        client("ito").post(url, {"to": "yamamoto", "reason": "x"}, format="json").status_code == 403
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client("sato").post(
            url, {"to": "yamamoto", "reason": "出張のため"}, format="json"
        )
    assert response.status_code == 200, response.content
    assert response.json()["assignee"]["username"] == "yamamoto"
    assert response.json()["previous_assignee"]["username"] == "suzuki"
    from notifications.models import Notification

    assert Notification.objects.filter(recipient=user("suzuki"), type="task.moved").exists()
    assert Notification.objects.filter(recipient=user("yamamoto"), type="task.assigned").exists()
    (entry,) = history(document_id, "reassign")
    assert entry.comment == "出張のため" and entry.actor == user("sato")


# --- Resubmission --------------------------------------------------------------------------


def send_back_and_resubmit(document_id: int) -> None:
    approve_all(document_id, "suzuki")
    task = task_for("sato", document_id)
    response = client("sato").post(
        f"/api/v1/tasks/{task}/send-back", {"reason": "根拠を添付"}, format="json"
    )
    assert response.status_code == 200
    edited = client("tanaka").patch(
        f"/api/v1/documents/{document_id}", {"body": "見積書を添付しました。"}, format="json"
    )
    assert edited.status_code == 200 and edited.json()["version"] == 2
    submit(document_id)


def test_by_default_a_resubmission_starts_again_from_the_first_stage(demo_org):
    document_id = draft(500_000)
    submit(document_id)
    send_back_and_resubmit(document_id)
    assert task_for("suzuki", document_id)  # asked again, on version 2
    approve_all(document_id, "suzuki", "sato")
    assert status_of(document_id) == "decided"
    approvals = HistoryEntry.objects.filter(document_id=document_id, action="approve")
    assert set(approvals.filter(document_version=2).values_list("actor__username", flat=True)) == {
        "suzuki",
        "sato",
    }
    signed = RecordRevision.objects.filter(version__document_id=document_id, version__number=2)
    assert signed.filter(actor=user("suzuki"), kind="signature").exists()
    # The earlier version's signed record stays.
    assert RecordRevision.objects.filter(version__document_id=document_id, version__number=1)


def test_resuming_shows_the_earlier_versions_approval_in_its_box(demo_org):
    RouteTemplate.objects.update(after_send_back=AfterSendBack.RESUME)
    document_id = draft(500_000)
    submit(document_id)
    send_back_and_resubmit(document_id)
    assert tasks("suzuki") == []
    approve_all(document_id, "sato")
    text = cover_text(document_id)
    assert "第1版で承認" in text and "鈴木" in text, text


# --- 質疑 ----------------------------------------------------------------------------------


def test_a_question_keeps_the_task_and_comes_back_answered(demo_org):
    document_id = draft(500_000)
    submit(document_id)
    task = task_for("suzuki", document_id)
    asked = client("suzuki").post(
        f"/api/v1/tasks/{task}/ask", {"to": "tanaka", "text": "見積は何社からですか"}, format="json"
    )
    assert asked.status_code == 201, asked.content
    answer_task = task_for("tanaka", document_id, "answer")
    assert task_for("suzuki", document_id) == task  # still his
    # Only the drafter or an earlier approver can be asked.
    other = client("suzuki").post(
        f"/api/v1/tasks/{task}/ask", {"to": "ito", "text": "?"}, format="json"
    )
    assert other.status_code == 422
    answered = client("tanaka").post(
        f"/api/v1/tasks/{answer_task}/answer", {"text": "3社です"}, format="json"
    )
    assert answered.status_code == 200, answered.content
    route = client("suzuki").get(f"/api/v1/documents/{document_id}/route").json()
    (question,) = route["routes"][0]["questions"]
    assert question["answer"] == "3社です" and not question["open"]
    assert [h["action"] for h in route["history"]][-2:] == ["ask", "answer"]
    approve_all(document_id, "suzuki", "sato")
    assert status_of(document_id) == "decided"


def test_the_reminder_clock_stops_while_a_question_is_open(demo_org, settings):
    from notifications.reminders import send_due_reminders

    document_id = draft(500_000)
    submit(document_id)
    task = task_for("suzuki", document_id)
    client("suzuki").post(
        f"/api/v1/tasks/{task}/ask", {"to": "tanaka", "text": "確認"}, format="json"
    )
    Slot.objects.filter(pk=task).update(opened_at=timezone.now() - timedelta(days=10))
    assert send_due_reminders().reminded == 0


# --- Every document has a route ---------------------------------------------------------------


def test_a_notice_without_an_amount_has_a_route(demo_org):
    document_id = draft(500_000)
    client("tanaka").patch(f"/api/v1/documents/{document_id}", {"amount": None}, format="json")
    route = submit(document_id)
    assert route["template"] == "kacho-senketsu"
    assert Route.objects.get(document_id=document_id).status == "in_progress"


def test_slots_of_routes_running_before_the_upgrade_find_their_post(demo_org):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("workflow.migrations.0005_slots_name_posts")
    document_id = draft(500_000)
    submit(document_id)
    slots = Slot.objects.filter(stage__route__document_id=document_id, kind="approve")
    expected = {s.pk: (s.post_department_id, s.post_position_id) for s in slots}
    assert all(all(v) for v in expected.values())
    slots.update(post_department=None, post_position=None)  # as migration 0004 left them
    migration.name_posts(apps, None)
    assert {
        s.pk: (s.post_department_id, s.post_position_id)
        for s in Slot.objects.filter(pk__in=expected)
    } == expected
