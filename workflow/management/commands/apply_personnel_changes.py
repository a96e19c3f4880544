"""Move open tasks to their posts' holders and absent people's deputies (workflow.personnel).

Run it at 00:00 Tokyo time (cron or Celery beat), so that personnel changes dated in advance (the
April 1 人事異動) and absences that begin overnight take effect on their day; the admin and the CSV
import run the same after each change.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from workflow.personnel import apply_personnel_changes


class Command(BaseCommand):
    help = "Move open tasks to the current holders of their posts and to absent people's deputies."

    def handle(self, *args: Any, **options: Any) -> None:
        run = apply_personnel_changes()
        self.stdout.write(
            f"moved to a post's new holder: {run.moved_to_holder}, "
            f"to a deputy: {run.moved_to_deputy}"
        )
