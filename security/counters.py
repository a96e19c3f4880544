"""The cache that every process and every management command share (settings.CACHES["shared"]):
Redis in production, a table in the database in the embedded mode. Login lockout, API rate
limits and pending security-key challenges live there, never in one process's memory."""

from __future__ import annotations

from django.core.cache import BaseCache, caches

SHARED = "shared"


def shared() -> BaseCache:
    return caches[SHARED]
