"""Object storage: one content-addressed interface, a file system backend and a MinIO backend.

    from storage import get_store
    info = get_store().put(uploaded_file, content_type="application/pdf")
    with get_store().open(info.key) as stream: ...

Callers catch only the exceptions exported here; `StorageUnavailable` means "503, try later".
"""

from storage.base import (
    DEFAULT_CONTENT_TYPE,
    ObjectInfo,
    ObjectStore,
    content_disposition,
    is_key,
    key_for,
    sha256_of_key,
)
from storage.errors import (
    ObjectIntegrityError,
    ObjectNotFound,
    RetentionError,
    StorageError,
    StorageUnavailable,
)
from storage.factory import build_store, get_store, reset_store
from storage.filesystem import FilesystemStore
from storage.streams import CHUNK_SIZE, ObjectReader

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_CONTENT_TYPE",
    "FilesystemStore",
    "ObjectInfo",
    "ObjectIntegrityError",
    "ObjectNotFound",
    "ObjectReader",
    "ObjectStore",
    "RetentionError",
    "StorageError",
    "StorageUnavailable",
    "build_store",
    "content_disposition",
    "get_store",
    "is_key",
    "key_for",
    "reset_store",
    "sha256_of_key",
]
