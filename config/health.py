"""/healthz: is each part this process depends on reachable right now?"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config import db_availability
from storage import get_store

logger = logging.getLogger(__name__)

CHANNEL_LAYER_TIMEOUT_S = 2.0


def _database() -> dict[str, object] | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return _pool_stats()


def _pool_stats() -> dict[str, object] | None:
    """How full this process's connection pool is (PostgreSQL only): a pool at its bound with
    requests waiting is the first sign of a server that needs more processes or connections."""
    pool = getattr(connection, "pool", None)
    if pool is None:
        return None
    stats = pool.get_stats()
    return {
        "pool": {
            "size": stats.get("pool_size", 0),
            "available": stats.get("pool_available", 0),
            "min": stats.get("pool_min", 0),
            "max": stats.get("pool_max", 0),
            "waiting": stats.get("requests_waiting", 0),
        }
    }


def _object_store() -> None:
    get_store().check()


async def _channel_layer_roundtrip() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel("healthz.")
    await layer.send(channel, {"type": "healthz.ping"})
    await asyncio.wait_for(layer.receive(channel), CHANNEL_LAYER_TIMEOUT_S)


def _channel_layer() -> None:
    async_to_sync(_channel_layer_roundtrip)()


def _jobs() -> dict[str, object]:
    """Background jobs that failed for good, or wait long past their time (no worker running):
    a warning, not an error. The server itself still serves, and a proxy must not take it out
    of rotation for a mail server that is down."""
    from jobs import queue

    counts = queue.health()
    return {"status": "warning" if any(counts.values()) else "ok", **counts}


CHECKS: dict[str, Callable[[], dict[str, object] | None]] = {
    "database": _database,
    "object_store": _object_store,
    "channel_layer": _channel_layer,
    "jobs": _jobs,
}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict[str, object]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            details = check()
        except Exception as exc:
            # Details go to the log, not to an unauthenticated caller.
            logger.warning("health check %s failed: %r", name, exc)
            results[name] = {"status": "error", "error": type(exc).__name__}
            if name == "database" and db_availability.is_unavailable(exc):
                results[name]["error"] = "unavailable"
        else:
            results[name] = {"status": "ok", **(details or {})}
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    healthy = all(r["status"] != "error" for r in results.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": results}, status=200 if healthy else 503
    )
