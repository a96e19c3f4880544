"""The cache that every process and every management command share (settings.CACHES["shared"]):
Redis in production, a table in the database in the embedded mode. The login lockout and pending
security-key challenges live there, never in one process's memory, so that `manage.py
unlock_login` unlocks what the server counted. (The API rate limit stays on the default cache:
security.throttling.)"""

from __future__ import annotations

from django.core.cache import BaseCache, caches

SHARED = "shared"


def shared() -> BaseCache:
    return caches[SHARED]
