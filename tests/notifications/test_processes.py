"""Production: several server processes share Redis; a push from any of them reaches the client."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.conf import settings

from notifications.models import Notification
from tests.notifications.conftest import bearer_header, communicator, connect_ready, user

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (set REDIS_URL)"),
]

BASE_DIR = Path(__file__).resolve().parents[2]

# The other process: a plain Django process with the same settings and channel-layer prefix.
SCRIPT = textwrap.dedent(
    """
    import os, sys
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.conf import settings

    settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ["TEST_LAYER_PREFIX"]
    from notifications import services

    mode, user_id, value = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if mode == "notify":  # the whole path: the row is written in this process, then pushed
        services.notify("comment.added", [user_id], data={"from": value})
    else:  # only the push of a row written elsewhere
        services.push(user_id, int(value))
    """
)


def other_process(mode: str, user_id: int, value: str) -> None:
    layer: dict[str, Any] = settings.CHANNEL_LAYERS["default"]
    env = {
        **os.environ,
        "REDIS_URL": settings.REDIS_URL,
        "TEST_LAYER_PREFIX": str(layer["CONFIG"]["prefix"]),
    }
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.postgresql":
        host = database.get("HOST") or "127.0.0.1"
        port = database.get("PORT") or 5432
        credentials = database["USER"] + (
            f":{database['PASSWORD']}" if database["PASSWORD"] else ""
        )
        env["DATABASE_URL"] = f"postgres://{credentials}@{host}:{port}/{database['NAME']}"
    subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, str(user_id), value],
        cwd=BASE_DIR,
        env=env,
        check=True,
        timeout=120,
    )


def test_a_push_from_another_process_reaches_this_ones_client(demo_org):
    header = bearer_header("suzuki")
    suzuki = user("suzuki")
    row = Notification.objects.create(recipient=suzuki, type="comment.added", data={"n": 1})

    async def scenario() -> None:
        comm = communicator(header)
        await connect_ready(comm)
        await asyncio.to_thread(other_process, "push", suzuki.pk, str(row.pk))
        frame = await comm.receive_json_from(timeout=10)
        assert (frame["id"], frame["n"]) == (row.pk, 1)
        await comm.disconnect()

    async_to_sync(scenario)()


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="the other process needs the same database (PostgreSQL)",
)
def test_an_event_written_and_pushed_by_another_process_is_delivered(demo_org):
    header = bearer_header("suzuki")
    suzuki = user("suzuki")

    async def scenario() -> None:
        comm = communicator(header)
        await connect_ready(comm)
        await asyncio.to_thread(other_process, "notify", suzuki.pk, "process-2")
        frame = await comm.receive_json_from(timeout=10)
        assert frame["type"] == "comment.added"
        assert frame["from"] == "process-2"
        stored = await database_sync_to_async(
            lambda: Notification.objects.filter(recipient=suzuki).latest("pk").pk
        )()
        assert frame["id"] == stored
        await comm.disconnect()

    async_to_sync(scenario)()
