"""Put in force the route and 専決規程 versions whose day has come (workflow.designer).

Run it at 00:00 Tokyo time (cron or Celery beat). Until it runs, a version whose day has come is
already the one used (workflow.versions reads it from its JSON); this writes it into the rows.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from workflow.designer import apply_due_versions


class Command(BaseCommand):
    help = "Write the route and delegation-rule versions valid from today into the rows in force."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"versions put in force: {apply_due_versions()}")
