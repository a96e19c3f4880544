"""The WebSocket endpoint: who may connect, and what bad input gets."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from org.models import User
from tests.notifications.conftest import (
    bearer_header,
    closed_with,
    communicator,
    connect_ready,
    session_header,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_anonymous_connections_are_refused_with_4401(demo_org):
    async def scenario() -> None:
        message = await closed_with(communicator())
        assert message["code"] == 4401
        assert "authentication" in message["reason"]

    async_to_sync(scenario)()


def test_a_bearer_token_in_the_header_is_accepted(demo_org):
    header = bearer_header("suzuki")

    async def scenario() -> None:
        comm = communicator(header)
        frames, ready = await connect_ready(comm)
        assert frames == []
        assert ready == {"type": "ready", "last_id": None, "unread": 0, "truncated": False}
        await comm.send_json_to({"type": "ping"})
        assert await comm.receive_json_from() == {"type": "pong"}
        await comm.disconnect()

    async_to_sync(scenario)()


def test_the_session_cookie_is_accepted(demo_org):
    header = session_header("suzuki")

    async def scenario() -> None:
        comm = communicator(header)
        _, ready = await connect_ready(comm)
        assert ready["type"] == "ready"
        await comm.disconnect()

    async_to_sync(scenario)()


def test_a_wrong_token_or_scheme_is_refused(demo_org):
    async def scenario() -> None:
        for value in (b"Bearer ek_not-a-token", b"Basic dXNlcjpwYXNz", b"Bearer \xff\xfe"):
            message = await closed_with(communicator((b"authorization", value)))
            assert message["code"] == 4401, value

    async_to_sync(scenario)()


def test_a_deactivated_users_token_and_session_are_refused(demo_org):
    token = bearer_header("suzuki")
    cookie = session_header("suzuki")
    User.objects.filter(username="suzuki").update(is_active=False)

    async def scenario() -> None:
        assert (await closed_with(communicator(token)))["code"] == 4401
        assert (await closed_with(communicator(cookie)))["code"] == 4401

    async_to_sync(scenario)()


@pytest.mark.parametrize(
    "query", ["since=abc", "since=-1", "since=1.5", "since=", "since=1&since=2"]
)
def test_a_malformed_since_is_closed_with_4400(demo_org, query):
    header = bearer_header("suzuki")

    async def scenario() -> None:
        message = await closed_with(communicator(header, query=query))
        assert message["code"] == 4400
        assert "since" in message["reason"]

    async_to_sync(scenario)()


def test_bad_client_messages_get_an_error_frame_and_the_connection_stays(demo_org):
    header = bearer_header("suzuki")

    async def scenario() -> None:
        comm = communicator(header)
        await connect_ready(comm)
        await comm.send_to(text_data="this is not json")
        assert (await comm.receive_json_from())["code"] == "bad_json"
        await comm.send_to(bytes_data=b"\x00\x01")
        assert (await comm.receive_json_from())["code"] == "bad_json"
        await comm.send_to(text_data="[1, 2]")
        assert (await comm.receive_json_from())["code"] == "bad_message"
        await comm.send_json_to({"type": "dance"})
        assert (await comm.receive_json_from())["code"] == "unknown_type"
        await comm.send_json_to({"type": "read", "up_to": "everything"})
        assert (await comm.receive_json_from())["code"] == "bad_request"
        await comm.send_to(text_data="x" * 10_000)
        assert (await comm.receive_json_from())["code"] == "bad_json"
        # Still connected and serving.
        await comm.send_json_to({"type": "ping"})
        assert await comm.receive_json_from() == {"type": "pong"}
        await comm.disconnect()

    async_to_sync(scenario)()


def test_connections_beyond_the_cap_are_closed_with_4429(demo_org, settings):
    settings.NOTIFICATIONS_MAX_CONNECTIONS_PER_USER = 2
    headers = [bearer_header("suzuki") for _ in range(4)]
    other = bearer_header("sato")

    async def scenario() -> None:
        first, second = communicator(headers[0]), communicator(headers[1])
        await connect_ready(first)
        await connect_ready(second)
        refused = await closed_with(communicator(headers[2]))
        assert refused["code"] == 4429
        # Others are served meanwhile.
        sato = communicator(other)
        await connect_ready(sato)
        await first.send_json_to({"type": "ping"})
        assert await first.receive_json_from() == {"type": "pong"}
        # A closed connection frees its place.
        await first.disconnect()
        again = communicator(headers[3])
        await connect_ready(again)
        for comm in (second, sato, again):
            await comm.disconnect()

    async_to_sync(scenario)()


def test_a_read_only_token_cannot_mark_read(demo_org):
    header = bearer_header("suzuki", scope="read")

    async def scenario() -> None:
        comm = communicator(header)
        await connect_ready(comm)
        await comm.send_json_to({"type": "read", "up_to": 10})
        assert (await comm.receive_json_from())["code"] == "read_only"
        await comm.disconnect()

    async_to_sync(scenario)()


def test_a_revoked_token_closes_the_live_connection_at_once(demo_org):
    header = bearer_header("suzuki")

    async def scenario() -> None:
        from api.models import ApiToken
        from api.tokens import revoke_token

        comm = communicator(header)
        await connect_ready(comm)

        @database_sync_to_async
        def revoke() -> None:
            suzuki = User.objects.get(username="suzuki")
            (key,) = ApiToken.objects.filter(user=suzuki).values_list("token_key", flat=True)
            assert revoke_token(suzuki, key)

        await revoke()
        message = await comm.receive_output(timeout=5)
        assert message["type"] == "websocket.close"
        assert message["code"] == 4401
        await comm.disconnect()

    async_to_sync(scenario)()


def test_a_deactivated_user_is_disconnected_at_once(demo_org):
    header = session_header("suzuki")

    async def scenario() -> None:
        comm = communicator(header)
        await connect_ready(comm)

        @database_sync_to_async
        def deactivate() -> None:
            suzuki = User.objects.get(username="suzuki")
            suzuki.is_active = False
            suzuki.save()

        await deactivate()
        message = await comm.receive_output(timeout=5)
        assert message["type"] == "websocket.close" and message["code"] == 4401
        await comm.disconnect()

    async_to_sync(scenario)()


def test_a_token_deleted_behind_our_back_is_noticed_on_a_later_event(demo_org, monkeypatch):
    from notifications import consumers

    monkeypatch.setattr(consumers, "CREDENTIALS_TTL", 0.0)
    header = bearer_header("suzuki")

    async def scenario() -> None:
        from api.models import ApiToken
        from notifications import services

        comm = communicator(header)
        await connect_ready(comm)

        @database_sync_to_async
        def delete_and_notify() -> None:
            ApiToken.objects.filter(user__username="suzuki").delete()
            services.notify("comment.added", [User.objects.get(username="suzuki").pk])

        await delete_and_notify()
        message = await comm.receive_output(timeout=5)
        assert message["type"] == "websocket.close" and message["code"] == 4401
        await comm.disconnect()

    async_to_sync(scenario)()
