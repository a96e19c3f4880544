"""Who is viewing this document now: presence over the notification socket (issue 7)."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from documents.models import DocumentAccess, Status
from org.models import User
from tests.notifications.conftest import bearer_header, communicator, connect_ready, new_document

pytestmark = pytest.mark.django_db(transaction=True)


async def next_of_type(comm, kind: str) -> dict:
    while True:
        frame = await comm.receive_json_from(timeout=5)
        if frame.get("type") == kind:
            return frame


def test_viewers_of_a_document_see_each_other_come_and_go(demo_org):
    document = new_document()
    document.status = Status.IN_REVIEW
    document.save()
    DocumentAccess.objects.create(document=document, user_id=_id("suzuki"), reason="participant")
    tanaka, suzuki = bearer_header("tanaka"), bearer_header("suzuki")

    async def scenario() -> None:
        first, second = communicator(tanaka), communicator(suzuki)
        await connect_ready(first)
        await connect_ready(second)
        await first.send_json_to({"type": "viewing", "document": document.pk})
        alone = await next_of_type(first, "presence")
        assert [v["name"] for v in alone["viewers"]] == ["田中 一郎"]
        await second.send_json_to({"type": "viewing", "document": document.pk})
        both = await next_of_type(first, "presence")
        assert [v["name"] for v in both["viewers"]] == ["田中 一郎", "鈴木 花子"]
        assert (await next_of_type(second, "presence"))["viewers"] == both["viewers"]
        await second.disconnect()
        left = await next_of_type(first, "presence")
        assert [v["name"] for v in left["viewers"]] == ["田中 一郎"]
        await first.disconnect()

    async_to_sync(scenario)()


def test_someone_who_may_not_see_the_document_learns_nothing(demo_org):
    document = new_document()  # a draft: only tanaka sees it
    header = bearer_header("ito")

    async def scenario() -> None:
        comm = communicator(header)
        await connect_ready(comm)
        await comm.send_json_to({"type": "viewing", "document": document.pk})
        error = await comm.receive_json_from(timeout=5)
        assert error == {"type": "error", "code": "not_found", "message": "no such document"}
        for bad in ("1", True, -3, 1.5):
            await comm.send_json_to({"type": "viewing", "document": bad})
            assert (await comm.receive_json_from(timeout=5))["code"] == "bad_request"
        await comm.disconnect()

    async_to_sync(scenario)()


def _id(username: str) -> int:
    return User.objects.get(username=username).pk
