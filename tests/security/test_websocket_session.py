"""The notification socket keeps the session rules: second factor passed, not idle (issue 9)."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from org.models import User
from security.middleware import LAST_SEEN_SESSION_KEY
from tests.notifications.conftest import closed_with, communicator, connect_ready, session_header

pytestmark = pytest.mark.django_db(transaction=True)


def _session(header: tuple[bytes, bytes]) -> SessionStore:
    key = header[1].decode().split("=", 1)[1].split(";")[0]
    return SessionStore(session_key=key)


def test_an_enrolled_user_must_have_passed_the_second_factor(demo_org):
    suzuki = User.objects.get(username="suzuki")
    device = TOTPDevice.objects.create(user=suzuki, name="phone", confirmed=True)
    header = session_header("suzuki")

    async def refused() -> None:
        message = await closed_with(communicator(header))
        assert message["code"] == 4401
        assert "second factor" in message["reason"]

    async_to_sync(refused)()
    session = _session(header)
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    async def accepted() -> None:
        comm = communicator(header)
        _, ready = await connect_ready(comm)
        assert ready["type"] == "ready"
        await comm.disconnect()

    async_to_sync(accepted)()


def test_an_idle_session_cannot_open_a_socket(demo_org):
    header = session_header("tanaka")
    session = _session(header)
    session[LAST_SEEN_SESSION_KEY] = time.time() - settings.SESSION_IDLE_MINUTES * 60 - 5
    session.save()

    async def refused() -> None:
        message = await closed_with(communicator(header))
        assert message["code"] == 4401
        assert "expired" in message["reason"]

    async_to_sync(refused)()
