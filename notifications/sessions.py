"""Sockets end with the session they were opened in.

A browser socket joins the group `session.<tag>` of its session (security.websocket.session_tag).
Signing out (the logout page, the idle timeout: both through Django's `logout`) closes the
session's sockets in every server process once the request's transaction commits; a password
change closes the sockets of the user's other sessions (Django keeps only the session that changed
it signed in). Deactivation closes every socket of the user (notifications.apps). Whatever a
signal cannot reach (a session deleted in the database, expired) the consumer notices when it
checks the session again, at most CREDENTIALS_TTL later (notifications.consumers).
"""

from __future__ import annotations

import logging
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

from audit.context import current_request
from notifications.services import _run as run_on_layer
from notifications.services import group_name
from security.websocket import session_tag

logger = logging.getLogger(__name__)

SESSION_ENDED = "session.ended"


def session_group(session_key: str) -> str:
    return f"session.{session_tag(session_key)}"


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    def send() -> None:
        try:
            run_on_layer(layer, lambda: layer.group_send(group, message))
        except Exception:
            logger.exception("could not close the sockets of %s", group)

    transaction.on_commit(send)


def end_session(session_key: str | None, reason: str = "signed out") -> None:
    """Close the sockets opened in this session."""
    if session_key:
        _send(session_group(session_key), {"type": SESSION_ENDED, "reason": reason})


def end_other_sessions(user_id: int, keep_session_key: str | None, reason: str) -> None:
    """Close the user's session sockets except those of `keep_session_key`."""
    keep = session_tag(keep_session_key) if keep_session_key else None
    _send(group_name(user_id), {"type": SESSION_ENDED, "reason": reason, "except": keep})


def _logged_out(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    end_session(getattr(session, "session_key", None))


def _password_changed(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    # AbstractBaseUser.save() keeps the new raw password in `_password` until after post_save:
    # it is set exactly when set_password() was called before this save.
    if created or getattr(instance, "_password", None) is None:
        return
    request = current_request()
    session = getattr(request, "session", None)
    keep = getattr(session, "session_key", None)
    if getattr(getattr(request, "user", None), "pk", None) != instance.pk:
        keep = None  # an administrator set someone else's password: all their sessions end
    end_other_sessions(instance.pk, keep, "the password was changed; sign in again")


def connect_signals() -> None:
    from django.contrib.auth.signals import user_logged_out
    from django.db.models.signals import post_save

    from org.models import User

    user_logged_out.connect(_logged_out, dispatch_uid="notifications.logged_out")
    post_save.connect(_password_changed, sender=User, dispatch_uid="notifications.password")
