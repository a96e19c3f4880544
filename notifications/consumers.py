"""The WebSocket endpoint /ws/notifications/?since=<id>.

On connect: authenticate (the session cookie, or `Authorization: Bearer <token>`; never a token in
the URL, URLs end up in logs), cap the user's connections, join the group `user.<id>`, replay what
the client missed, then stream. Every pushed event is loaded from its row and access to its
document re-checked before it is sent.

Frames to the client: a notification (services.NotificationFrame), then
{"type": "ready", "last_id", "unread", "truncated"} once the replay is done, {"type": "pong"},
{"type": "read", "marked", "unread"} and {"type": "error", "code", "message"}.
Frames from the client: {"type": "ping"}, {"type": "read", "up_to": id} or {"ids": [...]}, and
{"type": "viewing", "document": id or null} — the workspace says which document it shows; everyone
viewing the same document then gets {"type": "presence", "document", "viewers": [{"user",
"name"}]} whenever that list changes (access re-checked for each frame). Frames whose type
starts with "briefing." belong to a briefing (説明モード, issue 21): briefings.relay handles them.

The server closes with a code (after accepting, so that browsers see it):
4400 bad request (a malformed `since`), 4401 not authenticated (no or bad credentials, a
deactivated user, a revoked token, a browser session signed out, idle or whose password changed:
notifications.sessions), 4429 too many connections for this user.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from rest_framework import exceptions

from api.authentication import BearerTokenAuthentication
from api.models import ApiToken, TokenScope
from briefings import relay as briefings
from documents.access import can_view
from documents.models import Document
from notifications import presence, services
from notifications.sessions import session_group
from org.models import User
from security.websocket import session_ended, session_refusal, session_tag

logger = logging.getLogger(__name__)

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_MANY_CONNECTIONS = 4429

MAX_MESSAGE_CHARS = 4096
CREDENTIALS_TTL = 60.0
MAX_READ_IDS = 500


class Refused(Exception):
    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


@database_sync_to_async
def _authenticate_bearer(raw: bytes) -> tuple[User, ApiToken]:
    parts = raw.split()
    prefix = str(settings.REST_KNOX["AUTH_HEADER_PREFIX"]).encode()
    if len(parts) != 2 or parts[0].lower() != prefix.lower():
        raise Refused(CLOSE_UNAUTHENTICATED, "expected 'Authorization: Bearer <token>'")
    try:
        user, token = BearerTokenAuthentication().authenticate_credentials(parts[1])
    except exceptions.AuthenticationFailed as exc:
        raise Refused(CLOSE_UNAUTHENTICATED, str(exc.detail)) from None
    return user, token


def parse_since(query_string: bytes) -> int | None:
    """The `since` parameter: absent means no replay; anything but one whole number >= 0 is bad."""
    try:
        params = parse_qs(
            query_string.decode("ascii"), keep_blank_values=True, strict_parsing=False
        )
    except UnicodeDecodeError:
        raise Refused(CLOSE_BAD_REQUEST, "the query string is not ASCII") from None
    values = params.get("since")
    if values is None:
        return None
    if len(values) != 1 or not values[0].isascii() or not values[0].isdigit():
        raise Refused(CLOSE_BAD_REQUEST, "since must be a notification id (a whole number >= 0)")
    since = int(values[0])
    if since > 2**63 - 1:
        raise Refused(CLOSE_BAD_REQUEST, "since is out of range")
    return since


@database_sync_to_async
def _fresh_user(user_id: int, token_id: str | None, session_key: str | None = None) -> User | None:
    """The user as the database has it now; None once deactivated, the token revoked, or the
    browser session ended (signed out, idle, the password changed: security.websocket)."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    if token_id is not None and not ApiToken.objects.filter(pk=token_id).exists():
        return None
    if token_id is None and session_ended(user, session_key) is not None:
        return None
    return user


def _document_group(document_id: int) -> str:
    return f"document.{document_id}"


