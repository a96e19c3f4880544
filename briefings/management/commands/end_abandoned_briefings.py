"""End the briefings whose presenter has been away 10 minutes (run it from cron or Celery beat;
joining such a briefing ends it too)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from briefings.services import end_abandoned


class Command(BaseCommand):
    help = "End briefings whose presenter has been away for 10 minutes."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"ended {end_abandoned()} abandoned briefings")
