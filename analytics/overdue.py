"""Open tasks past their reminder or escalation time, by approver and by department.

"Past" is what the reminders (notifications.reminders, `send_reminders`) act on, from the same
settings: the task's clock (its opening, moved on by the time a question was open) is older than
REMINDER_AFTER_HOURS, or than ESCALATE_AFTER_HOURS for an escalation; a task whose question
(質疑) is still open is not late. Beside the calendar hours the reminders count, each task shows
the office hours it has waited. Open tasks have no period: the filters' department and type apply.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from analytics import officehours
from analytics.filters import Filters
from analytics.leadtimes import hours
from analytics.scope import department_names, titles
from documents.models import Document, Status
from org.models import User
from workflow.models import BLOCKING_KINDS, Slot, SlotStatus

LISTED = 200


def overdue(filters: Filters, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    remind_before = now - timedelta(hours=settings.REMINDER_AFTER_HOURS)
    escalate_before = now - timedelta(hours=settings.ESCALATE_AFTER_HOURS)
    # Open tasks belong to documents in review: found from those (an index on the document's
    # status), never by scanning every slot there ever was.
    in_review = Document.objects.filter(status=Status.IN_REVIEW)
    if filters.departments is not None:
        in_review = in_review.filter(department_id__in=filters.departments)
    if filters.doc_type is not None:
        in_review = in_review.filter(doc_type_id=filters.doc_type.pk)
    late = (
        Slot.objects.annotate(clock=Coalesce("clock_from", "opened_at"))
        .filter(
            stage__route__document_id__in=in_review.values("pk"),
            status=SlotStatus.OPEN,
            kind__in=BLOCKING_KINDS,
            clock__isnull=False,
            clock__lte=remind_before,
        )
        .exclude(questions__answer_slot__status=SlotStatus.OPEN)
    )
    escalated = Count("pk", filter=Q(clock__lte=escalate_before))
    calendar = officehours.current()
    names = department_names()
    people = late.values("assignee_id").annotate(
        overdue=Count("pk"), escalated=escalated, oldest=Min("clock"), where=Max("department_name")
    )
    users = {u.pk: u for u in User.objects.filter(pk__in=[p["assignee_id"] for p in people])}
    by_approver = [
        {
            "user": users[p["assignee_id"]].username,
            "name": str(users[p["assignee_id"]]),
            "department": p["where"] or "",
            "overdue": p["overdue"],
            "escalated": p["escalated"],
            "oldest_hours": hours(calendar.minutes(p["oldest"], now)) or 0.0,
        }
        for p in people
    ]
    by_department = [
        {
            "department": d["stage__route__document__department_id"],
            "name": names.get(d["stage__route__document__department_id"], ""),
            "overdue": d["overdue"],
            "escalated": d["escalated"],
        }
        for d in late.values("stage__route__document__department_id").annotate(
            overdue=Count("pk"), escalated=escalated
        )
    ]
    listed = list(
        late.order_by("clock", "pk").values(
            "pk",
            "clock",
            "assignee_id",
            "stage__name",
            "stage__route__document_id",
            "stage__route__document__title",
            "stage__route__document__department_id",
        )[:LISTED]
    )
    shown = titles(
        filters.reader,
        {t["stage__route__document_id"]: t["stage__route__document__title"] for t in listed},
    )
    tasks = [
        {
            "task": t["pk"],
            "document": t["stage__route__document_id"],
            "title": shown[t["stage__route__document_id"]],
            "department": names.get(t["stage__route__document__department_id"], ""),
            "stage": t["stage__name"],
            "assignee": users[t["assignee_id"]].username,
            "assignee_name": str(users[t["assignee_id"]]),
            "since": t["clock"],
            "calendar_hours": round((now - t["clock"]).total_seconds() / 3600, 1),
            "office_hours": hours(calendar.minutes(t["clock"], now)),
            "level": "escalation" if t["clock"] <= escalate_before else "reminder",
            "url": reverse("frontend:document", args=[t["stage__route__document_id"]]),
        }
        for t in listed
    ]
    return {
        "now": now,
        "reminder_after_hours": settings.REMINDER_AFTER_HOURS,
        "escalate_after_hours": settings.ESCALATE_AFTER_HOURS,
        "total": sum(p["overdue"] for p in by_approver),
        "by_approver": sorted(by_approver, key=lambda r: (-r["overdue"], r["user"])),
        "by_department": sorted(by_department, key=lambda r: (-r["overdue"], r["name"])),
        "tasks": tasks,
    }
