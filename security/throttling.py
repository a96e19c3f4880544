"""Rate limit per API token (API_TOKEN_RATE, default 600 requests a minute), on the shared cache
(security.counters), so that every server process counts the same requests."""

from __future__ import annotations

from typing import Any

from rest_framework.throttling import SimpleRateThrottle

from api.models import ApiToken
from security.counters import shared


class TokenRateThrottle(SimpleRateThrottle):
    """Counts the requests of each Bearer token; browser sessions are not limited here."""

    scope = "token"

    def __init__(self) -> None:
        self.cache = shared()
        super().__init__()

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        token = request.auth
        if not isinstance(token, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.digest[:32]}
