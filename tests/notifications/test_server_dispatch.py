"""The server's cost per pushed frame: a frame that came with its push goes out without a trip to
the sync thread (a notice to everyone is a thousand such frames in a row in one process), and the
consumer's own dispatch loop keeps channels' promise of one handler at a time."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer

from notifications import presence, services
from tests.notifications.conftest import bearer_header, communicator, connect_ready, user

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_frame_pushed_with_its_event_needs_no_sync_thread(demo_org, monkeypatch):
    header = bearer_header("suzuki")
    group = services.group_name(user("suzuki").pk)
    frame = {"id": 10**9, "type": "bench.broadcast", "document": None, "created": "now"}
    hops: list[Any] = []

    async def scenario() -> None:
        comm = communicator(header)
        await connect_ready(comm)
        original = SyncToAsync.__call__

        async def counted(self: SyncToAsync, *args: Any, **kwargs: Any) -> Any:
            hops.append(self.func)
            return await original(self, *args, **kwargs)

        monkeypatch.setattr(SyncToAsync, "__call__", counted)
        layer = get_channel_layer()
        assert layer is not None
        await layer.group_send(group, {"type": "notify", "id": frame["id"], "frame": frame})
        assert await comm.receive_json_from(timeout=5) == frame
        monkeypatch.undo()
        await comm.disconnect()

    async_to_sync(scenario)()
    assert hops == []


def test_messages_without_a_handler_are_still_refused(demo_org):
    header = bearer_header("suzuki")
    group = services.group_name(user("suzuki").pk)

    async def scenario() -> None:
        comm = communicator(header)
        await connect_ready(comm)
        layer = get_channel_layer()
        assert layer is not None
        await layer.group_send(group, {"type": "no.such.handler"})
        with pytest.raises(ValueError, match=r"No handler for message type no\.such\.handler"):
            await comm.wait(timeout=5)

    async_to_sync(scenario)()


def test_a_push_waits_for_the_handler_that_is_running(demo_org, monkeypatch):
    header = bearer_header("suzuki")
    group = services.group_name(user("suzuki").pk)
    frame = {"id": 10**9, "type": "bench.broadcast", "document": None, "created": "now"}
    entered, release = threading.Event(), threading.Event()
    refresh = presence.refresh

    def slow_refresh(user_id: int) -> None:
        entered.set()
        release.wait(5)
        refresh(user_id)

    async def scenario() -> None:
        comm = communicator(header)
        await connect_ready(comm)
        monkeypatch.setattr(presence, "refresh", slow_refresh)
        await comm.send_json_to({"type": "ping"})
        assert await asyncio.get_running_loop().run_in_executor(None, entered.wait, 5)
        layer = get_channel_layer()
        assert layer is not None
        await layer.group_send(group, {"type": "notify", "id": frame["id"], "frame": frame})
        assert await comm.receive_nothing(timeout=0.3)
        release.set()
        assert await comm.receive_json_from(timeout=5) == {"type": "pong"}
        assert await comm.receive_json_from(timeout=5) == frame
        await comm.disconnect()

    async_to_sync(scenario)()
