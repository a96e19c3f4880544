"""Building the configured store from settings.OBJECT_STORE, once per process."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from storage.base import ObjectStore
from storage.filesystem import FilesystemStore

_FILESYSTEM_KEYS = {"BACKEND", "ROOT"}
_MINIO_KEYS = {
    "BACKEND",
    "ENDPOINT",
    "ACCESS_KEY",
    "SECRET_KEY",
    "BUCKET",
    "SECURE",
    "REGION",
    "OBJECT_LOCK",
    "TIMEOUT",
    # Optional, with defaults suited to production:
    "CONNECT_TIMEOUT",
    "RETRIES",
    "PART_SIZE",
    "PARALLEL_UPLOADS",
    "RETENTION_MODE",
    "PUBLIC_ENDPOINT",
    "PUBLIC_SECURE",
    "SPOOL_DIR",
}

_lock = threading.Lock()
_store: ObjectStore | None = None
_store_pid: int | None = None


def _check_keys(config: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(config) - allowed
    if unknown:
        raise ImproperlyConfigured(
            f"OBJECT_STORE has unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}"
        )


def build_store(config: Mapping[str, Any]) -> ObjectStore:
    """A new store from a configuration dict (the shape of settings.OBJECT_STORE).

    Contacts nothing: the first operation does.
    """
    backend = str(config.get("BACKEND", "filesystem")).lower()
    if backend == "filesystem":
        _check_keys(config, _FILESYSTEM_KEYS)
        if not config.get("ROOT"):
            raise ImproperlyConfigured("OBJECT_STORE['ROOT'] is required for the filesystem store")
        return FilesystemStore(config["ROOT"])
    if backend in {"minio", "s3"}:
        _check_keys(config, _MINIO_KEYS)
        # Imported here: the embedded mode never loads the SDK.
        from storage.minio_backend import PARALLEL_UPLOADS, PART_SIZE, MinioStore

        if not config.get("ENDPOINT"):
            raise ImproperlyConfigured("OBJECT_STORE['ENDPOINT'] is required for MinIO")
        try:
            return MinioStore(
                endpoint=str(config["ENDPOINT"]),
                access_key=config.get("ACCESS_KEY"),
                secret_key=config.get("SECRET_KEY"),
                bucket=str(config.get("BUCKET") or "ekessai"),
                secure=bool(config.get("SECURE", True)),
                region=config.get("REGION") or None,
                object_lock=bool(config.get("OBJECT_LOCK", True)),
                timeout=float(config.get("TIMEOUT", 30)),
                connect_timeout=float(config.get("CONNECT_TIMEOUT", 3)),
                retries=int(config.get("RETRIES", 2)),
                part_size=int(config.get("PART_SIZE", PART_SIZE)),
                parallel_uploads=int(config.get("PARALLEL_UPLOADS", PARALLEL_UPLOADS)),
                retention_mode=str(config.get("RETENTION_MODE", "COMPLIANCE")).upper(),
                public_endpoint=config.get("PUBLIC_ENDPOINT") or None,
                public_secure=config.get("PUBLIC_SECURE"),
                spool_dir=config.get("SPOOL_DIR") or None,
            )
        except ValueError as exc:
            raise ImproperlyConfigured(f"OBJECT_STORE is not valid: {exc}") from exc
    raise ImproperlyConfigured(
        f"OBJECT_STORE['BACKEND'] is {backend!r}: expected 'filesystem' or 'minio'"
    )


def get_store() -> ObjectStore:
    """The store configured in settings.OBJECT_STORE, built once per process.

    Rebuilt after a fork: the SDK's connection pool must not be shared between processes.
    """
    global _store, _store_pid
    store, pid = _store, os.getpid()
    if store is not None and _store_pid == pid:
        return store
    with _lock:
        if _store is None or _store_pid != pid:
            from django.conf import settings

            _store = build_store(settings.OBJECT_STORE)
            _store_pid = pid
        return _store


def reset_store() -> None:
    """Forget the cached store (tests, and settings changed at run time)."""
    global _store, _store_pid
    with _lock:
        store, _store, _store_pid = _store, None, None
    if store is not None:
        store.close()
