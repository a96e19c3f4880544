"""The Celery side of jobs.queue: what a worker runs, and what beat starts periodically."""

from __future__ import annotations

import logging
from io import StringIO

from celery import shared_task
from django.core.management import call_command

from jobs import queue

logger = logging.getLogger(__name__)


@shared_task(name="jobs.run", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def run_job(job_id: int) -> None:
    outcome = queue.run(job_id)
    if outcome.retry_in is not None and not run_job.request.is_eager:
        # Without a broker (eager) the retry waits for the sweeper (`manage.py run_jobs`), rather
        # than making the request that enqueued it wait.
        queue.send(job_id, countdown=outcome.retry_in.total_seconds())


@shared_task(name="jobs.sweep", ignore_result=True)
def sweep() -> None:
    result = queue.sweep()
    if result.sent or result.revived:
        logger.info(
            "jobs: %d sent again, %d taken back from dead workers", result.sent, result.revived
        )


@queue.handler("command")
def _command(payload: dict[str, object]) -> None:
    """A periodic management command, run as a job so that it is retried and its failure seen."""
    out = StringIO()
    call_command(str(payload["name"]), stdout=out, stderr=out)
    logger.info("%s: %s", payload["name"], out.getvalue().strip())


@shared_task(name="jobs.periodic", ignore_result=True)
def periodic(command: str) -> None:
    """Beat's entry for the operators' commands (send_reminders, anchor_audit, apply_retention,
    renew_timestamps): the same code as running them from cron."""
    queue.enqueue("command", {"name": command})
