"""The object store interface: content-addressed, immutable objects, optionally under retention.

An object's key is derived from the SHA-256 of its bytes (``sha256/ab/cd/<64 hex>``), so storing the
same bytes twice stores them once, and a key always names exactly one content. Objects are never
overwritten; they are deleted only explicitly and never while under retention.
"""

from __future__ import annotations

import abc
import dataclasses
import io
import math
import re
import unicodedata
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from storage.errors import ObjectNotFound, RetentionError
from storage.streams import CHUNK_SIZE, Limited, ObjectReader, Readable

DEFAULT_CONTENT_TYPE = "application/octet-stream"
KEY_PREFIX = "sha256/"
_KEY_RE = re.compile(r"sha256/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
# S3 refuses presigned URLs valid for longer than a week.
MAX_URL_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class ObjectInfo:
    """What the store knows of one object.

    `content_type` is the type given when the bytes were first stored (content addressing keeps
    one copy, so a later put with another type does not change it); `retain_until` is the UTC
    instant before which the object cannot be deleted. `list()` leaves both as None: reading them
    costs a request per object on S3 (call `stat()`).
    """

    key: str
    sha256: str
    size: int
    content_type: str | None = None
    retain_until: datetime | None = None

    def is_retained(self, now: datetime | None = None) -> bool:
        return self.retain_until is not None and self.retain_until > (now or datetime.now(UTC))


def key_for(sha256: str) -> str:
    """The key of the object whose bytes have this SHA-256 (64 lowercase hex digits)."""
    digest = normalize_sha256(sha256)
    return f"{KEY_PREFIX}{digest[:2]}/{digest[2:4]}/{digest}"


def is_key(key: str) -> bool:
    match = _KEY_RE.fullmatch(key)
    return bool(match) and match.group(3)[:4] == match.group(1) + match.group(2)  # type: ignore[union-attr]


def sha256_of_key(key: str) -> str:
    """The SHA-256 a key names; ValueError for anything that is not a key of this store.

    Keys are checked strictly because the file system backend turns them into paths.
    """
    if not isinstance(key, str) or not is_key(key):
        raise ValueError(f"Not an object key: {key!r} (expected sha256/ab/cd/<64 hex>)")
    return key.rsplit("/", 1)[1]


def normalize_sha256(value: str) -> str:
    digest = value.strip().lower() if isinstance(value, str) else ""
    if not _SHA256_RE.fullmatch(digest):
        raise ValueError(f"Not a SHA-256 hex digest: {value!r}")
    return digest


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """A Content-Disposition value that carries any file name, Japanese included (RFC 6266).

    Browsers use ``filename*`` (RFC 5987, UTF-8, percent-encoded); the quoted ASCII ``filename`` is
    the fallback for old clients. The value itself is pure ASCII, as HTTP headers must be.
    """
    # NFC: names typed on macOS arrive decomposed (が as か + ゛); Windows shows them as two glyphs.
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "download"
    fallback = "".join(ch if " " <= ch < "\x7f" and ch not in '"\\%' else "_" for ch in name)
    kind = "inline" if inline else "attachment"
    if fallback == name:
        return f'{kind}; filename="{fallback}"'
    encoded = urllib.parse.quote(name, safe="")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def _as_stream(data: Readable | bytes | bytearray | memoryview) -> Readable:
    if isinstance(data, bytes | bytearray | memoryview):
        return io.BytesIO(data)
    if not callable(getattr(data, "read", None)):
        raise TypeError("put() needs bytes or a binary stream with read()")
    return data


def _retention_date(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("retain_until must be timezone-aware")
    # Whole seconds, rounded up: S3 keeps milliseconds at most, and a retention date must never
    # come back earlier than asked.
    value = value.astimezone(UTC)
    value = datetime.fromtimestamp(math.ceil(value.timestamp()), UTC)
    if value <= datetime.now(UTC):
        raise ValueError("retain_until must be in the future")
    return value


def _content_type(value: str) -> str:
    if not value or not isinstance(value, str) or any(ch in value for ch in "\r\n\0"):
        raise ValueError(f"Invalid content type: {value!r}")
    return value


def _url_lifetime(expires: timedelta) -> timedelta:
    if not timedelta(seconds=1) <= expires <= MAX_URL_LIFETIME:
        raise ValueError("expires must be between 1 second and 7 days")
    return expires


class ObjectStore(abc.ABC):
    """One interface, two backends: `FilesystemStore` and `MinioStore`.

    Every method may raise `StorageUnavailable` when the store cannot be reached; none contacts
    anything before it is called.
    """

    backend: ClassVar[str]

    def put(
        self,
        stream: Readable | bytes | bytearray | memoryview,
        *,
        length: int | None = None,
        sha256: str | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
        retain_until: datetime | None = None,
    ) -> ObjectInfo:
        """Store the bytes read from `stream` (to its end), streamed, and return what was stored.

        With `sha256`, the bytes are checked against it while they are sent, and a mismatch
        raises `ObjectIntegrityError` leaving nothing behind; without it, the hash is computed in
        a first pass (a seekable stream is read twice; a one-pass stream is spooled to a temporary
        file). `length`, when given, must be exact. Storing bytes that are already stored keeps
        the stored copy (still verifying the stream) and extends its retention if asked for a
        later date, never shortens it. `retain_until` (timezone-aware, in the future) raises
        `RetentionError` if the store cannot enforce retention (see `supports_retention`).
        The caller's stream is neither closed nor rewound.
        """
        source = _as_stream(stream)
        if length is not None and (not isinstance(length, int) or length < 0):
            raise ValueError("length must be a non-negative integer")
        digest = normalize_sha256(sha256) if sha256 is not None else None
        until = _retention_date(retain_until)
        if until is not None and not self.supports_retention():
            raise RetentionError(
                f"The {self.backend} object store cannot enforce retention (the bucket has no "
                "Object Lock, or it could not be verified): the object was not stored."
            )
        return self._put(
            source,
            length=length,
            sha256=digest,
            content_type=_content_type(content_type),
            retain_until=until,
        )

    @abc.abstractmethod
    def _put(
        self,
        source: Readable,
        *,
        length: int | None,
        sha256: str | None,
        content_type: str,
        retain_until: datetime | None,
    ) -> ObjectInfo: ...

    @abc.abstractmethod
    def open(self, key: str, *, verify: bool = False) -> ObjectReader:
        """The object's bytes as a stream; `ObjectNotFound` if absent. Close it after use."""

    def open_range(self, key: str, start: int, length: int) -> ObjectReader:
        """`length` bytes from offset `start` (HTTP Range requests); never verified. Backends
        that can seek override this; this fallback reads and drops the bytes before `start`."""
        reader = self.open(key)
        try:
            skipped = 0
            while skipped < start:
                chunk = reader.read(min(CHUNK_SIZE, start - skipped))
                if not chunk:
                    break
                skipped += len(chunk)
        except BaseException:
            reader.close()
            raise
        return ObjectReader(
            Limited(reader, length),
            dataclasses.replace(reader.info, size=length),
            on_close=reader.close,
        )

    @abc.abstractmethod
    def stat(self, key: str) -> ObjectInfo:
        """What is stored under `key`; `ObjectNotFound` if nothing is."""

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except ObjectNotFound:
            return False
        return True

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Delete the object for good; `RetentionError` while it is under retention,
        `ObjectNotFound` if absent."""

    @abc.abstractmethod
    def download_url(
        self, key: str, *, filename: str, expires: timedelta = timedelta(minutes=10)
    ) -> str | None:
        """A time-limited URL the browser can download the object from, saving it as `filename`;
        None when the store has no such URLs (the caller then streams `open()` through Django).
        `ObjectNotFound` if absent."""

    @abc.abstractmethod
    def check(self) -> None:
        """Cheap health check: returns, or raises `StorageUnavailable` saying what is wrong."""

    @abc.abstractmethod
    def supports_retention(self) -> bool:
        """Whether `put(..., retain_until=...)` can be enforced (may contact the store once)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release what the store holds (connection pools)."""

    # Defined last: in a class body, a method named `list` shadows the builtin for what follows.
    @abc.abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix`, in key order (lazily)."""
