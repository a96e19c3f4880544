"""The Content Security Policy (django-csp), plus the WebSocket origin of each request.

`connect-src 'self'` covers ws:/wss: of our own origin only in browsers that follow CSP level 3;
naming it explicitly keeps the notifications socket working in the others.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponseBase


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only:
            try:
                host = request.get_host()
            except Exception:
                return parts
            socket = f"{'wss' if request.is_secure() else 'ws'}://{host}"
            update = dict(parts.update or {})
            update["connect-src"] = [*update.get("connect-src", []), socket]
            parts.update = update
        return parts
