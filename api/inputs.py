"""What any input must be before a view sees it: the one place that refuses hostile input.

Every request (API and pages) passes `InputLimitsMiddleware`, which refuses with 400, or 413 for
size, and a message that says what to change:
- query parameters with control characters (NUL and the other C0 characters but tab, line feed
  and carriage return): PostgreSQL cannot store NUL, and no field of ours wants the others;
- JSON bodies that are not an object, larger than DATA_UPLOAD_MAX_MEMORY_SIZE (413, the limit
  named), nested deeper than MAX_JSON_DEPTH, with whole numbers outside a signed 64-bit integer
  (every integer column), or with control characters in any string or key;
- form bodies (URL-encoded, and the multipart forms of pages) with control characters.
Multipart bodies are streamed, and their text parts checked once parsed (`api.parsers`, the
default, and `documents.uploads.StrictMultiPartParser` for uploads); JSON carried inside a field
(the `meta` of a new document) goes through `parse_json`.

Checks are iterative, so a value nested 100,000 deep cannot exhaust the interpreter's stack.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.translation import gettext as _

from api.errors import API_PREFIX, InputRefused, error_body, refusal_for, too_big

MAX_JSON_DEPTH = 32
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# C0 control characters, DEL and the C1 controls, except tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def check_text(value: str, where: str) -> None:
    """Refuses a text with control characters (tab, line feed and carriage return are fine)."""
    match = _CONTROL.search(value)
    if match:
        raise InputRefused(
            _(
                "%(where)s contains a control character (U+%(code)04X) at position %(pos)d; "
                "remove it and send again."
            )
            % {
                "where": where or _("The request"),
                "code": ord(match.group()),
                "pos": match.start() + 1,  # people count characters from 1
            },
            where=where,
        )


def check_value(value: Any, where: str = "") -> None:
    """Walks a parsed JSON value without recursion: depth, integer range, control characters."""
    stack: list[tuple[Any, str, int]] = [(value, where, 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise InputRefused(
                    _("%(where)s is nested more than %(depth)d levels deep; flatten it.")
                    % {"where": path or _("The JSON body"), "depth": MAX_JSON_DEPTH},
                    where=path,
                )
            if isinstance(item, dict):
                for key, child in item.items():
                    check_text(key, f"{path}.{key}" if path else key)
                    stack.append((child, f"{path}.{key}" if path else key, depth + 1))
            else:
                stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, str):
            check_text(item, path)
        elif (
            isinstance(item, int)
            and not isinstance(item, bool)
            and not INT64_MIN <= item <= INT64_MAX
        ):
            raise InputRefused(
                _("%(where)s is out of range: whole numbers must lie between %(min)d and %(max)d.")
                % {"where": path or _("The JSON body"), "min": INT64_MIN, "max": INT64_MAX},
                where=path,
            )


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text: str | bytes, where: str = "") -> Any:
    """Parses JSON text and checks it (check_value). Raises InputRefused, never RecursionError."""
    size = len(text.encode("utf-8", "surrogatepass")) if isinstance(text, str) else len(text)
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit and size > limit:
        raise too_big()
    try:
        # A structure deeper than the interpreter's stack ends in RecursionError inside the C
        # decoder; it is refused like any other over-deep value.
        value = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise InputRefused(
            _("%(where)s is nested more than %(depth)d levels deep; flatten it.")
            % {"where": where or _("The JSON body"), "depth": MAX_JSON_DEPTH},
            where=where,
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputRefused(
            _("%(where)s is not valid JSON: %(error)s")
            % {"where": where or _("The request body"), "error": exc},
            where=where,
            code="parse_error",
        ) from None
    check_value(value, where)
    return value


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _is_form(content_type: str, path: str) -> bool:
    """Form bodies of pages. The API's multipart uploads are left to its own parser
    (documents.uploads), which checks the names of files before Django would clean them."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        return True
    return media == "multipart/form-data" and not path.startswith(API_PREFIX)


def check_request(request: HttpRequest) -> None:
    """Raises InputRefused for a request whose query or (non-file) body no view may take."""
    for key, values in request.GET.lists():
        check_text(key, key)
        for value in values:
            check_text(value, key)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    content_type = request.META.get("CONTENT_TYPE", "")
    if _is_json(content_type):
        body = request.body  # RequestDataTooBig above DATA_UPLOAD_MAX_MEMORY_SIZE
        if body and not isinstance(parse_json(body), dict):
            # Every operation of the API takes an object: a bare list, string or null would
            # reach views that read fields from it.
            raise InputRefused(_('The JSON body must be an object: {"field": value, …}.'))
    elif _is_form(content_type, request.path):
        for key, values in request.POST.lists():
            check_text(key, key)
            for value in values:
                check_text(value, key)


class InputLimitsMiddleware:
    """Refuses hostile input before any view reads it (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            check_request(request)
        except (InputRefused, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent) as exc:
            return self.refuse(request, refusal_for(exc) or InputRefused(str(exc)))
        return self.get_response(request)

    @staticmethod
    def refuse(request: HttpRequest, refused: InputRefused) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            extra = getattr(refused, "extra", {})
            return JsonResponse(
                error_body(str(refused.get_codes()), str(refused.detail), **extra),
                status=refused.status_code,
                json_dumps_params={"ensure_ascii": False},
            )
        return HttpResponse(
            str(refused.detail),
            status=refused.status_code,
            content_type="text/plain; charset=utf-8",
        )
