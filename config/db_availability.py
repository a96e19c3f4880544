"""Telling "the database cannot be reached now" apart from every other database error.

A request that cannot get a connection (PostgreSQL is down, refuses connections, or the process's
pool stayed exhausted past DATABASE_POOL_TIMEOUT) is not a bug of the request: the API answers
503 `database_unavailable` with Retry-After (api.errors), the pages a plain message
(frontend.views.server_error), and /healthz says so (config.health). Any other database error
stays a 500, logged.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from django.db import utils
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

# How long a client should wait before trying again (seconds): a pool that was exhausted frees
# within a request's time, a restarting PostgreSQL within a few seconds.
RETRY_AFTER_SECONDS = 5

# SQLSTATE classes that mean the server cannot serve this connection now: 08 connection exception,
# 53 insufficient resources (too_many_connections), 57 operator intervention (admin_shutdown,
# cannot_connect_now while starting up).
_UNAVAILABLE_SQLSTATE_CLASSES = {"08", "53", "57"}


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__  # Django re-raises the driver's error `from` it
    return seen


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says the database could not be reached or had no
    connection to give."""
    for cause in _causes(exc):
        if _is_pool_timeout(cause):
            return True
        if isinstance(cause, sqlite3.OperationalError):
            # The embedded database: another process holds the write lock past the timeout.
            return "locked" in str(cause)
        if _is_psycopg_connection_error(cause):
            return True
    return False


def _is_pool_timeout(exc: BaseException) -> bool:
    try:
        from psycopg_pool import PoolTimeout
    except ImportError:  # pragma: no cover - installed with the project
        return False
    return isinstance(exc, PoolTimeout)


def _is_psycopg_connection_error(exc: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - installed with the project
        return False
    if not isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return False
    sqlstate = getattr(exc, "sqlstate", None)
    # No SQLSTATE: the client library's own failure to connect or a connection that broke.
    return sqlstate is None or sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES


def database_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a caller catches before asking is_unavailable()."""
    return (utils.OperationalError, utils.InterfaceError)


# --- answering -------------------------------------------------------------------------------

# The pages' answer needs nothing from the database (not the user, not the session, not the
# language they chose), so it says everything in both languages, Japanese first.
_PAGE = """<!DOCTYPE html>
<html lang="ja">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>一時的に利用できません | Temporarily unavailable</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto; padding: 0 1em">
<h1>一時的に利用できません</h1>
<p>ただいまデータベースに接続できないため、この操作を行えませんでした。何も保存されていません。
{seconds} 秒ほど待ってから、もう一度お試しください。続く場合はシステム管理者に連絡してください。</p>
<h2 lang="en">Temporarily unavailable</h2>
<p lang="en">The database cannot be reached right now, so nothing was done and nothing was saved.
Wait about {seconds} seconds and try again; if this goes on, tell the administrator.</p>
</body>
</html>
"""


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: the API's error format under /api/, a plain page elsewhere."""
    from django.contrib.auth.models import AnonymousUser

    from api.errors import API_PREFIX, database_unavailable_response

    # Nothing after this may ask the database who the user is (the middleware before this one
    # look at the user on the way out): it would fail again, with a 500.
    request.user = AnonymousUser()
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = database_unavailable_response()
        response["Cache-Control"] = "no-store"
        return response
    response = HttpResponse(
        _PAGE.format(seconds=RETRY_AFTER_SECONDS),
        status=503,
        content_type="text/html; charset=utf-8",
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseAvailabilityMiddleware:
    """Reads the signed-in user (and so the session) before the middleware after it does: the
    first thing a browser request asks of the database. If the database cannot answer, the
    request gets the 503 here rather than a 500 from whichever middleware asked first (Django
    turns an exception raised in a middleware into its 500 page without saying what it was).
    Views' own failures are answered by api.errors and frontend.views.server_error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            user = getattr(request, "user", None)
            if user is not None:
                user.is_authenticated  # noqa: B018 - evaluated for its query
        except database_errors() as exc:
            if not is_unavailable(exc):
                raise
            logger.warning("database unavailable on %s: %r", request.path, exc)
            return unavailable_response(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view's failure to reach the database (pages; the API answers in api.errors)."""
        if isinstance(exception, database_errors()) and is_unavailable(exception):
            logger.warning("database unavailable on %s: %r", request.path, exception)
            return unavailable_response(request)
        return None
