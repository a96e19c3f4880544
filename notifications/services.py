"""Notifications: write a row per recipient, push it to the user's group after commit, e-mail
those who are not connected (a background job: notifications.mail).

Every state change of this app is one function here, called alike by the workflow hooks, the
reminders, the API and the WebSocket consumer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from documents.access import can_view, readers_of, visible_documents
from documents.models import Document
from notifications import loop, mail
from notifications.models import Notification
from org.models import User
from workflow.events import WorkflowEvent

logger = logging.getLogger(__name__)

REPLAY_LIMIT = 500


class NotificationFrame(TypedDict):
    """What a client receives for a notification; the row's `data` keys are added beside these
    (they never override them): e.g. kind/stage (task.*), reason, number, hours, assignee."""

    id: int
    type: str
    document: int | None
    title: str | None
    task: int | None
    created: str
    read: bool


def group_name(user_id: int) -> str:
    return f"user.{user_id}"


# --- writing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """One notification to write: its type, who may get it, and what it is about."""

    type: str
    user_ids: Iterable[int]
    document_id: int | None = None
    task: int | None = None
    data: dict[str, Any] | None = None


def on_workflow_events(events: Sequence[WorkflowEvent]) -> None:
    """The workflow.hooks listener: the events of one committed action, written together."""
    notify_many(
        [Notice(e.type, e.user_ids, e.document_id, e.slot_id, e.payload()) for e in events],
    )


def notify(
    type_: str,
    user_ids: Iterable[int],
    *,
    document_id: int | None = None,
    task: int | None = None,
    data: dict[str, Any] | None = None,
) -> list[Notification]:
    """One row per recipient who may see the document now; pushed and mailed after commit."""
    return notify_many([Notice(type_, user_ids, document_id, task, data)])


def notify_many(notices: Sequence[Notice]) -> list[Notification]:
    """notify() for several notices at once: one access check for all their documents and
    recipients, one INSERT, one push. The same handful of queries for one notice to one person,
    the events of a whole approval, or one notice to a thousand people."""
    wanted = [(notice, set(notice.user_ids)) for notice in notices]
    document_ids = {n.document_id for n in notices if n.document_id is not None}
    documents = _documents(document_ids)
    for missing in document_ids - documents.keys():
        logger.warning("notification for a missing document %s", missing)
    everyone = set().union(*(ids for _notice, ids in wanted))
    # What a notice and its e-mail need of a person, not the whole row (a thousand of them).
    users = (
        User.objects.filter(is_active=True)
        .only("email", "username", "display_name", "first_name", "last_name")
        .in_bulk(list(everyone))
        if everyone
        else {}
    )
    readers = readers_of(
        documents.values(),
        {pk for notice, ids in wanted if notice.document_id is not None for pk in ids},
    )
    rows = []
    for notice, ids in wanted:
        if notice.document_id is not None and notice.document_id not in documents:
            continue
        allowed = readers[notice.document_id] if notice.document_id is not None else users.keys()
        for pk in sorted(ids & users.keys() & allowed):
            rows.append(
                Notification(
                    recipient=users[pk],
                    type=notice.type,
                    document=documents.get(notice.document_id)
                    if notice.document_id is not None
                    else None,
                    task=notice.task,
                    data=dict(notice.data or {}),
                )
            )
    if not rows:
        return []
    outer = transaction.get_connection().in_atomic_block
    with transaction.atomic():
        _insert(rows)
        # The e-mail job in the same transaction as the rows: no mail is lost after the commit.
        mail.enqueue(rows)
    if outer:
        # Whatever else the surrounding transaction changes (access, the document) counts:
        # check again once it has committed.
        transaction.on_commit(lambda: deliver(rows))
    else:
        # Committed with the INSERT just above, right after the access check.
        deliver(rows, checked=True)
    return rows


# From this many rows on, PostgreSQL gets the rows as five arrays in one plain statement: building
# a thousand rows' values field by field through the ORM took longer than the INSERT itself.
PLAIN_INSERT_FROM = 50


def _insert(rows: list[Notification]) -> None:
    """One INSERT for all rows; their ids (in order) and creation time are set on them."""
    connection = transaction.get_connection()
    if len(rows) < PLAIN_INSERT_FROM or connection.vendor != "postgresql":
        Notification.objects.bulk_create(rows)  # UNNEST on PostgreSQL; ids come back on SQLite
        return
    now = timezone.now()
    columns = (
        [row.recipient_id for row in rows],
        [row.type for row in rows],
        [row.document_id for row in rows],
        [row.task for row in rows],
        [json.dumps(row.data, ensure_ascii=False, separators=(",", ":")) for row in rows],
    )
    table = connection.ops.quote_name(Notification._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (recipient_id, type, document_id, task, data, created) "  # noqa: S608 - the table name is ours
            "SELECT r, t, d, k, j::jsonb, %s FROM unnest("
            "%s::bigint[], %s::text[], %s::bigint[], %s::bigint[], %s::text[]"
            ") WITH ORDINALITY AS u(r, t, d, k, j, n) ORDER BY n RETURNING id",
            [now, *columns],
        )
        # Ids are drawn in the order the rows are produced (ORDER BY n); RETURNING's own order
        # is not promised, hence sorted.
        ids = sorted(pk for (pk,) in cursor.fetchall())
    for row, pk in zip(rows, ids, strict=True):
        row.pk, row.created = pk, now
        row._state.adding = False


def _documents(ids: set[int]) -> dict[int, Document]:
    # Not the text: a notice needs the title, number and who may read it.
    return Document.objects.defer("body", "search_text").in_bulk(list(ids)) if ids else {}


def deliver(rows: Sequence[Notification], *, checked: bool = False) -> None:
    """Push each row to its recipient's group (those offline get an e-mail: notifications.mail).

    Unless the caller has just `checked` it outside any transaction, access is checked again now,
    after commit, for all recipients at once; the frame travels with the push, so a thousand
    connections need no query each to send it."""
    pushed = list(rows)
    if not checked:
        # The documents as they are now (a change in the same transaction counts), not as the
        # rows remember them.
        documents = _documents({r.document_id for r in rows if r.document_id})
        allowed = readers_of(
            documents.values(), {r.recipient_id for r in rows if r.document_id is not None}
        )
        pushed = [
            row
            for row in rows
            if row.document_id is None or row.recipient_id in allowed.get(row.document_id, set())
        ]
    push_many([(row.recipient_id, row.pk, to_frame(row)) for row in pushed])


def push_many(items: Sequence[tuple[int, int, dict[str, Any] | None]]) -> None:
    """push() for many rows in one trip into the event loop: a notice to a thousand people is
    a thousand group sends, which must not each pay for a loop of their own."""
    layer = get_channel_layer()
    if layer is None or not items:
        return

    async def send_all() -> None:
        messages = [
            (group_name(user), {"type": "notify", "id": row, "frame": frame})
            for user, row, frame in items
        ]
        if await _publish_pipelined(layer, messages):
            return
        results = await asyncio.gather(
            *(layer.group_send(group, message) for group, message in messages),
            return_exceptions=True,
        )
        for (user, row, _frame), result in zip(items, results, strict=True):
            if isinstance(result, BaseException):
                logger.error("could not push notification %s to user %s: %r", row, user, result)

    _run(layer, send_all)


def _run(layer: Any, coroutine: Callable[[], Awaitable[None]]) -> None:
    """Run a send on the channel layer from synchronous code (see notifications.loop)."""
    if loop.uses_own_loop(layer):
        loop.run(coroutine)
    else:
        async_to_sync(_await)(coroutine)


async def _await(coroutine: Callable[[], Awaitable[None]]) -> None:
    await coroutine()


async def _publish_pipelined(layer: Any, messages: list[tuple[str, dict[str, Any]]]) -> bool:
    """With channels-redis's RedisPubSubChannelLayer, every group send is one PUBLISH: send them
    all in one pipeline per Redis shard, one round trip instead of a thousand. This reaches into
    the layer's internals (channels-redis is pinned); if they are not as expected, say so and
    let the caller send them one by one."""
    if type(layer).__name__ != "RedisPubSubChannelLayer" or len(messages) < 2:
        return False
    try:
        inner = layer._get_layer()
        by_shard: dict[Any, list[tuple[str, bytes]]] = {}
        for group, message in messages:
            channel = inner._get_group_channel_name(group)
            shard = inner._get_shard(channel)
            by_shard.setdefault(shard, []).append((channel, layer.serialize(message)))
        for shard, batch in by_shard.items():
            async with shard._lock:
                shard._ensure_redis()
                pipe = shard._redis.pipeline(transaction=False)
                for channel, payload in batch:
                    pipe.publish(channel, payload)
                await pipe.execute()
    except AttributeError:
        logger.warning("channels-redis internals changed: pushing one group at a time")
        return False
    except Exception:
        # Redis is away: the rows are stored, and clients get them when they reconnect.
        logger.exception("could not push %d notifications", len(messages))
    return True


def revoke_connections(user_id: int, tokens: Sequence[str] | None = None) -> None:
    """Close the user's open sockets (all of them, or those using `tokens`), in every server
    process, once the change that ended their credentials has committed."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "credentials.revoked", "tokens": list(tokens) if tokens else None}

    def send() -> None:
        try:
            _run(layer, lambda: layer.group_send(group_name(user_id), message))
        except Exception:
            logger.exception("could not close the sockets of user %s", user_id)

    transaction.on_commit(send)


