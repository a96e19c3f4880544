"""python manage.py run_jobs: run the jobs that are due and were not run (without a broker, from
cron every minute or so; with Celery, beat does the same through jobs.sweep)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from jobs import queue
from jobs.models import Job, JobState


class Command(BaseCommand):
    help = "Send again the background jobs that are due and were not run; report failed ones."

    def handle(self, *args: Any, **options: Any) -> None:
        result = queue.sweep()
        failed = Job.objects.filter(state=JobState.FAILED).count()
        self.stdout.write(
            f"jobs: {result.sent} sent again, {result.revived} taken back from dead workers, "
            f"{failed} failed (see the admin)"
        )
