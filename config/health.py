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

from storage import get_store

logger = logging.getLogger(__name__)

CHANNEL_LAYER_TIMEOUT_S = 2.0


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


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


CHECKS: dict[str, Callable[[], None]] = {
    "database": _database,
    "object_store": _object_store,
    "channel_layer": _channel_layer,
}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict[str, object]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:
            # Details go to the log, not to an unauthenticated caller.
            logger.warning("health check %s failed: %r", name, exc)
            results[name] = {"status": "error", "error": type(exc).__name__}
        else:
            results[name] = {"status": "ok"}
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    healthy = all(r["status"] == "ok" for r in results.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": results}, status=200 if healthy else 503
    )
