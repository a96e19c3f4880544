"""Background work: enqueue a job in the caller's transaction, run it on the queue, retry it with
backoff, keep it visible when it keeps failing, and sweep up what the queue never heard of.

- `enqueue(kind, payload)` writes the job row (in the caller's transaction, if any) and, once that
  commits, sends the job's id to the queue (Celery on Redis; in the embedded default Celery runs
  the task in process, through this same code: settings.CELERY_TASK_ALWAYS_EAGER).
- `run(job_id)` claims the row (only one runner gets it), calls the kind's handler, and deletes
  the row on success. On failure the row waits `backoff(attempts)` and is tried again, up to
  MAX_ATTEMPTS; then it is marked failed, logged, and left for an administrator (the admin lists
  it and can retry it; /healthz counts it).
- `sweep()` (Celery beat every minute; `manage.py run_jobs` without a broker) sends again the jobs
  whose time has come but that nobody ran: the process died between the COMMIT and the send, the
  broker was down, a retry was due, or a worker died in the middle (after STALE_AFTER).

Handlers must be safe to run twice (a job is at least once): they look at the rows they act on
(a notification already e-mailed, a disposal already carried out) before acting.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from jobs.models import Job, JobState

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
_handlers: dict[str, Handler] = {}

MAX_ATTEMPTS = 6
# A job nobody ran this long after it was due is sent again by the sweeper.
GRACE = timedelta(seconds=30)
# A job running this long is taken for the work of a worker that died.
STALE_AFTER = timedelta(minutes=30)
# /healthz: waiting this long past its time means no worker is taking jobs.
OVERDUE_AFTER = timedelta(minutes=5)


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that does the work of jobs of `kind` (in an app's ready())."""

    def register(function: Handler) -> Handler:
        _handlers[kind] = function
        return function

    return register


def register(kind: str, function: Handler) -> None:
    _handlers[kind] = function


def backoff(attempts: int) -> timedelta:
    """30 s, 2 min, 8 min, 32 min, 2 h 8 min: a mail server or object store that is down for a
    while is waited for, not hammered."""
    return timedelta(seconds=30 * 4 ** max(attempts - 1, 0))


def enqueue(kind: str, payload: dict[str, Any] | None = None) -> Job:
    """The job's row, written now (in the caller's transaction if there is one); the queue hears
    of it once that commits."""
    if kind not in _handlers:
        raise ValueError(f"no handler for job kind {kind!r}")
    job = Job.objects.create(kind=kind, payload=payload or {})
    transaction.on_commit(lambda: send(job.pk))
    return job


def send(job_id: int, countdown: float | None = None) -> None:
    """Hand the job to the queue. A broker that is away loses nothing: the row waits for the
    sweeper."""
    from jobs.tasks import run_job

    try:
        run_job.apply_async((job_id,), countdown=countdown)
    except Exception:
        logger.exception("could not queue job %s; the sweeper will send it again", job_id)


@dataclass(frozen=True)
class Outcome:
    ran: bool
    retry_in: timedelta | None = None


def run(job_id: int) -> Outcome:
    job = _claim(job_id)
    if job is None:
        return Outcome(ran=False)  # done already, taken by another worker, or not yet due
    function = _handlers.get(job.kind)
    try:
        if function is None:
            raise LookupError(f"no handler for job kind {job.kind!r} in this process")
        function(job.payload)
    except Exception as exc:
        return _failed(job, exc)
    # One statement, not the ORM's delete (a transaction around a collector with nothing to do).
    Job.objects.filter(pk=job.pk)._raw_delete(Job.objects.db)
    return Outcome(ran=True)


def _claim(job_id: int) -> Job | None:
    """The job, now running, if it was waiting and due: one UPDATE … RETURNING, so that of two
    workers given the same job only one runs it."""
    table = connection.ops.quote_name(Job._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET state = %s, started_at = %s, attempts = attempts + 1 "  # noqa: S608 - the table name is ours
            "WHERE id = %s AND state = %s AND run_after <= %s "
            "RETURNING kind, payload, attempts",
            [JobState.RUNNING, now, job_id, JobState.PENDING, now],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    kind, payload, attempts = row
    if isinstance(payload, str):  # SQLite returns the JSON as text
        payload = json.loads(payload)
    return Job(pk=job_id, kind=kind, payload=payload, attempts=attempts, state=JobState.RUNNING)


def _failed(job: Job, exc: Exception) -> Outcome:
    error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
    if job.attempts >= MAX_ATTEMPTS:
        logger.error("job %s failed %d times, given up: %s", job, job.attempts, error)
        Job.objects.filter(pk=job.pk).update(state=JobState.FAILED, last_error=error)
        return Outcome(ran=True)
    wait = backoff(job.attempts)
    logger.warning("job %s failed (attempt %d), again in %s: %s", job, job.attempts, wait, error)
    Job.objects.filter(pk=job.pk).update(
        state=JobState.PENDING, run_after=timezone.now() + wait, last_error=error
    )
    return Outcome(ran=True, retry_in=wait)


@dataclass(frozen=True)
class Sweep:
    sent: int
    revived: int


def sweep(now: datetime | None = None, limit: int = 1000) -> Sweep:
    """Send again what is due and was not run; take back what a dead worker held."""
    now = now or timezone.now()
    revived = Job.objects.filter(state=JobState.RUNNING, started_at__lt=now - STALE_AFTER).update(
        state=JobState.PENDING, run_after=now - GRACE
    )
    due = list(
        Job.objects.filter(state=JobState.PENDING, run_after__lte=now - GRACE)
        .order_by("run_after")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        send(pk)
    return Sweep(sent=len(due), revived=revived)


def retry(ids: list[int]) -> int:
    """An administrator's retry of failed jobs: attempts start again."""
    count = Job.objects.filter(pk__in=ids, state=JobState.FAILED).update(
        state=JobState.PENDING, attempts=0, run_after=timezone.now()
    )
    for pk in ids:
        transaction.on_commit(partial(send, pk))
    return count


def health(now: datetime | None = None) -> dict[str, Any]:
    """For /healthz: failed jobs, and jobs waiting well past their time (no worker running)."""
    now = now or timezone.now()
    failed = Job.objects.filter(state=JobState.FAILED).count()
    overdue = Job.objects.filter(
        Q(state=JobState.PENDING) & Q(run_after__lt=now - OVERDUE_AFTER)
    ).count()
    return {"failed": failed, "overdue": overdue}
