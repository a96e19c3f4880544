"""The channels internals that notifications.consumers overrides and notifications.services
drives (docs/architecture.md, "Private code of libraries"). The pipelined push itself is
checked end to end in test_pipelined_push.py, the dispatch in test_server_dispatch.py."""

from __future__ import annotations

import asyncio
import inspect

from channels.consumer import AsyncConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer
from django.utils.functional import SimpleLazyObject


def test_the_own_dispatch_replaces_channels_dispatch_alone() -> None:
    """NotificationConsumer.dispatch is AsyncConsumer.dispatch without close_old_connections:
    channels must still route every message through dispatch(message), awaited in turn."""
    assert "dispatch" not in vars(AsyncWebsocketConsumer)
    assert list(inspect.signature(AsyncConsumer.dispatch).parameters) == ["self", "message"]
    source = inspect.getsource(AsyncConsumer.dispatch)
    assert "get_handler_name(message)" in source and "aclose_old_connections" in source
    assert "self.dispatch" in inspect.getsource(AsyncConsumer.__call__)


def test_session_user_is_unwrapped_through_wrapped() -> None:
    """consumers._authenticate reads the resolved user from the lazy object's `_wrapped`."""
    user = object()
    lazy = SimpleLazyObject(lambda: user)
    str(lazy)  # resolved, as AuthMiddleware's user is by the time connect() runs
    assert lazy._wrapped is user  # type: ignore[attr-defined]


def test_channels_redis_internals_used_by_the_pipelined_push() -> None:
    layer = RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:6379/0"], prefix="private-api")
    for name in ("_get_layer", "serialize"):
        assert callable(getattr(layer, name))
    for name in ("_get_group_channel_name", "_get_shard"):
        assert callable(getattr(RedisPubSubLoopLayer, name))

    async def check() -> None:
        inner = layer._get_layer()
        channel = inner._get_group_channel_name("user.1")
        shard = inner._get_shard(channel)
        assert isinstance(shard._lock, asyncio.Lock)
        assert callable(shard._ensure_redis)
        assert hasattr(shard, "_redis")  # a redis.asyncio client once ensured (lazily, no I/O)
        shard._ensure_redis()
        assert callable(shard._redis.pipeline)
        await layer.flush()

    asyncio.run(check())
