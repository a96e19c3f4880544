"""Receiving uploaded files: streamed to disk, hashed as they arrive, limits enforced on the way.

Installed for every request through FILE_UPLOAD_HANDLERS: a 1 GB upload never sits in memory, its
SHA-256 is known when the last byte lands (so storing it needs no second pass), and a file that
passes the size limit is cut off at the limit instead of being written out first.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, MultiPartParser

from api.errors import ApiError
from api.parsers import check_form
from documents.inspection import Limits, clean_filename


def limits() -> Limits:
    configured = getattr(settings, "DOCUMENT_LIMITS", {})
    return Limits(**configured)


def too_large(message: str) -> ApiError:
    return ApiError("too_large", message, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)


def check_content_length(meta: dict[str, Any]) -> None:
    """Refuse before reading a byte when the request says it is larger than a document may be."""
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    # Multipart framing and the metadata field add a little to the files themselves.
    if length > limits().max_document_bytes + 10 * 1024 * 1024:
        raise too_large(
            _("The upload is larger than a document may be (%(limit)s MB in all).")
            % {"limit": limits().max_document_bytes // 1024**2}
        )


class HashingUploadHandler(TemporaryFileUploadHandler):
    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self._limits = limits()
        self._request_total = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self._hash = hashlib.sha256()
        self._size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self._size += len(raw_data)
        self._request_total += len(raw_data)
        if self._size > self._limits.max_file_bytes:
            self._abandon()
            raise too_large(
                _("%(name)s is larger than %(limit)s MB, the limit for one file.")
                % {"name": self.file_name, "limit": self._limits.max_file_bytes // 1024**2}
            )
        if self._request_total > self._limits.max_document_bytes:
            self._abandon()
            raise too_large(
                _("The files together are larger than %(limit)s MB, the limit for a document.")
                % {"limit": self._limits.max_document_bytes // 1024**2}
            )
        self._hash.update(raw_data)
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> TemporaryUploadedFile:
        file = self.file
        file.seek(0)
        file.size = file_size
        # Read back by from_request_file(); Django's file class has no place for it.
        file.sha256 = self._hash.hexdigest()  # type: ignore[attr-defined]
        return file

    def _abandon(self) -> None:
        # The parser only closes files it has completed; the temporary file being written is ours.
        file = getattr(self, "file", None)
        if file is not None:
            file.close()


@dataclass(frozen=True)
class Upload:
    """One received file, as the services take it (also built directly by code and tests)."""

    filename: str
    path: Path
    size: int
    sha256: str
    declared_type: str = ""


def from_request_file(file: Any) -> Upload:
    sha256 = getattr(file, "sha256", None)
    path = Path(file.temporary_file_path())
    if sha256 is None:  # received by another handler: hash it now
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1024 * 1024), b""):
                digest.update(chunk)
        sha256 = digest.hexdigest()
    return Upload(
        filename=file.name or "",
        path=path,
        size=file.size,
        sha256=sha256,
        declared_type=file.content_type or "",
    )


class _StrictDjangoParser(DjangoMultiPartParser):
    """Django silently strips path parts and control characters from uploaded file names; a
    name like that is refused instead, so that nobody's file is stored under another name."""

    def sanitize_file_name(self, file_name: str) -> str | None:
        return clean_filename(html.unescape(file_name))


class _PartHeaders:
    """Reads the request as Django's parser does, and checks each part's header lines on the way.

    Django drops a header line that is not UTF-8 without a word, and with it the part: a file
    whose name a client encoded otherwise (Shift_JIS, say) vanished and the upload answered 201
    without it. Here such a part is refused, named by its field and its place in the request.
    """

    MAX_HEADER_BYTES = 64 * 1024

    def __init__(self, stream: Any, boundary: bytes) -> None:
        self._stream = stream
        self._delimiter = b"--" + boundary + b"\r\n"
        self._buffer = b"\r\n"  # the first delimiter has no line break before it
        self._in_header = False
        self._parts = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        if chunk:
            self._scan(chunk)
        return bytes(chunk)

    def _scan(self, chunk: bytes) -> None:
        buffer = self._buffer + chunk
        start = 0
        while True:
            if self._in_header:
                end = buffer.find(b"\r\n\r\n", start)
                if end == -1:
                    if len(buffer) - start > self.MAX_HEADER_BYTES:
                        raise ParseError(_("A part of the multipart upload has too long a header."))
                    self._buffer = buffer[start:]
                    return
                self._check(buffer[start:end])
                self._in_header = False
                start = end + 4
                continue
            found = buffer.find(b"\r\n" + self._delimiter, start)
            if found == -1:
                keep = len(self._delimiter) + 2
                self._buffer = buffer[max(start, len(buffer) - keep) :]
                return
            self._parts += 1
            self._in_header = True
            start = found + 2 + len(self._delimiter)

    def _check(self, header: bytes) -> None:
        try:
            header.decode("utf-8")
        except UnicodeDecodeError:
            match = re.search(rb'(?i)\bname="([^"]*)"', header)
            field = match.group(1).decode("utf-8", "replace") if match else "?"
            raise ParseError(
                _(
                    "Part %(number)d of the upload (field '%(field)s') has a header, such as its "
                    "file name, that is not UTF-8; rename the file or send the name in UTF-8."
                )
                % {"number": self._parts, "field": field}
            ) from None


class StrictMultiPartParser(MultiPartParser):
    """DRF's multipart parser on top of `_StrictDjangoParser`."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> DataAndFiles[Any, Any]:
        context = parser_context or {}
        request = context["request"]
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        encoding = context.get("encoding", settings.DEFAULT_CHARSET)
        boundary = parse_header_parameters(media_type or "")[1].get("boundary", "")
        if boundary:
            stream = _PartHeaders(stream, boundary.encode("ascii", "replace"))
        try:
            parser = _StrictDjangoParser(meta, stream, request.upload_handlers, encoding)
            data, files = parser.parse()
        except MultiPartParserError as exc:
            raise ParseError(_("The multipart upload could not be read: %s") % exc) from exc
        check_form(data)
        return DataAndFiles(data, files)
