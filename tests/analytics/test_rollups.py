"""The monthly roll-ups (analytics.rollups) give the figures the facts give, and stay true.

The demo run's month (November 2026) is closed on the day these tests run against (today is
later), so the rebuild in its fixture rolls it up; the figures are compared with the same figures
once every roll-up is dropped, over whole and partial months and for a department head. Random
facts over five months check the merging of many cells against the facts alone. A late change to
a fact of a rolled-up month (a moved decision, a calendar day closed) drops that month in the
same transaction, and a refresh that changes nothing keeps it.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.management import call_command

from analytics import facts, leadtimes, rollups, stages
from analytics.filters import Filters
from analytics.models import (
    ApproverMonth,
    DocumentFact,
    LeadTimeMonth,
    OfficeDay,
    RolledMonth,
    StageFact,
    StageTimeMonth,
)
from analytics.percentiles import percentile
from documents.models import DocumentType
from org.models import Department, User
from tests.analytics import test_figures
from tests.analytics.test_figures import at, decide_at, get

# The demo run of the figures' tests, as a fixture of these.
demo_run = test_figures.demo_run

pytestmark = pytest.mark.django_db

NOVEMBER = date(2026, 11, 1)
PERIODS = [
    "date_from=2026-11-01&date_to=2026-11-30",  # the whole month: its cells
    "date_from=2026-10-15&date_to=2026-12-31",  # the whole month and facts on both sides
    "date_from=2026-11-14&date_to=2026-11-30",  # part of it: facts only
    "date_from=2026-11-01&date_to=2026-11-30&doc_type=contract",
]


def _all_figures(users: list[str]) -> dict[tuple[str, str, str], Any]:
    return {
        (user, figure, period): get(user, f"/api/v1/analytics/{figure}?{period}")
        for user in users
        for figure in ("lead-times", "stages")
        for period in PERIODS
    }


def test_the_demo_figures_from_roll_ups_equal_those_from_the_facts(demo_run):
    assert RolledMonth.objects.filter(month=NOVEMBER).exists()
    assert LeadTimeMonth.objects.filter(month=NOVEMBER).exists()
    assert StageTimeMonth.objects.filter(month=NOVEMBER).exists()
    assert ApproverMonth.objects.filter(month=NOVEMBER).exists()
    rolled = _all_figures(["admin", "takahashi"])
    assert rolled[("admin", "lead-times", PERIODS[0])]["overall"]["count"] == 3
    rollups.drop_all()
    assert _all_figures(["admin", "takahashi"]) == rolled
    # The nightly command rolls the month up again.
    call_command("roll_up_analytics", verbosity=0)
    assert RolledMonth.objects.filter(month=NOVEMBER).exists()
    assert _all_figures(["admin"]) == {k: v for k, v in rolled.items() if k[0] == "admin"}


def _random_facts(rng: random.Random) -> None:
    departments = list(Department.objects.values_list("pk", flat=True))
    types = list(DocumentType.objects.values_list("pk", flat=True))
    people = [*User.objects.values_list("pk", flat=True)[:6], None]
    routes = [("r1", "課長専決"), ("r2", "部長専決"), ("r3", "副市長決裁"), ("", "")]
    kinds = ["approve", "consult", "circulate", "post_review"]
    outcomes = ["approved", "read", "sent_back", "rejected"]
    documents, tasks = [], []
    start = date(2026, 7, 1)
    for n in range(2500):
        pk = 9_000_000 + n  # facts of no document: the figures read the facts alone
        decided = start + timedelta(days=rng.randrange(150))
        submitted = at(1, 9) - timedelta(days=200)
        code, name = rng.choice(routes)
        department, doc_type = rng.choice(departments), rng.choice(types)
        documents.append(
            DocumentFact(
                document_id=pk,
                department_id=department,
                doc_type_id=doc_type,
                route_code=code,
                route_name=name,
                status="decided",
                submitted_at=submitted,
                decided_at=submitted,
                decided_on=decided,
                decided_month=decided.replace(day=1),
                lead_minutes=rng.choice([rng.randrange(3000), rng.randrange(60) * 15]),
                lead_days=rng.random() * 30,
                send_backs=rng.choice([0, 0, 0, 1, 2]),
                resubmissions=rng.choice([0, 1]),
                questions=rng.choice([0, 0, 1]),
            )
        )
        for index in range(rng.randrange(1, 4)):
            acted = decided - timedelta(days=rng.randrange(10))
            tasks.append(
                StageFact(
                    slot_id=pk * 4 + index,
                    document_id=pk,
                    department_id=department,
                    doc_type_id=doc_type,
                    route_code=code,
                    route_name=name + rng.choice(["", "（旧）"]),
                    stage_index=index,
                    stage_name=f"第{index + 1}段",
                    kind=rng.choice(kinds),
                    outcome=rng.choice(outcomes),
                    actor_id=rng.choice(people),
                    on_behalf_of_id=rng.choice([None, None, None, people[0]]),
                    actor_department=rng.choice(["総務課", "財政課", ""]),
                    opened_at=submitted,
                    first_viewed_at=submitted,
                    acted_at=submitted,
                    acted_on=acted,
                    wait_minutes=rng.randrange(2000),
                    handle_minutes=rng.randrange(500) * rng.choice([1, 7]),
                    questions=rng.choice([0, 0, 1]),
                )
            )
    DocumentFact.objects.bulk_create(documents, batch_size=500)
    StageFact.objects.bulk_create(tasks, batch_size=500)


def _keyed(cells: list[dict[str, Any]], key: tuple[str, ...]) -> dict[Any, Any]:
    return {tuple(c[k] for k in key): c for c in cells}


def test_random_facts_give_the_same_figures_rolled_up_or_not(demo_org):
    rng = random.Random(20)
    _random_facts(rng)
    try:
        # The database's cells (array_agg on PostgreSQL) are the ones counted here in Python.
        leads = DocumentFact.objects.filter(lead_minutes__isnull=False)
        python = rollups.lead_cells(leads.values_list(*rollups.LEAD_COLUMNS))
        key = ("month", "department_id", "doc_type_id", "route_code", "route_name")
        assert _keyed(rollups.lead_cells_of([leads]), key) == _keyed(python, key)
        tasks = StageFact.objects.all()
        in_python = rollups.stage_cells(tasks.values_list(*rollups.STAGE_COLUMNS))
        counted = rollups.stage_cells_of([tasks])
        key = ("month", "department_id", "doc_type_id", "route_code", "stage_name")
        assert _keyed(counted[0], key) == _keyed(in_python[0], key)
        whose = ("month", "department_id", "doc_type_id", "actor_id")
        assert _keyed(counted[1], whose) == _keyed(in_python[1], whose)
        rolled = rollups.roll_up_closed(today=date(2026, 12, 7))
        assert date(2026, 7, 1) in rolled and date(2026, 11, 1) in rolled
        assert date(2026, 12, 1) not in rolled  # not closed
        somu = Department.objects.get(code="somu")
        below = frozenset(Department.objects.filter(parent=somu).values_list("pk", flat=True))
        contract = DocumentType.objects.get(code="contract")
        cases = []
        for _ in range(12):
            first = date(2026, 6, 20) + timedelta(days=rng.randrange(60))
            last = first + timedelta(days=rng.choice([20, 45, 100, 200]))
            departments = rng.choice([None, below | {somu.pk}])
            doc_type = rng.choice([None, contract])
            cases.append(Filters(first, last, departments, None, doc_type))
        cases.append(Filters(date(2026, 7, 1), date(2026, 11, 30), None, None, None))
        with_cells = [(leadtimes.lead_times(f), stages.stages(f)) for f in cases]
        assert any(rollups.period_months(f) for f in cases)
        whole = cases[-1]
        assert len(rollups.period_months(whole)) == 5
        # Against percentile_cont over the facts themselves.
        minutes = sorted(
            m
            for m in DocumentFact.objects.filter(
                decided_on__range=(whole.date_from, whole.date_to)
            ).values_list("lead_minutes", flat=True)
            if m is not None
        )
        overall = with_cells[-1][0]["overall"]
        assert overall["count"] == len(minutes) == 2500
        assert overall["p90_hours"] == leadtimes.hours(percentile(minutes, 0.9))
        rollups.drop_all()
        assert not any(rollups.period_months(f) for f in cases)
        assert [(leadtimes.lead_times(f), stages.stages(f)) for f in cases] == with_cells
    finally:
        # Facts of no document must not outlive the test (the constraints are checked at its end).
        StageFact.objects.filter(document_id__gte=9_000_000).delete()
        DocumentFact.objects.filter(document_id__gte=9_000_000).delete()


def test_a_late_change_in_a_closed_month_drops_its_roll_up(demo_run):
    period = "date_from=2026-11-01&date_to=2026-11-30"
    before = get("admin", f"/api/v1/analytics/lead-times?{period}")
    # A refresh that changes nothing keeps the month.
    facts.refresh([demo_run["plain"], demo_run["deputy"]])
    assert RolledMonth.objects.filter(month=NOVEMBER).exists()
    assert get("admin", f"/api/v1/analytics/lead-times?{period}") == before
    # The plain document's decision moved a day later (Wednesday 18 at 9:30): one more office
    # day (8:30–17:15); its month is dropped with the change, cells and mark.
    was = DocumentFact.objects.get(document_id=demo_run["plain"]).lead_minutes
    decide_at(demo_run["plain"], at(13, 18), at(18, 9, 30))
    facts.refresh([demo_run["plain"]])
    now = DocumentFact.objects.get(document_id=demo_run["plain"]).lead_minutes
    assert now is not None and was is not None
    assert now == was + 8 * 60 + 45
    assert not RolledMonth.objects.filter(month=NOVEMBER).exists()
    assert not LeadTimeMonth.objects.filter(month=NOVEMBER).exists()
    assert not StageTimeMonth.objects.filter(month=NOVEMBER).exists()
    after = get("admin", f"/api/v1/analytics/lead-times?{period}")
    slow = {row["document"]: row["lead_hours"] for row in after["slowest"]}
    assert slow[demo_run["plain"]] == leadtimes.hours(now)
    assert after["overall"] != before["overall"]
    # Rolled up again, the month gives what the facts give.
    assert rollups.roll_up_closed() == [NOVEMBER]
    assert get("admin", f"/api/v1/analytics/lead-times?{period}") == after


def test_closing_a_day_of_a_rolled_up_month_drops_it(demo_run):
    before = get("admin", "/api/v1/analytics/stages?date_from=2026-11-01&date_to=2026-11-30")
    # Monday 16 closed (a city holiday): suzuki's wait on the plain document shrinks, as do the
    # lead times that span it; the admin recounts them (facts.refresh_around).
    OfficeDay.objects.create(date=date(2026, 11, 16), name="市制記念日")
    assert facts.refresh_around(date(2026, 11, 16)) >= 1
    assert not RolledMonth.objects.filter(month=NOVEMBER).exists()
    after = get("admin", "/api/v1/analytics/stages?date_from=2026-11-01&date_to=2026-11-30")
    assert after != before
    rollups.roll_up_closed()
    assert get("admin", "/api/v1/analytics/stages?date_from=2026-11-01&date_to=2026-11-30") == after
