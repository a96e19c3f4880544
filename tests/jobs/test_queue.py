"""Background jobs without a broker (the embedded default): the same code a Celery worker runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.db import transaction
from django.test import Client, RequestFactory
from django.utils import timezone

from jobs import queue
from jobs.admin import JobAdmin
from jobs.models import Job, JobState
from org.models import User

pytestmark = pytest.mark.django_db

calls: list[dict[str, Any]] = []
failures: list[int] = []


@pytest.fixture(autouse=True)
def _test_kinds() -> Iterator[None]:
    calls.clear()
    failures.clear()

    def work(payload: dict[str, Any]) -> None:
        calls.append(payload)
        if failures and failures[0] > 0:
            failures[0] -= 1
            raise OSError("the mail server is away")

    queue.register("test.work", work)
    yield
    queue._handlers.pop("test.work", None)


def due(job: Job) -> None:
    """Move a waiting job's time into the past, as if its backoff had elapsed."""
    Job.objects.filter(pk=job.pk).update(run_after=timezone.now() - timedelta(minutes=5))


def test_a_job_runs_after_its_transaction_commits_and_is_gone(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        job = queue.enqueue("test.work", {"n": 1})
        assert calls == []  # not before the commit
    assert calls == [{"n": 1}]
    assert not Job.objects.filter(pk=job.pk).exists()


def test_a_rolled_back_transaction_leaves_no_job(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                queue.enqueue("test.work", {"n": 2})
                raise RuntimeError("the action failed")
        except RuntimeError:
            pass
    assert calls == []
    assert not Job.objects.exists()


def test_an_unknown_kind_is_refused_when_enqueued():
    with pytest.raises(ValueError, match="no handler"):
        queue.enqueue("test.nobody-handles-this")


def test_a_failing_job_is_retried_with_backoff_then_kept_as_failed(
    django_capture_on_commit_callbacks,
):
    failures.append(queue.MAX_ATTEMPTS)  # fails every time
    with django_capture_on_commit_callbacks(execute=True):
        job = queue.enqueue("test.work", {"n": 3})
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.PENDING, 1)
    assert "mail server is away" in job.last_error
    waits = [job.run_after - timezone.now()]
    # Not due yet: the sweeper leaves it alone.
    assert queue.sweep().sent == 0
    for attempt in range(2, queue.MAX_ATTEMPTS + 1):
        due(job)
        with django_capture_on_commit_callbacks(execute=True):
            assert queue.sweep().sent == 1
        job.refresh_from_db()
        assert job.attempts == attempt
        if job.state == JobState.PENDING:
            waits.append(job.run_after - timezone.now())
    assert job.state == JobState.FAILED
    assert len(calls) == queue.MAX_ATTEMPTS
    # Each wait longer than the one before (30 s, 2 min, 8 min …).
    assert all(a < b for a, b in pairwise(waits)), waits
    assert queue.health() == {"failed": 1, "overdue": 0}
    checks = Client().get("/healthz").json()["checks"]
    assert checks["jobs"] == {
        "status": "warning",
        "failed": 1,
        "overdue": 0,
        "ms": checks["jobs"]["ms"],
    }


def test_a_failed_job_is_seen_and_retried_by_an_administrator(
    django_capture_on_commit_callbacks,
):
    job = Job.objects.create(kind="test.work", payload={"n": 4}, state=JobState.FAILED, attempts=6)
    admin = User.objects.create_superuser("root-admin", "root@example.jp", "x" * 16)
    client = Client()
    client.force_login(admin)
    listing = client.get("/admin/jobs/job/?state__exact=failed")
    assert listing.status_code == 200
    assert "test.work" in listing.content.decode()
    request = RequestFactory().post("/admin/jobs/job/")
    request.user = admin
    request._messages = []  # type: ignore[attr-defined]
    model_admin = JobAdmin(Job, site)
    model_admin.message_user = lambda *args, **kwargs: None  # type: ignore[method-assign]
    with django_capture_on_commit_callbacks(execute=True):
        model_admin.retry_jobs(request, Job.objects.filter(pk=job.pk))
    assert calls == [{"n": 4}]
    assert not Job.objects.filter(pk=job.pk).exists()


def test_the_sweeper_sends_a_job_whose_send_was_lost():
    # Written, committed, and then the process died before the queue heard of it: no on_commit.
    job = Job.objects.create(kind="test.work", payload={"n": 5})
    assert queue.sweep().sent == 0  # within its grace period it may still be on its way
    due(job)
    assert queue.sweep().sent == 1
    assert calls == [{"n": 5}]
    assert not Job.objects.exists()


def test_a_job_held_by_a_dead_worker_is_taken_back():
    job = Job.objects.create(
        kind="test.work",
        payload={"n": 6},
        state=JobState.RUNNING,
        attempts=1,
        started_at=timezone.now() - queue.STALE_AFTER - timedelta(minutes=1),
    )
    result = queue.sweep()
    assert result.revived == 1
    assert calls == [{"n": 6}]
    assert not Job.objects.filter(pk=job.pk).exists()


def test_a_job_runs_once_even_if_sent_twice(django_capture_on_commit_callbacks):
    job = Job.objects.create(kind="test.work", payload={"n": 7})
    assert queue.run(job.pk).ran
    assert not queue.run(job.pk).ran
    assert calls == [{"n": 7}]


def test_the_periodic_commands_run_as_jobs(demo_org, django_capture_on_commit_callbacks):
    from jobs.tasks import periodic

    with django_capture_on_commit_callbacks(execute=True):
        periodic("send_reminders")
    assert not Job.objects.exists()  # ran and done
