"""The embedded object store: files under a directory (``var/objects/`` by default).

Layout: ``<root>/sha256/ab/cd/<hex>`` holds the bytes (read-only), ``<hex>.json`` next to it the
content type and retention date. Retention here binds the application, not an administrator with
a shell: the file mode and the sidecar stop mistakes, not an adversary (that is what MinIO's
Object Lock is for).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from storage.base import (
    KEY_PREFIX,
    ObjectInfo,
    ObjectStore,
    _url_lifetime,
    is_key,
    key_for,
    sha256_of_key,
)
from storage.errors import ObjectNotFound, RetentionError, StorageUnavailable
from storage.streams import CHUNK_SIZE, HashingReader, Limited, ObjectReader, Readable

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process, so a thread lock is enough
    fcntl = None  # type: ignore[assignment]

FILE_MODE = 0o440  # read-only; group-readable for a backup or worker user sharing the group
TMP_DIR = ".tmp"
_thread_lock = threading.Lock()


@contextlib.contextmanager
def _fs_errors() -> Iterator[None]:
    """A failing disk (full, read-only, EIO, permissions) is an outage of the store for callers."""
    try:
        yield
    except OSError as exc:
        raise StorageUnavailable(f"file system error: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialise commits and deletes of the objects in one directory, across processes.

    flock() on separately opened descriptors also excludes threads of the same process.
    """
    if fcntl is None:  # pragma: no cover
        with _thread_lock:
            yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable: the directory entry must reach the disk too."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesystemStore(ObjectStore):
    backend = "filesystem"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"FilesystemStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        sha256_of_key(key)
        return self.root / key

    @staticmethod
    def _sidecar(path: Path) -> Path:
        return path.with_name(path.name + ".json")

    def _read_meta(self, path: Path) -> dict[str, Any]:
        try:
            with open(self._sidecar(path), encoding="utf-8") as fh:
                meta: dict[str, Any] = json.load(fh)
        except FileNotFoundError:
            return {}
        return meta

    def _write_meta(self, path: Path, meta: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".meta-", suffix=".part")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(meta, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, FILE_MODE)
            os.replace(tmp, self._sidecar(path))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _info(self, key: str, path: Path) -> ObjectInfo:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        meta = self._read_meta(path)
        until = meta.get("retain_until")
        return ObjectInfo(
            key=key,
            sha256=sha256_of_key(key),
            size=size,
            content_type=meta.get("content_type") or "application/octet-stream",
            retain_until=datetime.fromisoformat(until) if until else None,
        )

    def _put(
        self,
        source: Readable,
        *,
        length: int | None,
        sha256: str | None,
        content_type: str,
        retain_until: datetime | None,
    ) -> ObjectInfo:
        # The temp file lives where the object will (or, with the hash still unknown, under the
        # same root): os.replace() is then a rename within one file system, hence atomic.
        tmp_dir = self._path(key_for(sha256)).parent if sha256 else self.root / TMP_DIR
        with _fs_errors():
            tmp_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix=".put-", suffix=".part")
        tmp: str | None = tmp_name
        try:
            reader = HashingReader(source, expected_sha256=sha256, expected_length=length)
            with os.fdopen(fd, "wb") as out:
                while chunk := reader.read(CHUNK_SIZE):  # the caller's errors pass unchanged
                    with _fs_errors():
                        out.write(chunk)
                with _fs_errors():
                    out.flush()
                    os.fsync(out.fileno())
            key = key_for(reader.hexdigest)
            path = self.root / key
            with _fs_errors():
                path.parent.mkdir(parents=True, exist_ok=True)
                with _locked(path.parent):
                    if path.exists():
                        return self._keep(key, path, retain_until)
                    meta: dict[str, Any] = {"content_type": content_type}
                    if retain_until is not None:
                        meta["retain_until"] = retain_until.isoformat()
                    # Sidecar first: once the bytes are visible, their retention is in force.
                    self._write_meta(path, meta)
                    os.chmod(tmp_name, FILE_MODE)
                    os.replace(tmp_name, path)
                    tmp = None
                    _fsync_dir(path.parent)
            return ObjectInfo(key, reader.hexdigest, reader.size, content_type, retain_until)
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def _keep(self, key: str, path: Path, retain_until: datetime | None) -> ObjectInfo:
        """Already stored: keep those bytes, extend (never shorten) their retention."""
        info = self._info(key, path)
        if retain_until is not None and (
            info.retain_until is None or retain_until > info.retain_until
        ):
            meta = self._read_meta(path)
            meta["retain_until"] = retain_until.isoformat()
            meta.setdefault("content_type", info.content_type)
            self._write_meta(path, meta)
            info = self._info(key, path)
        return info

    def open(self, key: str, *, verify: bool = False) -> ObjectReader:
        raw, info = self._open_raw(key)
        return ObjectReader(raw, info, on_close=raw.close, verify=verify, errors=_fs_errors)

    def open_range(self, key: str, start: int, length: int) -> ObjectReader:
        raw, info = self._open_raw(key)
        with _fs_errors():
            raw.seek(start)
        return ObjectReader(
            Limited(raw, length),
            dataclasses.replace(info, size=length),
            on_close=raw.close,
            errors=_fs_errors,
        )

    def _open_raw(self, key: str) -> tuple[Any, ObjectInfo]:
        """The object's file, unbuffered (the reader closes it), and what is known of it."""
        path = self._path(key)
        with _fs_errors():
            info = self._info(key, path)
            try:
                raw = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the reader
            except FileNotFoundError:
                raise ObjectNotFound(key) from None
        return raw, info

    def stat(self, key: str) -> ObjectInfo:
        path = self._path(key)
        with _fs_errors():
            return self._info(key, path)

    def delete(self, key: str) -> None:
        path = self._path(key)
        with _fs_errors():
            if not path.parent.is_dir():
                raise ObjectNotFound(key)
            with _locked(path.parent):
                info = self._info(key, path)
                if info.is_retained():
                    raise RetentionError(
                        f"Object {key} is under retention until {info.retain_until:%Y-%m-%d %H:%M} "
                        "UTC and cannot be deleted before then."
                    )
                os.unlink(path)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._sidecar(path))
                _fsync_dir(path.parent)

    def download_url(
        self, key: str, *, filename: str, expires: timedelta = timedelta(minutes=10)
    ) -> str | None:
        _url_lifetime(expires)
        self.stat(key)
        return None

    def check(self) -> None:
        with _fs_errors():
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK | os.X_OK):
                raise StorageUnavailable(f"{self.root} is not writable")

    def supports_retention(self) -> bool:
        return True

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        top = self.root / KEY_PREFIX.rstrip("/")

        def wanted(partial_key: str) -> bool:
            return partial_key.startswith(prefix) or prefix.startswith(partial_key)

        def names(directory: Path) -> list[str]:
            try:
                return sorted(entry.name for entry in os.scandir(directory))
            except (FileNotFoundError, NotADirectoryError):
                return []

        with _fs_errors():
            for first in names(top):
                if len(first) != 2 or not wanted(f"{KEY_PREFIX}{first}/"):
                    continue
                for second in names(top / first):
                    base = f"{KEY_PREFIX}{first}/{second}/"
                    if len(second) != 2 or not wanted(base):
                        continue
                    for name in names(top / first / second):
                        key = base + name
                        if not is_key(key) or not key.startswith(prefix):
                            continue
                        try:
                            size = (top / first / second / name).stat().st_size
                        except FileNotFoundError:  # deleted while listing
                            continue
                        yield ObjectInfo(key, name, size)


__all__ = ["FilesystemStore"]
