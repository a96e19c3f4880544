"""Which WebSocket connections may open, judged by their Origin header.

A browser sends its page's Origin and carries our session cookie along; a page on another site
must not open a socket that rides on that cookie, so browser connections need an allowed Origin.
A program sends no Origin and authenticates with `Authorization: Bearer`, which no other site can
make a browser attach; those connections pass, and the consumer then checks the token.
"""

from __future__ import annotations

from typing import Any

from channels.security.websocket import AllowedHostsOriginValidator


class OriginOrBearer:
    def __init__(self, application: Any) -> None:
        self.application = application
        self.browser = AllowedHostsOriginValidator(application)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers") or [])
        if b"origin" not in headers and headers.get(b"authorization", b"").lower().startswith(
            b"bearer "
        ):
            return await self.application(scope, receive, send)
        return await self.browser(scope, receive, send)
