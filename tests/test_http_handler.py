"""config.http_handler (Django's HTTP under ASGI on a few threads) and config.redis_cache.

The handler is driven as an ASGI server drives it (scope, receive, send), in this process."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from django.core import signals
from django.core.cache import caches
from django.test import override_settings

from config.http_handler import ThreadPoolASGIHandler
from config.redis_cache import RedisCache


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"accept", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _request(app: Any, path: str) -> tuple[int, bytes]:
    messages: list[dict[str, Any]] = []
    received = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not received.is_set():
            received.set()
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("not reached")

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(_scope(path), receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], body


@pytest.fixture
def in_django() -> Any:
    """How many requests are between request_started and request_finished at once, at most."""
    lock = threading.Lock()
    state = {"now": 0, "most": 0, "started": 0, "finished": 0}

    def started(**_kwargs: Any) -> None:
        with lock:
            state["now"] += 1
            state["started"] += 1
            state["most"] = max(state["most"], state["now"])

    def finished(**_kwargs: Any) -> None:
        with lock:
            state["now"] -= 1
            state["finished"] += 1

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    yield state
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


@override_settings(ALLOWED_HOSTS=["127.0.0.1"])
def test_no_more_requests_in_django_at_once_than_threads_and_each_one_finished(in_django):
    app = ThreadPoolASGIHandler(threads=2)

    async def many() -> list[tuple[int, bytes]]:
        return await asyncio.gather(*(_request(app, "/api/v1/me") for _ in range(12)))

    answers = asyncio.run(many())
    assert {status for status, _body in answers} == {401}  # answered, in the API's format
    assert all(b'"not_authenticated"' in body for _status, body in answers)
    assert in_django["started"] == in_django["finished"] == 12
    assert in_django["most"] <= 2


@override_settings(ALLOWED_HOSTS=["127.0.0.1"])
def test_an_unknown_page_is_answered_by_django_as_before(in_django):
    status, body = asyncio.run(_request(ThreadPoolASGIHandler(threads=1), "/api/v1/nothing-here"))
    assert status == 404
    assert b'"error"' in body
    assert in_django["started"] == in_django["finished"] == 1


def test_the_asgi_application_serves_http_with_the_handler():
    from config import asgi

    assert isinstance(asgi.application.application_mapping["http"], ThreadPoolASGIHandler)


@pytest.mark.skipif(
    not isinstance(caches["default"], RedisCache), reason="the Redis cache (REDIS_URL)"
)
def test_the_redis_cache_keeps_one_client_and_works():
    cache = caches["default"]
    client: Any = cache._cache  # type: ignore[attr-defined]
    assert client.get_client("a") is client.get_client("b", write=True)
    cache.set("tests:http_handler", {"n": 1}, 30)
    assert cache.get("tests:http_handler") == {"n": 1}
    cache.delete("tests:http_handler:count")
    assert cache.add("tests:http_handler:count", 0, 30)
    assert cache.incr("tests:http_handler:count") == 1
    cache.delete_many(["tests:http_handler", "tests:http_handler:count"])
    assert cache.get("tests:http_handler") is None