def push(user_id: int, notification_id: int) -> None:
    """Tell every connection of the user (in any server process) that a row is waiting.

    Only the id travels: the consumer loads the row and re-checks access before sending it.
    A failed push loses nothing, the client gets the row on its next (re)connect.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        _run(
            layer,
            lambda: layer.group_send(
                group_name(user_id), {"type": "notify", "id": notification_id}
            ),
        )
    except Exception:
        logger.exception("could not push notification %s to user %s", notification_id, user_id)


def mark_read(user: User, ids: Sequence[int] | None = None, up_to: int | None = None) -> int:
    """Mark the user's notifications read: the listed ids, or every one up to an id."""
    rows = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    elif up_to is not None:
        rows = rows.filter(pk__lte=up_to)
    else:
        return 0
    return rows.update(read_at=timezone.now())


# --- reading ----------------------------------------------------------------------------------


def visible_notifications(user: User) -> QuerySet[Notification]:
    """The user's rows about documents the user may see now (access is checked at read time)."""
    return (
        Notification.objects.filter(recipient=user)
        .filter(Q(document__isnull=True) | Q(document__in=visible_documents(user).values("pk")))
        .select_related("document")
    )


def unread_count(user: User) -> int:
    return visible_notifications(user).filter(read_at__isnull=True).count()


def to_frame(row: Notification) -> dict[str, Any]:
    document = row.document
    core: NotificationFrame = {
        "id": row.pk,
        "type": row.type,
        "document": row.document_id,
        "title": document.title if document is not None else None,
        "task": row.task,
        "created": row.created.isoformat(),
        "read": row.read_at is not None,
    }
    return {**(row.data if isinstance(row.data, dict) else {}), **core}


def missed(user: User, since: int, limit: int = REPLAY_LIMIT) -> tuple[list[dict[str, Any]], bool]:
    """The frames after `since`, oldest first: the newest `limit` of them; and whether more were
    left out."""
    newest = list(visible_notifications(user).filter(pk__gt=since).order_by("-pk")[: limit + 1])
    truncated = len(newest) > limit
    return [to_frame(row) for row in reversed(newest[:limit])], truncated


def live_frame(user: User, notification_id: int) -> dict[str, Any] | None:
    """The frame for a pushed row, or None if it is not the user's or its document is hidden."""
    row = (
        Notification.objects.filter(pk=notification_id, recipient=user)
        .select_related("document")
        .first()
    )
    if row is None:
        return None
    if row.document is not None and not can_view(user, row.document):
        return None
    return to_frame(row)
