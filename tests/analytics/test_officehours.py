"""Office hours: working days from the built-in Japanese calendar and the administrators' days."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from analytics import officehours
from analytics.middleware import record_first_view
from analytics.models import DocumentFact, OfficeDay, SlotView
from analytics.officehours import Calendar
from org.models import User
from workflow.models import Slot

TOKYO = ZoneInfo("Asia/Tokyo")


def t(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TOKYO)


def test_friday_evening_to_monday_morning_is_one_office_hour():
    calendar = Calendar({})
    # 2026-12-04 is a Friday.
    assert calendar.minutes(t(2026, 12, 4, 18), t(2026, 12, 7, 9, 30)) == 60
    assert calendar.minutes(t(2026, 12, 7, 9, 30), t(2026, 12, 4, 18)) == 0


def test_holidays_and_the_year_end_closure_are_not_office_time():
    calendar = Calendar({})
    # Culture Day (Tuesday 2026-11-03): Monday 17:00 → Wednesday 9:00 is 15 + 30 minutes.
    assert calendar.minutes(t(2026, 11, 2, 17), t(2026, 11, 4, 9)) == 45
    # 12/29–1/3 is closed by law; 2027-01-04 is a Monday.
    assert calendar.minutes(t(2026, 12, 28, 17), t(2027, 1, 4, 8, 45)) == 15 + 15
    # Golden Week 2026: 5/3 (Sun), 5/4, 5/5 and the substitute holiday 5/6.
    assert calendar.working_days(date(2026, 5, 1), date(2026, 5, 7)) == 2
    # A whole working day is 8:30–17:15.
    assert calendar.minutes(t(2026, 12, 8, 0), t(2026, 12, 9, 0)) == officehours.DAY_MINUTES == 525


def test_national_holidays_are_built_in_for_the_coming_years():
    assert officehours.built_in_closure(date(2030, 1, 1)) == "元日"
    assert officehours.built_in_closure(date(2029, 11, 23)) == "勤労感謝の日"
    assert officehours.built_in_closure(date(2029, 11, 22)) == ""


@pytest.mark.django_db
def test_the_administrators_days_override_the_calendar():
    OfficeDay.objects.create(date=date(2026, 12, 8), name="市制施行記念日")
    OfficeDay.objects.create(date=date(2026, 12, 12), name="選挙事務", is_open=True)  # a Saturday
    calendar = officehours.current()
    assert calendar.working_days(date(2026, 12, 7), date(2026, 12, 13)) == 5
    assert calendar.minutes(t(2026, 12, 7, 17), t(2026, 12, 9, 9)) == 15 + 30
    assert (date(2026, 12, 8), "市制施行記念日", "office") in officehours.closed_days(2026)
    OfficeDay.objects.filter(date=date(2026, 12, 8)).delete()
    assert officehours.current().minutes(t(2026, 12, 7, 17), t(2026, 12, 9, 9)) == 15 + 525 + 30


@pytest.mark.django_db
def test_admin_pages_of_the_calendar_and_the_ledger(demo_org, client):
    from tests.analytics.test_figures import act, draft

    client.force_login(User.objects.get(username="admin"))
    assert client.get(reverse("admin:analytics_officeday_changelist")).status_code == 200
    assert client.get(reverse("admin:analytics_paperdecision_add")).status_code == 200
    # A paper attachment line without its document is refused on the form, not with a 500.
    response = client.post(
        reverse("admin:analytics_paperdecision_add"),
        {
            "kind": "paper_attachment",
            "decided_on": "2026-12-01",
            "department": 3,
            "doc_type": 1,
            "reason": "図面が紙のみ",
        },
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    # Closing a day in the admin counts the times that span it again.
    document_id = draft(500_000, "閉庁日の確認")
    act("suzuki", document_id)
    act("sato", document_id)
    from analytics import facts

    facts.refresh([document_id])
    fact = DocumentFact.objects.get(document_id=document_id)
    day = fact.submitted_at.astimezone(TOKYO).date()
    response = client.post(
        reverse("admin:analytics_officeday_add"), {"date": day.isoformat(), "name": "臨時閉庁"}
    )
    assert response.status_code == 302
    fact.refresh_from_db()
    assert fact.lead_minutes == 0


@pytest.mark.django_db
def test_a_first_view_is_recorded_once_for_the_assignee_only(demo_org, client):
    from tests.analytics.test_figures import draft

    document_id = draft(500_000, "初回閲覧の確認")
    slot = Slot.objects.get(stage__route__document_id=document_id, status="open")
    # Someone else reading it does not end suzuki's wait.
    client.force_login(User.objects.get(username="tanaka"))
    assert client.get(f"/api/v1/documents/{document_id}").status_code == 200
    assert not SlotView.objects.filter(slot=slot).exists()
    client.force_login(User.objects.get(username="suzuki"))
    assert client.get(f"/api/v1/documents/{document_id}").status_code == 200
    first = SlotView.objects.get(slot=slot).at
    assert client.get(f"/documents/{document_id}/").status_code == 200
    assert SlotView.objects.get(slot=slot).at == first
    assert record_first_view(slot.assignee_id, document_id) == 0
