"""Who is connected: one counter per user in Django's cache (Redis in production).

The consumer counts a connection up on connect and down on disconnect; the same counter caps the
connections a user may hold and tells the mailer who is offline. The key expires, so a server
process that dies without counting down cannot lock a user out for longer than the TTL; the
consumer refreshes the expiry whenever the client speaks (the browser client pings every 30 s).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

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


def connected_among(user_ids: Iterable[int]) -> set[int]:
    """Which of `user_ids` have a connection open: one cache round trip for all of them."""
    keys = {_key(pk): pk for pk in user_ids}
    if not keys:
        return set()
    try:
        counts = cache.get_many(list(keys))
    except Exception:
        logger.exception("presence unknown for %d users", len(keys))
        return set()
    return {keys[key] for key, count in counts.items() if int(count or 0) > 0}


# --- who is viewing a document -------------------------------------------------------------------
# One cache entry per document: {channel name: [user id, display name, expires at]}. Updated by
# read-modify-write, so two viewers arriving in the same instant may drop one of them; each client
# repeats "viewing" with its 30-second ping, which heals that within one ping. Presence is a hint,
# not a record.

VIEWING_TTL_SECONDS = 75


def _viewers_key(document_id: int) -> str:
    return f"notifications:viewers:{document_id}"


def _live(entries: dict[str, list[Any]], now: float) -> dict[str, list[Any]]:
    return {channel: entry for channel, entry in entries.items() if entry[2] > now}


def start_viewing(document_id: int, channel: str, user_id: int, name: str) -> None:
    now = time.time()
    key = _viewers_key(document_id)
    entries = _live(cache.get(key) or {}, now)
    entries[channel] = [user_id, name, now + VIEWING_TTL_SECONDS]
    cache.set(key, entries, timeout=VIEWING_TTL_SECONDS)


def stop_viewing(document_id: int, channel: str) -> None:
    key = _viewers_key(document_id)
    entries = _live(cache.get(key) or {}, time.time())
    entries.pop(channel, None)
    if entries:
        cache.set(key, entries, timeout=VIEWING_TTL_SECONDS)
    else:
        cache.delete(key)


def viewers(document_id: int) -> list[dict[str, Any]]:
    """The people viewing a document now, each once, in the order they arrived."""
    seen: dict[int, dict[str, Any]] = {}
    entries = _live(cache.get(_viewers_key(document_id)) or {}, time.time())
    for user_id, name, _expires in entries.values():
        seen.setdefault(user_id, {"user": user_id, "name": name})
    return list(seen.values())
