"""One long-lived event loop per process for pushing to Redis from synchronous code.

`async_to_sync` outside a server's event loop (a management command, a worker, the periodic
reminders, a program that imports the services) runs every call on a new event loop, and
channels-redis keeps its connections per loop: each push opened and closed a Redis connection
(measured: 100 pushes, 100 new connections, 3.8 ms each). Here the loop lives in a daemon thread
and keeps its connection, so a push costs one round trip.

Only for the Redis layer: the in-memory layer's queues belong to the loop of the consumers that
read them (tests), and must be fed through asgiref as before.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

# A push that takes longer than this has a Redis problem; the caller logs it and moves on (the
# rows are stored, clients get them on their next connect).
TIMEOUT_SECONDS = 10.0

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_owner_pid: int | None = None


def _running_loop() -> asyncio.AbstractEventLoop:
    global _loop, _owner_pid
    with _lock:
        # After a fork the thread is gone from the child: start its own.
        if _loop is None or _owner_pid != os.getpid() or not _loop.is_running():
            loop = asyncio.new_event_loop()
            started = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(started.set)
                loop.run_forever()

            threading.Thread(target=run, name="notifications-push", daemon=True).start()
            started.wait()
            _loop, _owner_pid = loop, os.getpid()
        return _loop


def run(coroutine: Callable[[], Awaitable[T]]) -> T:
    """Run `coroutine()` on the process's push loop and wait for its result."""

    async def call() -> Any:
        return await coroutine()

    future = asyncio.run_coroutine_threadsafe(call(), _running_loop())
    return future.result(timeout=TIMEOUT_SECONDS)


def uses_own_loop(layer: Any) -> bool:
    return type(layer).__name__ == "RedisPubSubChannelLayer"
