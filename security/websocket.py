"""The session rules of SessionSecurityMiddleware, for WebSocket connections.

Channels reads the session cookie without Django's middleware, so a socket would otherwise let
in a session that passed the password but not its second factor, or one idle past the timeout.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django_otp import DEVICE_ID_SESSION_KEY

from org.models import User
from security import mfa
from security.middleware import LAST_SEEN_SESSION_KEY


def session_refusal(user: User, session: SessionBase | None) -> str | None:
    """Why a browser session may not open a socket now, or None if it may."""
    if session is None:
        return "no session"
    last = session.get(LAST_SEEN_SESSION_KEY)
    if isinstance(last, int | float) and time.time() - last > settings.SESSION_IDLE_MINUTES * 60:
        return "the session expired after a time without activity; sign in again"
    if not session.get(DEVICE_ID_SESSION_KEY) and (mfa.is_enrolled(user) or mfa.required_for(user)):
        return "confirm your second factor in the browser first"
    return None
