"""Workflow events become rows, are pushed live, replayed after a gap, and re-checked for access."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.db import transaction

from documents.models import DocumentAccess, Secrecy
from notifications import services
from notifications.models import Notification
from tests.notifications.conftest import (
    bearer_header,
    communicator,
    connect_ready,
    new_document,
    next_of_type,
    user,
)
from workflow import services as workflow

pytestmark = pytest.mark.django_db(transaction=True)


def submit(title: str = "庁舎清掃業務委託について") -> int:
    document = new_document(title)
    workflow.submit(user("tanaka"), document.pk)
    return document.pk


def test_submitting_delivers_task_assigned_to_the_approver_live(demo_org):
    header = bearer_header("suzuki")

    async def scenario() -> None:
        comm = communicator(header)
        await connect_ready(comm)
        document_id = await database_sync_to_async(submit)()
        frame = await next_of_type(comm, "task.assigned")
        row = await database_sync_to_async(
            lambda: Notification.objects.get(recipient__username="suzuki", type="task.assigned")
        )()
        assert frame["id"] == row.pk
        assert frame["document"] == document_id
        assert frame["title"] == "庁舎清掃業務委託について"
        assert frame["task"] == row.task is not None
        assert frame["kind"] == "approve"
        assert frame["read"] is False
        assert set(frame) >= {"id", "type", "document", "task", "created"}
        await comm.disconnect()

    async_to_sync(scenario)()


def test_events_missed_while_disconnected_are_replayed_in_order(demo_org):
    header = bearer_header("suzuki")

    async def scenario() -> None:
        first = communicator(header, query="since=0")
        _, ready = await connect_ready(first)
        since = ready["last_id"]
        assert since == 0
        await first.disconnect()
        titles = ["一件目の起案", "二件目の起案", "三件目の起案"]
        documents = [await database_sync_to_async(submit)(t) for t in titles]
        back = communicator(header, query=f"since={since}")
        frames, ready = await connect_ready(back)
        assigned = [f for f in frames if f["type"] == "task.assigned"]
        assert [f["document"] for f in assigned] == documents
        assert [f["title"] for f in assigned] == titles
        ids = [f["id"] for f in frames]
        assert ids == sorted(ids)
        assert ready["last_id"] == ids[-1]
        assert ready["unread"] == len(frames)
        # Nothing after the last one: a reconnect from there replays nothing.
        again, ready_again = await connect_ready(communicator(header, query=f"since={ids[-1]}"))
        assert again == []
        assert ready_again["last_id"] == ids[-1]
        await back.disconnect()

    async_to_sync(scenario)()


def test_an_event_about_a_document_the_user_can_no_longer_see_is_not_delivered(demo_org):
    header = bearer_header("suzuki")

    async def scenario() -> None:
        comm = communicator(header)
        await connect_ready(comm)
        document_id = await database_sync_to_async(submit)()
        await next_of_type(comm, "task.assigned")

        @database_sync_to_async
        def notify_then_lose_access() -> int:
            suzuki = user("suzuki")
            with transaction.atomic():
                (row,) = services.notify("comment.added", [suzuki.pk], document_id=document_id)
                # Before the push goes out (on commit), the document becomes secret to suzuki.
                from documents.models import Document

                Document.objects.filter(pk=document_id).update(secrecy=Secrecy.SECRET)
                DocumentAccess.objects.filter(document_id=document_id, user=suzuki).delete()
            return row.pk

        hidden_id = await notify_then_lose_access()

        @database_sync_to_async
        def visible_event() -> int:
            (row,) = services.notify("comment.added", [user("suzuki").pk], data={"text": "x"})
            return row.pk

        visible_id = await visible_event()
        frame = await comm.receive_json_from(timeout=5)
        assert frame["id"] == visible_id  # the hidden one was skipped, not merely delayed
        assert frame["text"] == "x"
        assert await comm.receive_nothing(timeout=0.3)
        await comm.disconnect()

        # Nor is it replayed, and a new event about it is not even stored.
        frames, _ = await connect_ready(communicator(header, query=f"since={hidden_id - 1}"))
        assert hidden_id not in [f["id"] for f in frames]
        rows = await database_sync_to_async(
            lambda: services.notify("comment.added", [user("suzuki").pk], document_id=document_id)
        )()
        assert rows == []

    async_to_sync(scenario)()


def test_marking_read_over_the_socket(demo_org):
    header = bearer_header("suzuki")

    async def scenario() -> None:
        comm = communicator(header)
        await connect_ready(comm)
        await database_sync_to_async(submit)()
        frame = await next_of_type(comm, "task.assigned")
        await comm.send_json_to({"type": "read", "up_to": frame["id"]})
        assert await next_of_type(comm, "read") == {"type": "read", "marked": 1, "unread": 0}
        await comm.disconnect()
        _, ready = await connect_ready(communicator(header))
        assert ready["unread"] == 0

    async_to_sync(scenario)()


def test_several_connections_of_one_user_all_receive(demo_org):
    headers = [bearer_header("suzuki"), bearer_header("suzuki")]

    async def scenario() -> None:
        comms = [communicator(h) for h in headers]
        for comm in comms:
            await connect_ready(comm)
        await database_sync_to_async(submit)()
        ids = [(await next_of_type(comm, "task.assigned"))["id"] for comm in comms]
        assert ids[0] == ids[1]
        for comm in comms:
            await comm.disconnect()

    async_to_sync(scenario)()
