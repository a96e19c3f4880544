"""What config.http_handler and config.redis_cache save, in process (issue 16).

1. handler: Django's ASGIHandler against ThreadPoolASGIHandler, driven as an ASGI server drives
   them, on a request that reaches the whole middleware chain and a DRF view without touching the
   database (`GET /api/v1/me` without credentials: 401), one at a time and 50 at once. Printed:
   the process's CPU per request (every thread), and the most requests inside Django at once.
2. cache: a GET on Django's Redis cache against config.redis_cache's (needs REDIS_URL).

Rounds alternate between the two so that a busy machine slows both alike; median [minimum].

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/http_handler.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))


def _scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/me",
        "raw_path": b"/api/v1/me",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"accept", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _one(app: Any) -> None:
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b""}
        await asyncio.Event().wait()
        return {}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(), receive, send)
    assert status == 401, status


def _handler_round(app: Any, requests: int, at_once: int) -> float:
    async def run() -> None:
        queue = iter(range(requests))

        async def client() -> None:
            for _ in queue:
                await _one(app)

        await asyncio.gather(*(client() for _ in range(at_once)))

    started = time.process_time()
    asyncio.run(run())
    return (time.process_time() - started) / requests * 1000


def _inside(app: Any, at_once: int) -> int:
    from django.core import signals

    lock, state = threading.Lock(), {"now": 0, "most": 0}

    def started(**_kwargs: Any) -> None:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])

    def finished(**_kwargs: Any) -> None:
        with lock:
            state["now"] -= 1

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        _handler_round(app, at_once * 4, at_once)
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    return state["most"]


def _cache_round(cache: Any, count: int) -> float:
    started = time.process_time()
    for _ in range(count):
        cache.get("bench:http_handler")
    return (time.process_time() - started) / count * 1000


def _line(name: str, values: list[float]) -> str:
    return f"{name:<44} {statistics.median(values):7.3f} [{min(values):7.3f}] ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import logging

    logging.getLogger("django.request").setLevel(logging.ERROR)  # not a line per 401
    from django.conf import settings
    from django.core.handlers.asgi import ASGIHandler

    from config.http_handler import ThreadPoolASGIHandler

    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    apps = {
        "Django's ASGIHandler": ASGIHandler(),
        f"ThreadPoolASGIHandler ({settings.WEB_THREADS} threads)": ThreadPoolASGIHandler(
            settings.WEB_THREADS
        ),
    }
    for at_once in (1, 50):
        print(f"\nCPU per request, {at_once} at a time (median [minimum] of {args.rounds} rounds)")
        figures: dict[str, list[float]] = {name: [] for name in apps}
        for app in apps.values():
            _handler_round(app, 50, at_once)  # warm
        for _ in range(args.rounds):
            for name, app in apps.items():
                figures[name].append(_handler_round(app, args.requests, at_once))
        for name, values in figures.items():
            print(_line(name, values))
    print("\nmost requests inside Django at once, 50 at a time:")
    for name, app in apps.items():
        print(f"{name:<44} {_inside(app, 50):7d}")

    if not settings.REDIS_URL:
        print("\ncache: skipped (REDIS_URL is not set)")
        return
    from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

    from config.redis_cache import RedisCache

    caches = {
        "Django's RedisCache: GET": DjangoRedisCache(settings.REDIS_URL, {}),
        "config.redis_cache.RedisCache: GET": RedisCache(settings.REDIS_URL, {}),
    }
    times: dict[str, list[float]] = {name: [] for name in caches}
    for cache in caches.values():
        _cache_round(cache, 200)
    for _ in range(args.rounds):
        for name, cache in caches.items():
            times[name].append(_cache_round(cache, 2000))
    print(f"\nCPU per cache operation (median [minimum] of {args.rounds} rounds)")
    for name, values in times.items():
        print(_line(name, values))


if __name__ == "__main__":
    main()
