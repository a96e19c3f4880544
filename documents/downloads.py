"""Serving stored bytes: one original, all originals as a streamed ZIP, the record PDF.

Everything is served as an attachment (never rendered in our origin, whatever its type), streamed
from the object store in chunks, with its exact length; the ZIP is built while it is sent, so no
temporary file ever holds a whole document.
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from zipstream import ZIP_STORED, ZipStream

from api.errors import error_body
from documents.models import Attachment
from storage import content_disposition, get_store, key_for


def _chunks(sha256: str) -> Iterator[bytes]:
    with get_store().open(key_for(sha256)) as reader:
        yield from reader


async def async_chunks(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """One chunk at a time from a worker thread (the store reads block), in order."""
    step = sync_to_async(_next_or_none, thread_sensitive=False)
    try:
        while (chunk := await step(chunks)) is not None:
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            await sync_to_async(close, thread_sensitive=False)()


def _next_or_none(chunks: Iterator[bytes]) -> bytes | None:
    return next(chunks, None)


def streamed(
    chunks: Iterable[bytes], request: Any = None
) -> Iterable[bytes] | AsyncIterator[bytes]:
    """Under ASGI Django reads a sync iterator whole into memory before sending it; an async
    iterator is sent as it comes. `request` may be Django's or DRF's."""
    raw = getattr(request, "_request", request)
    if isinstance(raw, ASGIRequest):
        return async_chunks(iter(chunks))
    return chunks


def _response(
    chunks: Iterable[bytes],
    *,
    filename: str,
    content_type: str,
    length: int | None,
    inline: bool = False,
    request: Any = None,
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(streamed(chunks, request), content_type=content_type)
    response["Content-Disposition"] = content_disposition(filename, inline=inline)
    response["X-Content-Type-Options"] = "nosniff"
    # A stored object never changes (content addressing); the permission check must still run
    # for each request, so caches in between may not keep it.
    response["Cache-Control"] = "private, no-transform"
    if not inline:
        # Should a browser open it anyway, it runs nothing and loads nothing in our origin.
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    if length is not None:
        response["Content-Length"] = str(length)
    return response


class RangeNotSatisfiable(Exception):
    pass


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, length) of a single `Range: bytes=…` request, or None to send everything.
    Several ranges, or a header we do not understand, get the whole object (RFC 9110 allows it)."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, sep, last = header[len("bytes=") :].strip().partition("-")
    if not sep or not (first.isdigit() or last.isdigit()):
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable
        start = max(0, size - suffix)
        return start, size - start
    start = int(first)
    end = min(int(last), size - 1) if last.isdigit() else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable
    return start, end - start + 1


def _stored(
    sha256: str,
    size: int,
    *,
    filename: str,
    content_type: str,
    inline: bool,
    request: Any,
) -> StreamingHttpResponse:
    """One stored object, whole or the byte range the client asked for (pdf.js asks for the
    first pages of a large record before the rest)."""
    key = key_for(sha256)
    get_store().stat(key)  # fail before the headers go out
    header = getattr(request, "META", {}).get("HTTP_RANGE")
    try:
        wanted = byte_range(header, size)
    except RangeNotSatisfiable:
        refused = JsonResponse(
            error_body(
                "range_not_satisfiable",
                _("The requested range lies outside the file (%(size)d bytes).") % {"size": size},
            ),
            status=416,
        )
        refused["Content-Range"] = f"bytes */{size}"
        return refused  # type: ignore[return-value]
    if wanted is None:
        response = _response(
            _chunks(sha256),
            filename=filename,
            content_type=content_type,
            length=size,
            inline=inline,
            request=request,
        )
    else:
        start, length = wanted

        def part() -> Iterator[bytes]:
            with get_store().open_range(key, start, length) as reader:
                yield from reader

        response = _response(
            part(),
            filename=filename,
            content_type=content_type,
            length=length,
            inline=inline,
            request=request,
        )
        response.status_code = 206
        response["Content-Range"] = f"bytes {start}-{start + length - 1}/{size}"
    response["Accept-Ranges"] = "bytes"
    return response


def original(attachment: Attachment, request: Any = None) -> StreamingHttpResponse:
    return _stored(
        attachment.sha256,
        attachment.size,
        filename=attachment.filename,
        content_type="application/octet-stream",
        inline=False,
        request=request,
    )


def record_pdf(
    sha256: str, size: int | None, filename: str, request: Any = None
) -> StreamingHttpResponse:
    if size is None:
        size = get_store().stat(key_for(sha256)).size
    return _stored(
        sha256,
        size,
        filename=filename,
        content_type="application/pdf",
        inline=True,
        request=request,
    )


def unique_names(names: Sequence[str]) -> list[str]:
    """見積書.pdf twice becomes 見積書.pdf and 見積書 (2).pdf: no file in a ZIP hides another."""
    seen: set[str] = set()
    result = []
    for name in names:
        name = unicodedata.normalize("NFC", name)
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, n = name, 1
        while candidate.casefold() in seen:
            n += 1
            candidate = f"{stem} ({n}){dot}{ext}"
        seen.add(candidate.casefold())
        result.append(candidate)
    return result


def originals_zip(
    attachments: Sequence[Attachment], filename: str, request: Any = None
) -> StreamingHttpResponse:
    # Stored, not deflated: PDFs and images are compressed already, and a stored ZIP has a
    # length known in advance, so the browser shows real progress.
    archive = ZipStream(compress_type=ZIP_STORED, sized=True)
    for attachment, name in zip(
        attachments, unique_names([a.filename for a in attachments]), strict=True
    ):
        archive.add(_chunks(attachment.sha256), name, size=attachment.size)
    return _response(
        iter(archive),
        filename=filename,
        content_type="application/zip",
        length=len(archive),
        request=request,
    )
