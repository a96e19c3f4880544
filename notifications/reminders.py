"""Reminders (督促) for tasks left waiting: first the approver, later their superior.

Run periodically (`python manage.py send_reminders` from cron, or Celery beat). A `ReminderSent`
row per slot and level makes each reminder go out once, even if two runs overlap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from notifications import services
from notifications.models import ReminderSent
from org.services import superior_of
from workflow.models import BLOCKING_KINDS, Slot, SlotStatus

logger = logging.getLogger(__name__)

# The tasks a route waits for (workflow.models.BLOCKING_KINDS) are the ones that can be late.
REMINDED_KINDS = BLOCKING_KINDS


@dataclass
class ReminderRun:
    reminded: int = 0
    escalated: int = 0
    no_superior: int = 0


def _claim(slot_id: int, level: int) -> bool:
    _, created = ReminderSent.objects.get_or_create(slot_id=slot_id, level=level)
    return created


def send_due_reminders(now: datetime | None = None) -> ReminderRun:
    now = now or timezone.now()
    remind_before = now - timedelta(hours=settings.REMINDER_AFTER_HOURS)
    escalate_before = now - timedelta(hours=settings.ESCALATE_AFTER_HOURS)
    # The clock runs from the opening, moved on by the time a question (質疑) was open, and
    # stops while one is (workflow.questions).
    slots = list(
        Slot.objects.annotate(clock=Coalesce("clock_from", "opened_at"))
        .filter(
            status=SlotStatus.OPEN,
            kind__in=REMINDED_KINDS,
            clock__isnull=False,
            clock__lte=remind_before,
        )
        .exclude(questions__answer_slot__status=SlotStatus.OPEN)
        .select_related("stage__route", "assignee")
        .order_by("clock", "pk")
    )
    done = set(
        ReminderSent.objects.filter(slot_id__in=[s.pk for s in slots]).values_list(
            "slot_id", "level"
        )
    )
    run = ReminderRun()
    for slot in slots:
        opened_at = slot.clock_from or slot.opened_at
        if opened_at is None:  # filtered out above; for the type checker
            continue
        hours = int((now - opened_at).total_seconds() // 3600)
        document_id = slot.stage.route.document_id
        data = {"hours": hours, "stage": slot.stage.name, "kind": slot.kind}
        if (slot.pk, ReminderSent.Level.REMINDER) not in done:
            with transaction.atomic():
                if _claim(slot.pk, ReminderSent.Level.REMINDER):
                    services.notify(
                        "reminder",
                        [slot.assignee_id],
                        document_id=document_id,
                        task=slot.pk,
                        data=data,
                    )
                    run.reminded += 1
        if opened_at <= escalate_before and ((slot.pk, ReminderSent.Level.ESCALATION) not in done):
            with transaction.atomic():
                if not _claim(slot.pk, ReminderSent.Level.ESCALATION):
                    continue
                superior = superior_of(slot.assignee, slot.department_name)
                if superior is None:
                    logger.warning("no superior to escalate slot %s to", slot.pk)
                    run.no_superior += 1
                    continue
                rows = services.notify(
                    "reminder.escalated",
                    [superior.pk],
                    document_id=document_id,
                    task=slot.pk,
                    data={
                        **data,
                        "assignee": str(slot.assignee),
                        "assignee_username": slot.assignee.username,
                    },
                )
                if rows:
                    run.escalated += 1
                else:
                    logger.warning(
                        "superior %s may not see the document of slot %s", superior.pk, slot.pk
                    )
    return run
