"""A notice to many people goes to Redis in one pipeline, and every one of them gets it."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.conf import settings

from notifications import services
from tests.notifications.conftest import bearer_header, communicator, connect_ready, user

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (set REDIS_URL)"),
]

NAMES = ("tanaka", "suzuki", "sato", "ito", "takahashi")


def test_one_notice_to_five_people_reaches_all_five(demo_org, monkeypatch):
    used = []
    original = services._publish_pipelined

    async def spying(layer, messages):
        done = await original(layer, messages)
        used.append((done, len(messages)))
        return done

    monkeypatch.setattr(services, "_publish_pipelined", spying)
    headers = [bearer_header(name) for name in NAMES]

    async def scenario() -> None:
        sockets = [communicator(header) for header in headers]
        for socket in sockets:
            await connect_ready(socket)
        rows = await database_sync_to_async(
            lambda: services.notify("comment.added", [user(n).pk for n in NAMES], data={"k": 1})
        )()
        by_user = {row.recipient_id: row.pk for row in rows}
        for name, socket in zip(NAMES, sockets, strict=True):
            frame = await socket.receive_json_from(timeout=5)
            expected = await database_sync_to_async(lambda n=name: by_user[user(n).pk])()
            assert frame["id"] == expected and frame["k"] == 1
            await socket.disconnect()

    async_to_sync(scenario)()
    assert used == [(True, 5)]  # one pipeline, not five round trips
