"""Pushes from synchronous code outside a server keep one Redis connection (notifications.loop)
instead of opening one per push, and still reach the client."""

from __future__ import annotations

import pytest
import redis
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


def _connections_received() -> int:
    return int(redis.Redis.from_url(settings.REDIS_URL).info("stats")["total_connections_received"])


def test_twenty_pushes_one_connection_and_every_frame_arrives(demo_org):
    suzuki = user("suzuki")
    header = bearer_header("suzuki")
    services.notify("comment.added", [suzuki.pk], data={"n": -1})  # the loop and its connection
    before = _connections_received()
    for n in range(20):
        services.notify("comment.added", [suzuki.pk], data={"n": n})
    # One for the counter's own client above; other tests' connections on a shared Redis could
    # add a few, never twenty.
    assert _connections_received() - before <= 3

    async def scenario() -> list[int]:
        socket = communicator(header, query="since=0")
        replayed, _ready = await connect_ready(socket)
        seen = [frame["n"] for frame in replayed]
        live = await database_sync_to_async(
            lambda: services.notify("comment.added", [suzuki.pk], data={"n": 99})
        )()
        frame = await socket.receive_json_from(timeout=5)
        assert frame["id"] == live[0].pk and frame["n"] == 99
        await socket.disconnect()
        return seen

    assert async_to_sync(scenario)() == [-1, *range(20)]
