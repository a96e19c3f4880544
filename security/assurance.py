"""How the person behind a request authenticated, for the audit entry of each signature.

DESIGN.md §4: the trail records which person used a position key, after which authentication.
"""

from __future__ import annotations

from typing import Any

from api.models import ApiToken
from audit.context import current_request
from security import mfa
from security.models import TokenAssurance


def authentication(request: Any = None) -> dict[str, Any]:
    """{"by": "session"|"token"|"system", "second_factor_at": ISO time or None, "token": id}."""
    request = request if request is not None else current_request()
    raw = getattr(request, "_request", request)
    if raw is None:
        return {"by": "system", "second_factor_at": None}
    token = getattr(raw, "auth", None)
    if isinstance(token, ApiToken):
        assurance = TokenAssurance.objects.filter(token=token).first()
        return {
            "by": "token",
            "token": str(token.pk),
            "second_factor_at": assurance.second_factor_at.isoformat() if assurance else None,
        }
    session = getattr(raw, "session", None)
    at = mfa.second_factor_at(session) if session is not None else None
    return {"by": "session", "second_factor_at": at.isoformat() if at else None}
