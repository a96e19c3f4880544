"""Browsers need an allowed Origin (their cookie rides along); programs with a Bearer token
send none and pass."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from tests.notifications.conftest import PATH, bearer_header, session_header

pytestmark = pytest.mark.django_db(transaction=True)


async def opens(*headers: tuple[bytes, bytes]) -> bool:
    from config.asgi import application

    comm = WebsocketCommunicator(application, PATH, headers=list(headers))
    connected, _ = await comm.connect(timeout=5)
    if connected:
        frame = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return bool(frame["type"] == "ready")
    return False


def test_a_program_with_a_bearer_token_needs_no_origin(demo_org):
    assert async_to_sync(opens)(bearer_header("suzuki"))


def test_a_session_cookie_without_origin_or_from_another_site_is_refused(demo_org):
    cookie = session_header("suzuki")
    assert not async_to_sync(opens)(cookie)
    assert not async_to_sync(opens)(cookie, (b"origin", b"https://evil.example"))
    assert async_to_sync(opens)(cookie, (b"origin", b"http://localhost"))
