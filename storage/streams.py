"""Streams shared by the backends: hashing while reading, spooling, and the reader `open()` returns.

Nothing here holds a whole object in memory: data moves in chunks of `CHUNK_SIZE`.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import IO, TYPE_CHECKING, Protocol, cast

from storage.errors import ObjectIntegrityError, StorageUnavailable

if TYPE_CHECKING:
    from storage.base import ObjectInfo

CHUNK_SIZE = 1024 * 1024
# Uploads of unknown hash are kept in memory up to this size, then spooled to disk.
SPOOL_MEMORY = 8 * 1024 * 1024
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class Readable(Protocol):
    """Anything with ``read(size) -> bytes``: files, Django uploads, request streams."""

    def read(self, size: int = ..., /) -> bytes | None: ...


ErrorContext = Callable[[], AbstractContextManager[None]]


class Limited:
    """At most `length` bytes of `raw` (for byte ranges)."""

    def __init__(self, raw: Readable, length: int) -> None:
        self._raw = raw
        self._left = length

    def read(self, size: int = -1, /) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if size is None or size < 0 else min(size, self._left)
        data = self._raw.read(want) or b""
        self._left -= len(data)
        return data


class HashingReader:
    """Reads a caller's stream, hashing and counting, and checks the expectations at its end.

    The check runs inside the `read()` that reaches the end, before the consumer (our write loop or
    the minio SDK) has the last bytes or sees EOF: a mismatch therefore raises before anything is
    committed (the SDK aborts its multipart upload, a single PUT is never sent, the file backend
    unlinks its temp file).
    """

    def __init__(
        self,
        raw: Readable,
        *,
        expected_sha256: str | None = None,
        expected_length: int | None = None,
    ) -> None:
        self._raw = raw
        self._hash = hashlib.sha256()
        self._expected_sha256 = expected_sha256
        self._expected_length = expected_length
        self.size = 0
        self.finished = False
        self._eof = False
        # An exception raised by the caller's stream, so that it can be re-raised unchanged instead
        # of being mistaken for an error of the object store.
        self.source_error: BaseException | None = None

    @property
    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def _read_raw(self, size: int) -> bytes:
        try:
            data = self._raw.read(size)
        except Exception as exc:
            self.source_error = exc
            raise
        if data is None:  # a non-blocking raw stream with nothing ready: not supported
            self.source_error = OSError("the stream returned None (non-blocking stream?)")
            raise self.source_error
        return bytes(data) if not isinstance(data, bytes) else data

    def read(self, size: int | None = -1) -> bytes:
        if self.finished:
            return b""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(CHUNK_SIZE), b""))
        if size == 0:
            return b""
        if self._expected_length is not None:
            remaining = self._expected_length - self.size
            if remaining == 0:
                self._finish(at_eof=False)
                return b""
            size = min(size, remaining)
        if self._eof:
            self._finish(at_eof=True)
            return b""
        data = self._fill(size)
        if not data:
            self._finish(at_eof=True)
            return b""
        self._hash.update(data)
        self.size += len(data)
        if self._expected_length is not None and self.size == self._expected_length:
            self._finish(at_eof=False)
        return data

    def _fill(self, size: int) -> bytes:
        """Up to `size` bytes, short only at EOF.

        Streams that return little at a time (sockets, generators) would otherwise make short
        multipart parts, which S3 refuses (every part but the last must be at least 5 MiB).
        """
        data = self._read_raw(size)
        if len(data) >= size or not data:
            self._eof = not data
            return data
        # One join (measured: less peak memory than growing a BytesIO or a bytearray).
        pieces, total = [data], len(data)
        while total < size:
            more = self._read_raw(size - total)
            if not more:
                self._eof = True
                break
            pieces.append(more)
            total += len(more)
        return b"".join(pieces)

    def drain(self) -> None:
        """Read to the end (verifying), discarding the bytes."""
        while self.read(CHUNK_SIZE):
            pass

    def _finish(self, *, at_eof: bool) -> None:
        if not at_eof and self._read_raw(1):
            raise ObjectIntegrityError(
                f"The stream holds more than the announced {self._expected_length} bytes."
            )
        if self._expected_length is not None and self.size != self._expected_length:
            raise ObjectIntegrityError(
                f"The stream ended after {self.size} bytes; {self._expected_length} were announced."
            )
        if self._expected_sha256 is not None and self.hexdigest != self._expected_sha256:
            raise ObjectIntegrityError(
                f"SHA-256 mismatch: the bytes hash to {self.hexdigest}, "
                f"not to the announced {self._expected_sha256}; nothing was stored."
            )
        self.finished = True


def measure_seekable(source: Readable, length: int | None) -> tuple[str, int] | None:
    """Hash a seekable stream in a first pass and rewind it; None when it cannot be rewound.

    Reading a file twice is cheaper than copying it into a spool first; the upload pass hashes
    again, so a file that changes between the passes is refused, not stored under a wrong key.
    """
    stream = cast(IO[bytes], source)
    try:
        if not callable(getattr(stream, "seekable", None)) or not stream.seekable():
            return None
        start = stream.tell()
    except (AttributeError, OSError, ValueError):
        return None
    reader = HashingReader(stream, expected_length=length)
    reader.drain()
    stream.seek(start)
    return reader.hexdigest, reader.size


def spool(
    stream: Readable, length: int | None, *, directory: str | None, max_memory: int = SPOOL_MEMORY
) -> tuple[IO[bytes], str, int]:
    """Copy a one-pass stream into a temporary file (in memory while small), hashing it.

    Returns the rewound spool (the caller closes it), the SHA-256 and the size.
    """
    reader = HashingReader(stream, expected_length=length)
    spooled: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - returned to the caller
        max_size=max_memory, dir=directory
    )
    try:
        while chunk := reader.read(CHUNK_SIZE):
            try:
                spooled.write(chunk)
            except OSError as exc:
                raise StorageUnavailable(f"cannot spool the upload: {exc.strerror}") from exc
        spooled.seek(0)
    except BaseException:
        spooled.close()
        raise
    return spooled, reader.hexdigest, reader.size


class ObjectReader(io.RawIOBase):
    """A stored object opened for reading: a binary file-like object, and an iterator of chunks.

    Close it (or use it as a context manager) to release the file or the HTTP connection. Iterating
    yields chunks of up to `CHUNK_SIZE` bytes, not lines. With ``verify=True`` the bytes are hashed
    while read, and reaching the end raises `ObjectIntegrityError` if they do not match the key.
    """

    def __init__(
        self,
        raw: Readable,
        info: ObjectInfo,
        *,
        on_close: Callable[[], None],
        verify: bool = False,
        errors: ErrorContext | None = None,
    ) -> None:
        super().__init__()
        self._raw = raw
        self.info = info
        self._on_close = on_close
        self._hash = hashlib.sha256() if verify else None
        self._size = 0
        self._eof = False
        self._errors: ErrorContext = errors or nullcontext

    @property
    def key(self) -> str:
        return self.info.key

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read from a closed object")
        if size is None or size < 0:
            return self.readall()
        if size == 0 or self._eof:
            return b""
        with self._errors():
            data = self._raw.read(size) or b""
        if data:
            self._size += len(data)
            if self._hash is not None:
                self._hash.update(data)
        else:
            self._at_eof()
        return data

    def readall(self) -> bytes:
        return b"".join(iter(lambda: self.read(CHUNK_SIZE), b""))

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def __iter__(self) -> Iterator[bytes]:
        return iter(lambda: self.read(CHUNK_SIZE), b"")

    def _at_eof(self) -> None:
        self._eof = True
        if self._size != self.info.size:
            raise ObjectIntegrityError(
                f"Object {self.info.key} ended after {self._size} of {self.info.size} bytes."
            )
        if self._hash is not None and self._hash.hexdigest() != self.info.sha256:
            raise ObjectIntegrityError(
                f"Object {self.info.key} is corrupt: its bytes hash to {self._hash.hexdigest()}."
            )

    def close(self) -> None:
        if not self.closed:
            try:
                self._on_close()
            finally:
                super().close()
