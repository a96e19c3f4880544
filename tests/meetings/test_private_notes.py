"""Private notes never leak (issue 21): every endpoint of the API, every meeting page, the
minutes, the lists and searches, the audit trail and the socket, as every person but the
author. suzuki's note in the permission walk's scenario is the bait; suzuki herself sees it
(so the check can fail)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client

from org.demo import DEMO_PASSWORD
from org.models import User
from tests.notifications.conftest import communicator, connect_ready
from tests.security.scenario import PRIVATE_NOTE, USERS
from tests.security.test_permission_walk import World, call, schema_operations, url_for
from tests.security.test_permission_walk import world as world  # the walk's fixture
from tests.security.walk_rules import MEETING_RULES, NON_DOCUMENT_RULES

pytestmark = pytest.mark.django_db
BAIT = ("PRIVATE suzuki", "suzuki's own note")  # not 個人メモ: the minutes say they have none
OTHERS = [u for u in USERS if u != "suzuki"]


def _text(response: Any) -> str:
    """Everything a response says: its body, or a PDF's text as poppler reads it."""
    if hasattr(response, "streaming_content"):
        body = b"".join(response.streaming_content)
    else:
        body = response.content
    if body.startswith(b"%PDF"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=body, capture_output=True, check=True
        ).stdout.decode()
        return "".join(text.split())
    return body.decode("utf-8", "replace")


def _leaks(text: str) -> bool:
    return any(bait in text for bait in BAIT) or any("".join(bait.split()) in text for bait in BAIT)


def test_no_endpoint_shows_a_private_note_to_anyone_but_its_author(world: World) -> None:
    leaks: list[str] = []
    walked = 0
    for method, path in schema_operations():
        try:
            url = url_for(path, world, "decided")
        except AssertionError:
            assert "/meetings" not in path, path
            continue  # an app's ids the walk does not know yet (not a meeting's)
        rule = next((t[(method, path)] for t in NON_DOCUMENT_RULES if (method, path) in t), None)
        for caller in OTHERS:
            response = call(world.clients[caller], method, url, rule)
            walked += 1
            if _leaks(_text(response)):
                leaks.append(f"{caller} {method} {path} → {response.status_code}")
    assert not leaks, "\n".join(leaks)
    assert walked > len(MEETING_RULES) * len(OTHERS)
    # The author does see it, through the same endpoints.
    own = world.clients["suzuki"].get(f"/api/v1/meetings/{world.scenario.meeting}/notes")
    assert PRIVATE_NOTE in own.content.decode()


def test_lists_searches_minutes_and_audit_never_show_it(world: World) -> None:
    meeting = world.scenario.meeting
    for caller in OTHERS:
        client = world.clients[caller]
        for url in (
            "/api/v1/meetings",
            f"/api/v1/meetings/{meeting}/notes?item={world.scenario.meeting_item}",
            f"/api/v1/meetings/{meeting}/minutes.pdf",
            "/api/v1/documents?q=PRIVATE",
            "/api/v1/documents?q=個人メモ",
            "/api/v1/audit",
            f"/api/v1/audit?document={world.scenario.documents['decided']}",
            "/api/v1/notifications",
        ):
            with transaction.atomic():
                response = client.get(url)
                transaction.set_rollback(True)
            assert response.status_code < 500, (caller, url)
            assert not _leaks(_text(response)), (caller, url)
    # suzuki's own minutes leave it out too: the minutes are the meeting's, not hers.
    minutes = world.clients["suzuki"].get(f"/api/v1/meetings/{meeting}/minutes.pdf")
    assert minutes.status_code == 200 and not _leaks(_text(minutes))


def test_no_page_shows_it(world: World) -> None:
    meeting = world.scenario.meeting
    for caller in OTHERS:
        client = Client()
        client.force_login(User.objects.get(username=caller))
        for url in ("/meetings/", f"/meetings/{meeting}/", f"/meetings/{meeting}/edit/"):
            response = client.get(url)
            assert response.status_code in (200, 403, 404), (caller, url)
            assert not _leaks(_text(response)), (caller, url)


@pytest.mark.django_db(transaction=True)
def test_the_socket_carries_no_private_note(demo_org: None) -> None:
    from tests.security import scenario

    built = scenario.build()
    url = f"/api/v1/meetings/{built.meeting}/notes"
    client = Client()
    assert client.post("/login/", {"username": "tanaka", "password": DEMO_PASSWORD}).status_code
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    header = (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode())

    async def run() -> list[str]:
        comm = communicator(header)
        replayed, _ready = await connect_ready(comm)
        frames = [json.dumps(f, ensure_ascii=False) for f in replayed]
        await comm.send_json_to({"type": "viewing", "document": built.documents["decided"]})
        suzuki = await sync_to_async(scenario.session)("suzuki")
        note = await sync_to_async(suzuki.post)(
            url, {"text": PRIVATE_NOTE + " 2", "item": built.meeting_item}, format="json"
        )
        assert note.status_code == 201
        changed = await sync_to_async(suzuki.patch)(
            f"{url}/{note.json()['id']}", {"text": PRIVATE_NOTE + " 3"}, format="json"
        )
        assert changed.status_code == 200
        # receive_nothing waits without cancelling the consumer (a timed-out receive would).
        while not await comm.receive_nothing(timeout=1):
            frames.append(json.dumps(await comm.receive_json_from(), ensure_ascii=False))
        await comm.disconnect()
        return frames

    frames = async_to_sync(run)()
    assert any('"presence"' in f for f in frames), frames  # the socket was live
    assert not [f for f in frames if _leaks(f)], frames
