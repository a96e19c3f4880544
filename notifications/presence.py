"""Who is connected: one counter per user in Django's cache (Redis in production).

The consumer counts a connection up on connect and down on disconnect; the same counter caps the
connections a user may hold and tells the mailer who is offline. The key expires, so a server
process that dies without counting down cannot lock a user out for longer than the TTL; the
consumer refreshes the expiry whenever the client speaks (the browser client pings every 30 s).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

TTL_SECONDS = 3600


def _key(user_id: int) -> str:
    return f"notifications:connections:{user_id}"


def _incr(key: str) -> int:
    cache.add(key, 0, timeout=TTL_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 0, timeout=TTL_SECONDS)
        return cache.incr(key)


def acquire(user_id: int) -> bool:
    """Count one more connection; False (and nothing counted) when the cap is reached."""
    key = _key(user_id)
    count = _incr(key)
    cache.touch(key, TTL_SECONDS)
    if count > settings.NOTIFICATIONS_MAX_CONNECTIONS_PER_USER:
        release(user_id)
        return False
    return True


def release(user_id: int) -> None:
    key = _key(user_id)
    try:
        count = cache.decr(key)
    except ValueError:  # expired meanwhile: nothing left to count down
        return
    if count < 0:  # only after an expiry; start again from nothing
        cache.delete(key)


def refresh(user_id: int) -> None:
    cache.touch(_key(user_id), TTL_SECONDS)


def connections(user_id: int) -> int:
    try:
        return max(0, int(cache.get(_key(user_id)) or 0))
    except Exception:
        logger.exception("presence unknown for user %s", user_id)
        return 0


def is_connected(user_id: int) -> bool:
    return connections(user_id) > 0
