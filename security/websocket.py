"""The session rules of SessionSecurityMiddleware, for WebSocket connections.

Channels reads the session cookie without Django's middleware, so a socket would otherwise let
in a session that passed the password but not its second factor, or one idle past the timeout.
A socket also ends with its session: `session_ended` says why an open socket's session no longer
holds (signed out, idle, the password changed, the account deactivated); the consumer asks it
again while the socket is open, and sign-outs close it at once (notifications.sessions).
"""

from __future__ import annotations

import hashlib
import time
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.utils.crypto import constant_time_compare
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


def session_tag(session_key: str) -> str:
    """A name for a session that does not reveal its key (channel-layer group names are
    visible in Redis)."""
    return hashlib.sha256(f"ekessai-session:{session_key}".encode()).hexdigest()[:32]


def session_ended(user: User, session_key: str | None) -> str | None:
    """Why the browser session behind an open socket no longer holds, or None if it does:
    the session as the store has it now (not the copy read when the socket opened)."""
    if not session_key:
        return "no session"
    if not user.is_active:
        return "this account is deactivated"
    store = import_module(settings.SESSION_ENGINE).SessionStore
    session = store(session_key)  # an expired or deleted session loads empty
    if str(session.get(SESSION_KEY)) != str(user.pk) or not session.get(BACKEND_SESSION_KEY):
        return "signed out"
    stored_hash = session.get(HASH_SESSION_KEY) or ""
    if not constant_time_compare(stored_hash, user.get_session_auth_hash()):
        return "the password was changed; sign in again"
    return session_refusal(user, session)
