"""Open tasks past their reminder or escalation time, by approver and by department.

"Past" is what the reminders (notifications.reminders, `send_reminders`) act on, from the same
settings: the task's clock (its opening, moved on by the time a question was open) is older than
REMINDER_AFTER_HOURS, or than ESCALATE_AFTER_HOURS for an escalation; a task whose question
(質疑) is still open is not late. Beside the calendar hours the reminders count, each task shows
the office hours it has waited. Open tasks have no period: the filters' department and type apply.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import officehours
from analytics.filters import Filters
from analytics.leadtimes import hours
from documents.models import Secrecy
from workflow.models import BLOCKING_KINDS, Slot, SlotStatus

LISTED = 200


def overdue(filters: Filters, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    remind_before = now - timedelta(hours=settings.REMINDER_AFTER_HOURS)
    escalate_before = now - timedelta(hours=settings.ESCALATE_AFTER_HOURS)
    where = Q()
    if filters.departments is not None:
        where &= Q(stage__route__document__department_id__in=filters.departments)
    if filters.doc_type is not None:
        where &= Q(stage__route__document__doc_type_id=filters.doc_type.pk)
    slots = list(
        Slot.objects.annotate(clock=Coalesce("clock_from", "opened_at"))
        .filter(
            where,
            status=SlotStatus.OPEN,
            kind__in=BLOCKING_KINDS,
            clock__isnull=False,
            clock__lte=remind_before,
        )
        .exclude(questions__answer_slot__status=SlotStatus.OPEN)
        .select_related(
            "assignee",
            "stage__route__document__department__parent",
            "stage__route__document__doc_type",
        )
        .order_by("clock", "pk")
    )
    calendar = officehours.current()
    tasks: list[dict[str, Any]] = []
    by_person: dict[int, dict[str, Any]] = {}
    by_department: dict[int, dict[str, Any]] = defaultdict(dict)
    for slot in slots:
        document = slot.stage.route.document
        escalated = slot.clock <= escalate_before
        waited = calendar.minutes(slot.clock, now)
        person = by_person.setdefault(
            slot.assignee_id,
            {
                "user": slot.assignee.username,
                "name": str(slot.assignee),
                "department": slot.department_name,
                "overdue": 0,
                "escalated": 0,
                "oldest_hours": 0.0,
            },
        )
        department = by_department[document.department_id]
        if not department:
            department.update(
                {
                    "department": document.department_id,
                    "name": document.department.full_name,
                    "overdue": 0,
                    "escalated": 0,
                }
            )
        for row in (person, department):
            row["overdue"] += 1
            row["escalated"] += int(escalated)
        person["oldest_hours"] = max(person["oldest_hours"], hours(waited) or 0.0)
        if len(tasks) < LISTED:
            tasks.append(
                {
                    "task": slot.pk,
                    "document": document.pk,
                    "title": _("(secret)")
                    if document.secrecy != Secrecy.NORMAL
                    else document.title,
                    "department": document.department.full_name,
                    "stage": slot.stage.name,
                    "assignee": slot.assignee.username,
                    "assignee_name": str(slot.assignee),
                    "since": slot.clock,
                    "calendar_hours": round((now - slot.clock).total_seconds() / 3600, 1),
                    "office_hours": hours(waited),
                    "level": "escalation" if escalated else "reminder",
                    "url": reverse("frontend:document", args=[document.pk]),
                }
            )
    return {
        "now": now,
        "reminder_after_hours": settings.REMINDER_AFTER_HOURS,
        "escalate_after_hours": settings.ESCALATE_AFTER_HOURS,
        "total": len(slots),
        "by_approver": sorted(by_person.values(), key=lambda r: (-r["overdue"], r["user"])),
        "by_department": sorted(by_department.values(), key=lambda r: (-r["overdue"], r["name"])),
        "tasks": tasks,
    }
