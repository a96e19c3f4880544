"""A socket ends with its session (issue 17): logout, a new password, deactivation or a deleted
session closes the sockets it opened (4401), and only those."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from notifications import consumers
from org.demo import DEMO_PASSWORD
from org.models import User
from tests.notifications.conftest import communicator, connect_ready


def _signed_in(username: str) -> tuple[Client, tuple[bytes, bytes]]:
    client = Client()
    response = client.post("/login/", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.content
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    return client, (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode())


async def _closed(comm: Any) -> dict[str, Any]:
    while True:
        message = await comm.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            return dict(message)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["logout", "password", "deactivated", "session deleted"])
def test_a_socket_ends_with_its_session(demo_org: None, how: str, monkeypatch) -> None:
    client, header = _signed_in("tanaka")
    other_client, other_header = _signed_in("tanaka")

    async def run() -> None:
        comm = communicator(header)
        await connect_ready(comm)
        other = communicator(other_header)
        await connect_ready(other)
        tanaka = await sync_to_async(User.objects.get)(username="tanaka")
        if how == "logout":
            response = await sync_to_async(client.post)("/logout/")
            assert response.status_code == 302
        elif how == "password":
            tanaka.set_password("a new long password 2026")
            await sync_to_async(tanaka.save)()
        elif how == "deactivated":
            tanaka.is_active = False
            await sync_to_async(tanaka.save)()
        else:
            key = header[1].decode().split("=", 1)[1]
            await sync_to_async(SessionStore(session_key=key).delete)()
            # Nothing signals a deleted session: the next check of the credentials notices it
            # (every CREDENTIALS_TTL seconds, on an event or a ping; at once here).
            monkeypatch.setattr(consumers, "CREDENTIALS_TTL", -1.0)
            await comm.send_json_to({"type": "ping"})
        closed = await _closed(comm)
        assert closed["code"] == 4401, closed
        if how == "logout":
            # Only the session that ended: the other one stays open.
            await other.send_json_to({"type": "ping"})
            assert (await other.receive_json_from(timeout=5))["type"] == "pong"
        await other.disconnect()
        await comm.disconnect()

    async_to_sync(run)()
    del other_client
