"""One error format for the whole API: {"error": {"code": "...", "message": "..."}}.

DRF's exceptions go through `exception_handler`; everything else under /api/ (an unrouted URL, an
uncaught exception, a CSRF failure rendered by Django) is turned into the same shape by
`ApiErrorMiddleware`, so no API client ever receives an HTML page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Protocol, runtime_checkable

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config import db_availability
from storage import ObjectNotFound, StorageUnavailable

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


class ApiError(exceptions.APIException):
    """An error a service raises with its own code, status and message for the client; `extra`
    goes into the error body beside them (e.g. the tombstone of a disposed record)."""

    def __init__(
        self,
        code: str,
        message: str,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        **extra: Any,
    ):
        self.status_code = status_code
        self.extra = extra
        super().__init__(detail=message, code=code)


class InputRefused(ApiError):
    """An input no part of the system accepts (api.inputs); `where` names the field or
    parameter, and 413 is for size."""

    def __init__(
        self, message: str, *, where: str = "", status_code: int = 400, code: str = ""
    ) -> None:
        if not code:
            too_large = status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            code = "too_large" if too_large else "invalid"
        extra = {"field": where} if where else {}
        super().__init__(code, message, status_code, **extra)


def too_big() -> InputRefused:
    limit = (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) / 1024**2
    return InputRefused(
        _(
            "The request is larger than %(limit)s MB, the limit for data sent without a file; "
            "send long texts as attachments."
        )
        % {"limit": f"{limit:g}"},
        status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )


def refusal_for(exc: BaseException) -> InputRefused | None:
    """The API's answer to Django's own refusals of a request's size and shape (raised while a
    body is read, in the middle of a view or a parser): 413 or 400 instead of a 500."""
    if isinstance(exc, InputRefused):
        return exc
    if isinstance(exc, RequestDataTooBig):
        return too_big()
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return InputRefused(
            _(
                "The request has too many fields or files (at most %(fields)s fields and "
                "%(files)s files)."
            )
            % {
                "fields": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
                "files": settings.DATA_UPLOAD_MAX_NUMBER_FILES,
            }
        )
    return None


@runtime_checkable
class ConvertsToApiError(Protocol):
    """An exception of a layer above this one that knows how the API reports it (for example
    `documents.inspection.UploadRefused`): this module never needs to import it."""

    def api_error(self) -> ApiError: ...


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def _default_message(status_code: int) -> str:
    messages = {
        400: _("The request is not valid."),
        401: _("Authentication is required: send 'Authorization: Bearer <token>'."),
        403: _("You do not have permission to do this."),
        404: _("Nothing was found at this address."),
        405: _("This method is not allowed here."),
        413: _("The request is too large."),
        503: _("A service this request needs is unavailable; try again later."),
    }
    return messages.get(status_code, HTTPStatus(status_code).phrase)


def database_unavailable_body() -> dict[str, Any]:
    return error_body(
        "database_unavailable",
        _(
            "The database is busy or unreachable; nothing was saved. "
            "Try again in a few seconds (see Retry-After)."
        ),
    )


def database_unavailable_response() -> JsonResponse:
    response = JsonResponse(database_unavailable_body(), status=503)
    response["Retry-After"] = str(db_availability.RETRY_AFTER_SECONDS)
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, db_availability.database_errors()) and db_availability.is_unavailable(exc):
        logger.warning("database unavailable: %r", exc)
        return Response(
            database_unavailable_body(),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(db_availability.RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, StorageUnavailable):
        logger.warning("object store unavailable: %s", exc)
        exc = ApiError(
            "storage_unavailable",
            _("The document store is unreachable; nothing was saved. Try again in a few minutes."),
            status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    elif isinstance(exc, ObjectNotFound):
        exc = exceptions.NotFound()
    elif isinstance(exc, ConvertsToApiError) and not isinstance(exc, exceptions.APIException):
        exc = exc.api_error()
    elif (refused := refusal_for(exc)) is not None:
        exc = refused
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # uncaught: ApiErrorMiddleware answers with a JSON 500
    detail = exc.detail if isinstance(exc, exceptions.APIException) else None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(
            "invalid", _("Some fields are not valid; see 'fields'."), fields=response.data
        )
    else:
        code = (exc.get_codes() if isinstance(exc, exceptions.APIException) else None) or "error"
        if isinstance(exc, Http404):
            code = "not_found"
        elif isinstance(exc, PermissionDenied):
            code = "permission_denied"
        message = str(detail) if isinstance(detail, str) else _default_message(response.status_code)
        response.data = error_body(str(code), message, **getattr(exc, "extra", {}))
    return response


class ApiErrorMiddleware:
    """Makes every error response under /api/ JSON in the common format."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith(API_PREFIX)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            code = HTTPStatus(response.status_code).phrase.lower().replace(" ", "_")
            return JsonResponse(
                error_body(code, _default_message(response.status_code)),
                status=response.status_code,
            )
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX) or isinstance(
            exception, Http404 | PermissionDenied
        ):
            return None
        if db_availability.is_unavailable(exception):
            logger.warning("database unavailable on %s: %r", request.path, exception)
            return database_unavailable_response()
        refused = refusal_for(exception)
        if refused is not None:
            return JsonResponse(
                error_body(str(refused.get_codes()), str(refused.detail), **refused.extra),
                status=refused.status_code,
            )
        logger.exception("unhandled error on %s", request.path, exc_info=exception)
        return JsonResponse(
            error_body(
                "server_error",
                _(
                    "An unexpected error occurred and has been logged; "
                    "try again or tell the administrator."
                ),
            ),
            status=500,
        )
