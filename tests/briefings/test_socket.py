"""The live briefing over /ws/notifications/: page turns and the pointer relayed from the
presenter to followers, refused from anyone else; late joiners, leaving, hand-over, the end;
access checked on join (issue 21)."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from briefings import relay
from briefings.models import Briefing
from org.models import User
from tests.notifications.conftest import bearer_header, communicator, connect_ready, next_of_type

pytestmark = pytest.mark.django_db(transaction=True)


def briefing_of(document, who: str = "tanaka") -> Briefing:
    from briefings import services

    return services.start(User.objects.get(username=who), document)


async def joined(header, **target) -> tuple:
    comm = communicator(header)
    await connect_ready(comm)
    await comm.send_json_to({"type": "briefing.join", **target})
    state = await next_of_type(comm, "briefing.state")
    return comm, state


async def nothing_more(comm, seconds: float = 0.3) -> bool:
    return await comm.receive_nothing(timeout=seconds)


def test_followers_see_the_presenters_page_and_pointer_and_only_the_presenter_moves(document):
    briefing = briefing_of(document)
    tanaka, suzuki, sato = (bearer_header(n) for n in ("tanaka", "suzuki", "sato"))

    async def scenario() -> None:
        presenter, state = await joined(tanaka, briefing=briefing.pk)
        assert state["role"] == "presenter" and state["followers"] == 0
        assert state["briefing"]["title"] == "説明用の起案文書"
        follower, state = await joined(suzuki, code=briefing.code.lower())
        assert state["role"] == "follower"
        assert state["view"] == {"part": "", "page": 1, "zoom": 1.0}
        assert (await next_of_type(presenter, "briefing.followers"))["count"] == 1

        await presenter.send_json_to(
            {"type": "briefing.view", "part": "cover", "page": 2, "zoom": 1.5}
        )
        view = await next_of_type(follower, "briefing.view")
        assert view == {
            "type": "briefing.view",
            "briefing": briefing.pk,
            "part": "cover",
            "page": 2,
            "zoom": 1.5,
        }
        await presenter.send_json_to({"type": "briefing.pointer", "page": 2, "x": 100, "y": 700.5})
        pointer = await next_of_type(follower, "briefing.pointer")
        assert (pointer["page"], pointer["x"], pointer["y"]) == (2, 100.0, 700.5)
        assert await nothing_more(presenter)  # the presenter hears no echo of itself

        # A follower cannot move the others.
        await follower.send_json_to({"type": "briefing.view", "part": "cover", "page": 3})
        refused = await next_of_type(follower, "error")
        assert (refused["about"], refused["code"], refused["status"]) == (
            "briefing.view",
            "not_presenter",
            403,
        )
        await follower.send_json_to({"type": "briefing.pointer", "page": 3, "x": 1, "y": 1})
        assert (await next_of_type(follower, "error"))["code"] == "not_presenter"
        assert await nothing_more(presenter)

        # A late joiner lands where the presenter is.
        late, state = await joined(sato, briefing=briefing.pk)
        assert state["view"] == {"part": "cover", "page": 2, "zoom": 1.5}
        assert (await next_of_type(presenter, "briefing.followers"))["count"] == 2

        # Leaving: counted out, and no more frames.
        await late.send_json_to({"type": "briefing.leave"})
        assert (await next_of_type(late, "briefing.left"))["briefing"] == briefing.pk
        assert (await next_of_type(presenter, "briefing.followers"))["count"] == 1
        await presenter.send_json_to({"type": "briefing.view", "part": "a1", "page": 3, "zoom": 1})
        assert (await next_of_type(follower, "briefing.view"))["page"] == 3
        assert await nothing_more(late)

        # The presenter ends it: everyone hears, and nothing is relayed after.
        await presenter.send_json_to({"type": "briefing.end"})
        assert (await next_of_type(follower, "briefing.ended"))["reason"] == "ended"
        assert (await next_of_type(presenter, "briefing.ended"))["reason"] == "ended"
        await presenter.send_json_to({"type": "briefing.view", "part": "", "page": 1})
        assert (await next_of_type(presenter, "error"))["code"] == "not_joined"
        for comm in (presenter, follower, late):
            await comm.disconnect()

    async_to_sync(scenario)()
    stored = Briefing.objects.get(pk=briefing.pk)
    assert (stored.view_part, stored.view_page, stored.ended_reason) == ("a1", 3, "ended")


def test_someone_who_may_not_read_the_document_is_refused_on_join(document):
    briefing = briefing_of(document)
    ito = bearer_header("ito")

    async def scenario() -> None:
        comm = communicator(ito)
        await connect_ready(comm)
        for target in ({"code": briefing.code}, {"briefing": briefing.pk}):
            await comm.send_json_to({"type": "briefing.join", **target})
            refused = await next_of_type(comm, "error")
            assert (refused["about"], refused["code"], refused["status"]) == (
                "briefing.join",
                "forbidden",
                403,
            )
        await comm.send_json_to({"type": "briefing.view", "part": "", "page": 1})
        assert (await next_of_type(comm, "error"))["code"] == "not_joined"
        for bad in ({}, {"briefing": "1"}, {"briefing": 1, "code": "X"}, {"code": 5}):
            await comm.send_json_to({"type": "briefing.join", **bad})
            assert (await next_of_type(comm, "error"))["code"] == "bad_request", bad
        await comm.send_json_to({"type": "briefing.join", "code": "AAAAAA"})
        assert (await next_of_type(comm, "error"))["status"] == 404
        await comm.send_json_to({"type": "briefing.nonsense"})
        assert (await next_of_type(comm, "error"))["code"] == "unknown_type"
        await comm.disconnect()

    async_to_sync(scenario)()


def test_bad_views_and_pointers_are_refused(document):
    briefing = briefing_of(document)
    tanaka = bearer_header("tanaka")

    async def scenario() -> None:
        presenter, _ = await joined(tanaka, briefing=briefing.pk)
        for bad in (
            {"type": "briefing.view", "page": 0},
            {"type": "briefing.view", "page": True},
            {"type": "briefing.view", "page": 1, "zoom": 100},
            {"type": "briefing.view", "page": 1, "part": 3},
            {"type": "briefing.view", "page": 1, "part": "x" * 65},
            {"type": "briefing.view", "page": 1, "item": -1},
            {"type": "briefing.pointer", "page": 1, "x": 1},
            {"type": "briefing.pointer", "page": 1, "x": 1e9, "y": 1},
            {"type": "briefing.pointer", "page": 1, "x": "1", "y": 1},
        ):
            await presenter.send_json_to(bad)
            assert (await next_of_type(presenter, "error"))["code"] == "bad_request", bad
        await presenter.disconnect()

    async_to_sync(scenario)()


def test_pointer_frames_are_coalesced_to_twenty_a_second(document):
    briefing = briefing_of(document)
    tanaka, suzuki = bearer_header("tanaka"), bearer_header("suzuki")

    async def scenario() -> None:
        presenter, _ = await joined(tanaka, briefing=briefing.pk)
        follower, _ = await joined(suzuki, briefing=briefing.pk)
        started = time.monotonic()
        sent = 100
        for i in range(sent):  # as fast as the socket takes them: far above 20 a second
            await presenter.send_json_to({"type": "briefing.pointer", "page": 1, "x": i, "y": i})
            await asyncio.sleep(0.002)
        elapsed = time.monotonic() - started
        received = []
        # (receive_nothing waits without ending the application, as a timed-out receive does)
        while not await follower.receive_nothing(timeout=0.5):
            frame = await follower.receive_json_from(timeout=1)
            if frame["type"] == "briefing.pointer":
                received.append(frame["x"])
        # At most one per 50 ms (and the first at once), and the last one always arrives.
        assert 2 <= len(received) <= elapsed / relay.POINTER_INTERVAL + 2, (len(received), elapsed)
        assert received[-1] == sent - 1
        assert received == sorted(received)
        await presenter.disconnect()
        await follower.disconnect()

    async_to_sync(scenario)()


def test_hand_over_moves_who_may_turn_the_pages(document):
    briefing = briefing_of(document)
    tanaka, suzuki = bearer_header("tanaka"), bearer_header("suzuki")

    def hand_over() -> int:
        client = APIClient()
        client.force_authenticate(User.objects.get(username="tanaka"))
        url = f"/api/v1/briefings/{briefing.pk}/handover"
        return client.post(url, {"to": "suzuki"}, format="json").status_code

    async def scenario() -> None:
        old, _ = await joined(tanaka, briefing=briefing.pk)
        new, _ = await joined(suzuki, briefing=briefing.pk)
        assert await database_sync_to_async(hand_over)() == 200
        for comm in (old, new):
            frame = await next_of_type(comm, "briefing.presenter")
            assert frame["presenter"]["username"] == "suzuki"
        await new.send_json_to({"type": "briefing.view", "part": "cover", "page": 4, "zoom": 1})
        assert (await next_of_type(old, "briefing.view"))["page"] == 4
        await old.send_json_to({"type": "briefing.view", "part": "cover", "page": 1, "zoom": 1})
        assert (await next_of_type(old, "error"))["code"] == "not_presenter"
        await old.disconnect()
        await new.disconnect()

    async_to_sync(scenario)()
    assert Briefing.objects.get(pk=briefing.pk).view_page == 4


def test_the_presenters_socket_closing_starts_the_ten_minutes(document):
    briefing = briefing_of(document)
    Briefing.objects.filter(pk=briefing.pk).update(presenter_seen_at=briefing.started_at)
    tanaka = bearer_header("tanaka")

    async def scenario() -> None:
        presenter, _ = await joined(tanaka, briefing=briefing.pk)
        await presenter.disconnect()

    before = Briefing.objects.get(pk=briefing.pk).presenter_seen_at
    async_to_sync(scenario)()
    assert Briefing.objects.get(pk=briefing.pk).presenter_seen_at > before


def test_a_meeting_briefing_is_opened_by_its_chair_and_followed_by_its_people(document):
    from meetings.models import Meeting

    client = APIClient()
    client.force_authenticate(User.objects.get(username="sato"))
    created = client.post(
        "/api/v1/meetings",
        {
            "title": "庁議",
            "starts_at": "2026-12-10T10:00:00+09:00",
            "attendees": ["suzuki"],
            "documents": [document.pk],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    meeting = Meeting.objects.get(pk=created.json()["id"])
    sato, suzuki, ito = (bearer_header(n) for n in ("sato", "suzuki", "ito"))

    async def scenario() -> None:
        early = communicator(suzuki)
        await connect_ready(early)
        await early.send_json_to({"type": "briefing.join", "meeting": meeting.pk})
        waiting = await next_of_type(early, "error")
        assert (waiting["code"], waiting["status"]) == ("not_started", 409)
        outsider = communicator(ito)
        await connect_ready(outsider)
        await outsider.send_json_to({"type": "briefing.join", "meeting": meeting.pk})
        assert (await next_of_type(outsider, "error"))["status"] == 404

        chair, state = await joined(sato, meeting=meeting.pk)
        assert state["role"] == "presenter" and state["briefing"]["meeting"] == meeting.pk
        assert state["view"]["item"] == 0
        await early.send_json_to({"type": "briefing.join", "meeting": meeting.pk})
        state = await next_of_type(early, "briefing.state")
        assert state["role"] == "follower" and state["briefing"]["title"] == "庁議"
        await chair.send_json_to(
            {"type": "briefing.view", "item": 0, "part": "cover", "page": 1, "zoom": 2}
        )
        view = await next_of_type(early, "briefing.view")
        assert (view["item"], view["zoom"]) == (0, 2)
        for comm in (chair, early, outsider):
            await comm.disconnect()

    async_to_sync(scenario)()
    briefing = Briefing.objects.get(meeting=meeting)
    assert (briefing.presenter.username, briefing.view_item, briefing.document_id) == (
        "sato",
        0,
        None,
    )
    # The page the meeting saw is in the audit trail, with the frozen version's record.
    from audit.models import AuditEntry

    presented = AuditEntry.objects.get(action="meeting.present")
    item = meeting.items.get()
    assert presented.actor.username == "sato" and presented.document_id == document.pk
    assert f'"record_sha256":"{item.record_sha256}"' in presented.data


def test_a_follower_who_loses_access_is_taken_out(document, monkeypatch):
    from documents.models import Document, Secrecy

    monkeypatch.setattr(relay, "ACCESS_TTL", 0.0)  # looked at again with every frame
    briefing = briefing_of(document)
    tanaka, suzuki = bearer_header("tanaka"), bearer_header("suzuki")

    def make_secret() -> None:
        Document.objects.filter(pk=document.pk).update(secrecy=Secrecy.SECRET)

    async def scenario() -> None:
        presenter, _ = await joined(tanaka, briefing=briefing.pk)
        follower, _ = await joined(suzuki, briefing=briefing.pk)
        await presenter.send_json_to({"type": "briefing.view", "part": "", "page": 2, "zoom": 1})
        assert (await next_of_type(follower, "briefing.view"))["page"] == 2
        await database_sync_to_async(make_secret)()  # suzuki (総務課) may no longer read it
        await presenter.send_json_to({"type": "briefing.view", "part": "", "page": 3, "zoom": 1})
        refused = await next_of_type(follower, "error")
        assert (refused["about"], refused["code"], refused["status"]) == (
            "briefing.join",
            "forbidden",
            403,
        )
        await presenter.send_json_to({"type": "briefing.view", "part": "", "page": 4, "zoom": 1})
        assert await nothing_more(follower)
        await presenter.disconnect()
        await follower.disconnect()

    async_to_sync(scenario)()
