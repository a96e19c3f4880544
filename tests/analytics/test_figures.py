"""Decision analytics after a run of the demo: lead times and stage times against the history,
who sees which department, the paper-decision ledger in the rate, and the CSV export.

The demo runs through the API as people would (drafts, approvals, a send-back, a deputy decision
with its post-review, a task left open); the approvers open the workspace page before acting, as
they do, which is when their waiting ends. Then the times are moved to known office days, so that
the figures can be checked to the minute, holidays included.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from analytics import facts, listeners
from analytics.models import DocumentFact, PaperDecision, PaperKind, SlotView, StageFact
from analytics.percentiles import percentile
from documents.models import Document, DocumentType
from jobs import queue
from jobs.models import Job
from org.demo import DEMO_PASSWORD
from org.models import Absence, Department, User
from workflow.models import BLOCKING_KINDS, HistoryEntry, Slot

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
PERIOD = "date_from=2026-11-01&date_to=2026-11-30"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TOKYO)


def client(username: str) -> APIClient:
    c = APIClient()
    assert c.login(username=username, password=DEMO_PASSWORD)
    return c


def draft(amount: int, title: str) -> int:
    meta = {
        "title": title,
        "doc_type": "contract",
        "body": "契約を締結してよろしいか伺います。",
        "amount": amount,
        "counterparty": "株式会社サンプル",
        "transaction_date": "2026-11-20",
    }
    response = client("tanaka").post(
        "/api/v1/documents", {"meta": json.dumps(meta)}, format="multipart"
    )
    assert response.status_code == 201, response.content
    document_id = int(response.json()["id"])
    submitted = client("tanaka").post(f"/api/v1/documents/{document_id}/submit", {}, format="json")
    assert submitted.status_code == 200, submitted.content
    return document_id


def task(username: str, document_id: int, kind: str | None = None) -> int:
    found = [
        t
        for t in client(username).get("/api/v1/tasks").json()["results"]
        if t["document"]["id"] == document_id and (kind is None or t["kind"] == kind)
    ]
    assert len(found) == 1, (username, found)
    return int(found[0]["id"])


def act(username: str, document_id: int, action: str = "approve", look: bool = True, **body: Any):
    c = client(username)
    if look:
        # The approver opens the workspace first: the end of the task's waiting time.
        assert c.get(f"/documents/{document_id}/").status_code == 200
    response = c.post(f"/api/v1/tasks/{task(username, document_id)}/{action}", body, format="json")
    assert response.status_code == 200, (username, response.content)


def slot_of(document_id: int, username: str, kind: str = "approve") -> Slot:
    return (
        Slot.objects.filter(
            stage__route__document_id=document_id, assignee__username=username, kind=kind
        )
        .exclude(acted_at=None)
        .latest("acted_at")
    )


def move(slot: Slot, opened: datetime, viewed: datetime | None, acted: datetime) -> None:
    Slot.objects.filter(pk=slot.pk).update(opened_at=opened, acted_at=acted)
    if viewed is None:
        SlotView.objects.filter(slot=slot).delete()
    else:
        SlotView.objects.filter(slot=slot).update(at=viewed)
    HistoryEntry.objects.filter(slot=slot).update(at=acted)


def decide_at(document_id: int, submitted: datetime, decided: datetime) -> None:
    HistoryEntry.objects.filter(document_id=document_id, action="submit").update(at=submitted)
    HistoryEntry.objects.filter(document_id=document_id, action="decide").update(at=decided)
    Document.objects.filter(pk=document_id).update(submitted_at=submitted, decided_at=decided)


@pytest.fixture
def demo_run(demo_org) -> dict[str, int]:
    """Four documents: decided plainly, decided after a send-back, decided by a deputy, open."""
    plain = draft(500_000, "庁舎清掃業務委託契約の締結について")
    act("suzuki", plain)
    act("sato", plain, look=False)  # approved from the inbox without opening it

    reworked = draft(3_200_000, '=HYPERLINK("http://example.com")公用車の購入について')
    act("suzuki", reworked)
    act("sato", reworked, "send-back", reason="見積書を添付してください。")
    assert client("tanaka").post(f"/api/v1/documents/{reworked}/submit", {}, format="json")
    for name in ("suzuki", "sato", "ito", "takahashi"):
        act(name, reworked)

    sato = User.objects.get(username="sato")
    now = timezone.now()
    absence = Absence.objects.create(
        user=sato,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=2),
        reason="出張",
    )
    deputy = draft(400_000, "防災倉庫の修繕について")
    act("suzuki", deputy)
    act("yamamoto", deputy)
    absence.delete()
    client("sato").post(
        f"/api/v1/tasks/{task('sato', deputy, 'post_review')}/approve", {}, format="json"
    )

    waiting = draft(300_000, "会議室の備品購入について")
    act("suzuki", waiting)

    # Known office days. plain: submitted Friday 13 at 18:00 (after hours), suzuki looks on
    # Monday at 9:00 and approves at 9:30, sato decides on Tuesday at 9:30 without opening it.
    suzuki, chief = slot_of(plain, "suzuki"), slot_of(plain, "sato")
    move(suzuki, at(13, 18), at(16, 9), at(16, 9, 30))
    move(chief, at(16, 9, 30), None, at(17, 9, 30))
    decide_at(plain, at(13, 18), at(17, 9, 30))
    # deputy: submitted Friday 20 at 17:00, decided Tuesday 24 at 9:00; Monday 23 is
    # 勤労感謝の日 (a national holiday).
    decide_at(deputy, at(20, 17), at(24, 9))
    # reworked: submitted on Wednesday 18 at 10:00, decided on Wednesday 25 at 10:00.
    decide_at(reworked, at(18, 10), at(25, 10))
    # waiting: suzuki's successor sato has had it since a week ago (past the escalation).
    open_slot = Slot.objects.get(
        stage__route__document_id=waiting, assignee__username="sato", status="open"
    )
    Slot.objects.filter(pk=open_slot.pk).update(opened_at=now - timedelta(days=7), clock_from=None)
    facts.rebuild()
    return {"plain": plain, "reworked": reworked, "deputy": deputy, "waiting": waiting}


def get(username: str, path: str) -> dict[str, Any]:
    response = client(username).get(path)
    assert response.status_code == 200, response.content
    return dict(response.json())


def run_jobs() -> None:
    """The analytics jobs the listener queued (a worker runs them in production)."""
    for job in Job.objects.filter(kind=listeners.JOB).order_by("pk"):
        queue.run(job.pk)


def test_the_listener_keeps_facts_as_people_act(demo_org, django_capture_on_commit_callbacks):
    # The listener runs after each action's commit, as in production, and queues a job.
    with django_capture_on_commit_callbacks(execute=True):
        document_id = draft(500_000, "備品購入について")
    run_jobs()
    assert DocumentFact.objects.get(document_id=document_id).decided_at is None
    with django_capture_on_commit_callbacks(execute=True):
        act("suzuki", document_id)
        act("sato", document_id)
    run_jobs()
    fact = DocumentFact.objects.get(document_id=document_id)
    assert fact.decided_at == Document.objects.get(pk=document_id).decided_at
    assert (
        fact.submitted_at == HistoryEntry.objects.get(document_id=document_id, action="submit").at
    )
    stages = StageFact.objects.filter(document_id=document_id).order_by("stage_index")
    assert [s.actor.username for s in stages] == ["suzuki", "sato"]
    # Both opened the workspace before acting: their first look is recorded, once.
    views = SlotView.objects.filter(slot_id__in=[s.slot_id for s in stages])
    assert sorted(v.user.username for v in views) == ["sato", "suzuki"]


def test_lead_times_match_the_history_in_office_hours(demo_run):
    data = get("watanabe", f"/api/v1/analytics/lead-times?{PERIOD}")
    assert data["overall"]["count"] == 3
    rows = {row["document"]: row for row in data["slowest"]}
    assert set(rows) == {demo_run["plain"], demo_run["reworked"], demo_run["deputy"]}
    # Friday 18:00 → Tuesday 9:30: all of Monday (8:30–17:15, 525 minutes) and an hour.
    assert rows[demo_run["plain"]]["lead_hours"] == pytest.approx(585 / 60, abs=0.051)
    # Friday 17:00 → Tuesday 9:00 over a holiday Monday: 15 + 30 minutes.
    assert rows[demo_run["deputy"]]["lead_hours"] == pytest.approx(0.75, abs=0.051)
    # Wednesday 10:00 → next Wednesday 10:00: four working days, the holiday Monday left out.
    assert rows[demo_run["reworked"]]["lead_hours"] == pytest.approx(4 * 525 / 60, abs=0.051)
    assert rows[demo_run["reworked"]]["send_backs"] == 1
    # Calendar days, from the history itself.
    for document_id, row in rows.items():
        entries = HistoryEntry.objects.filter(document_id=document_id)
        submitted = entries.filter(action="submit").earliest("at").at
        decided = entries.get(action="decide").at
        assert row["lead_days"] == pytest.approx(
            (decided - submitted) / timedelta(days=1), abs=0.051
        )
    # The slowest first; a title that looks like a formula stays as it was in JSON.
    assert data["slowest"][0]["document"] == demo_run["reworked"]
    assert data["slowest"][0]["title"].startswith("=HYPERLINK")
    assert [m["month"] for m in data["by_month"]] == ["2026-11"]
    assert data["by_month"][0]["median_hours"] == pytest.approx(585 / 60, abs=0.051)


def test_stage_times_send_backs_and_load(demo_run):
    # The tasks of the other documents were closed today: the period runs up to today.
    today = timezone.localdate()
    data = get("admin", f"/api/v1/analytics/stages?date_from=2026-11-01&date_to={today}")
    plain = StageFact.objects.filter(document_id=demo_run["plain"])
    suzuki = plain.get(actor__username="suzuki")
    # Opened Friday 18:00, first looked at Monday 9:00, approved 9:30.
    assert (suzuki.wait_minutes, suzuki.handle_minutes) == (30, 60)
    # Never opened: it waited until the action and took no time after it.
    chief = plain.get(actor__username="sato")
    assert chief.wait_minutes == chief.handle_minutes == 525
    stages = {(row["route"], row["stage"]): row for row in data["stages"]}
    # Every closed blocking task of the period is counted once, in its stage.
    total = StageFact.objects.filter(kind__in=["approve", "consult"]).count()
    assert sum(row["tasks"] for row in stages.values()) == total
    sent_back = [row for row in stages.values() if row["send_backs"]]
    assert len(sent_back) == 1 and sent_back[0]["send_backs"] == 1
    assert [row["rank"] for row in data["stages"]] == list(range(1, len(stages) + 1))
    assert data["rework"]["documents_sent_back"] == 1
    assert data["rework"]["resubmissions"] == 1
    load = {row["user"]: row for row in data["approvers"]}
    assert load["yamamoto"]["deputy_decisions"] == 1
    assert load["yamamoto"]["approvals"] == 0
    assert load["sato"]["post_reviews"] == 1
    assert load["ito"]["consultations"] == 1
    assert load["sato"]["send_backs"] == 1


def test_overdue_tasks_by_approver_and_department(demo_run):
    data = get("admin", "/api/v1/analytics/overdue")
    assert data["total"] == 1
    assert data["tasks"][0]["document"] == demo_run["waiting"]
    assert data["tasks"][0]["level"] == "escalation"
    assert data["by_approver"][0]["user"] == "sato"
    assert data["by_department"][0]["name"] == "総務部 総務課"


def test_the_rate_counts_the_paper_ledger(demo_run):
    zaisei = Department.objects.get(code="zaimu-zaisei")
    contract = DocumentType.objects.get(code="contract")
    PaperDecision.objects.create(
        decided_on="2026-11-10", department=zaisei, doc_type=contract, reason="相手方が紙を求めた"
    )
    PaperDecision.objects.create(
        kind=PaperKind.PAPER_ATTACHMENT,
        decided_on="2026-11-17",
        department=Department.objects.get(code="somu-somu"),
        doc_type=contract,
        document_id=demo_run["plain"],
        reason="図面が紙のみ",
    )
    overall = get("admin", f"/api/v1/analytics/rate?{PERIOD}")["overall"]
    assert (overall["electronic"], overall["paper"], overall["total"]) == (3, 1, 4)
    assert overall["rate"] == 0.75
    assert overall["fully_digital_rate"] == 0.5
    # The head of 財政課 sees their department only: one paper decision, nothing electronic.
    own = get("ito", f"/api/v1/analytics/rate?{PERIOD}")["overall"]
    assert (own["electronic"], own["paper"]) == (0, 1)


def test_a_department_head_sees_only_their_department(demo_run):
    # sato heads 総務課: all three decisions are theirs.
    assert get("sato", f"/api/v1/analytics/lead-times?{PERIOD}")["overall"]["count"] == 3
    # takahashi heads 総務部, above 総務課: all its figures, but a title only where the access
    # rules let him read the document (he was on the route of the reworked one only).
    lead = get("takahashi", f"/api/v1/analytics/lead-times?{PERIOD}")
    assert lead["overall"]["count"] == 3
    titles = {row["document"]: row["title"] for row in lead["slowest"]}
    assert titles[demo_run["reworked"]].endswith("公用車の購入について")
    assert "庁舎清掃" not in titles[demo_run["plain"]]
    assert all(row["number"] for row in lead["slowest"])
    # An auditor reads decided records, not those in review: the overdue task is listed untitled.
    task = get("watanabe", "/api/v1/analytics/overdue")["tasks"][0]
    assert task["document"] == demo_run["waiting"] and "会議室" not in task["title"]
    assert "会議室" in get("admin", "/api/v1/analytics/overdue")["tasks"][0]["title"]
    # ito heads 財政課: nothing of 総務課, even the tasks ito took part in.
    ito = get("ito", f"/api/v1/analytics/lead-times?{PERIOD}")
    assert ito["overall"]["count"] == 0 and ito["slowest"] == []
    assert get("ito", f"/api/v1/analytics/stages?{PERIOD}")["stages"] == []
    assert get("ito", "/api/v1/analytics/overdue")["total"] == 0
    somu = Department.objects.get(code="somu-somu").pk
    refused = client("ito").get(f"/api/v1/analytics/lead-times?department={somu}")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    # Staff who head nothing see no figures, on the API or the page.
    for name in ("suzuki", "tanaka"):
        response = client(name).get("/api/v1/analytics/rate")
        assert response.status_code == 403
        assert "所属長" in response.json()["error"]["message"]
        assert client(name).get("/analytics/").status_code == 403


def test_bad_filters_are_400s_that_say_what_to_send(demo_run):
    c = client("admin")
    for query, field in (
        ("date_from=2026-12-01&date_to=2026-11-01", "date_from"),
        ("date_from=yesterday", "date_from"),
        ("doc_type=nope", "文書種別"),
        ("department=999999", "所属"),
        ("date_from=1900-01-01&date_to=2026-01-01", "10年"),
    ):
        response = c.get(f"/api/v1/analytics/stages?{query}")
        assert response.status_code == 400, query
        assert field.lower() in json.dumps(response.json(), ensure_ascii=False).lower(), query
    assert c.get("/api/v1/analytics/nope.csv?table=x").status_code == 404
    assert c.get("/api/v1/analytics/stages.csv").status_code == 400
    # The page shows the defaults with the reason rather than failing.
    page = c.get("/analytics/?date_from=2026-12-01&date_to=2026-11-01")
    assert page.status_code == 200
    assert "date_from" in page.content.decode()


def test_csv_has_a_bom_japanese_and_quoted_formula_cells(demo_run):
    response = client("watanabe").get(f"/api/v1/analytics/lead-times.csv?table=slowest&{PERIOD}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:2] == ["文書番号", "件名"]
    titles = [row[1] for row in rows[1:]]
    assert '\'=HYPERLINK("http://example.com")公用車の購入について' in titles
    assert "庁舎清掃業務委託契約の締結について" in titles
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    # Every table of every figure downloads.
    for figure, tables in {
        "lead-times": ["by_month", "by_type", "by_department", "by_route", "slowest"],
        "stages": ["stages", "approvers", "rework"],
        "overdue": ["by_approver", "by_department", "tasks"],
        "rate": ["overall", "by_month", "by_department"],
    }.items():
        for name in tables:
            r = client("admin").get(f"/api/v1/analytics/{figure}.csv?table={name}&{PERIOD}")
            assert r.status_code == 200, (figure, name)
            assert r.content.startswith(b"\xef\xbb\xbf")


def test_the_page_shows_every_table_with_its_csv_link(demo_run):
    page = client("sato").get(f"/analytics/?{PERIOD}")
    assert page.status_code == 200
    html = page.content.decode()
    for table_id in ("lead-times-slowest", "stages-stages", "stages-approvers", "rate-by_month"):
        assert f'id="{table_id}"' in html
    assert html.count("analytics/lead-times.csv?") == 5
    assert f'href="/documents/{demo_run["plain"]}/"' in html
    assert "chart.umd.min.js" in html


def test_the_schema_lists_the_endpoints(demo_org):
    schema = client("admin").get("/api/schema?format=json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    for path in ("lead-times", "stages", "overdue", "rate", "{figure}.csv"):
        assert f"/api/v1/analytics/{path}" in paths


def test_a_department_registers_its_paper_decisions(demo_run):
    zaisei = Department.objects.get(code="zaimu-zaisei").pk
    line = {
        "decided_on": "2026-11-12",
        "department": zaisei,
        "doc_type": "contract",
        "title": "=1+1 紙の契約",
        "reason": "相手方が紙を求めた",
    }
    created = client("ito").post("/api/v1/analytics/paper-decisions", line, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["registered_by"] == "ito"
    # Another department's head, an auditor and a drafter may not write in 財政課's ledger.
    somu = Department.objects.get(code="somu-somu").pk
    for name, status in (("sato", 403), ("watanabe", 403), ("tanaka", 403)):
        response = client(name).post("/api/v1/analytics/paper-decisions", line, format="json")
        assert response.status_code == status, (name, response.content)
    # A paper attachment names a document decided here, in the caller's departments.
    attached = {**line, "department": somu, "kind": "paper_attachment"}
    response = client("sato").post("/api/v1/analytics/paper-decisions", attached, format="json")
    assert response.status_code == 400
    attached["document"] = demo_run["waiting"]
    response = client("sato").post("/api/v1/analytics/paper-decisions", attached, format="json")
    assert response.status_code == 400 and "決裁" in response.json()["error"]["message"]
    attached["document"] = demo_run["plain"]
    response = client("sato").post("/api/v1/analytics/paper-decisions", attached, format="json")
    assert response.status_code == 201, response.content
    # What each sees of it, and the rate it makes.
    own = client("ito").get(f"/api/v1/analytics/paper-decisions?{PERIOD}").json()
    assert [r["department"] for r in own] == [zaisei]
    listed = client("watanabe").get(f"/api/v1/analytics/paper-decisions?{PERIOD}")
    assert listed.status_code == 200 and len(listed.json()) == 2
    assert get("admin", f"/api/v1/analytics/rate?{PERIOD}")["overall"]["paper"] == 1


def test_the_navigation_links_to_the_figures_for_those_who_may_see_them(demo_org):
    # Heads of a department, administrators and auditors see the link; everyone else does not.
    for name, shown in (("sato", True), ("admin", True), ("watanabe", True), ("tanaka", False)):
        html = client(name).get("/").content.decode()
        assert ('href="/analytics/"' in html) is shown, name


def _known(values: Sequence[float], fraction: float) -> float:
    found = percentile(values, fraction)
    assert found is not None
    return found


def test_the_figures_agree_with_the_facts_row_by_row(demo_run):
    # The API's medians (counted in the database on PostgreSQL, in Python on SQLite) against
    # percentile_cont computed here over the facts themselves.
    lead = get("admin", f"/api/v1/analytics/lead-times?{PERIOD}")
    minutes = sorted(
        m
        for m in DocumentFact.objects.filter(decided_on__month=11).values_list(
            "lead_minutes", flat=True
        )
        if m is not None
    )
    assert lead["overall"]["median_hours"] == round(_known(minutes, 0.5) / 60, 1)
    assert lead["overall"]["p90_hours"] == round(_known(minutes, 0.9) / 60, 1)
    days = sorted(
        d for d in DocumentFact.objects.values_list("lead_days", flat=True) if d is not None
    )
    # Calendar days are counted in hundredths of a day: within 0.005 day before rounding.
    assert lead["overall"]["median_days"] == pytest.approx(_known(days, 0.5), abs=0.056)
    stages = get("admin", "/api/v1/analytics/stages?date_from=2026-11-01")["stages"]
    for row in stages:
        facts = StageFact.objects.filter(
            route_code=row["route"], stage_name=row["stage"], kind__in=BLOCKING_KINDS
        )
        handled = sorted(m for m in facts.values_list("handle_minutes", flat=True) if m is not None)
        waited = sorted(m for m in facts.values_list("wait_minutes", flat=True) if m is not None)
        assert row["tasks"] == len(handled)
        assert row["handle_median_hours"] == round(_known(handled, 0.5) / 60, 1)
        assert row["wait_p90_hours"] == round(_known(waited, 0.9) / 60, 1)
