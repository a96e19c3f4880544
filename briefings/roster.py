"""How many followers a briefing has now: one counter per briefing in Django's cache (Redis in
production, so every server process counts alike), moved by each socket's join and leave.

A hint for the presenter's screen, not a record (the audit trail and `Participant` are): a
server process that dies without counting down leaves the counter high until it expires.
"""

from __future__ import annotations

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)

TTL_SECONDS = 12 * 3600


def _key(briefing_id: int, code: str) -> str:
    # With the code: a database restored or recreated (tests) reuses ids, never id and code.
    return f"briefings:followers:{briefing_id}:{code}"


def _add(briefing_id: int, code: str, delta: int) -> int:
    key = _key(briefing_id, code)
    try:
        cache.add(key, 0, timeout=TTL_SECONDS)
        count = cache.incr(key, delta)
    except ValueError:  # expired between add and incr
        cache.add(key, max(0, delta), timeout=TTL_SECONDS)
        return max(0, delta)
    except Exception:
        logger.exception("follower count of briefing %s unknown", briefing_id)
        return 0
    if count < 0:  # only after an expiry: start again from nothing
        cache.set(key, 0, timeout=TTL_SECONDS)
        return 0
    return count


def joined(briefing_id: int, code: str) -> int:
    return _add(briefing_id, code, 1)


def left(briefing_id: int, code: str) -> int:
    return _add(briefing_id, code, -1)


def count(briefing_id: int, code: str) -> int:
    try:
        return max(0, int(cache.get(_key(briefing_id, code)) or 0))
    except Exception:
        logger.exception("follower count of briefing %s unknown", briefing_id)
        return 0