class NotificationConsumer(AsyncWebsocketConsumer):
    user_id: int | None = None
    token_id: str | None = None
    session_key: str | None = None
    session_group: str | None = None
    read_only = False
    counted = False
    group: str | None = None
    viewing: int | None = None
    display_name = ""
    credentials_checked_at = 0.0

    async def connect(self) -> None:
        # Accept first: a close before the handshake reaches browsers only as 1006.
        await self.accept()
        try:
            user = await self._authenticate()
            since = parse_since(self.scope.get("query_string", b""))
            if not await database_sync_to_async(presence.acquire)(user.pk):
                raise Refused(
                    CLOSE_TOO_MANY_CONNECTIONS,
                    f"at most {settings.NOTIFICATIONS_MAX_CONNECTIONS_PER_USER} connections "
                    "per user",
                )
        except Refused as refused:
            await self.close(code=refused.code, reason=refused.reason)
            return
        self.counted = True
        self.replayed: set[int] = set()
        self.user_id = user.pk
        self.display_name = str(user)
        self.credentials_checked_at = time.monotonic()
        self.group = services.group_name(user.pk)
        # Join before replaying: an event committed meanwhile is then replayed, pushed, or both;
        # `replayed` drops the duplicates. Pushes wait in the queue until connect returns.
        await self.channel_layer.group_add(self.group, self.channel_name)
        if self.session_key is not None:
            # Signing out closes this socket at once (notifications.sessions).
            self.session_group = session_group(self.session_key)
            await self.channel_layer.group_add(self.session_group, self.channel_name)
        frames, truncated = ([], False)
        if since is not None:
            frames, truncated = await database_sync_to_async(services.missed)(user, since)
        for frame in frames:
            self.replayed.add(frame["id"])
            await self._send(frame)
        unread = await database_sync_to_async(services.unread_count)(user)
        last_id = frames[-1]["id"] if frames else since
        await self._send(
            {"type": "ready", "last_id": last_id, "unread": unread, "truncated": truncated}
        )

    async def _authenticate(self) -> User:
        header = _header(self.scope, b"authorization")
        if header is not None:
            user, token = await _authenticate_bearer(header)
            self.token_id = token.pk
            self.read_only = token.scope == TokenScope.READ
        else:
            # AuthMiddlewareStack has resolved its lazy user from the session cookie already.
            user = self.scope.get("user")
            user = getattr(user, "_wrapped", user)
        if not isinstance(user, User) or not user.is_authenticated:
            raise Refused(CLOSE_UNAUTHENTICATED, "authentication required")
        if not user.is_active:
            raise Refused(CLOSE_UNAUTHENTICATED, "this account is deactivated")
        if header is None:
            session = self.scope.get("session")
            refusal = await database_sync_to_async(session_refusal)(user, session)
            if refusal is not None:
                raise Refused(CLOSE_UNAUTHENTICATED, refusal)
            self.session_key = getattr(session, "session_key", None)
        return user

    async def disconnect(self, code: int) -> None:
        await briefings.disconnect(self)
        await self._stop_viewing()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if self.session_group is not None:
            await self.channel_layer.group_discard(self.session_group, self.channel_name)
        if self.counted and self.user_id is not None:
            self.counted = False
            await database_sync_to_async(presence.release)(self.user_id)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # AsyncConsumer.dispatch (channels 4.3) without its close_old_connections, which runs in
        # the one sync thread before every handler: a thread hop per message, a thousand of them
        # in a row when a notice goes to everyone (bench/private_code.py --only consumer: about
        # half of the fan-out). Every database access here goes through database_sync_to_async,
        # which closes old connections around each call itself. Keep in step with channels.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def _send(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, ensure_ascii=False))

    async def _error(self, code: str, message: str) -> None:
        await self._send({"type": "error", "code": code, "message": message})

    # --- from the server side -----------------------------------------------------------------

    async def notify(self, event: dict[str, Any]) -> None:
        notification_id = event.get("id")
        if self.user_id is None or not isinstance(notification_id, int):
            return
        if notification_id in self.replayed:
            self.replayed.discard(notification_id)
            return
        frame = event.get("frame")
        if isinstance(frame, dict) and frame.get("id") == notification_id:
            # The sender checked, after commit and for every recipient at once, that the user
            # is active and may read the document, and sent the frame along. Revoking a token
            # or deactivating a user closes this connection at once (credentials_revoked); an
            # expired or deleted token is noticed within CREDENTIALS_TTL, so a burst of a
            # thousand frames costs no query here.
            if await self._still_valid():
                await self._send(frame)
            return
        user = await _fresh_user(self.user_id, self.token_id, self.session_key)
        if user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED, reason="credentials no longer valid")
            return
        loaded = await database_sync_to_async(services.live_frame)(user, notification_id)
        if loaded is not None:
            await self._send(loaded)

    async def briefing_frame(self, event: dict[str, Any]) -> None:
        """A page turn, pointer or change of a briefing this socket joined (briefings.relay).
        Passed on first, the credentials looked at after (at most once a minute, closing the
        socket if they ended): fifty followers who joined together check together, and their
        queries must not hold up the page everyone is waiting for (bench/briefing.py)."""
        if self.user_id is not None:
            await briefings.deliver(self, event)
            await self._still_valid()

    async def credentials_revoked(self, event: dict[str, Any]) -> None:
        """The user was deactivated, or (with `tokens`) these tokens were revoked."""
        tokens = event.get("tokens")
        if tokens is None or (self.token_id is not None and self.token_id in tokens):
            await self.close(code=CLOSE_UNAUTHENTICATED, reason="credentials no longer valid")

    async def session_ended(self, event: dict[str, Any]) -> None:
        """This socket's browser session ended (signed out, idle, the password changed)."""
        if self.session_key is None:
            return  # a Bearer socket: tokens end by credentials_revoked
        keep = event.get("except")
        if keep is not None and keep == session_tag(self.session_key):
            return
        reason = event.get("reason")
        await self.close(
            code=CLOSE_UNAUTHENTICATED,
            reason=reason if isinstance(reason, str) else "signed out",
        )

    async def _still_valid(self) -> bool:
        """Credentials checked again at most every CREDENTIALS_TTL, also while no event comes
        (a ping): a session that ended without a signal (deleted, idle) closes its socket."""
        if time.monotonic() - self.credentials_checked_at <= CREDENTIALS_TTL:
            return True
        if await _fresh_user(self.user_id or 0, self.token_id, self.session_key) is None:
            await self.close(code=CLOSE_UNAUTHENTICATED, reason="credentials no longer valid")
            return False
        self.credentials_checked_at = time.monotonic()
        return True

    # --- from the client ----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user_id is None or not await self._still_valid():
            return
        await database_sync_to_async(presence.refresh)(self.user_id)
        if text_data is None or len(text_data) > MAX_MESSAGE_CHARS:
            await self._error("bad_json", "send JSON text frames of at most 4096 characters")
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self._error("bad_json", "the message is not JSON")
            return
        if not isinstance(message, dict):
            await self._error("bad_message", "the message must be a JSON object with a type")
            return
        kind = message.get("type")
        if kind == "ping":
            if self.viewing is not None:
                await database_sync_to_async(presence.start_viewing)(
                    self.viewing, self.channel_name, self.user_id, self.display_name
                )
            await self._send({"type": "pong"})
        elif kind == "read":
            await self._read(message)
        elif kind == "viewing":
            await self._viewing(message.get("document"))
        elif isinstance(kind, str) and kind.startswith("briefing."):
            await briefings.receive(self, message)  # 説明モード (issue 21): briefings.relay
        else:
            await self._error("unknown_type", "known types: ping, read, viewing, briefing.*")

    # --- presence: who is viewing the same document ---------------------------------------------

    async def _viewing(self, document_id: Any) -> None:
        if document_id is None:
            await self._stop_viewing()
            return
        if not isinstance(document_id, int) or isinstance(document_id, bool) or document_id < 1:
            await self._error("bad_request", "send {'type': 'viewing', 'document': id or null}")
            return
        if not await self._may_view(document_id):
            await self._error("not_found", "no such document")
            return
        if self.viewing != document_id:
            await self._stop_viewing()
        self.viewing = document_id
        await database_sync_to_async(presence.start_viewing)(
            document_id, self.channel_name, self.user_id, self.display_name
        )
        await self.channel_layer.group_add(_document_group(document_id), self.channel_name)
        await self._announce(document_id)

    async def _stop_viewing(self) -> None:
        document_id, self.viewing = self.viewing, None
        if document_id is None:
            return
        await database_sync_to_async(presence.stop_viewing)(document_id, self.channel_name)
        await self.channel_layer.group_discard(_document_group(document_id), self.channel_name)
        await self._announce(document_id)

    async def _announce(self, document_id: int) -> None:
        await self.channel_layer.group_send(
            _document_group(document_id), {"type": "presence.changed", "document": document_id}
        )

    async def _may_view(self, document_id: int) -> bool:
        user = await _fresh_user(self.user_id or 0, self.token_id, self.session_key)
        if user is None:
            return False

        def check() -> bool:
            document = Document.objects.filter(pk=document_id).first()
            return document is not None and can_view(user, document)

        return bool(await database_sync_to_async(check)())

    async def presence_changed(self, event: dict[str, Any]) -> None:
        document_id = event.get("document")
        if document_id != self.viewing or not isinstance(document_id, int):
            return
        if not await self._may_view(document_id):
            await self._stop_viewing()
            return
        viewers = await database_sync_to_async(presence.viewers)(document_id)
        await self._send({"type": "presence", "document": document_id, "viewers": viewers})

    async def _read(self, message: dict[str, Any]) -> None:
        if self.read_only:
            await self._error("read_only", "this API token is read-only")
            return
        up_to, ids = message.get("up_to"), message.get("ids")
        valid_up_to = isinstance(up_to, int) and not isinstance(up_to, bool) and up_to >= 0
        valid_ids = (
            isinstance(ids, list)
            and len(ids) <= MAX_READ_IDS
            and all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
        )
        if not (valid_up_to or valid_ids):
            await self._error(
                "bad_request", "send {'type': 'read', 'up_to': id} or {'ids': [id, ...]}"
            )
            return
        user = await _fresh_user(self.user_id or 0, self.token_id, self.session_key)
        if user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED, reason="credentials no longer valid")
            return

        def mark() -> tuple[int, int]:
            marked = services.mark_read(
                user, ids=ids if valid_ids else None, up_to=up_to if valid_up_to else None
            )
            return marked, services.unread_count(user)

        marked, unread = await database_sync_to_async(mark)()
        await self._send({"type": "read", "marked": marked, "unread": unread})
