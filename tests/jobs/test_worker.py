"""Background jobs through Redis and a real Celery worker (prefork, as deployed), on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from config.celery import app
from jobs.models import Job
from notifications.models import Notification
from notifications.services import notify
from org.models import User
from tests.conftest import postgres_only

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    postgres_only(),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (set REDIS_URL)"),
    pytest.mark.django_db(transaction=True),
]

BASE_DIR = Path(__file__).resolve().parents[2]


def database_url() -> str:
    database = settings.DATABASES["default"]
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    host, port = database.get("HOST") or "127.0.0.1", database.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{database['NAME']}"


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Path]:
    """A Celery worker on a queue of this test's own, writing mail under tmp_path/mail."""
    queue_name = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "EKESSAI_DATA_DIR": str(tmp_path),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONPATH": str(BASE_DIR),
    }
    env.pop("EMAIL_HOST", None)
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue_name),
            *(
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "warning",
            ),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "worker.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue_name
    try:
        yield tmp_path
    finally:
        app.conf.task_always_eager = eager
        app.conf.task_default_queue = "celery"
        process.terminate()
        process.wait(timeout=30)


def wait_for(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_notice_is_mailed_by_a_worker_after_its_commit(demo_org, worker: Path) -> None:
    suzuki = User.objects.get(username="suzuki")
    (row,) = notify("reminder", [suzuki.pk], data={"hours": 30})
    job = Job.objects.get(kind="notifications.email")  # committed with the row, then queued
    assert wait_for(lambda: not Job.objects.filter(pk=job.pk).exists()), (
        worker / "worker.log"
    ).read_text()[-3000:]
    row = Notification.objects.get(pk=row.pk)
    assert row.emailed_at is not None
    (message,) = (worker / "mail").iterdir()
    text = message.read_text()
    assert "suzuki@example.jp" in text


def test_a_job_whose_send_was_lost_is_swept_to_the_worker(demo_org, worker: Path) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from jobs import queue

    suzuki = User.objects.get(username="suzuki")
    row = Notification.objects.create(recipient=suzuki, type="reminder", data={"hours": 30})
    # As if the process had died between the commit and the send: the row alone.
    job = Job.objects.create(
        kind="notifications.email",
        payload={"ids": [row.pk]},
        run_after=timezone.now() - timedelta(minutes=1),
    )
    assert queue.sweep().sent == 1
    assert wait_for(lambda: not Job.objects.filter(pk=job.pk).exists()), (
        worker / "worker.log"
    ).read_text()[-3000:]
    assert Notification.objects.get(pk=row.pk).emailed_at is not None
