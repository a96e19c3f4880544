"""Send the reminders and escalations that are due (run it from cron or Celery beat)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from notifications.reminders import send_due_reminders


class Command(BaseCommand):
    help = "Remind approvers of tasks waiting too long, and escalate to their superiors."

    def handle(self, *args: Any, **options: Any) -> None:
        run = send_due_reminders()
        self.stdout.write(
            f"reminded {run.reminded}, escalated {run.escalated}, "
            f"without a superior {run.no_superior}"
        )
