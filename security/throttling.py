"""Rate limit per API token (API_TOKEN_RATE, default 600 requests a minute), on Django's cache.

The default cache, not the shared one (security.counters): with Redis they are the same, and the
embedded mode serves from one process, where a database cache would cost four statements on
every API request for nothing (tests/test_people_api.py counts them)."""

from __future__ import annotations

from typing import Any

from rest_framework.throttling import SimpleRateThrottle

from api.models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    """Counts the requests of each Bearer token; browser sessions are not limited here."""

    scope = "token"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        token = request.auth
        if not isinstance(token, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.digest[:32]}
