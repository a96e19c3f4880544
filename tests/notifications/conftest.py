"""Helpers for the notification tests: WebSocket clients on the real ASGI application."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from api.tokens import create_token
from documents.models import Document, DocumentType
from documents.services import create_document
from org.models import User

ORIGIN = (b"origin", b"http://localhost")
PATH = "/ws/notifications/"


@pytest.fixture(autouse=True)
def _isolated_cache_and_layer(settings) -> Iterator[None]:
    """A cache prefix and a channel-layer prefix of its own for each test: connection counters and
    groups never leak between tests, nor between test runs sharing one Redis."""
    prefix = f"t{uuid.uuid4().hex[:12]}"
    settings.CACHES = {
        alias: {**config, "KEY_PREFIX": prefix} for alias, config in settings.CACHES.items()
    }
    layer = dict(settings.CHANNEL_LAYERS["default"])
    if "CONFIG" in layer:
        layer["CONFIG"] = {**layer["CONFIG"], "prefix": prefix}
    settings.CHANNEL_LAYERS = {"default": layer}
    yield


def user(name: str) -> User:
    return User.objects.get(username=name)


def new_document(title: str = "庁舎清掃業務委託について", amount: int = 500_000) -> Document:
    return create_document(
        user("tanaka"),
        {
            "title": title,
            "doc_type": DocumentType.objects.get(code="notice"),
            "amount": amount,
            "retention_years": 1,
        },
    )


def bearer_header(username: str, **options: Any) -> tuple[bytes, bytes]:
    _, key = create_token(user(username), **options)
    return (b"authorization", f"Bearer {key}".encode())


def session_header(username: str) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user(username))
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    return (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={session}".encode())


def communicator(*headers: tuple[bytes, bytes], query: str = "") -> WebsocketCommunicator:
    from config.asgi import application

    path = f"{PATH}?{query}" if query else PATH
    return WebsocketCommunicator(application, path, headers=[ORIGIN, *headers])


async def connect_ready(comm: WebsocketCommunicator) -> tuple[list[dict[str, Any]], dict]:
    """Connect, and collect the replayed frames up to the `ready` frame."""
    connected, _ = await comm.connect(timeout=5)
    assert connected
    frames: list[dict[str, Any]] = []
    while True:
        frame = await comm.receive_json_from(timeout=5)
        if frame["type"] == "ready":
            return frames, frame
        frames.append(frame)


async def closed_with(comm: WebsocketCommunicator) -> dict[str, Any]:
    """Connect; the server accepts, then closes: the close message (code and reason)."""
    connected, _ = await comm.connect(timeout=5)
    assert connected
    message = await comm.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    await comm.disconnect()
    return dict(message)


async def next_of_type(comm: WebsocketCommunicator, kind: str) -> dict[str, Any]:
    while True:
        frame = await comm.receive_json_from(timeout=5)
        if frame["type"] == kind:
            return dict(frame)
